"""Batching for inference: grouped by a key (the language pair), sorted by length.

Beam's ``BatchElements`` mixes language pairs and lengths; a translation batch must hold a
single language pair (one ``forced_bos_token_id``), and sorting by length keeps padding (the
main waste in seq2seq and encoder batches) low. Batches are capped by count and by a
token budget, so long sentences form small batches instead of exhausting GPU memory.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Hashable, Optional

import apache_beam as beam
from apache_beam.transforms import window

from xlner.models.batching import sort_and_batch


class _SortAndBatchByKeyFn(beam.DoFn):
    def __init__(self, key_fn, size_fn, max_batch_size, max_batch_tokens, max_buffered,
                 progress=None):
        self._key_fn = key_fn
        self._size_fn = size_fn
        self._max_batch_size = max_batch_size
        self._max_batch_tokens = max_batch_tokens
        self._max_buffered = max_buffered
        self._progress_spec = progress  # (stage, unit, weight) or None

    def setup(self):
        self._progress = None
        if self._progress_spec:
            from transforms.progress import Progress

            self._progress = Progress(*self._progress_spec)

    def start_bundle(self):
        self._buffers = defaultdict(list)
        self._buffered = 0

    def process(self, element, total=None):
        if self._progress is not None:
            self._progress.total = total
        self._buffers[self._key_fn(element)].append(element)
        self._buffered += 1
        if self._buffered >= self._max_buffered:  # bound memory on huge bundles
            for key in list(self._buffers):
                for batch in self._flush(key):
                    yield batch

    def _flush(self, key):
        items = self._buffers.pop(key)
        self._buffered -= len(items)
        for batch in sort_and_batch(items, self._size_fn, self._max_batch_size,
                                    self._max_batch_tokens):
            if self._progress is not None:
                self._progress.begin()
            yield batch
            # The model step downstream is fused with this one: when the yield returns,
            # it has processed the batch, so this counts work done, while it runs.
            if self._progress is not None:
                self._progress.add(batch)

    def finish_bundle(self):
        for key in list(self._buffers):
            for batch in self._flush(key):
                yield window.GlobalWindows.windowed_value(batch)


class SortAndBatchByKey(beam.PTransform):
    """``T -> list[T]``: batches with one key each, sorted by ``size_fn``.

    The padded size of a batch (count x longest element) stays within ``max_batch_tokens``;
    a single element longer than the budget forms a batch of its own.
    """

    def __init__(self, key_fn: Callable[[Any], Hashable], size_fn: Callable[[Any], int],
                 max_batch_size: int, max_batch_tokens: int, max_buffered: int = 4096,
                 progress: Optional[tuple] = None, total=None):
        super().__init__()
        if max_batch_size < 1 or max_batch_tokens < 1:
            raise ValueError("batch size and token budget must be positive")
        self._fn = _SortAndBatchByKeyFn(key_fn, size_fn, max_batch_size, max_batch_tokens,
                                        max_buffered, progress)
        self._total = total

    def expand(self, pcoll):
        if self._total is None:
            return pcoll | beam.ParDo(self._fn)
        return pcoll | beam.ParDo(self._fn, beam.pvalue.AsSingleton(self._total))


class InferInBatches(beam.PTransform):
    """``T -> PredictionResult``: length-sorted batches of one key each, through one
    RunInference step of ``handler`` (a ``transforms.handlers`` model handler, which
    takes the batches as they are). The one way every model step of the job is fed.

    With ``progress`` (a stage name, e.g. ``translate``) it logs done/total ``unit``s
    while the step runs, ``weight(element)`` units per input (default 1).
    """

    def __init__(self, handler, size_fn: Callable[[Any], int], max_batch_size: int,
                 max_batch_tokens: int, key_fn: Callable[[Any], Hashable] = lambda x: 0,
                 progress: str = "", unit: str = "sentences",
                 weight: Callable[[Any], int] = lambda x: 1):
        super().__init__()
        self._handler = handler
        self._args = (key_fn, size_fn, max_batch_size, max_batch_tokens)
        self._progress = (progress, unit, weight) if progress else None

    def expand(self, pcoll):
        total = None
        if self._progress:
            total = (pcoll | "Weigh" >> beam.Map(self._progress[2])
                     | "Total" >> beam.CombineGlobally(sum))
        return (pcoll
                | "BatchByLength" >> SortAndBatchByKey(*self._args, progress=self._progress,
                                                       total=total)
                | "RunInference" >> self._handler.run_inference_transform())
