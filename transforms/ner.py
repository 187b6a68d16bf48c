"""Word-level NER as a composable stage: label source corpora, target candidates, model
transfer, and (translate-test) the English side.

``TagWords`` takes any record, a function giving the words to tag and a function attaching
the predicted spans, so one batched RunInference stage serves every use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import PredictionResult

from transforms.batching import SortAndBatchByKey
from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from transforms.handlers import NERModelHandler


@dataclass(frozen=True)
class TagRequest:
    item: Any
    words: tuple[str, ...]


class _Attach(beam.DoFn):
    def __init__(self, attach: Callable, describe: Callable, stage: str):
        self._attach = attach
        self._describe = describe
        self._stage = stage
        self._tagged = Metrics.counter(NAMESPACE, f"tagged_{stage}")

    def process(self, result: PredictionResult):
        req: TagRequest = result.example
        if isinstance(result.inference, str):
            rid, lang = self._describe(req.item)
            yield dead_letter(self._stage, "ner_failed", rid, result.inference, lang,
                              {"words": list(req.words)})
            return
        self._tagged.inc()
        yield self._attach(req.item, result.inference)


class TagWords(beam.PTransform):
    """X -> attach(X, spans of NER over words(X)); failures become dead letters.

    ``describe(X)`` gives (record id, target language) for the dead letter.
    """

    def __init__(self, handler: NERModelHandler, words: Callable, attach: Callable,
                 describe: Callable, stage: str = "ner", batch_size: int = 64,
                 batch_tokens: int = 16384):
        super().__init__()
        self._handler = handler
        self._words = words
        self._attach = attach
        self._describe = describe
        self._stage = stage
        self._batch_size = batch_size
        self._batch_tokens = batch_tokens

    def expand(self, items):
        words = self._words
        res = (items
               | "Request" >> beam.Map(lambda x: TagRequest(x, tuple(words(x))))
               | "BatchByLength" >> SortAndBatchByKey(
                   key_fn=lambda r: 0, size_fn=lambda r: 2 * len(r.words) + 2,
                   max_batch_size=self._batch_size, max_batch_tokens=self._batch_tokens)
               | "Tag" >> self._handler.run_inference_transform()
               | "Attach" >> beam.ParDo(_Attach(self._attach, self._describe, self._stage))
               .with_outputs(DEAD, main="ok"))
        return Staged(res.ok, res[DEAD])
