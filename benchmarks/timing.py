"""One timing rule for both sides of every benchmark: the same warm-up, the same number of
timed repeats, interleaved (ours, baseline, ours, ...) so a load change on a shared
machine hits both sides alike; the median and the best of the repeats are reported, and
ratios are taken of medians."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence


@dataclass
class Timing:
    """Wall seconds of each timed repeat of one side, for ``items`` items per repeat."""

    items: int
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)

    def per_s(self) -> float:
        return self.items / self.median

    def report(self) -> dict:
        return {"median_s": round(self.median, 4), "best_s": round(self.best, 4),
                "repeats": len(self.seconds)}


@dataclass(frozen=True)
class Protocol:
    """How both sides are timed: ``warmup`` untimed calls on the first ``warmup_items``
    items (0: all of them), then ``repeats`` timed calls on all items."""

    repeats: int
    warmup: int = 1
    warmup_items: int = 0

    def describe(self) -> dict:
        return {"repeats": self.repeats, "warmup": self.warmup,
                "warmup_items": self.warmup_items or "all", "statistic": "median"}


def compare(sides: dict[str, Callable[[Sequence], object]], items: Sequence,
            protocol: Protocol, sync: Optional[Callable[[], None]] = None
            ) -> dict[str, tuple[Timing, object]]:
    """Time each side's ``fn(items)`` under one protocol, the sides interleaved in every
    round; returns {side: (timing, its last output)}. ``sync`` (e.g.
    ``torch.cuda.synchronize``) runs before each clock reading."""
    sync = sync or (lambda: None)
    warm = items[:protocol.warmup_items] if protocol.warmup_items else items
    for _ in range(protocol.warmup):
        for fn in sides.values():
            fn(warm)
    out = {name: [Timing(len(items)), None] for name in sides}
    for _ in range(protocol.repeats):
        for name, fn in sides.items():
            sync()
            start = time.perf_counter()
            result = fn(items)
            sync()
            out[name][0].seconds.append(time.perf_counter() - start)
            out[name][1] = result
    return {name: (timing, result) for name, (timing, result) in out.items()}
