"""The one way the job reads a model folder: :func:`open_model` inspects it, and the
returned :class:`ModelFolder` is the only caller of ``from_pretrained`` in the package
(a test keeps it so).

What it promises, for every model (translator, CTranslate2 conversion, alignment encoder,
tagger, EasyProject model, the converted embedded e5):

* **No code from the folder, no prompt.** A folder with Python files, or an ``auto_map``
  or ``custom_pipelines`` anywhere in a ``*config.json``, is refused; every ``from_pretrained`` passes
  ``trust_remote_code=False`` (transformers then raises instead of asking on a terminal),
  and transformers' own remote-code prompt is switched off for the process.
* **Nothing that can hang or run code on read.** Each file must be a readable regular
  file (a link to one is fine: the hub cache is made of links, and the fingerprint follows
  the content, not the link), every JSON file must parse, weights load from safetensors
  only unless ``--allow_pickle_weights``, and each safetensors file must be complete.
* **No half-initialised model.** The load report must show every weight of the model
  present and of its shape, and every tensor of the checkpoint used, except what is
  legitimately absent or extra (see :func:`weight_problems`); otherwise the load stops
  with one line naming the model and the weights.
* **A fingerprint** of the files (``fingerprints.py``) for provenance and cache keys.

Hub ids are resolved to their local snapshot folder first, so what is inspected,
fingerprinted and loaded is the same set of files.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import stat
from typing import Optional, Sequence

from xlner.models.lazy import ModelLoadError

LOG = logging.getLogger(__name__)
PICKLE_WEIGHTS = re.compile(r"^(pytorch_model.*\.bin|tf_model\.h5|flax_model\.msgpack|"
                            r"model\.ckpt.*)$")
CT2_WEIGHTS = "model.bin"  # a CTranslate2 model folder (its own format, not a pickle)
# Unexpected checkpoint tensors that are never an error: a pretraining pooler the class
# does not have (token classifiers are built without one).
EXTRA_OK = re.compile(r"(^|\.)pooler\.")


class ModelRefused(ModelLoadError):
    """A model folder the job will not load, an operator's mistake (exit 2 wherever it is
    found); ``str()`` is one line naming it."""

    def __init__(self, model: str, reason: str):
        super().__init__(f"model {model}: {reason}")
        self.model, self.reason = model, reason

    def __reduce__(self):  # crosses Beam's model-sharing process boundary intact
        return type(self), (self.model, self.reason)


def _forbid_prompts() -> None:
    """transformers asks on stdin whether to run a folder's code when nobody said; make
    that question an error for the whole process (belt and braces: we always say no)."""
    try:
        from transformers import dynamic_module_utils
    except ImportError:  # pragma: no cover - transformers is a dependency
        return
    dynamic_module_utils.TIME_OUT_REMOTE_CODE = 0


def looks_like_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or os.path.exists(value)


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _snapshot(model: str, local_only: bool, allow_pickle: bool) -> str:
    """A hub id's snapshot folder: the cached one offline or with ``local_only``, else
    downloaded or completed (configs, tokenizer, safetensors; pickles only if allowed)."""
    from huggingface_hub import snapshot_download

    cache = os.environ.get("HF_HUB_CACHE") or None  # read now, not at import
    if local_only or hub_offline():
        try:
            return snapshot_download(model, cache_dir=cache, local_files_only=True)
        except Exception:  # noqa: BLE001 - any miss is the same answer
            raise ModelRefused(model, "not a local folder, and the hub is offline "
                                      "(HF_HUB_OFFLINE=1) with no cached copy") from None
    patterns = ["*.json", "*.safetensors", "*.model", "*.txt", "*.spm"]
    return snapshot_download(model, cache_dir=cache,
                             allow_patterns=patterns + (["*.bin"] if allow_pickle else []))


def _regular_files(path: str, name: str) -> list[str]:
    """Names of the folder's regular files (links followed); a link to anything else, a
    FIFO or a device is refused: reading one could hang the job."""
    files = []
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as e:
        raise ModelRefused(name, f"the folder cannot be read ({e.strerror})") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            mode = os.stat(entry.path).st_mode
        except OSError as e:
            link = f": {os.readlink(entry.path)}" if entry.is_symlink() else ""
            raise ModelRefused(name, f"{entry.name} is a link that cannot be followed "
                                     f"({e.strerror}){link}") from None
        if stat.S_ISREG(mode):
            if not os.access(entry.path, os.R_OK):
                raise ModelRefused(name, f"{entry.name} cannot be read (permission denied)")
            files.append(entry.name)
        elif not stat.S_ISDIR(mode):
            what = f"a link to {os.readlink(entry.path)}, " if entry.is_symlink() else ""
            raise ModelRefused(name, f"{entry.name} is {what}not a regular file")
    return files


CODE_KEYS = ("auto_map", "custom_pipelines")  # where transformers finds a folder's code


def _code_key(data) -> Optional[str]:
    """The first ``auto_map``/``custom_pipelines`` key anywhere in a JSON document
    (composite configs nest the configs of their parts), or None."""
    if isinstance(data, dict):
        found = next((k for k in data if k in CODE_KEYS), None)
        children = data.values()
    else:
        found, children = None, data if isinstance(data, list) else ()
    for child in children:
        found = found or _code_key(child)
    return found


def _custom_code(folder: "ModelFolder") -> Optional[str]:
    """Why the folder would run code of its own, or is not readable as a model, or None.
    Every JSON file must parse (a config as an object): a corrupt one is a broken copy."""
    for f in folder.files:
        if not f.endswith(".json"):
            continue
        try:
            with open(os.path.join(folder.path, f), "rb") as fh:
                data = json.loads(fh.read())
        except ValueError:
            return f"{f} is not valid JSON (a corrupt or cut-short copy)"
        if f.endswith(("config.json", ".index.json")) and not isinstance(data, dict):
            return f"{f} is not a JSON object"
        key = _code_key(data) if f.endswith("config.json") else None
        if key:
            return f"asks for custom code ({key} in {f}); model folders may not run code"
    code = [f for f in folder.files if f.endswith(".py")]
    if code:
        return f"holds custom code ({code[0]}); model folders may not run code"
    return None


def _safetensors_problem(path: str) -> Optional[str]:
    """Why ``path`` is not a complete safetensors file (its header parses and its tensors
    end exactly where the file ends), or None."""
    cut = "is not a complete safetensors file (cut short or corrupt)"
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            if n <= 0 or 8 + n > size:
                return cut
            header = json.loads(f.read(n))
        ends = [t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"]
        return None if 8 + n + max(ends, default=0) == size else cut
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return cut


def _weights(folder: "ModelFolder", allow_pickle: bool) -> tuple[str, ...]:
    files = folder.files
    if CT2_WEIGHTS in files:
        return (CT2_WEIGHTS,)
    safetensors = [f for f in files if f.endswith(".safetensors")]
    index = "model.safetensors.index.json"
    if index in files:
        with open(os.path.join(folder.path, index), "rb") as fh:
            weight_map = json.loads(fh.read()).get("weight_map")  # an object: checked above
        if not isinstance(weight_map, dict):
            raise ModelRefused(folder.name, f"{index} has no weight_map")
        shards = set(map(str, weight_map.values()))
        absent = sorted(shards - set(safetensors))
        if absent:
            raise ModelRefused(folder.name, f"{index} names {absent[0]}, which is not there")
    for f in safetensors:
        problem = _safetensors_problem(os.path.join(folder.path, f))
        if problem:
            raise ModelRefused(folder.name, f"{f} {problem}")
    if safetensors:
        return tuple(safetensors)
    pickled = [f for f in files if PICKLE_WEIGHTS.match(f)]
    if not pickled:
        raise ModelRefused(folder.name, "the folder holds no model weights")
    if not allow_pickle:
        raise ModelRefused(folder.name, f"weights are pickled ({pickled[0]}), which runs "
                                        "code when loaded; convert them to safetensors or "
                                        "pass --allow_pickle_weights")
    return tuple(pickled)


def open_model(model: str, allow_pickle: bool = False, local_only: bool = False,
               cache_dir: Optional[str] = None, expected: Optional[str] = None
               ) -> "ModelFolder":
    """Inspect the folder of ``model`` (a path, or a hub id resolved to its snapshot);
    raise :class:`ModelRefused` with one line when it must not be loaded.

    ``cache_dir``: the model cache (where file digests are remembered); ``expected``: the
    fingerprint recorded at launch (in provenance), which the files loaded must have."""
    model = os.fspath(model)
    path = (os.path.expanduser(model) if looks_like_path(model)
            else _snapshot(model, local_only, allow_pickle))
    if not os.path.exists(path):
        raise ModelRefused(model, "no such folder")
    if not os.path.isdir(path):
        raise ModelRefused(model, "is a file; expected a model folder")
    files, weights = _inspect(model, path, allow_pickle, _folder_state(path))
    folder = ModelFolder(model, path, files, allow_pickle, cache_dir, expected)
    folder.weights = weights
    return folder


def _folder_state(path: str) -> tuple:
    """What the inspection of ``path`` depends on: each entry's name and the identity of
    what it leads to (a changed, replaced or added file changes it)."""
    state: list = []
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return (None,)  # unreadable: the inspection says so
    for name in names:
        try:
            st = os.stat(os.path.join(path, name))
            state.append((name, st.st_mode, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
                          st.st_ctime_ns))
        except OSError:
            state.append((name,))
    return tuple(state)


@functools.lru_cache(maxsize=64)
def _inspect(model: str, path: str, allow_pickle: bool,
             state: tuple) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(files, weights) of a folder that passes every check; remembered per process for
    an unchanged ``state`` (a launch and a worker open a model several times)."""
    folder = ModelFolder(model, path, tuple(_regular_files(path, model)), allow_pickle)
    if "config.json" not in folder.files:
        raise ModelRefused(model, "not a model folder (no config.json)")
    why = _custom_code(folder)
    if why:
        raise ModelRefused(model, why)
    return folder.files, _weights(folder, allow_pickle)


