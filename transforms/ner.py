"""Word-level NER as a composable stage: label source corpora, target candidates, model
transfer, and (translate-test) the English side.

``TagWords`` takes words and returns spans: each input is a :class:`WordsToTag` (the words,
the record they belong to for dead letters, and an opaque payload) and each output is
``(payload, spans)`` — or ``(payload, (spans, (labels, probabilities)))`` with
``with_probabilities``. The caller attaches the spans to its own record, so one batched
RunInference stage serves every use.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

import apache_beam as beam
from apache_beam.metrics import Metrics
from transforms.inference_import import PredictionResult

from transforms.batching import InferInBatches
from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from transforms.handlers import NERModelHandler
from xlner import defaults
from xlner.text.bio import spans_to_tags
from xlner.formats.records import Failure, LabeledSentence, SentencePair


@dataclass(frozen=True)
class WordsToTag:
    """Words to tag; ``record_id``/``lang`` name the record in a dead letter."""

    words: tuple[str, ...]
    record_id: str
    lang: Optional[str]
    payload: Any


class _Unpack(beam.DoFn):
    def __init__(self, stage: str):
        self._stage = stage
        self._tagged = Metrics.counter(NAMESPACE, f"tagged_{stage}")

    def process(self, result: PredictionResult):
        req: WordsToTag = result.example
        if isinstance(result.inference, Failure):
            yield dead_letter(self._stage, "ner_failed", req.record_id,
                              result.inference.error, req.lang, {"words": list(req.words)})
            return
        self._tagged.inc()
        yield req.payload, result.inference


class TagWords(beam.PTransform):
    """WordsToTag -> (payload, spans); failures become dead letters of ``stage``."""

    def __init__(self, handler: NERModelHandler, stage: str = "ner",
                 batch_size: int = defaults.NER_BATCH_SIZE,
                 batch_tokens: int = defaults.NER_BATCH_TOKENS):
        super().__init__()
        self._tag = InferInBatches(handler, size_fn=lambda r: 2 * len(r.words) + 2,
                                   max_batch_size=batch_size, max_batch_tokens=batch_tokens,
                                   progress=f"ner ({stage})", unit="sentences")
        self._unpack = _Unpack(stage)

    def expand(self, requests):
        res = (requests | "Tag" >> self._tag
               | "Unpack" >> beam.ParDo(self._unpack).with_outputs(DEAD, main="ok"))
        return Staged(res.ok, res[DEAD])


def _target_words(pair: SentencePair) -> WordsToTag:
    return WordsToTag(pair.tgt_words, pair.id, pair.tgt_lang, pair)


def _attach(pair: SentencePair, result) -> SentencePair:
    return pair.with_tgt_spans(result)


def _attach_with_probabilities(pair: SentencePair, result) -> SentencePair:
    spans, word_probs = result
    return pair.with_tgt_spans(spans, word_probs)


class TagTargets(beam.PTransform):
    """SentencePair -> the same pair with NER spans (and word probabilities) on its target
    words: the candidates of NER-candidate methods and the labels of model transfer."""

    def __init__(self, handler: NERModelHandler, batch_size: int = defaults.NER_BATCH_SIZE):
        super().__init__()
        self._tag = TagWords(handler, "ner", batch_size)
        self._attach = _attach_with_probabilities if handler.with_probabilities else _attach

    def expand(self, pairs):
        tagged = (pairs | "TargetWords" >> beam.Map(_target_words)
                  | "Tag" >> self._tag)
        return Staged(tagged.ok | "Attach" >> beam.MapTuple(self._attach), tagged.dead)


def _source_words(s: LabeledSentence) -> WordsToTag:
    return WordsToTag(s.tokens, s.id, None, s)


def _relabel(s: LabeledSentence, spans) -> LabeledSentence:
    return dataclasses.replace(s, tags=spans_to_tags(spans, len(s.tokens)))


class LabelSentences(beam.PTransform):
    """LabeledSentence -> the same sentence tagged by the NER model (``--label_source``:
    an unlabelled source corpus); failures are dead letters before the fan-out."""

    def __init__(self, handler: NERModelHandler, batch_size: int = defaults.NER_BATCH_SIZE):
        super().__init__()
        self._tag = TagWords(handler, "label_source", batch_size)

    def expand(self, sentences):
        tagged = (sentences | "SourceWords" >> beam.Map(_source_words)
                  | "Tag" >> self._tag)
        return Staged(tagged.ok | "Relabel" >> beam.MapTuple(_relabel), tagged.dead)
