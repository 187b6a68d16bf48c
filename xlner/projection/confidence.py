"""A calibrated confidence for each projected entity: the probability that the span is
exactly right (same words, same type as a human would mark).

The matching score ranks candidates but is no probability: with many-to-many links Dice
exceeds 1, and on Bible books the project never saw, entities scored >= 0.9 were right
58 % of the time. The confidence is a logistic model over signals the projector already
has, fitted on one half of the dev data (Matthew) and measured on the other (Mark) by
``benchmarks/fit_confidence.py``, which also writes the coefficients shipped in
``xlner/data/confidence.json``.

The signals (:data:`FEATURES`):

* ``word_ratio``: ``|log(target words / source words)|``, the span's length against the
  entity's;
* ``char_ratio``: ``|log`` of the span's share of its sentence's characters over the
  entity's share of its own``|``, the same in characters, robust to tokenisation;
* ``margin``: the chosen span's matching score minus the best other span of the same
  entity (the score itself when there is no other): how clear the choice was;
* ``greedy_agrees``: 1 when greedy matching picks the same span as the final matching.

The model is fitted for one tokenisation of one kind of data; a corpus that differs much
(another script, another segmenter) needs its own fit before the numbers mean the same.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from importlib.resources import files
from typing import Sequence

FEATURES = ("word_ratio", "char_ratio", "margin", "greedy_agrees")
_LIMIT = 50.0  # features are clipped here: a hostile or degenerate input stays finite


def _share(words: Sequence[str], start: int, end: int) -> float:
    total = sum(len(w) for w in words)
    return max(sum(len(w) for w in words[start:end]), 1) / max(total, 1)


def features(src_words: Sequence[str], src_start: int, src_end: int,
             tgt_words: Sequence[str], tgt_start: int, tgt_end: int, margin: float,
             greedy_agrees: bool) -> tuple[float, ...]:
    """The signals of one projected entity, in :data:`FEATURES` order."""
    word_ratio = abs(math.log(max(tgt_end - tgt_start, 1) / max(src_end - src_start, 1)))
    char_ratio = abs(math.log(_share(tgt_words, tgt_start, tgt_end)
                              / _share(src_words, src_start, src_end)))
    values = (word_ratio, char_ratio, float(margin), 1.0 if greedy_agrees else 0.0)
    return tuple(min(max(v, -_LIMIT), _LIMIT) if math.isfinite(v) else 0.0 for v in values)


@dataclass(frozen=True)
class Calibration:
    """``P(right) = sigmoid(intercept + sum(weights * features))``."""

    intercept: float
    weights: tuple[float, ...]
    fitted_on: str = ""
    version: int = 1

    def __post_init__(self):
        if len(self.weights) != len(FEATURES) or not all(
                math.isfinite(w) for w in (self.intercept, *self.weights)):
            raise ValueError(f"a calibration needs {len(FEATURES)} finite weights and a "
                             f"finite intercept, not {self.intercept}, {self.weights}")

    def confidence(self, values: Sequence[float]) -> float:
        """P(right) in [0, 1]; inputs are clipped as :func:`features` clips them, and a
        sum that is no number (huge opposite terms) counts as no confidence."""
        clipped = [min(max(v, -_LIMIT), _LIMIT) if math.isfinite(v) else 0.0 for v in values]
        z = self.intercept + sum(w * v for w, v in zip(self.weights, clipped))
        z = -_LIMIT if math.isnan(z) else min(max(z, -_LIMIT), _LIMIT)
        return 1.0 / (1.0 + math.exp(-z))

    def to_json(self) -> str:
        return json.dumps({"version": self.version, "features": list(FEATURES),
                           "intercept": self.intercept, "weights": list(self.weights),
                           "fitted_on": self.fitted_on}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Calibration":
        doc = json.loads(text)
        if tuple(doc.get("features", ())) != FEATURES:
            raise ValueError(f"calibration features {doc.get('features')} are not {FEATURES}")
        return cls(float(doc["intercept"]), tuple(float(w) for w in doc["weights"]),
                   str(doc.get("fitted_on", "")), int(doc.get("version", 1)))


@functools.lru_cache(maxsize=1)
def shipped() -> Calibration:
    """The calibration fitted on Matthew that ships with the package."""
    return Calibration.from_json(
        files("xlner").joinpath("data/confidence.json").read_text("utf-8"))


def margins(entries: Sequence[tuple[float, int, int, int]],
            chosen: Sequence[tuple[int, int, int]]) -> dict:
    """(entity, start, end) -> chosen score minus the entity's best other span's score."""
    by_entity: dict[int, list[tuple[float, int, int]]] = {}
    for score, p, s, e in entries:
        if score > 0:
            by_entity.setdefault(p, []).append((score, s, e))
    out = {}
    for p, s, e in chosen:
        mine = [x for x in by_entity.get(p, ()) if (x[1], x[2]) == (s, e)]
        others = [x[0] for x in by_entity.get(p, ()) if (x[1], x[2]) != (s, e)]
        score = mine[0][0] if mine else 0.0
        out[(p, s, e)] = score - max(others) if others else score
    return out
