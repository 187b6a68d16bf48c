"""Scoring projected labels against gold, the paper's way, from per-sentence counts.

Per sentence and method: labels outside the evaluated types become ``O`` (MISC is written
as O for MasakhaNER2/PAN-X, DATE is ignored on MasakhaNER2), then seqeval-default counts
are taken twice — typed, and on spans regardless of type. A gold sentence without a
prediction for a method (it failed somewhere and went to the dead letter) is scored as
predicting nothing, as the reference does, and counted as ``failed``: failures can never
improve a score. Counts add up, so the Beam job combines them per (language, method).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

from xlner.metrics import Counts, map_labels, sentence_counts


@dataclass
class EvalCounts:
    typed: Counts = field(default_factory=Counts)
    span: Counts = field(default_factory=Counts)
    failed: int = 0

    def add(self, other: "EvalCounts") -> "EvalCounts":
        self.typed.add(other.typed)
        self.span.add(other.span)
        self.failed += other.failed
        return self


def score_sentence(gold: Sequence[str], pred: Optional[Sequence[str]],
                   keep_types: Optional[Iterable[str]] = None,
                   ignore_types: Iterable[str] = ()) -> EvalCounts:
    """Counts of one sentence; ``pred=None`` means the method produced nothing for it."""
    failed = pred is None
    if pred is None or len(pred) != len(gold):
        pred = ["O"] * len(gold)
        failed = True
    g = map_labels(gold, keep_types, ignore_types)
    p = map_labels(pred, keep_types, ignore_types)
    return EvalCounts(sentence_counts(g, p), sentence_counts(g, p, span_only=True),
                      int(failed))


def method_block(counts: EvalCounts, paper: Optional[Mapping]) -> dict:
    return {"typed": counts.typed.scores(), "span": counts.span.scores(),
            "failed": counts.failed, "paper": dict(paper) if paper else None}


def assemble(per_key: Mapping[tuple[str, str], EvalCounts], languages: Sequence,
             methods: Sequence[str], paper: Mapping[tuple[str, str], Mapping],
             primary: str, dead_letters: Mapping[str, Mapping] | None = None,
             header: Mapping | None = None) -> dict:
    """The metrics.json document: per language x method scores beside the paper's.

    ``languages`` have a ``code`` (the data set's code, the report key) and an ``nllb``
    code. Averages are over the languages where the paper has the method too, so the
    two averages compare the same languages.
    """
    dead_letters = dead_letters or {}
    out_langs = {}
    for lang in languages:
        code = lang.code
        blocks = {}
        for m in methods:
            counts = per_key.get((code, m))
            if counts is not None:
                blocks[m] = method_block(counts, paper.get((code, m)))
        sentences = max((b["typed"]["sentences"] for b in blocks.values()), default=0)
        out_langs[code] = {"nllb": lang.nllb, "sentences": sentences,
                           "dead_letters": dead_letters.get(code, {}), "methods": blocks}
    averages = {}
    for m in methods:
        ours, theirs = [], []
        for entry in out_langs.values():
            block = entry["methods"].get(m)
            if block and block["paper"]:
                ours.append(block[primary]["overall"]["f1"])
                theirs.append(block["paper"]["f1"])
        averages[m] = {"f1": sum(ours) / len(ours) if ours else None,
                       "paper_f1": sum(theirs) / len(theirs) if theirs else None,
                       "languages": len(ours)}
        if not ours:  # no paper rows: average over every language we scored
            scored = [e["methods"][m][primary]["overall"]["f1"] for e in out_langs.values()
                      if m in e["methods"]]
            averages[m].update(f1=sum(scored) / len(scored) if scored else None,
                               languages=len(scored))
    return {**(header or {}), "primary": primary, "methods": list(methods),
            "languages": out_langs, "averages": averages}