class ModelFolder:
    """An inspected model folder; its methods are the job's only ``from_pretrained``."""

    def __init__(self, name: str, path: str, files: tuple[str, ...], allow_pickle: bool,
                 cache_dir: Optional[str] = None, expected: Optional[str] = None):
        self.name, self.path, self.files = name, path, files
        self.allow_pickle = allow_pickle
        self.cache_dir, self.expected = cache_dir, expected
        self.weights: tuple[str, ...] = ()
        self._fingerprint: Optional[str] = None

    @property
    def is_ct2(self) -> bool:
        return self.weights == (CT2_WEIGHTS,)

    def _kwargs(self) -> dict:
        _forbid_prompts()
        from xlner.models.devices import quiet_transformers

        quiet_transformers()
        return {"trust_remote_code": False, "local_files_only": True}

    def config(self):
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(self.path, **self._kwargs())

    def tokenizer(self, **kwargs):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.path, **self._kwargs(), **kwargs)

    def generation_config(self):
        """The checkpoint's generation settings, or None when it has none."""
        if "generation_config.json" not in self.files:
            return None
        from transformers import GenerationConfig

        self._kwargs()
        return GenerationConfig.from_pretrained(self.path, local_files_only=True)

    def load(self, model_class, dtype=None, unused: Sequence[str] = (), **kwargs):
        """``model_class.from_pretrained`` (an Auto class or a concrete one), refused with
        one line unless the weights cover the model (``unused``: prefixes of the model's
        modules the caller never reads, e.g. ``pooler.``, which may be absent) and are the
        files fingerprinted before and after (the same as at launch, when known)."""
        def build():
            model, info = model_class.from_pretrained(
                self.path, dtype=dtype, use_safetensors=None if self.allow_pickle else True,
                output_loading_info=True, ignore_mismatched_sizes=True, **self._kwargs(),
                **kwargs)
            problems = weight_problems(model, info, self.checkpoint_keys(), unused)
            if problems:
                raise ModelRefused(self.name, "weights do not match its config: "
                                              + "; ".join(problems))
            return model

        return self.built_unchanged(build)

    def built_unchanged(self, build):
        """``build()``, refused unless the folder's files are the ones fingerprinted before
        and after it (and at launch, when known): every model load goes through here."""
        before = self.fingerprint()
        model = build()
        self._fingerprint = None
        if self.fingerprint() != before:
            raise ModelRefused(self.name, "its files changed while it was loading")
        return model

    def checkpoint_keys(self) -> Optional[set]:
        """Tensor names of the safetensors weights (None for pickled ones)."""
        keys = set()
        for f in self.weights:
            if not f.endswith(".safetensors"):
                return None
            with open(os.path.join(self.path, f), "rb") as fh:
                n = int.from_bytes(fh.read(8), "little")
                keys |= set(json.loads(fh.read(n))) - {"__metadata__"}
        return keys

    def fingerprint(self) -> str:
        """``sha256:...`` of the folder's files (digests remembered per machine); it must be
        the ``expected`` one when that is known."""
        if self._fingerprint is None:
            from xlner.models.fingerprints import FileChanged, folder_fingerprint

            try:
                found = folder_fingerprint(self.path, self.files, self.cache_dir)
            except (FileChanged, OSError) as e:
                raise ModelRefused(self.name, f"cannot fingerprint its files: {e}") from None
            if self.expected and found != self.expected:
                raise ModelRefused(self.name, f"its files here ({found[:19]}) are not the "
                                              f"ones fingerprinted at launch "
                                              f"({self.expected[:19]})")
            self._fingerprint = found
        return self._fingerprint


