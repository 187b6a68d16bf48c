"""Progress of long runs: Beam counters everywhere, and a log line per stage locally.

Counters (namespace ``xlner``) show in the Dataflow/Flink UIs. On a local runner nobody
watches them, so ``LogProgress`` also logs ``xlner progress: <stage> <n> (<rate>/s)`` at
most every ``interval`` seconds from each worker process, and once more when the stage's
DoFn is torn down. It passes elements through unchanged.
"""

from __future__ import annotations

import logging
import time

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.deadletter import NAMESPACE

LOG = logging.getLogger("xlner.progress")


class _LogProgress(beam.DoFn):
    def __init__(self, stage: str, interval: float):
        self._stage = stage
        self._interval = interval
        self._counter = Metrics.counter(NAMESPACE, f"progress_{stage}")

    def setup(self):
        self._n = 0
        self._first = self._latest = self._logged = None

    def process(self, element):
        self._counter.inc()
        self._n += 1
        now = time.monotonic()
        if self._first is None:
            self._first = self._logged = now
        self._latest = now
        if now - self._logged >= self._interval:
            self._logged = now
            self._log()
        yield element

    def _log(self):
        span = self._latest - self._first
        rate = f" ({self._n / span:.1f}/s)" if span > 0 else ""
        LOG.info("xlner progress: %s %d%s", self._stage, self._n, rate)

    def teardown(self):
        if getattr(self, "_n", 0):
            self._log()


class LogProgress(beam.PTransform):
    def __init__(self, stage: str, interval: float = 10.0):
        super().__init__()
        self._fn = _LogProgress(stage, interval)

    def expand(self, pcoll):
        return pcoll | beam.ParDo(self._fn)
