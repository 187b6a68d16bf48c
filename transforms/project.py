"""Project source entities onto target words with a configured projector."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from xlner.projectors import Projector
from xlner.records import AlignedPair, Projection


@beam.typehints.with_input_types(AlignedPair)
@beam.typehints.with_output_types(Projection)
class _Project(beam.DoFn):
    def __init__(self, projector: Projector):
        self._projector = projector
        self._projected = Metrics.counter(NAMESPACE, "sentences_projected")
        self._entities = Metrics.counter(NAMESPACE, "entities_projected")

    def process(self, aligned: AlignedPair):
        pair = aligned.pair
        try:
            tags, spans = self._projector.project(aligned)
        except Exception as e:  # noqa: BLE001 - the reference silently writes all-O here
            yield dead_letter("project", "projection_failed", pair.id,
                              f"{type(e).__name__}: {e}", pair.tgt_lang)
            return
        self._projected.inc()
        self._entities.inc(len(spans))
        yield Projection(pair=pair, method=self._projector.name, tags=tags, spans=spans,
                         alignment=aligned.alignments[self._projector.align_method])


class Project(beam.PTransform):
    """AlignedPair -> Projection."""

    def __init__(self, projector: Projector):
        super().__init__()
        self._projector = projector

    def expand(self, aligned):
        res = aligned | "Project" >> beam.ParDo(_Project(self._projector)).with_outputs(
            DEAD, main="ok")
        return Staged(res.ok, res[DEAD])
