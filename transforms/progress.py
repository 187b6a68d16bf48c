"""Progress of long runs: Beam counters everywhere, and log lines while a stage runs.

Counters (namespace ``xlner``) show in the Dataflow/Flink UIs. On a local runner nobody
watches them, so :class:`Progress` also logs, from each worker process, at most every
``interval`` seconds and when its total is reached::

    xlner: translate 1,200/4,000 texts (30%), 41.5/s, ETA 1m07s

Model steps count it in their batching step (``transforms/batching.py``), which is fused
with the model and knows the total; ``LogProgress`` counts records passing through.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.deadletter import NAMESPACE

LOG = logging.getLogger("xlner.progress")


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def progress_line(stage: str, unit: str, done: int, total: Optional[int],
                  seconds: float) -> str:
    """``stage done/total unit (pct), rate/s, ETA`` — or without a total, done and rate."""
    rate = done / seconds if seconds > 0 else None
    rate_text = f", {rate:,.1f}/s" if rate is not None and seconds >= 1 else ""
    if not total:
        return f"xlner: {stage} {done:,} {unit}{rate_text}"
    text = f"xlner: {stage} {done:,}/{total:,} {unit} ({100 * done / total:.0f}%){rate_text}"
    if rate and done < total and seconds >= 1:
        text += f", ETA {_duration((total - done) / rate)}"
    return text


class Progress:
    """Counts units of work and logs a progress line at most every ``interval`` seconds
    and when the total is reached; the rate is measured from the first call."""

    def __init__(self, stage: str, unit: str, weight: Callable = None,
                 interval: float = 10.0):
        self.stage, self.unit = stage, unit
        self._weight = weight
        self._interval = interval
        self.total: Optional[int] = None
        self.done = 0
        self._started = self._logged = None

    def begin(self) -> None:
        """The clock starts when the first unit is handed to the work (idempotent)."""
        if self._started is None:
            self._started = self._logged = time.monotonic()

    def add(self, batch) -> None:
        self.begin()
        self.done += sum(self._weight(x) for x in batch) if self._weight else len(batch)
        now = time.monotonic()
        complete = self.total is not None and self.done >= self.total
        if complete or now - self._logged >= self._interval:
            self._logged = now
            LOG.info(progress_line(self.stage, self.unit, self.done, self.total,
                                   now - self._started))


class _LogProgress(beam.DoFn):
    def __init__(self, stage: str, unit: str, interval: float):
        self._args = (stage, unit, None, interval)
        self._counter = Metrics.counter(NAMESPACE, f"progress_{stage}")

    def setup(self):
        self._progress = Progress(*self._args)

    def process(self, element):
        self._counter.inc()
        self._progress.add((element,))
        yield element


class LogProgress(beam.PTransform):
    """Pass-through that logs ``stage`` progress (records seen, rate) as elements pass."""

    def __init__(self, stage: str, unit: str = "records", interval: float = 10.0):
        super().__init__()
        self._fn = _LogProgress(stage, unit, interval)

    def expand(self, pcoll):
        return pcoll | beam.ParDo(self._fn)
