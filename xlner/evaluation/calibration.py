"""Reliability of the projected entities' confidence: is an entity scored 0.9 right 90 % of
the time? The one definition of the calibration error used by the evaluation report and by
``benchmarks/fit_confidence.py``.

An entity is one predicted chunk as the scorer reads it (``xlner.evaluation.scoring``:
types outside the evaluation are ``O``, seqeval's chunks); it is *right* when the gold has
the same chunk, or under ``--span_only`` the same boundaries whatever the type. Its
confidence is the ``score`` of the projected entity with that span and label; a chunk
without one (model transfer, or a chunk no single entity produced) is counted as
``unscored`` and left out of the bins.

Ten equal-width bins over [0, 1] (the last one closed: a confidence of 1 is in it); the
expected calibration error is ``sum over bins of n_b / n * |accuracy_b - mean confidence_b|``.
Tallies are integers (confidences on the stored score grid, 6 decimals), so they add up in
any order to the same bits, as the Beam combiner needs, and a bin edge is exact (0.3 is in
[0.3, 0.4)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from xlner.precision import SCORE_DECIMALS

BINS = 10
THRESHOLD = 0.9  # precision of the entities scored at least this
UNIT = 10 ** SCORE_DECIMALS  # confidences are tallied in these integer units


def units(confidence: float) -> int:
    """A confidence in integer units of the score grid, clipped to [0, 1]."""
    return min(max(round(float(confidence) * UNIT), 0), UNIT)


def bin_of(u: int) -> int:
    return min(u * BINS // UNIT, BINS - 1)


def _zeros() -> list:
    return [0] * BINS


@dataclass
class Reliability:
    """Additive tallies per bin: entities, summed confidence (units), right ones; and the
    entities at or above :data:`THRESHOLD`."""

    n: list = field(default_factory=_zeros)
    confidence: list = field(default_factory=_zeros)
    right: list = field(default_factory=_zeros)
    high: int = 0
    high_right: int = 0
    unscored: int = 0

    def observe(self, confidence: Optional[float], right: bool) -> "Reliability":
        if confidence is None:
            self.unscored += 1
            return self
        u = units(confidence)
        b = bin_of(u)
        self.n[b] += 1
        self.confidence[b] += u
        self.right[b] += bool(right)
        if u >= round(THRESHOLD * UNIT):
            self.high += 1
            self.high_right += bool(right)
        return self

    def add(self, other: "Reliability") -> "Reliability":
        for mine, theirs in ((self.n, other.n), (self.confidence, other.confidence),
                             (self.right, other.right)):
            for i, v in enumerate(theirs):
                mine[i] += v
        self.high += other.high
        self.high_right += other.high_right
        self.unscored += other.unscored
        return self

    @classmethod
    def of(cls, confidences: Iterable[Optional[float]], right: Iterable[bool]
           ) -> "Reliability":
        out = cls()
        for c, r in zip(confidences, right, strict=True):
            out.observe(c, r)
        return out

    def summary(self) -> dict:
        """The metrics.json entry: ``n`` scored entities, ``ece``, ``accuracy``, mean
        ``confidence``, ``precision_at_0_9`` with ``n_at_0_9`` and ``coverage_at_0_9``,
        ``unscored``, and every bin (``lo``, ``hi``, ``n``, mean ``confidence``,
        ``accuracy``; the means are null in an empty bin). Undefined numbers are null."""
        total = sum(self.n)
        gap = sum(abs(c - r * UNIT) for c, r in zip(self.confidence, self.right))

        def ratio(a, b):
            return a / b if b else None

        return {
            "n": total, "unscored": self.unscored,
            "ece": ratio(gap, total * UNIT),
            "accuracy": ratio(sum(self.right), total),
            "confidence": ratio(sum(self.confidence), total * UNIT),
            "precision_at_0_9": ratio(self.high_right, self.high), "n_at_0_9": self.high,
            "coverage_at_0_9": ratio(self.high, total),
            "bins": [{"lo": b / BINS, "hi": (b + 1) / BINS, "n": self.n[b],
                      "confidence": ratio(self.confidence[b], self.n[b] * UNIT),
                      "accuracy": ratio(self.right[b], self.n[b])} for b in range(BINS)],
        }


def reliability(confidences: Iterable[Optional[float]], right: Iterable[bool]) -> dict:
    """ECE over ten equal-width bins, precision and coverage at >= 0.9, the bins."""
    return Reliability.of(confidences, right).summary()


def sentence_reliability(gold: set, pred: set,
                         confidences: Optional[Mapping[tuple[int, int, str], float]],
                         span_only: bool = False) -> Reliability:
    """One sentence's tallies. ``gold`` and ``pred`` are the scorer's chunks ``(type,
    start, end)`` (typed, before any ``span_only`` rewrite); ``confidences`` maps a
    projected entity's ``(start, end, label)`` to its score."""
    confidences = confidences or {}
    spans = {(s, e) for _, s, e in gold}
    out = Reliability()
    for label, s, e in sorted(pred, key=lambda c: (c[1], c[2], c[0])):
        right = (s, e) in spans if span_only else (label, s, e) in gold
        out.observe(confidences.get((s, e, label)), right)
    return out
