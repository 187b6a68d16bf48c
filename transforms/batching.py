"""Batching for inference: grouped by a key (the language pair), sorted by length.

Beam's ``BatchElements`` mixes language pairs and lengths; a translation batch must hold a
single language pair (one ``forced_bos_token_id``), and sorting by length keeps padding (the
main waste in seq2seq and encoder batches) low. Batches are capped by count and by a
token budget, so long sentences form small batches instead of exhausting GPU memory.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Hashable

import apache_beam as beam
from apache_beam.transforms import window

from xlner.batching import sort_and_batch


class _SortAndBatchByKeyFn(beam.DoFn):
    def __init__(self, key_fn, size_fn, max_batch_size, max_batch_tokens, max_buffered):
        self._key_fn = key_fn
        self._size_fn = size_fn
        self._max_batch_size = max_batch_size
        self._max_batch_tokens = max_batch_tokens
        self._max_buffered = max_buffered

    def start_bundle(self):
        self._buffers = defaultdict(list)
        self._buffered = 0

    def process(self, element):
        self._buffers[self._key_fn(element)].append(element)
        self._buffered += 1
        if self._buffered >= self._max_buffered:  # bound memory on huge bundles
            for key in list(self._buffers):
                for batch in self._flush(key):
                    yield batch

    def _flush(self, key):
        items = self._buffers.pop(key)
        self._buffered -= len(items)
        yield from sort_and_batch(items, self._size_fn, self._max_batch_size,
                                  self._max_batch_tokens)

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
                 max_batch_size: int, max_batch_tokens: int, max_buffered: int = 4096):
        super().__init__()
        if max_batch_size < 1 or max_batch_tokens < 1:
            raise ValueError("batch size and token budget must be positive")
        self._fn = _SortAndBatchByKeyFn(key_fn, size_fn, max_batch_size, max_batch_tokens,
                                        max_buffered)

    def expand(self, pcoll):
        return pcoll | beam.ParDo(self._fn)


class _Weigh:
    """Units of work of a model result, from its input (picklable, unlike a lambda)."""

    def __init__(self, weight: Callable[[Any], int]):
        self._weight = weight

    def __call__(self, result) -> int:
        return self._weight(result.example)


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
        self._batch = SortAndBatchByKey(key_fn, size_fn, max_batch_size, max_batch_tokens)
        self._progress = (progress, unit, weight)

    def expand(self, pcoll):
        from transforms.progress import LogProgress

        results = (pcoll | "BatchByLength" >> self._batch
                   | "RunInference" >> self._handler.run_inference_transform())
        stage, unit, weight = self._progress
        if not stage:
            return results
        total = (pcoll | "Weigh" >> beam.Map(weight)
                 | "Total" >> beam.CombineGlobally(sum))
        return results | "Progress" >> LogProgress(stage, unit, total, _Weigh(weight))
