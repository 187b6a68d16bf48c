"""EasyProject (Chen et al., 2023): project labels by translating a sentence with markers.

The source entities are wrapped in ``[ ]``, the marked sentence is translated by a model
that keeps the markers, each entity string is translated on its own, and every marked span
of the output is matched to an entity translation by fuzzy string similarity to recover
its label (docs/method.md §7). Used directly as a projection method (translate-train) and as
the back-translation side of the tgt2tgt refinement.

Defaults fix the reference's quirks (P12): the best match wins (not the last one above the
threshold), the marked text is compared without its brackets, and the brackets of a
marker that matches nothing are removed instead of becoming words.
``paper_quirks=True`` restores the reference behaviour.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Callable, Sequence

from xlner.formats.records import Span
from xlner.text.words import detokenize, split_words

MARKER_RE = re.compile(r"\[(.*?)\]")
FUZZY_THRESHOLD = 0.5


def marked_words(words: Sequence[str], spans: Sequence[Span]) -> list[str]:
    """The words with ``[`` before and ``]`` after each entity (spans in order)."""
    out: list[str] = []
    cursor = 0
    for s in sorted(spans, key=lambda x: x.start):
        out += list(words[cursor:s.start]) + ["["] + list(words[s.start:s.end]) + ["]"]
        cursor = s.end
    return out + list(words[cursor:])


def marked_sentence(words: Sequence[str], spans: Sequence[Span], lang: str | None = None) -> str:
    """Detokenised marked sentence, e.g. ``"… visited [Paris] with [John Smith] …"``."""
    text = detokenize(marked_words(words, spans), lang)
    return re.sub(r"\[\s+", "[", re.sub(r"\s+\]", "]", text))


def entity_texts(words: Sequence[str], spans: Sequence[Span], lang: str | None = None
                 ) -> list[str]:
    return [detokenize(words[s.start:s.end], lang) for s in spans]


@dataclass(frozen=True)
class Recovered:
    words: tuple[str, ...]
    spans: tuple[Span, ...]
    markers: int  # marked spans found in the translation
    matched: int  # ... of which were matched to a source entity
    sources: tuple[int, ...] = ()  # per span: the source entity it was matched to
    ratios: tuple[float, ...] = ()  # per span: the fuzzy-match ratio of that match


def recover(translation: str, entity_translations: Sequence[str | None],
            labels: Sequence[str], *, split: Callable[[str], list[str]] | None = None,
            threshold: float = FUZZY_THRESHOLD, paper_quirks: bool = False) -> Recovered:
    """Words and labelled spans of a marked translation.

    ``entity_translations[k]`` is the stand-alone translation of source entity k (None if
    it failed) and ``labels[k]`` its label; each source entity is used at most once.
    """
    split = split or (lambda text: split_words(text)[0])
    pool = [(k, t) for k, t in enumerate(entity_translations) if t]
    words: list[str] = []
    spans: list[Span] = []
    sources: list[int] = []
    ratios: list[float] = []
    cut, markers, matched = 0, 0, 0
    pending = ""  # text of unmatched markers that stays in the next segment
    for m in MARKER_RE.finditer(translation):
        markers += 1
        inner = m.group(1)
        probe = (m.group(0) if paper_quirks else inner).lower()
        best, best_ratio, chosen_ratio = None, threshold, 0.0
        for idx, (_, et) in enumerate(pool):
            r = difflib.SequenceMatcher(None, probe, et.lower()).ratio()
            if r > threshold and (paper_quirks or r > best_ratio):
                best, best_ratio, chosen_ratio = idx, r, r
        if best is None:
            if not paper_quirks:  # keep the words, drop the stray brackets
                pending += translation[cut:m.start()] + " " + inner + " "
                cut = m.end()
            continue
        k, _ = pool.pop(best)
        words += split(pending + translation[cut:m.start()])
        pending = ""
        start = len(words)
        words += split(inner)
        if len(words) > start:
            spans.append(Span(start, len(words), labels[k]))
            sources.append(k)
            ratios.append(chosen_ratio)
            matched += 1
        cut = m.end()
    words += split(pending + translation[cut:])
    return Recovered(tuple(words), tuple(spans), markers, matched, tuple(sources),
                     tuple(ratios))
