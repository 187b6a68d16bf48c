"""Running a Hugging Face encoder over pre-split words, in windows, in sorted sub-batches.

Both the alignment encoder and the word-level NER tagger need per-subword outputs mapped
back to words, for sentences that can be longer than the model's window. All sentences of
a call are tokenised in one fast-tokenizer call (``is_split_into_words``), cut into
windows at word boundaries when they exceed the model's maximum, sorted by their own
length and run in sub-batches under a padded-token budget, so padding stays small however
the caller batched them; the per-window outputs are concatenated back per sentence.
Nothing is truncated silently.

Every forward pass has a canonical shape, so a sentence's vectors never depend on what it
was batched with (the worker count, the bundle, the other sentences of the call): BLAS
kernels choose their blocking by the shape of the whole batch, and the same sentence in a
batch of 4 rows or of 16 gets different last bits (measured on the embedded encoder), which
then decide ties between alignment links and scores. A pass is ``rows_of(width)`` x
``width``: the width is the longest chunk plus at least one padding column (every pass
takes the masked attention path), rounded up to a multiple of ``WIDTH_STEP``; the row count
depends on the width alone, and dummy rows fill the last pass of each width. The same
sentence, machine and software then give the same bits (``tests/test_determinism.py``).

An encoder that can run its position-wise layers on tokens (the plain BERT-family encoder,
``forward_packed``) gets :meth:`WindowedWordEncoder.pack`'s layout instead: the same
chunks and attention passes, but the projections and feed-forward run on the real tokens
laid end to end in blocks of a fixed row count, not on the passes' padding (~1/3 of a
padded pass's slots on Bible verses). Every product then has one shape too.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Sequence

import numpy as np

DEFAULT_MAX_TOKENS = 8192  # padded subwords per forward pass on an accelerator
CPU_MAX_TOKENS = 1024  # on a CPU: smaller passes, fewer dummy rows
WIDTH_STEP = 32  # pass widths are multiples of this: few distinct shapes


class Packed(NamedTuple):
    """Chunks laid end to end as rows of one token matrix, for encoders whose position-wise
    layers run on tokens rather than on padded sentences.

    ``ids``/``positions``: a token id and its position in its chunk per row (-1 on the
    padding rows after the last chunk; there is always one, and the row count is a whole
    number of ``block``s, so every position-wise pass has the same shape); ``passes``:
    per attention pass, ``index`` [rows_of(width), width] (the row of each slot; padding
    slots and dummy rows point at the first padding row) and ``keep`` (the slots a query
    may attend to) and the number of real rows (dummy rows follow them), the same
    canonical shapes as :meth:`WindowedWordEncoder.run`'s passes;
    ``starts``: each chunk's first row."""

    ids: np.ndarray
    positions: np.ndarray
    passes: list
    starts: list
    block: int


