"""Per-stage accounting in Beam metrics: records in, out, dead-lettered and busy time.

One mechanism for every stage: the code that applies a stage runs inside ``measure``::

    with measure("translate", sentences) as m:
        staged = sentences | "Translate" >> TranslateSentences(...)
        m.output(staged.ok, staged.dead)

Records in and out are counted by small side branches on the stage's input and output
collections; dead letters by one on its dead-letter collection (only those whose stage
field is the stage's own, so a nested stage's are not counted twice). Busy time: every
ParDo the stage applied (our DoFns, ``Map``/``FlatMap``, RunInference's DoFn) gets its DoFn
wrapped in :class:`_Timed`, which adds up the wall time spent inside ``process`` and
``finish_bundle`` — without the time suspended at a ``yield``, when the fused steps
downstream run. A ParDo already wrapped by a nested ``measure`` (``split`` inside
``translate``) keeps its stage. Everything is counted per bundle (two ``perf_counter``
calls per call and per output, counters incremented in ``finish_bundle``), so committed
metrics cover exactly the bundles that committed. Shuffles and runner-lifted combiners
are not DoFn calls and are not timed. The rows are made in :mod:`xlner.formats.stages`.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import PBegin

from xlner.formats.stages import metric_name

LOG = logging.getLogger("xlner")
STAGES_NAMESPACE = "xlner.stages"
_EAGER = frozenset((list, tuple))  # outputs made before process returns (Map, RunInference)


class _Timed(beam.DoFn):
    """A DoFn's calls, timed: process arguments, side inputs and lifecycle pass through
    (Beam reads the wrapped DoFn's process signature through ``_inspect_process``)."""

    def __init__(self, inner: beam.DoFn, stage: str):
        super().__init__()
        self._inner = inner
        self._stage = stage
        for attr in ("input_batch_converter", "output_batch_converter"):
            if hasattr(inner, attr):
                setattr(self, attr, getattr(inner, attr))
        self._busy = 0.0

    def _inspect_process(self):
        return beam.DoFn.get_function_arguments(self._inner, "process")

    def _process_argspec_fn(self):
        return self._inner._process_argspec_fn()

    def default_type_hints(self):
        return self._inner.default_type_hints()

    def display_data(self):
        return {"stage": self._stage, **self._inner.display_data()}

    def setup(self):
        self._counter = Metrics.counter(STAGES_NAMESPACE, metric_name(self._stage, "busy_us"))
        self._busy = 0.0
        self._call = self._inner.process  # bound once: the per-call path stays short
        self._inner.setup()

    def start_bundle(self):
        self._busy = 0.0
        self._inner.start_bundle()

    def process(self, *args, **kwargs):
        start = perf_counter()
        outputs = self._call(*args, **kwargs)
        if outputs.__class__ in _EAGER or outputs is None:  # the work is done: time the call
            self._busy += perf_counter() - start
            return outputs
        return self._timed(outputs, start)

    def _timed(self, outputs, start):
        """A lazy process's outputs, timed while it runs, not while it is suspended."""
        busy = 0.0
        try:
            for out in outputs:
                busy += perf_counter() - start
                yield out
                start = perf_counter()
            busy += perf_counter() - start
        finally:
            self._busy += busy

    def finish_bundle(self):
        start = perf_counter()
        try:
            for out in self._inner.finish_bundle() or ():
                self._busy += perf_counter() - start
                yield out
                start = perf_counter()
            self._busy += perf_counter() - start
        finally:
            if self._busy > 0:
                self._counter.inc(int(round(self._busy * 1e6)))
            self._busy = 0.0

    def teardown(self):
        self._inner.teardown()


class _Count(beam.DoFn):
    """Counts the elements of a collection (of one dead-letter stage, when ``stage``
    is given) into ``name``, once per bundle; outputs nothing."""

    def __init__(self, name: str, stages: Optional[Sequence[str]] = None):
        self._name = name
        self._stages = None if stages is None else frozenset(stages)

    def setup(self):
        self._counter = Metrics.counter(STAGES_NAMESPACE, self._name)

    def start_bundle(self):
        self._n = 0

    def process(self, element):
        if self._stages is None or element.stage in self._stages:
            self._n += 1
        return ()

    def finish_bundle(self):
        if self._n:
            self._counter.inc(self._n)
        self._n = 0


def _timeable(fn) -> bool:
    """Whether ``fn`` can be wrapped: not ours already, no state, timers, restrictions
    or batches (none in this job; Beam's own such DoFns are left as they are)."""
    if isinstance(fn, (_Timed, _Count)) or not isinstance(fn, beam.DoFn):
        return False
    from apache_beam.runners.common import DoFnSignature

    try:
        sig = DoFnSignature(fn)
        return not (sig.is_splittable_dofn() or sig.is_stateful_dofn()
                    or sig.has_bundle_finalization() or fn._process_batch_defined)
    except Exception:  # noqa: BLE001 - not one we understand: leave it untimed
        return False


def _time_parts(node, stage: str) -> None:
    transform = node.transform
    if isinstance(transform, beam.ParDo) and _timeable(transform.fn):
        transform.fn = _Timed(transform.fn, stage)
    for part in node.parts:
        _time_parts(part, stage)


class measure:  # noqa: N801 - used as a statement: ``with measure(...)``
    """Measures the stage applied inside the ``with`` block (see the module doc).

    ``source``: the input (a PCollection; the Pipeline for a source stage, whose records
    in are not counted). ``dead_stages``: the dead-letter stage names that are this
    stage's own (default: the stage's name)."""

    def __init__(self, stage: str, source, dead_stages: Sequence[str] = ()):
        self.stage = stage
        self._source = source
        self._dead_stages = tuple(dead_stages) or (stage,)
        self._outputs: list = []

    def __enter__(self) -> "measure":
        pipeline = self._source if isinstance(self._source, beam.Pipeline) \
            else self._source.pipeline
        self._node = pipeline._current_transform()
        self._first = len(self._node.parts)
        if not isinstance(self._source, (beam.Pipeline, PBegin)):
            _ = self._source | f"Stage[{self.stage}]In" >> beam.ParDo(
                _Count(metric_name(self.stage, "in")))
        return self

    def output(self, ok, dead=None) -> None:
        """The stage's output collection and its dead letters (if it has any)."""
        self._outputs = [(ok, dead)]

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            return False
        for part in self._node.parts[self._first:]:
            _time_parts(part, self.stage)
        for ok, dead in self._outputs:
            _ = ok | f"Stage[{self.stage}]Out" >> beam.ParDo(
                _Count(metric_name(self.stage, "out")))
            if dead is not None:
                _ = dead | f"Stage[{self.stage}]Dead" >> beam.ParDo(
                    _Count(metric_name(self.stage, "dead"), self._dead_stages))
        return False
