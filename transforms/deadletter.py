"""Dead-letter plumbing shared by every stage.

Each stage returns :class:`Staged` (its good output and its dead letters). A record that a
stage cannot process becomes a :class:`~xlner.formats.records.DeadLetter` with the stage name and a
short reason code, is counted in a Beam metric, and ends up in ``OUTPUT/dead_letter/`` and
in the run summary: nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, NamedTuple, Optional

from apache_beam.metrics import Metrics
from apache_beam.pvalue import PCollection, TaggedOutput

from xlner.formats.records import DeadLetter, LabeledSentence
from xlner.formats.splits import has_splits, split_of_id

DEAD = "dead_letter"
NAMESPACE = "xlner"


class Staged(NamedTuple):
    ok: PCollection
    dead: PCollection


class DeadLetters:
    """The dead letters of a chain of stages: ``ok = dead.keep(pcoll | Stage(...))``."""

    def __init__(self):
        self._parts: list[PCollection] = []

    def keep(self, staged: Staged) -> PCollection:
        self._parts.append(staged.dead)
        return staged.ok

    def add(self, dead: PCollection) -> None:
        self._parts.append(dead)

    def flatten(self, label: str = "AllDeadLetters") -> PCollection:
        import apache_beam as beam

        return tuple(self._parts) | label >> beam.Flatten()


def dead_letter(stage: str, reason: str, record_id: Optional[str], detail: str = "",
                tgt_lang: Optional[str] = None, record: Any = None,
                split: Optional[str] = None) -> TaggedOutput:
    """A tagged dead letter for ``ParDo(...).with_outputs(DEAD, main=...)``; ``split``
    when the stage knows it (the read stage), else it is filled in from the record id
    (``with_split``)."""
    Metrics.counter(NAMESPACE, f"dead_letter_{stage}").inc()
    return TaggedOutput(DEAD, DeadLetter(stage=stage, reason=reason, record_id=record_id,
                                         detail=detail[:2000], tgt_lang=tgt_lang,
                                         record=record, split=split))


def with_split(d: DeadLetter, splits) -> DeadLetter:
    """``d`` with its input split: the one the read stage gave it, else the one its id
    names (``splits``: the run's path -> split map, ``ReadLabeledSentences``)."""
    if d.split is not None:
        return d
    return dataclasses.replace(d, split=split_of_id(d.record_id, has_splits(splits)))


def sentence_view(s: LabeledSentence) -> dict:
    """A JSON-safe view of a sentence for the dead-letter file."""
    return {"id": s.id, "tokens": list(s.tokens), "ner_tags": list(s.tags), "lang": s.lang}


def dead_letter_json(d: DeadLetter) -> str:
    return json.dumps(dataclasses.asdict(d), ensure_ascii=False, default=str)
