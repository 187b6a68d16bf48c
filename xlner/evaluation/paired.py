"""Paired bootstrap comparison of two methods: the difference in corpus F1 and its interval.

Two methods scored on the same sentences are not independent: a hard sentence is hard for
both. Comparing their separate intervals overstates the uncertainty of the difference, so
the comparison resamples *sentences jointly*: each resample draws the same sentences for
both methods and takes ``F1(A) - F1(B)`` on it. As in :mod:`xlner.evaluation.scoring`, a
sentence matters only through its (correct, predicted, gold) entity counts, now one triple
per method; the job keeps a histogram of those tuples per language (:class:`JointCounts`),
which adds up in any order, and a resample is one multinomial draw over its entries.

The generator is seeded by the report seed and the cell's name (``"swa/A~B/typed"``), so
the result does not depend on the order counts were combined in. The overall difference
is the mean of the languages' differences (the report averages F1 over languages the same
way); its interval is the percentile interval of the mean of the languages' draws.
"""

from __future__ import annotations

import itertools
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import numpy as np

from xlner.evaluation.scoring import Bootstrap, Triple, f1_of, percentile_interval


@dataclass
class JointCounts:
    """Sentences of one language per tuple of triples, one triple per method (in the order
    the job lists its methods), for each kind of scoring (``typed`` and ``span``)."""

    typed: Counter = field(default_factory=Counter)
    span: Counter = field(default_factory=Counter)

    def add(self, other: "JointCounts") -> "JointCounts":
        self.typed.update(other.typed)
        self.span.update(other.span)
        return self

    def of(self, kind: str) -> Counter:
        return self.typed if kind == "typed" else self.span


def joint_sentence(typed: Sequence[Triple], span: Sequence[Triple]) -> JointCounts:
    """One sentence: its triple under each method, typed and span."""
    return JointCounts(Counter([tuple(typed)]), Counter([tuple(span)]))


def delta_draws(sentences: Mapping[tuple, int], a: int, b: int, resamples: int, seed: int,
                name: str) -> tuple[float, np.ndarray]:
    """(F1 of method ``a`` - F1 of method ``b`` on all sentences, the same difference on
    ``resamples`` joint resamples). ``a``/``b`` index the tuples' methods."""
    items = sorted((t, n) for t, n in sentences.items() if n > 0)
    if not items:
        return 0.0, np.zeros(0)
    per = np.array([t for t, _ in items], dtype=float)  # [K, methods, 3]
    weights = np.array([n for _, n in items], dtype=np.int64)
    total = int(weights.sum())
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode("utf-8"))])
    drawn = rng.multinomial(total, weights / total, size=resamples)  # [resamples, K]
    sa, sb = drawn @ per[:, a, :], drawn @ per[:, b, :]  # [resamples, 3] each
    point_a, point_b = weights @ per[:, a, :], weights @ per[:, b, :]
    point = float(f1_of(point_a[0], point_a[1], point_a[2])
                  - f1_of(point_b[0], point_b[1], point_b[2]))
    draws = (f1_of(sa[:, 0], sa[:, 1], sa[:, 2]) - f1_of(sb[:, 0], sb[:, 1], sb[:, 2]))
    return point, draws


def _entry(delta: float, draws: np.ndarray, level: float) -> dict:
    ci = percentile_interval(draws, level)
    return {"delta_f1": delta, "ci": list(ci) if ci else None,
            "excludes_zero": bool(ci and (ci[0] > 0 or ci[1] < 0))}


def paired_comparisons(joint: Mapping[str, JointCounts], methods: Sequence[str],
                       kind: str = "typed", bootstrap: Bootstrap = Bootstrap()) -> list[dict]:
    """Every pair of methods (A before B in ``methods``' order): per language and overall,
    ``delta_f1`` = F1(A) - F1(B), its percentile ``ci`` and whether it ``excludes_zero``."""
    out = []
    for (i, a), (j, b) in itertools.combinations(enumerate(methods), 2):
        langs, all_draws = {}, []
        for code in sorted(joint):
            delta, d = delta_draws(joint[code].of(kind), i, j, bootstrap.resamples,
                                   bootstrap.seed, f"{code}/{a}~{b}/{kind}")
            if len(d):
                langs[code] = _entry(delta, d, bootstrap.level)
                all_draws.append(d)
        overall = (_entry(float(np.mean([e["delta_f1"] for e in langs.values()])),
                          np.mean(all_draws, axis=0), bootstrap.level)
                   if all_draws else None)
        out.append({"a": a, "b": b, "kind": kind, "languages": langs, "overall": overall})
    return out


def per_class(languages: Mapping[str, Mapping], kind: str = "typed"
              ) -> dict[str, dict[str, dict[str, dict]]]:
    """method -> class -> {precision, recall, f1, number} over all languages (counts
    summed, then scored), from the metrics' per-language ``per_type`` blocks."""
    sums: dict = {}
    for entry in languages.values():
        for m, block in entry["methods"].items():
            for t, s in block[kind]["per_type"].items():
                c = sums.setdefault(m, {}).setdefault(t, [0, 0, 0])
                c[0] += s["correct"]
                c[1] += s["predicted"]
                c[2] += s["number"]
    return {m: {t: _prf(*c) for t, c in sorted(types.items())} for m, types in sums.items()}


def _prf(correct: int, predicted: int, gold: int) -> dict:
    p = correct / predicted if predicted else 0.0
    r = correct / gold if gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "number": gold, "predicted": predicted, "correct": correct}


def comparison_block(joint: Optional[Mapping[str, JointCounts]], languages: Mapping,
                     methods: Sequence[str], primary: str, bootstrap: Bootstrap) -> dict:
    """The metrics.json entries this module adds: ``paired`` and ``per_class``."""
    return {"paired": paired_comparisons(joint or {}, methods, primary, bootstrap),
            "per_class": per_class(languages, primary)}
