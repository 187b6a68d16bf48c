"""Align the words of each sentence pair: batched encoder pass, then CPU extraction.

The encoder (GPU where present) runs through RunInference on length-sorted batches and
returns subword similarities only; extraction (argmax / itermax / mwmf / awesome) runs in a
plain ParDo, so it scales over every worker core instead of queueing behind the model.
Every requested method is extracted from the same encoder pass.
"""

from __future__ import annotations

from typing import Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import PredictionResult

from transforms.batching import InferInBatches
from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from transforms.handlers import AlignmentEncoderHandler
from xlner import alignment
from xlner.records import AlignedPair, Failure, SentencePair


@beam.typehints.with_output_types(AlignedPair)
class _Extract(beam.DoFn):
    def __init__(self, methods: Sequence[str], aligner: str):
        self._methods = tuple(methods)
        self._aligner = aligner
        self._aligned = Metrics.counter(NAMESPACE, "pairs_aligned")

    def process(self, result: PredictionResult):
        pair: SentencePair = result.example
        sim = result.inference
        if isinstance(sim, Failure):
            yield dead_letter("align", "encoder_failed", pair.id, sim.error, pair.tgt_lang,
                              {"src_words": list(pair.src_words),
                               "tgt_words": list(pair.tgt_words)})
            return
        try:
            found = {m: alignment.extract(sim, m) for m in self._methods}
        except Exception as e:  # noqa: BLE001
            yield dead_letter("align", "extraction_failed", pair.id,
                              f"{type(e).__name__}: {e}", pair.tgt_lang)
            return
        self._aligned.inc()
        yield AlignedPair(pair=pair, alignments=found, aligner=self._aligner)


class Align(beam.PTransform):
    """SentencePair -> AlignedPair with one alignment per method in ``methods``."""

    def __init__(self, handler: AlignmentEncoderHandler, methods: Sequence[str], aligner: str,
                 batch_size: int = 64, batch_tokens: int = 16384):
        super().__init__()
        unknown = set(methods) - set(alignment.METHODS)
        if unknown:
            raise ValueError(f"unknown alignment methods {sorted(unknown)}")
        self._encode = InferInBatches(
            handler,
            # two sequences per pair; ~1.5 subwords per word on average
            size_fn=lambda p: 3 * max(len(p.src_words), len(p.tgt_words)) + 4,
            max_batch_size=batch_size, max_batch_tokens=batch_tokens)
        self._extract = _Extract(tuple(methods), aligner)

    def expand(self, pairs):
        res = (pairs | "Encode" >> self._encode
               | "Extract" >> beam.ParDo(self._extract).with_outputs(DEAD, main="ok"))
        return Staged(res.ok, res[DEAD])
