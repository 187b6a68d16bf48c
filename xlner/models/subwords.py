"""Running a Hugging Face encoder over pre-split words, in windows, in one padded batch.

Both the alignment encoder and the word-level NER tagger need per-subword outputs mapped
back to words, for sentences that can be longer than the model's window. Sentences are
tokenised word by word (``is_split_into_words``), cut into windows at word boundaries when
they exceed the model's maximum, and all windows of a batch run in one forward pass; the
per-window outputs are concatenated back per sentence. Nothing is truncated silently.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np


class WindowedWordEncoder:
    """Tokenise word lists and run ``forward(input_ids, attention_mask) -> [B, T, ...]``."""

    def __init__(self, tokenizer, max_positions: int, device: str):
        import torch

        self.tokenizer = tokenizer
        limit = min(getattr(tokenizer, "model_max_length", 512) or 512, max_positions, 512)
        self.window = limit - 2  # room for the two special tokens
        self.cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None \
            else tokenizer.bos_token_id
        self.sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None \
            else tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id or 0
        self.device = device
        self._torch = torch

    def subwords(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """Content subword ids and, for each, the index of its word."""
        if not words:
            return [], []
        enc = self.tokenizer(list(words), is_split_into_words=True, add_special_tokens=False)
        ids, word_of = enc["input_ids"], enc.word_ids()
        keep = [k for k, w in enumerate(word_of) if w is not None]
        return [ids[k] for k in keep], [word_of[k] for k in keep]

    def windows(self, word_of: Sequence[int]) -> list[tuple[int, int]]:
        """[a, b) subword ranges of at most ``window`` that do not cut a word in two."""
        spans, start, n = [], 0, len(word_of)
        while start < n:
            end = min(start + self.window, n)
            if end < n:
                cut = end
                while cut > start and word_of[cut] == word_of[cut - 1]:
                    cut -= 1
                end = cut if cut > start else end  # a single giant word is cut anyway
            spans.append((start, end))
            start = end
        return spans

    def run(self, sentences: Sequence[Sequence[str]],
            forward: Callable) -> list[tuple[Optional["object"], np.ndarray]]:
        """Per sentence: (output tensor [n_subwords, ...] or None if empty, word_of)."""
        torch = self._torch
        tokenised = [self.subwords(s) for s in sentences]
        chunks, owners = [], []
        for si, (ids, word_of) in enumerate(tokenised):
            for a, b in self.windows(word_of):
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
                out = forward(input_ids.to(self.device), mask.to(self.device))
            for r, c in enumerate(chunks):
                pieces[owners[r]].append(out[r, 1:len(c) - 1])
        return [(torch.cat(pieces[si]) if pieces[si] else None,
                 np.asarray(word_of, dtype=np.int32))
                for si, (_, word_of) in enumerate(tokenised)]
