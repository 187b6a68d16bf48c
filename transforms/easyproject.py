"""EasyProject around the shared translation step, as the two stages that use it.

A :class:`~xlner.formats.records.MarkedUnit` (words + entity spans to carry into a language) becomes
translation requests — the marked sentence and each entity string — for ``TranslateTexts``;
the results are grouped by unit and the labelled target words recovered by fuzzy matching
(``xlner.projection.easyproject``). Two composites serve both jobs:

* ``TranslateMarked`` — EasyProject as the projection: LabeledSentence -> SentencePair per
  target language whose target words and spans come from the marked translation;
* ``BackTranslate`` — the tgt2tgt refinement: SentencePair -> the same pair with its
  source side replaced by an EasyProject translation into the target language.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from transforms.translate import TranslateTexts
from xlner.text.bio import tags_to_spans
from xlner.projection.easyproject import entity_texts, marked_sentence, recover
from xlner.formats.records import (EasyProjected, LabeledSentence, MarkedUnit, ProjectedEntity,
                           SentencePair, TextRequest, Translation, pair_key)

MARKED_SLOT = "marked"
ENTITY_SLOT = "entity:"


def plan_requests(u: MarkedUnit):
    """The marked sentence and every entity string of a unit, as TextRequests."""
    yield TextRequest(u.key, MARKED_SLOT, marked_sentence(u.words, u.spans, u.src_lang),
                      u.src_lang, u.tgt_lang, owner=u)
    for k, text in enumerate(entity_texts(u.words, u.spans, u.src_lang)):
        yield TextRequest(u.key, f"{ENTITY_SLOT}{k}", text, u.src_lang, u.tgt_lang, owner=u)


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
            failure = marked.failure if marked else None
            yield dead_letter("easyproject", failure.reason if failure else "missing_marked",
                              unit.record.id, failure.error if failure else
                              "no marked translation", unit.tgt_lang,
                              {"words": list(unit.words)})
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
        entities = tuple(
            ProjectedEntity(sp.start, sp.end, sp.label, k, ratio, len(sp) / len(unit.spans[k]))
            for sp, k, ratio in zip(rec.spans, rec.sources, rec.ratios))
        yield EasyProjected(unit, clean, rec.words, rec.spans, rec.markers, rec.matched,
                            marked.origin, marked.model, entities)


class EasyProject(beam.PTransform):
    """MarkedUnit -> EasyProjected: translate the marked sentence and the entity strings
    with ``texts``, then recover the labelled target words per unit."""

    def __init__(self, texts: TranslateTexts, paper_quirks: bool = False):
        super().__init__()
        self._texts = texts
        self._quirks = paper_quirks

    def expand(self, units):
        res = (units
               | "Requests" >> beam.FlatMap(plan_requests)
               | "TranslateTexts" >> self._texts
               | "ByUnit" >> beam.Map(lambda t: (t.request.owner_key, t))
               | "GroupUnit" >> beam.GroupByKey()
               | "Recover" >> beam.ParDo(_Recover(self._quirks)).with_outputs(DEAD, main="ok"))
        return Staged(res.ok, res[DEAD])


def marked_units(s: LabeledSentence, target_langs: Sequence[str]):
    """One unit per (sentence, target language): the sentence's own words and entities."""
    for tgt in target_langs:
        if tgt != s.lang:
            yield MarkedUnit(pair_key(s.id, tgt), s, s.lang, tgt, s.tokens,
                             tags_to_spans(s.tags))


def marked_pair(ep: EasyProjected) -> SentencePair:
    """The recovered translation is the target sentence; its spans are the labels."""
    s = ep.unit.record
    t = Translation(source=s, tgt_lang=ep.unit.tgt_lang, text=ep.text, origin=ep.origin,
                    model=ep.model, words=ep.words)
    return SentencePair(translation=t, src_lang=s.lang, tgt_lang=ep.unit.tgt_lang,
                        src_words=s.tokens, src_spans=tags_to_spans(s.tags),
                        tgt_words=ep.words, tgt_spans=ep.entities)


class TranslateMarked(beam.PTransform):
    """LabeledSentence -> SentencePair per target language, the target words and spans
    recovered from the EasyProject translation (EasyProject as the projection)."""

    def __init__(self, texts: TranslateTexts, target_langs: Sequence[str],
                 paper_quirks: bool = False):
        super().__init__()
        self._targets = tuple(target_langs)
        self._easyproject = EasyProject(texts, paper_quirks)

    def expand(self, sentences):
        res = (sentences | "Units" >> beam.FlatMap(marked_units, self._targets)
               | "EasyProject" >> self._easyproject)
        return Staged(res.ok | "Pairs" >> beam.Map(marked_pair), res.dead)


def back_translation_unit(pair: SentencePair) -> MarkedUnit:
    return MarkedUnit(pair.key, pair.record, pair.src_lang, pair.tgt_lang, pair.src_words,
                      pair.src_spans, pair)


def back_translated_pair(ep: EasyProjected) -> SentencePair:
    """tgt2tgt: the EasyProject back-translation is the entity side, in the same language."""
    return dataclasses.replace(ep.unit.pair, src_lang=ep.unit.tgt_lang, src_words=ep.words,
                               src_spans=ep.spans)


class BackTranslate(beam.PTransform):
    """SentencePair -> the pair whose source side is an EasyProject translation of it into
    the target language, so alignment is within one language (docs/method.md §1.2, tgt2tgt)."""

    def __init__(self, texts: TranslateTexts, paper_quirks: bool = False):
        super().__init__()
        self._easyproject = EasyProject(texts, paper_quirks)

    def expand(self, pairs):
        res = (pairs | "Units" >> beam.Map(back_translation_unit)
               | "EasyProject" >> self._easyproject)
        return Staged(res.ok | "Pairs" >> beam.Map(back_translated_pair), res.dead)
