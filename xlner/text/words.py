"""Joining words into a sentence for translation, and splitting translations into words.

The splitter is Unicode-aware (letters, combining marks and digits of every script form
words; scripts written without spaces give one word per grapheme, as PAN-X tokenises
Chinese, Japanese and Thai) and records character offsets so every target word can be
traced back into the translation text. A word is always an exact substring of the text:
nothing is normalised, and the invisible joiners that are part of how words are spelt
(ZWJ and ZWNJ in Sinhala, Persian and the Indic scripts, the soft hyphen, the word
joiner) stay inside the word they touch instead of splitting it. Only whitespace and other
format characters between words (a zero-width space, a byte-order mark) are dropped.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import regex

# Scripts that do not separate words with spaces: one grapheme cluster per word.
_NO_SPACE_SCRIPTS = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Tibetan}"
_WORD_CHARS = r"\p{L}\p{M}\p{N}"
# Format characters that belong to the spelling of a word: ZWNJ (Persian می‌خواهم), ZWJ
# (Sinhala ශ්‍රී, Malayalam chillu, Indic conjuncts), soft hyphen, word joiner.
JOINERS = "\u200c\u200d\u00ad\u2060"
_LETTER = rf"(?![{_NO_SPACE_SCRIPTS}])[{_WORD_CHARS}]"
_WORD_RE = regex.compile(
    rf"""
    (?=[{_NO_SPACE_SCRIPTS}])\X                     # one grapheme of a no-space script
    | [{JOINERS}]*\p{{N}}(?:[{JOINERS}]*\p{{N}})*
      (?:[{JOINERS}]*[.,:/][{JOINERS}]*\p{{N}}(?:[{JOINERS}]*\p{{N}})*)*   # numbers: 1,000.50  12:30  3/4
    | [{JOINERS}]*{_LETTER}(?:{_LETTER}|[{JOINERS}])*
      (?:['’\-][{JOINERS}]*{_LETTER}(?:{_LETTER}|[{JOINERS}])*)*   # words, inner ' and -
    | \X                                            # any other visible grapheme
    """,
    regex.VERBOSE,
)
_SPACE_RE = regex.compile(r"[\s\p{Cf}]+")

# NLLB script suffixes of languages whose sentences are written without spaces.
NO_SPACE_SCRIPT_CODES = ("Hans", "Hant", "Jpan", "Thai", "Laoo", "Khmr", "Tibt")


def split_words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Words of ``text`` and their ``(start, end)`` character offsets."""
    words, offsets = [], []
    for m in _WORD_RE.finditer(text):
        w = m.group()
        if _SPACE_RE.fullmatch(w):
            continue
        words.append(w)
        offsets.append((m.start(), m.end()))
    return words, offsets


def writes_without_spaces(lang: str | None) -> bool:
    """True for NLLB codes like ``zho_Hans``/``jpn_Jpan``/``tha_Thai``."""
    return bool(lang) and lang.rsplit("_", 1)[-1] in NO_SPACE_SCRIPT_CODES


@lru_cache(maxsize=1)
def _treebank():
    from nltk.tokenize.treebank import TreebankWordDetokenizer

    return TreebankWordDetokenizer()


def detokenize(tokens: Sequence[str], lang: str | None = None) -> str:
    """Join words into the sentence a translation model expects.

    Languages written without spaces are concatenated; everything else goes through the
    Treebank detokeniser (docs/method.md §2.1) after plain ``"`` tokens are turned into the
    opening/closing quotes it understands, so ``" chancellor "`` becomes ``"chancellor"``.
    """
    if writes_without_spaces(lang):
        return "".join(tokens)
    quoted, opening = [], True
    for t in tokens:
        if t == '"':
            quoted.append("``" if opening else "''")
            opening = not opening
        else:
            quoted.append(t)
    text = _treebank().detokenize(quoted)
    return text.replace("``", '"').replace("''", '"')