class WindowedWordEncoder:
    """Tokenise word lists and run ``forward(input_ids, attention_mask) -> [B, T, ...]``."""

    def __init__(self, tokenizer, max_positions: int, device: str,
                 max_tokens: Optional[int] = None):
        import torch

        self.tokenizer = tokenizer
        limit = min(getattr(tokenizer, "model_max_length", 512) or 512, max_positions, 512)
        self.limit = limit
        self.window = limit - 3  # room for the two special tokens and one padding column
        self.cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None \
            else tokenizer.bos_token_id
        self.sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None \
            else tokenizer.eos_token_id
        self.pad_id = tokenizer.pad_token_id or 0
        self.device = device
        if max_tokens is None:
            max_tokens = CPU_MAX_TOKENS if str(device) == "cpu" else DEFAULT_MAX_TOKENS
        self.max_tokens = max(max_tokens, limit)
        self._torch = torch

    def subwords_batch(self, sentences: Sequence[Sequence[str]]
                       ) -> list[tuple[list[int], list[int]]]:
        """Per sentence: content subword ids and, for each, the index of its word."""
        nonempty = [k for k, s in enumerate(sentences) if len(s)]
        out: list[tuple[list[int], list[int]]] = [([], []) for _ in sentences]
        if not nonempty:
            return out
        enc = self.tokenizer([list(sentences[k]) for k in nonempty], is_split_into_words=True,
                             add_special_tokens=False)
        for row, k in enumerate(nonempty):
            ids, word_of = enc["input_ids"][row], enc.word_ids(row)
            keep = [j for j, w in enumerate(word_of) if w is not None]
            out[k] = ([ids[j] for j in keep], [word_of[j] for j in keep])
        return out

    def subwords(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        return self.subwords_batch([words])[0]

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

    def width_of(self, length: int) -> int:
        """The canonical pass width of a chunk: at least one padding column, a multiple of
        WIDTH_STEP, at most the model's limit (chunks are shorter than it)."""
        return min(-(-(length + 1) // WIDTH_STEP) * WIDTH_STEP, self.limit)

    def rows_of(self, width: int) -> int:
        """The row count of every pass of ``width`` (a function of the width alone)."""
        return max(1, self.max_tokens // width)

    def _sub_batches(self, lengths: Sequence[int]) -> list[tuple[list[int], int]]:
        """(chunk indices, pass width): chunks of one canonical width, sorted by length,
        at most ``rows_of(width)`` per pass."""
        order = sorted(range(len(lengths)), key=lambda r: lengths[r])
        batches: list[tuple[list[int], int]] = []
        for r in order:
            width = self.width_of(lengths[r])
            if (not batches or batches[-1][1] != width
                    or len(batches[-1][0]) == self.rows_of(width)):
                batches.append(([], width))
            batches[-1][0].append(r)
        return batches

    def chunks_of(self, sentences: Sequence[Sequence[str]],
                  prefixes: Optional[Sequence[int]] = None):
        """(tokenised sentences, chunk id arrays, the sentence of each chunk): every
        sentence cut into windows, each window framed by its first and its SEP token."""
        tokenised = self.subwords_batch(sentences)
        chunks, owners = [], []
        for si, (ids, word_of) in enumerate(tokenised):
            first = self.cls_id if prefixes is None else prefixes[si]
            for a, b in self.windows(word_of):
                chunks.append(np.asarray([first] + ids[a:b] + [self.sep_id],
                                         dtype=np.int64))
                owners.append(si)
        return tokenised, chunks, owners

    def pack(self, chunks: Sequence[np.ndarray], block: int) -> "Packed":
        """The token-packed layout of ``chunks`` (see :class:`Packed`)."""
        starts, at = [], 0
        for c in chunks:
            starts.append(at)
            at += len(c)
        n = at
        total = -(-(n + 1) // block) * block  # at least one padding row, whole blocks
        ids = np.full(total, self.pad_id, dtype=np.int64)
        positions = np.full(total, -1, dtype=np.int64)
        for c, a in zip(chunks, starts):
            ids[a:a + len(c)] = c
            positions[a:a + len(c)] = np.arange(len(c))
        passes = []
        for rows, width in self._sub_batches([len(c) for c in chunks]):
            index = np.full((self.rows_of(width), width), n, dtype=np.int64)  # padding row
            keep = np.zeros((self.rows_of(width), width), dtype=bool)
            keep[:, 0] = True  # a dummy row attends to itself only (no empty softmax)
            for i, r in enumerate(rows):
                index[i, :len(chunks[r])] = starts[r] + np.arange(len(chunks[r]))
                keep[i, 1:len(chunks[r])] = True
            passes.append((index, keep, len(rows)))
        return Packed(ids, positions, passes, starts, block)

    def run_packed(self, sentences: Sequence[Sequence[str]], forward_packed: Callable,
                   block: int, prefixes: Optional[Sequence[int]] = None
                   ) -> list[tuple[Optional[np.ndarray], np.ndarray]]:
        """As :meth:`run`, through ``forward_packed(Packed) -> [rows, ...]`` (numpy out)."""
        tokenised, chunks, owners = self.chunks_of(sentences, prefixes)
        pieces: list[list] = [[] for _ in sentences]
        if chunks:
            packed = self.pack(chunks, block)
            out = forward_packed(packed)
            for r, si in enumerate(owners):  # windows of a sentence in order
                a = packed.starts[r]
                pieces[si].append(out[a + 1:a + len(chunks[r]) - 1])
        return [((np.concatenate(pieces[si]) if len(pieces[si]) > 1 else pieces[si][0].copy())
                 if pieces[si] else None, np.asarray(word_of, dtype=np.int32))
                for si, (_, word_of) in enumerate(tokenised)]

    def run(self, sentences: Sequence[Sequence[str]], forward: Callable,
            prefixes: Optional[Sequence[int]] = None
            ) -> list[tuple[Optional["object"], np.ndarray]]:
        """Per sentence: (output tensor [n_subwords, ...] or None if empty, word_of).

        ``prefixes``: per sentence, the token each window starts with instead of the
        tokenizer's CLS/BOS (a translation model's language code)."""
        torch = self._torch
        tokenised, chunks, owners = self.chunks_of(sentences, prefixes)
        outputs: list = [None] * len(chunks)
        for rows, width in self._sub_batches([len(c) for c in chunks]):
            # every pass of this width has rows_of(width) rows: dummy [first, sep] rows fill it
            input_ids = np.full((self.rows_of(width), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((self.rows_of(width), width), dtype=np.int64)
            input_ids[:, :2] = np.asarray([chunks[rows[0]][0], self.sep_id])
            mask[:, :2] = 1
            for i, r in enumerate(rows):
                input_ids[i, :len(chunks[r])] = chunks[r]
                mask[i, :len(chunks[r])] = 1
            with torch.inference_mode():
                out = forward(torch.from_numpy(input_ids).to(self.device),
                              torch.from_numpy(mask).to(self.device))
            for i, r in enumerate(rows):
                outputs[r] = out[i, 1:len(chunks[r]) - 1]
        pieces: list[list] = [[] for _ in sentences]
        for r, si in enumerate(owners):  # windows of a sentence in order
            pieces[si].append(outputs[r])
        return [(torch.cat(pieces[si]) if pieces[si] else None,
                 np.asarray(word_of, dtype=np.int32))
                for si, (_, word_of) in enumerate(tokenised)]
