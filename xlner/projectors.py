"""Projection methods behind one interface: aligned pair in, target IOB2 tags out.

``heuristic`` is the García-Ferrero alignment heuristic (method.md §5). Candidate-based
methods (n-gram or NER candidates matched greedily or by ILP, §6) plug in here through the
same ``Projector`` protocol, keyed by name in ``PROJECTORS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from xlner.heuristic import project_heuristic
from xlner.records import AlignedPair, Span


class Projector(Protocol):
    name: str
    align_method: str

    def project(self, aligned: AlignedPair) -> tuple[tuple[str, ...], tuple[Span, ...]]:
        """Target tags and spans for one aligned pair."""


@dataclass(frozen=True)
class HeuristicProjector:
    align_method: str = "argmax"
    merge_distance: int = 1
    length_ratio_threshold: float = 0.8
    overwrite: bool = True
    reproduce_merge_quirk: bool = False
    name: str = "heuristic"

    def project(self, aligned: AlignedPair):
        pair = aligned.pair
        return project_heuristic(
            pair.src_spans, aligned.alignments[self.align_method], len(pair.tgt_words),
            merge_distance=self.merge_distance,
            length_ratio_threshold=self.length_ratio_threshold, overwrite=self.overwrite,
            reproduce_merge_quirk=self.reproduce_merge_quirk)

    def describe(self) -> dict:
        return {"projection": self.name, "align_method": self.align_method,
                "merge_distance": self.merge_distance,
                "length_ratio_threshold": self.length_ratio_threshold,
                "overwrite": self.overwrite}