def _listed(keys, limit: int = 3) -> str:
    keys = sorted(keys)
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def _is_head(model, key: str, checkpoint_keys: Optional[set]) -> bool:
    """``key`` is a task head of the checkpoint (``cls.*``, ``lm_head.*``, ``classifier.*``)
    left out because the base model alone is loaded: the model is its own base, the key
    is outside every module the model has, and the checkpoint keeps its base model
    under the base-model prefix (as every checkpoint with a head does)."""
    if getattr(model, "base_model", model) is not model:
        return False
    if key.split(".", 1)[0] in dict(model.named_children()):
        return False
    prefix = getattr(model, "base_model_prefix", "")
    return checkpoint_keys is None or (bool(prefix) and key in checkpoint_keys and any(
        k.startswith(prefix + ".") for k in checkpoint_keys))


def weight_problems(model, info: dict, checkpoint_keys: Optional[set],
                    unused: Sequence[str] = ()) -> list[str]:
    """What makes a loaded model differ from its checkpoint, as short phrases (none: the
    weights cover the model). Allowed: tied weights and non-persistent buffers (never in
    the report), a pooler in the checkpoint the class does not have, a task head of the
    checkpoint when its base model is loaded, and modules in ``unused`` missing."""
    missing = {k for k in info.get("missing_keys", ()) if not k.startswith(tuple(unused))}
    extra = {k for k in info.get("unexpected_keys", ())
             if not EXTRA_OK.search(k) and not _is_head(model, k, checkpoint_keys)}
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing from the checkpoint: {_listed(missing)}")
    if extra:
        problems.append(f"{len(extra)} not used by the model: {_listed(extra)}")
    shapes = sorted(info.get("mismatched_keys", ()))
    if shapes:
        key, ckpt, own = shapes[0]
        problems.append(f"{len(shapes)} of the wrong shape: {key} {tuple(ckpt)} in the "
                        f"checkpoint, {tuple(own)} in the model")
    problems += [str(m).splitlines()[0] for m in info.get("error_msgs", ())[:1]]
    dropped = set(info.get("unexpected_keys", ())) - extra
    if not problems and dropped:
        LOG.info("xlner: %s: checkpoint tensors not part of this model, left out: %s",
                 type(model).__name__, _listed(dropped))
    return problems
