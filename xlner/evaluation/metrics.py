"""Entity-level scores in seqeval's default (lenient, conlleval-style) mode, and proj_ratio.

seqeval's micro precision/recall/F1 compare *sets* of chunks ``(type, start, end)`` that it
extracts sentence by sentence, so they decompose exactly into per-sentence counts. We keep
those counts in :class:`Counts`, which add up in any order: the Beam job combines them with
a CombineFn instead of collecting the corpus in one process (docs/method.md §1.6, §9).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from xlner.text.bio import OUTSIDE, count_entities


def _split(tag: str) -> tuple[str, str]:
    prefix = tag[:1]
    label = tag[1:].split("-", 1)[-1] or "_"
    return prefix, label


def chunks(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """Chunks ``(type, start, end_exclusive)`` as seqeval reads them with default arguments.

    Lenient rules: an ``I-X`` after ``O`` or after another type opens a chunk; a type change
    closes one; ``E-``/``S-`` are honoured as conlleval does. Matches
    ``seqeval.metrics.sequence_labeling.get_entities`` (checked by a property test).
    """
    out = set()
    prev_prefix, prev_label, begin = OUTSIDE, "", 0
    for i, tag in enumerate(list(tags) + [OUTSIDE]):
        prefix, label = _split(tag)
        ends = (
            prev_prefix in ("E", "S")
            or (prev_prefix in ("B", "I") and prefix in ("B", "S", OUTSIDE))
            or (prev_prefix not in (OUTSIDE, ".") and prev_label != label)
        )
        starts = (
            prefix in ("B", "S")
            or (prev_prefix in ("E", "S") and prefix in ("E", "I"))
            or (prev_prefix == OUTSIDE and prefix in ("E", "I"))
            or (prefix not in (OUTSIDE, ".") and prev_label != label)
        )
        if ends:
            out.add((prev_label, begin, i))
        if starts:
            begin = i
        prev_prefix, prev_label = prefix, label
    return out


def map_labels(tags: Sequence[str], keep: Iterable[str] | None = None,
               ignore: Iterable[str] = ()) -> list[str]:
    """Turn tags whose type is ignored, or not in ``keep``, into ``O``.

    This is how the paper writes MISC as O for MasakhaNER2/PAN-X and drops DATE.
    """
    keep = None if keep is None else set(keep)
    ignore = set(ignore)
    out = []
    for t in tags:
        if t == OUTSIDE:
            out.append(t)
            continue
        label = _split(t)[1]
        out.append(OUTSIDE if label in ignore or (keep is not None and label not in keep) else t)
    return out


def proj_ratio_term(gold_tags: Sequence[str], pred_tags: Sequence[str]) -> float:
    """One sentence's contribution to proj_ratio (docs/method.md §9): B- counts, 1 when both 0."""
    n_gold, n_pred = count_entities(gold_tags), count_entities(pred_tags)
    if n_gold:
        return n_pred / n_gold
    return 1.0 if n_pred == 0 else 0.0


@dataclass
class Counts:
    """Additive evaluation counts; ``scores()`` turns them into seqeval-style metrics."""

    true_positives: Counter = field(default_factory=Counter)
    predicted: Counter = field(default_factory=Counter)
    gold: Counter = field(default_factory=Counter)
    tokens_correct: int = 0
    tokens: int = 0
    sentences: int = 0
    proj_ratio_sum: float = 0.0

    def add(self, other: "Counts") -> "Counts":
        self.true_positives.update(other.true_positives)
        self.predicted.update(other.predicted)
        self.gold.update(other.gold)
        self.tokens_correct += other.tokens_correct
        self.tokens += other.tokens
        self.sentences += other.sentences
        self.proj_ratio_sum += other.proj_ratio_sum
        return self

    def scores(self) -> dict:
        def prf(tp, n_pred, n_gold):
            p = tp / n_pred if n_pred else 0.0
            r = tp / n_gold if n_gold else 0.0
            f = 2 * p * r / (p + r) if p + r else 0.0
            return {"precision": p, "recall": r, "f1": f, "number": n_gold,
                    "predicted": n_pred, "correct": tp}

        types = sorted(set(self.gold) | set(self.predicted))
        overall = prf(sum(self.true_positives.values()), sum(self.predicted.values()),
                      sum(self.gold.values()))
        overall["accuracy"] = self.tokens_correct / self.tokens if self.tokens else 0.0
        return {
            "overall": overall,
            "per_type": {t: prf(self.true_positives[t], self.predicted[t], self.gold[t])
                         for t in types},
            "proj_ratio": self.proj_ratio_sum / self.sentences if self.sentences else 0.0,
            "sentences": self.sentences,
        }


def sentence_counts(gold_tags: Sequence[str], pred_tags: Sequence[str],
                    span_only: bool = False) -> Counts:
    """Counts for one sentence; ``span_only`` scores boundaries regardless of type."""
    if len(gold_tags) != len(pred_tags):
        raise ValueError(f"gold has {len(gold_tags)} tags, prediction {len(pred_tags)}")
    gold, pred = chunks(gold_tags), chunks(pred_tags)
    if span_only:
        gold = {("ENT", s, e) for _, s, e in gold}
        pred = {("ENT", s, e) for _, s, e in pred}
    c = Counts(
        true_positives=Counter(t for t, _, _ in gold & pred),
        predicted=Counter(t for t, _, _ in pred),
        gold=Counter(t for t, _, _ in gold),
        tokens_correct=sum(g == p for g, p in zip(gold_tags, pred_tags)),
        tokens=len(gold_tags),
        sentences=1,
        proj_ratio_sum=proj_ratio_term(gold_tags, pred_tags),
    )
    return c
