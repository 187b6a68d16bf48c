"""Filters for noisy projections, applied after projection and counted, never silent.

Ebing & Glavaš (ACL 2025, "The Devil Is in the Word Alignment Details") find that filtering
noisy projections changes translate-train results substantially. Two kinds:

* an entity filter: projected entities whose score is below ``min_entity_score`` are
  removed from the sentence (their words become ``O``); unscored entities (model
  transfer) are kept;
* sentence filters: a sentence is dropped (a dead letter of stage ``filter``, with the
  reason) when not every source entity was projected (``require_all_entities``), when its
  projected/source entity ratio or its target/source length ratio is out of bounds.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Optional

from xlner.text.bio import spans_to_tags
from xlner.formats.records import Projection

STAGE = "filter"


def parse_bounds(text: str, what: str) -> Optional[tuple[float, float]]:
    """``"0.5,2"`` -> (0.5, 2.0); empty -> None (no filter)."""
    if not text.strip():
        return None
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"{what}: expected LOW,HIGH (e.g. 0.5,2), not {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
        raise ValueError(f"{what}: need 0 <= LOW <= HIGH, not {text!r}")
    return lo, hi


@dataclass(frozen=True)
class Filters:
    min_entity_score: float = 0.0
    require_all_entities: bool = False
    entity_ratio: Optional[tuple[float, float]] = None
    length_ratio: Optional[tuple[float, float]] = None

    @property
    def active(self) -> bool:
        return bool(self.min_entity_score or self.require_all_entities or self.entity_ratio
                    or self.length_ratio)

    def describe(self) -> list[dict]:
        """The active filters as the summary and the dataset card list them."""
        out = []
        if self.min_entity_score:
            out.append({"name": "min_entity_score", "setting": self.min_entity_score,
                        "unit": "entities", "reason": None})
        if self.require_all_entities:
            out.append({"name": "require_all_entities", "setting": True,
                        "unit": "sentences", "reason": "incomplete_projection"})
        if self.entity_ratio:
            out.append({"name": "entity_ratio_bounds", "setting": list(self.entity_ratio),
                        "unit": "sentences", "reason": "entity_ratio_out_of_bounds"})
        if self.length_ratio:
            out.append({"name": "length_ratio_bounds", "setting": list(self.length_ratio),
                        "unit": "sentences", "reason": "length_ratio_out_of_bounds"})
        return out

    def apply(self, p: Projection) -> tuple[Optional[Projection], int, Optional[str], str]:
        """(the kept projection or None, entities removed, drop reason, detail)."""
        removed = 0
        if self.min_entity_score:
            kept = tuple(e for e in p.entities
                         if e.score is None or e.score >= self.min_entity_score)
            removed = len(p.entities) - len(kept)
            if removed:
                p = dataclasses.replace(p, entities=kept, filtered=removed,
                                        tags=spans_to_tags([e.span for e in kept], len(p.tags)))
        n_src, n_tgt = len(p.pair.src_spans), len(p.entities)
        if self.require_all_entities:
            covered = {e.source_index for e in p.entities if e.source_index is not None}
            # methods that name no source entity (model transfer): compare the counts
            complete = len(covered) == n_src if covered or not n_tgt else n_tgt >= n_src
            if not complete:
                return None, removed, "incomplete_projection", (
                    f"{n_src - max(len(covered), min(n_tgt, n_src))} of {n_src} source "
                    "entities not projected")
        if self.entity_ratio:
            ratio = n_tgt / n_src if n_src else (1.0 if not n_tgt else float("inf"))
            lo, hi = self.entity_ratio
            if not lo <= ratio <= hi:
                return None, removed, "entity_ratio_out_of_bounds", (
                    f"{n_tgt} projected / {n_src} source entities = {ratio:.2f}, outside "
                    f"[{lo}, {hi}]")
        if self.length_ratio:
            ratio = len(p.pair.tgt_words) / max(1, len(p.pair.src_words))
            lo, hi = self.length_ratio
            if not lo <= ratio <= hi:
                return None, removed, "length_ratio_out_of_bounds", (
                    f"{len(p.pair.tgt_words)} target / {len(p.pair.src_words)} source words "
                    f"= {ratio:.2f}, outside [{lo}, {hi}]")
        return p, removed, None, ""
