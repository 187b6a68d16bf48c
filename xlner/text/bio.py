"""IOB2 tags: validation, unambiguous repair, and conversion to and from spans.

Training data must be well-formed IOB2, but real corpora arrive as IOB1 (``I-X`` opening
an entity, as CoNLL-2003 and the XLM-R CoNLL tagger emit), BIOES/BILOU, or plain broken.
We repair only what has exactly one reading and reject the rest with a reason.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

OUTSIDE = "O"
# Prefixes of other span schemes that map onto IOB2 without ambiguity.
_BEGIN_LIKE = {"B": "B", "S": "B", "U": "B"}
_INSIDE_LIKE = {"I": "I", "E": "I", "L": "I", "M": "I"}
# Control characters and lone surrogates: invisible in a type name, unwritable to Arrow.
_BAD_LABEL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


@dataclass(frozen=True)
class Span:
    """An entity over word indices, half-open: words ``start .. end-1``."""

    start: int
    end: int
    label: str

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: "Span") -> bool:
        return self.start < other.end and other.start < self.end


class InvalidTags(ValueError):
    """Tags that cannot be repaired without guessing; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Repaired:
    tags: tuple[str, ...]
    repairs: int  # number of tags changed


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` -> ``("B", "PER")``; ``"O"`` -> ``("O", "")``. Raises InvalidTags."""
    if not isinstance(tag, str):
        raise InvalidTags("invalid_tag", f"tag {tag!r} is not a string")
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, sep, label = tag.partition("-")
    if (not sep or not label or not label.strip() or label != label.strip()
            or _BAD_LABEL_CHARS.search(label)):
        raise InvalidTags("invalid_tag", f"tag {tag!r} is neither O nor PREFIX-TYPE")
    if prefix not in _BEGIN_LIKE and prefix not in _INSIDE_LIKE:
        raise InvalidTags("invalid_tag", f"tag {tag!r} has unknown prefix {prefix!r}")
    return prefix, label


def repair_iob2(tags: Sequence[str]) -> Repaired:
    """Return IOB2 tags, converting the unambiguous cases.

    * ``I-X`` that does not continue an ``X`` entity starts one: ``B-X`` (IOB1 style);
    * BIOES/BILOU prefixes map to B (S, U) and I (E, L, M), then the rule above applies.
    Anything else (unknown prefixes, empty types) raises InvalidTags.
    """
    out: list[str] = []
    repairs = 0
    prev_label = None  # label of the entity the previous tag belongs to, None after O
    for tag in tags:
        prefix, label = split_tag(tag)
        if prefix == OUTSIDE:
            new = OUTSIDE
            prev_label = None
        else:
            begin = prefix in _BEGIN_LIKE or prev_label != label
            new = ("B-" if begin else "I-") + label
            prev_label = label
        repairs += new != tag
        out.append(new)
    return Repaired(tuple(out), repairs)


def is_iob2(tags: Sequence[str]) -> bool:
    try:
        return repair_iob2(tags).repairs == 0
    except InvalidTags:
        return False


def tags_to_spans(tags: Sequence[str]) -> tuple[Span, ...]:
    """Entity spans of IOB2 tags (lenient: a stray ``I-X`` opens a new entity)."""
    spans: list[Span] = []
    start, label = None, None
    for i, tag in enumerate(list(tags) + [OUTSIDE]):
        prefix, lab = split_tag(tag)
        if start is not None and (prefix != "I" or lab != label):
            spans.append(Span(start, i, label))
            start, label = None, None
        if prefix in ("B", "I") and start is None:
            start, label = i, lab
    return tuple(spans)


def spans_to_tags(spans: Iterable[Span], length: int) -> tuple[str, ...]:
    """IOB2 tags for non-overlapping spans (later spans win where they overlap)."""
    tags = [OUTSIDE] * length
    for s in spans:
        tags[s.start] = "B-" + s.label
        for k in range(s.start + 1, s.end):
            tags[k] = "I-" + s.label
    return repair_iob2(tags).tags


def entity_types(tags: Sequence[str]) -> Counter:
    """Entities per type, counted by their ``B-`` tags (IOB2: one per entity)."""
    return Counter(t[2:] for t in tags if t.startswith("B-"))


def count_entities(tags: Sequence[str]) -> int:
    return sum(1 for t in tags if t.startswith("B-"))


def label_list(types: Iterable[str], given: Optional[Sequence[str]] = None) -> list[str]:
    """The label list a trainer uses: the input's own list (``given``: its names in its
    order) when it holds O and B-/I- of every type, so the output concatenates with the
    input without a mapping; otherwise O, then B-/I- per type in sorted order."""
    types = set(types)
    if given and {OUTSIDE, *(f"{p}-{t}" for t in types for p in "BI")} <= set(given):
        return list(given)
    out = [OUTSIDE]
    for t in sorted(set(types)):
        out += ["B-" + t, "I-" + t]
    return out


def group_word_labels(labels: Sequence[str]) -> tuple[Span, ...]:
    """Entities from per-word tagger labels, as Hugging Face's ``group_entities`` forms them.

    Consecutive words of the same type form one entity unless a word is tagged ``B-``; a
    type change or ``O`` ends it; a label without prefix counts as ``B-``. This is what
    makes IOB1 taggers (XLM-R CoNLL-03 emits ``I-PER`` for every person word) usable:
    reading entities off ``B-`` tags would lose most of them (docs/method.md P6).
    """
    spans: list[Span] = []
    start, label = None, None
    for i, tag in enumerate(list(labels) + [OUTSIDE]):
        if tag == OUTSIDE or not tag:
            prefix, lab = OUTSIDE, None
        elif "-" in tag and tag.split("-", 1)[0] in ("B", "I", "E", "S", "L", "U", "M"):
            prefix, lab = tag.split("-", 1)
        else:
            prefix, lab = "B", tag
        continues = start is not None and lab == label and prefix not in ("B", "S", "U")
        if start is not None and not continues:
            spans.append(Span(start, i, label))
            start = None
        if lab is not None and start is None:
            start, label = i, lab
    return tuple(spans)
