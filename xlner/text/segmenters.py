"""Word segmenters for languages written without spaces, keyed by NLLB language code.

Plain module (no Beam). ``segment(text, lang)`` returns words and ``(start, end)``
character offsets, like ``xlner.text.words.split_words``; every word is an exact
substring of ``text``. Burmese (``mya_Mymr``) uses a rule-based syllable segmenter
implemented here (no dependency). Thai, Lao, Khmer, Japanese and Chinese segmenters are
optional third-party packages, installed through pip extras; ``missing_segmenters``
lets a pre-flight check (pipeline/preflight.py) stop before any work with one line naming
the extra. ``transforms/split.py`` splits translations with it; the evaluation maps spans
over these words back onto differently tokenised gold through character offsets
(``xlner.text.retokenize``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from typing import Callable, Iterable

import regex

# Myanmar syllable break: a new syllable starts at a consonant (or independent vowel,
# digit, symbol) unless that consonant is stacked (preceded by the virama U+1039) or
# killed (followed by asat U+103A, optionally after a dot below U+1037).
_MYMR_BREAK = regex.compile(
    r"(?<![\u1039])(?=[\u1000-\u102A\u103F\u104C-\u104F\u1040-\u1049\u104A\u104B])"
    r"(?![\u1000-\u1021][\u1037]?[\u103A\u1039])"
)


def _offsets(text: str, words: Iterable[str]) -> tuple[list[str], list[tuple[int, int]]]:
    """Locate consecutive ``words`` in ``text``, dropping whitespace-only ones."""
    out, offs, pos = [], [], 0
    for w in words:
        if not w or w.isspace():
            pos += len(w)
            continue
        start = text.find(w, pos)
        if start < 0:
            raise ValueError(f"segmenter returned {w!r}, not a substring of the text")
        out.append(w)
        offs.append((start, start + len(w)))
        pos = start + len(w)
    return out, offs


def _burmese(text: str) -> list[str]:
    words = []
    for chunk in regex.split(r"(\s+)", text):
        if not chunk or chunk.isspace():
            continue
        bounds = sorted({0, len(chunk), *(m.start() for m in _MYMR_BREAK.finditer(chunk))})
        words.extend(chunk[a:b] for a, b in zip(bounds, bounds[1:]) if a < b)
    return words


def _thai(text: str) -> list[str]:
    # pythainlp creates a data folder on import (~/pythainlp-data by default); keep it in tmp.
    os.environ.setdefault("PYTHAINLP_DATA", os.path.join(tempfile.gettempdir(), "pythainlp-data"))
    from pythainlp.tokenize import word_tokenize

    return word_tokenize(text, engine="newmm", keep_whitespace=False)


def _lao(text: str) -> list[str]:
    os.environ.setdefault("PYTHAINLP_DATA", os.path.join(tempfile.gettempdir(), "pythainlp-data"))
    from laonlp.tokenize import word_tokenize

    return word_tokenize(text)


_JIEBA = []


def _chinese(text: str) -> list[str]:
    # One dictionary, no HMM guessing of unknown words: the same words on every run.
    # jieba caches its prefix dictionary under the temp dir; its log line is silenced.
    if not _JIEBA:
        import logging

        import jieba

        jieba.setLogLevel(logging.WARNING)
        _JIEBA.append(jieba.Tokenizer())
    return _JIEBA[0].lcut(text, HMM=False)


_KHMER = []
_ZWSP = "\u200b"


def _khmer_quiet(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


def _khmer_chunk(chunk: str, tokens: list[str]) -> list[str] | None:
    """``tokens`` (segmented from ``chunk`` without its zero-width spaces) as slices of
    ``chunk``: a zero-width space of the text stays inside the word it falls in, or is
    dropped between words. None when a token does not match the text."""
    words, pos = [], 0
    for tok in tokens:
        tok = tok.replace(_ZWSP, "")
        if not tok or tok.isspace():
            continue
        while pos < len(chunk) and chunk[pos] == _ZWSP:
            pos += 1
        start, i = pos, 0
        while i < len(tok):
            if pos < len(chunk) and chunk[pos] == tok[i]:
                i += 1
            elif pos >= len(chunk) or chunk[pos] != _ZWSP:
                return None
            pos += 1
        words.append(chunk[start:pos])
    return words if not chunk[pos:].strip(_ZWSP) else None


def _khmer(text: str) -> list[str]:
    # khmer-nltk logs INFO lines through its own "khmer-nltk" logger (which it gives its
    # own handler) when it loads its model: a filter on that one logger silences them,
    # nothing else's logging is touched. The model is a pickled sklearn-crfsuite CRF
    # shipped inside the khmer-nltk wheel (docs/LANGUAGES.md).
    if not _KHMER:
        logging.getLogger("khmer-nltk").addFilter(_khmer_quiet)
        from khmernltk import word_tokenize

        _KHMER.append(word_tokenize)
    words = []
    # One chunk between spaces at a time: its clean-up rewrites some spaced phrases (moves
    # or drops a space) and removes zero-width spaces, so its tokens are mapped back onto
    # the text; a chunk it would change otherwise keeps one word per grapheme.
    for chunk in regex.split(r"\s+", text):
        if not chunk.strip(_ZWSP):
            continue
        tokens = _KHMER[0](chunk.replace(_ZWSP, ""), return_tokens=True)
        mapped = _khmer_chunk(chunk, tokens)
        if mapped is None:
            from xlner.text.words import split_words

            mapped = split_words(chunk)[0]
        words.extend(mapped)
    return words


_SUDACHI: dict = {}
_SUDACHI_LOCK = threading.Lock()
_SUDACHI_LOCAL = threading.local()


def _japanese(text: str) -> list[str]:
    # SudachiPy with the core dictionary, split mode C (the longest units: トヨタ自動車,
    # 愛知県). A Sudachi tokenizer must not be shared between threads: one per thread,
    # over one dictionary.
    tokenizer = getattr(_SUDACHI_LOCAL, "tokenizer", None)
    if tokenizer is None:
        with _SUDACHI_LOCK:
            if "dictionary" not in _SUDACHI:
                from sudachipy import Dictionary

                _SUDACHI["dictionary"] = Dictionary(dict="core")
        from sudachipy import SplitMode

        tokenizer = _SUDACHI["dictionary"].tokenizer(SplitMode.C)
        _SUDACHI_LOCAL.tokenizer = tokenizer
    return [m.surface() for piece in _pieces(text, _SUDACHI_MAX_CHARS)
            for m in tokenizer.tokenize(piece)]


# Sudachi refuses an input over 49149 UTF-8 bytes; 12000 characters are at most 48000.
_SUDACHI_MAX_CHARS = 12000


def _pieces(text: str, limit: int) -> list[str]:
    """``text`` cut into consecutive pieces of at most ``limit`` characters, each cut just
    after the last sentence end or space before the limit (at the limit if none)."""
    pieces = []
    while len(text) > limit:
        head = text[:limit]
        cut = max(head.rfind(c) for c in "。！？!?.\n ") + 1 or limit
        pieces.append(text[:cut])
        text = text[cut:]
    return pieces + [text] if text else pieces


@dataclass(frozen=True)
class Segmenter:
    module: str  # the segmenter's import name, named in the pre-flight line
    extra: str  # pip extra that installs it
    fn: Callable[[str], list[str]] | None
    also: tuple[str, ...] = ()  # other import names it needs (a dictionary package)

    def missing(self) -> bool:
        return any(importlib.util.find_spec(m) is None for m in (self.module, *self.also))


_BURMESE = Segmenter("regex", "", _burmese)
_THAI = Segmenter("pythainlp", "thai", _thai)

# Only registered segmenters run; the rest are listed with the extra they will need.
SEGMENTERS: dict[str, Segmenter] = {
    "mya_Mymr": _BURMESE,
    "tha_Thai": _THAI,
    "lao_Laoo": Segmenter("laonlp", "lao", _lao),
    "khm_Khmr": Segmenter("khmernltk", "khmer", _khmer),
    "jpn_Jpan": Segmenter("sudachipy", "japanese", _japanese, also=("sudachidict_core",)),
    "zho_Hans": Segmenter("jieba", "chinese", _chinese),
    "zho_Hant": Segmenter("jieba", "chinese", _chinese),
    "yue_Hant": Segmenter("jieba", "chinese", _chinese),
}


def segmenter_for(lang: str | None) -> Segmenter | None:
    return SEGMENTERS.get(lang or "")


def missing_segmenters(langs: Iterable[str]) -> list[str]:
    """One line per target language whose segmenter package is not installed."""
    lines = []
    for lang in sorted(set(langs)):
        seg = segmenter_for(lang)
        if seg and seg.extra and seg.missing():
            lines.append(
                f"{lang} needs the {seg.module} word segmenter: pip install 'xlner-beam[{seg.extra}]'"
            )
    return lines


def segment(text: str, lang: str | None) -> tuple[list[str], list[tuple[int, int]]]:
    """Words and character offsets of ``text`` in ``lang``; falls back to split_words."""
    seg = segmenter_for(lang)
    if seg is None:
        from xlner.text.words import split_words

        return split_words(text)
    return _offsets(text, seg.fn(text))
