"""Spans over one tokenisation of a sentence -> tags over another, through character offsets.

The evaluation projects English entities onto the gold sentence split by the language's
word segmenter (``xlner.text.segmenters``), but scores on the gold's own tokens: PAN-X
tokenises Chinese, Japanese and Thai one character per token, other gold data its own way.
The gold tokens are joined into one text (``join_tokens``), the segmenter splits that text
(``gold_words``), and the tags projected onto its words are carried back onto the gold
tokens by character offsets (``tags_onto_tokens``).

The rule: a gold token belongs to a predicted span when more than half of its characters
lie inside the span's character range (from the first character of its first word to the
last character of its last word). A token wholly inside belongs, a token wholly outside
does not; a token that straddles an edge of the span (the gold token is longer than the
segmenter's word there) belongs only when most of its characters are inside, so the span
either takes the whole gold token or leaves it, and a span that keeps no token is dropped.
Spans do not overlap, so a token belongs to at most one span. The first token of a span is
tagged ``B-``, the others ``I-``: adjacent spans stay apart.
"""

from __future__ import annotations

from typing import Optional, Sequence

import regex

from xlner.text.bio import Span, spans_to_tags, tags_to_spans

Offsets = Sequence[tuple[int, int]]

# Characters of scripts written without spaces (and the Myanmar script, whose words are
# not separated either): no space is put next to them when gold tokens are joined.
_NO_SPACE = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}"
                          r"\p{Myanmar}\p{Tibetan}\u3000-\u303f\uff00-\uffef]")


def join_tokens(tokens: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """One text of the gold ``tokens`` and each token's ``(start, end)`` in it: no space
    between two tokens when the character on either side of the join is of a script
    written without spaces (北 + 京 -> 北京, 用 + iPhone -> 用iPhone), one space otherwise
    (iPhone + X -> iPhone X)."""
    parts, offsets, pos = [], [], 0
    for i, tok in enumerate(tokens):
        if i and tok and parts[-1] and not (_NO_SPACE.match(parts[-1][-1])
                                            or _NO_SPACE.match(tok[0])):
            parts.append(" ")
            pos += 1
        parts.append(tok)
        offsets.append((pos, pos + len(tok)))
        pos += len(tok)
    return "".join(parts), offsets


def locate(text: str, words: Sequence[str]) -> list[tuple[int, int]]:
    """``(start, end)`` of consecutive ``words`` in ``text`` (each an exact substring)."""
    offsets, pos = [], 0
    for w in words:
        start = text.find(w, pos)
        if start < 0:
            raise ValueError(f"{w!r} is not in {text!r} after position {pos}")
        offsets.append((start, start + len(w)))
        pos = start + len(w)
    return offsets


def gold_words(tokens: Sequence[str], lang: Optional[str]
               ) -> Optional[tuple[list[str], list[tuple[int, int]], list[tuple[int, int]]]]:
    """The segmenter's words of a gold sentence, their offsets and the gold tokens' offsets
    in the joined text; None when ``lang`` has no segmenter or its words are the tokens."""
    from xlner.text.segmenters import segment, segmenter_for

    if segmenter_for(lang) is None or not tokens:
        return None
    text, token_offsets = join_tokens(tokens)
    words, word_offsets = segment(text, lang)
    if tuple(words) == tuple(tokens):
        return None
    return words, word_offsets, token_offsets


def spans_onto_tokens(spans: Sequence[Span], word_offsets: Offsets,
                      token_offsets: Offsets) -> tuple[Span, ...]:
    """Spans over words -> spans over tokens by the majority rule of the module doc."""
    out = []
    for sp in spans:
        lo, hi = word_offsets[sp.start][0], word_offsets[sp.end - 1][1]
        inside = [i for i, (a, b) in enumerate(token_offsets)
                  if b > a and 2 * (min(b, hi) - max(a, lo)) > b - a]
        if inside:
            out.append(Span(inside[0], inside[-1] + 1, sp.label))
    return tuple(out)


def tags_onto_tokens(word_tags: Sequence[str], word_offsets: Offsets,
                     token_offsets: Offsets) -> tuple[str, ...]:
    """IOB2 tags over words -> IOB2 tags over tokens of the same text."""
    if len(word_tags) != len(word_offsets):
        raise ValueError(f"{len(word_tags)} tags for {len(word_offsets)} words")
    spans = spans_onto_tokens(tags_to_spans(word_tags), word_offsets, token_offsets)
    return spans_to_tags(spans, len(token_offsets))
