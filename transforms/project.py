"""Project source entities onto target words, with any number of methods at once.

``ProjectPairs`` runs one encoder pass for every method that aligns (each extracts its
own alignment from it) and hands the pairs to each method's projector; methods that need
no alignment (model transfer, EasyProject) project the spans already on the target words.
Step labels name the method: ``Project[cand-ngram-src2tgt-sim]``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.align import Align
from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from transforms.stages import measure
from xlner.projection.methods import Method
from xlner.projection.projectors import Projector
from xlner.formats.records import AlignedPair, ProjectedEntity, Projection, SentencePair


@beam.typehints.with_output_types(Projection)
class _Project(beam.DoFn):
    def __init__(self, method: Method, projector: Projector):
        self._key = method.key
        self._projector = projector
        self._projected = Metrics.counter(NAMESPACE, "sentences_projected")
        self._entities = Metrics.counter(NAMESPACE, "entities_projected")

    def process(self, element: AlignedPair | SentencePair):
        aligned = isinstance(element, AlignedPair)
        pair, alignments, link_scores = ((element.pair, element.alignments, element.link_scores)
                                         if aligned else (element, {}, {}))
        try:
            tags, spans = self._projector.project(pair, alignments, link_scores)
        except Exception as e:  # noqa: BLE001 - the reference silently writes all-O here
            yield dead_letter("project", "projection_failed", pair.id,
                              f"{type(e).__name__}: {e}", pair.tgt_lang)
            return
        self._projected.inc()
        self._entities.inc(len(spans))
        entities = tuple(s if isinstance(s, ProjectedEntity) else
                         ProjectedEntity(s.start, s.end, s.label) for s in spans)
        yield Projection(pair=pair, method=self._key, tags=tags, entities=entities,
                         alignment=alignments.get(self._projector.align_method, ()))


class Project(beam.PTransform):
    """AlignedPair (or SentencePair for methods that do not align) -> Projection."""

    def __init__(self, method: Method, projector: Projector):
        super().__init__()
        self._fn = _Project(method, projector)

    def expand(self, pairs):
        res = pairs | "Project" >> beam.ParDo(self._fn).with_outputs(DEAD, main="ok")
        return Staged(res.ok, res[DEAD])


def _in_lane(pair, lane: str):
    return lane, pair


class ProjectPairs(beam.PTransform):
    """{lane: SentencePair PCollection} -> {method key: Projection PCollection, ``DEAD``: dead
    letters}. A method takes the pairs of the lane named by its direction (src2tgt,
    tgt2tgt); a single PCollection is the lane of every method.

    ``align`` is the alignment stage (None when no method aligns): the pairs of every lane
    go through its one encoder pass, each distinct sentence encoded once, and every
    aligning method's extraction runs on it. Pairs must already carry what the methods
    need on their target side (NER spans, see ``Method.needs_target_ner``).
    """

    def __init__(self, methods: Sequence[tuple[Method, Projector]],
                 align: Optional[Align] = None):
        super().__init__()
        self._methods = list(methods)
        self._align = align
        if any(m.needs_alignment for m, _ in self._methods) and align is None:
            raise ValueError("aligning methods need an alignment stage")

    def expand(self, lanes):
        if not isinstance(lanes, dict):
            lanes = {m.direction: lanes for m, _ in self._methods}
        dead, aligned = [], {}
        aligning = sorted({m.direction for m, _ in self._methods if m.needs_alignment})
        if aligning:
            tagged = tuple(lanes[lane] | f"Lane[{lane}]" >> beam.Map(_in_lane, lane)
                           for lane in aligning)
            lane_pairs = tagged | "AllLanes" >> beam.Flatten()
            with measure("align", lane_pairs) as m:
                res = lane_pairs | "Align" >> self._align
                m.output(*res)
            dead.append(res.dead)
            parts = res.ok | "ByLane" >> beam.Partition(
                lambda x, n: aligning.index(x[0]), len(aligning))
            for lane, part in zip(aligning, parts):
                aligned[lane] = part | f"Aligned[{lane}]" >> beam.Values()
        out = {}
        for method, projector in self._methods:
            source = (aligned if method.needs_alignment else lanes)[method.direction]
            res = source | f"Project[{method.key}]" >> Project(method, projector)
            out[method.key] = res.ok
            dead.append(res.dead)
        out[DEAD] = tuple(dead) | "ProjectionDeadLetters" >> beam.Flatten()
        return out
