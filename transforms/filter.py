"""Drop noisy projections (``xlner/projection/filters.py``): removed entities are counted in the
summary, dropped sentences become dead letters of stage ``filter`` with their reason."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from xlner.projection.filters import STAGE, Filters
from xlner.formats.records import Projection


class _Filter(beam.DoFn):
    def __init__(self, filters: Filters):
        self._filters = filters
        self._entities = Metrics.counter(NAMESPACE, "entities_filtered")

    def process(self, p: Projection):
        kept, removed, reason, detail = self._filters.apply(p)
        self._entities.inc(removed)
        if kept is None:
            yield dead_letter(STAGE, reason, p.pair.id, detail, p.pair.tgt_lang)
            return
        yield kept


class FilterProjections(beam.PTransform):
    """Projection -> the projections the filters keep (entities below the score removed)."""

    def __init__(self, filters: Filters):
        super().__init__()
        self._fn = _Filter(filters)

    def expand(self, projections):
        res = projections | "Filter" >> beam.ParDo(self._fn).with_outputs(DEAD, main="ok")
        return Staged(res.ok, res[DEAD])
