"""EasyProject as two stages around the shared translation step.

``PlanEasyProject`` turns a unit (words + entity spans to carry into a target language)
into translation requests: the marked sentence and each entity string. After
``TranslateTexts``, ``RecoverEasyProject`` groups the results by unit key and recovers the
labelled target words by fuzzy matching (``xlner.easyproject``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from xlner.easyproject import entity_texts, marked_sentence, recover
from xlner.records import Span, TextRequest

MARKED_SLOT = "marked"
ENTITY_SLOT = "entity:"


@dataclass(frozen=True)
class MarkedUnit:
    """Words with entities to carry into ``tgt_lang``; ``context`` returns with the result."""

    key: str
    record_id: str
    src_lang: str
    tgt_lang: str
    words: tuple[str, ...]
    spans: tuple[Span, ...]
    context: Any = None


@dataclass(frozen=True)
class EasyProjected:
    """The recovered target words and spans of one unit."""

    unit: MarkedUnit
    text: str  # the translation with the markers of recovered entities removed
    words: tuple[str, ...]
    spans: tuple[Span, ...]
    markers: int
    matched: int
    origin: str
    model: str


def is_easyproject(t) -> bool:
    return t.request.slot == MARKED_SLOT or t.request.slot.startswith(ENTITY_SLOT)


def plan_requests(u: MarkedUnit):
    """The marked sentence and every entity string of a unit, as TextRequests."""
    yield TextRequest(u.key, MARKED_SLOT, marked_sentence(u.words, u.spans, u.src_lang),
                      u.src_lang, u.tgt_lang, owner=u)
    for k, text in enumerate(entity_texts(u.words, u.spans, u.src_lang)):
        yield TextRequest(u.key, f"{ENTITY_SLOT}{k}", text, u.src_lang, u.tgt_lang, owner=u)


class PlanEasyProject(beam.PTransform):
    """MarkedUnit -> TextRequest."""

    def expand(self, units):
        return units | "PlanEasyProject" >> beam.FlatMap(plan_requests)


@beam.typehints.with_output_types(EasyProjected)
class _Recover(beam.DoFn):
    def __init__(self, paper_quirks: bool):
        self._quirks = paper_quirks
        self._lost = Metrics.counter(NAMESPACE, "easyproject_entities_lost")
        self._found = Metrics.counter(NAMESPACE, "easyproject_entities_recovered")

    def process(self, element):
        _, texts = element
        texts = list(texts)
        unit: MarkedUnit = texts[0].request.owner
        marked = next((t for t in texts if t.request.slot == MARKED_SLOT), None)
        if marked is None or marked.text is None:
            yield dead_letter("easyproject", (marked.reason if marked else "") or
                              "translation_failed", unit.record_id,
                              marked.error if marked else "no marked translation",
                              unit.tgt_lang, {"words": list(unit.words)})
            return
        ents = [None] * len(unit.spans)
        for t in texts:
            if t.request.slot.startswith(ENTITY_SLOT):
                ents[int(t.request.slot[len(ENTITY_SLOT):])] = t.text
        rec = recover(marked.text, ents, [s.label for s in unit.spans],
                      paper_quirks=self._quirks)
        self._found.inc(rec.matched)
        self._lost.inc(len(unit.spans) - rec.matched)
        clean = re.sub(r"\s+", " ", re.sub(r"[\[\]]", " ", marked.text)).strip()
        clean = re.sub(r" ([.,;:!?)])", r"\1", clean)
        yield EasyProjected(unit, clean, rec.words, rec.spans, rec.markers, rec.matched,
                            marked.origin, marked.model)


class RecoverEasyProject(beam.PTransform):
    """TranslatedText (EasyProject slots) -> EasyProjected, grouped by unit key."""

    def __init__(self, paper_quirks: bool = False):
        super().__init__()
        self._quirks = paper_quirks

    def expand(self, texts):
        res = (texts
               | "ByUnit" >> beam.Map(lambda t: (t.request.owner_key, t))
               | "GroupUnit" >> beam.GroupByKey()
               | "Recover" >> beam.ParDo(_Recover(self._quirks)).with_outputs(DEAD, main="ok"))
        return Staged(res.ok, res[DEAD])
