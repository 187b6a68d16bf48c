"""Align the words of sentence pairs: each distinct sentence encoded once per run, then CPU
extraction.

A distinct sentence is its words and language. Every side of every pair is keyed by them
and deduplicated (``Distinct``, a combine per key) before batching, so a sentence is ONE
encoder input however many pairs, batches, bundles or workers it appears in: the English
source shared by every target language, a translation two sources have in common, the
gold sentence shared by both directions of the evaluation. The encoder (GPU where
present) runs through RunInference on batches of distinct sentences; each sentence's
vectors are then joined back to its pairs by key in two steps: first the side that
rarely repeats (``other``), then the shared side, so the shared sentence's vectors
cross the shuffle once per step and never once per pair. Extraction (argmax / itermax /
mwmf / awesome) runs in a plain ParDo after the join, so it scales over every worker core
instead of queueing behind the model; every requested method is extracted from the same
encoder pass.

Elements are ``(lane, SentencePair)`` in and ``(lane, AlignedPair)`` out: a lane (e.g. the
alignment direction) lets pairs of several kinds share one encoder pass.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.ml.inference.base import PredictionResult

from transforms.batching import InferInBatches
from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from transforms.handlers import AlignmentEncoderHandler
from xlner import alignment
from xlner.models.encoders import pair_similarity
from xlner.records import AlignedPair, Failure, SentencePair


@dataclass(frozen=True)
class Sentence:
    """One distinct sentence to encode: its key (a digest of language and words)."""

    key: str
    lang: str
    words: tuple[str, ...]

    def size(self) -> int:
        """Padded subwords, for batch budgets (~1.5 subwords per word, two specials)."""
        return 2 * len(self.words) + 2


def sentence_key(lang: str, words: Sequence[str]) -> str:
    text = "\x1f".join((lang, *words))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _sides(element) -> list[tuple[str, str, tuple[str, ...]]]:
    _, pair = element
    return [(sentence_key(pair.src_lang, pair.src_words), pair.src_lang, pair.src_words),
            (sentence_key(pair.tgt_lang, pair.tgt_words), pair.tgt_lang, pair.tgt_words)]


def _side_key(pair: SentencePair, source: bool) -> str:
    return (sentence_key(pair.src_lang, pair.src_words) if source
            else sentence_key(pair.tgt_lang, pair.tgt_words))


def _encoded_by_key(result: PredictionResult):
    return result.example.key, result.inference


def _only(encodings: list):
    """The one encoding of a key (a Failure if the sentence was never encoded)."""
    return encodings[0] if encodings else Failure("encoder_failed", "sentence not encoded")


def _attach_other(joined, shared_is_source: bool):
    """(other key, {encoded, pairs}) -> (shared key, (lane, pair, other's encoding))."""
    _, parts = joined
    other = _only(list(parts["encoded"]))
    for lane, pair in parts["pairs"]:
        yield _side_key(pair, shared_is_source), (lane, pair, other)


class _Extract(beam.DoFn):
    """(shared key, {encoded, pairs}) -> (lane, AlignedPair), or a dead letter per pair."""

    def __init__(self, methods: Sequence[str], aligner: str, link_scores: bool,
                 shared_is_source: bool):
        self._methods = tuple(methods)
        self._aligner = aligner
        self._link_scores = link_scores
        self._shared_is_source = shared_is_source
        self._aligned = Metrics.counter(NAMESPACE, "pairs_aligned")

    def process(self, joined):
        _, parts = joined
        shared = _only(list(parts["encoded"]))
        for lane, pair, other in parts["pairs"]:
            failed = next((e for e in (shared, other) if isinstance(e, Failure)), None)
            if failed is not None:
                yield dead_letter("align", "encoder_failed", pair.id, failed.error,
                                  pair.tgt_lang, {"src_words": list(pair.src_words),
                                                  "tgt_words": list(pair.tgt_words)})
                continue
            src, tgt = (shared, other) if self._shared_is_source else (other, shared)
            try:
                sim = pair_similarity(src, tgt)
                found = {m: alignment.extract(sim, m) for m in self._methods}
                strengths = ({m: alignment.link_similarities(sim, links)
                              for m, links in found.items()} if self._link_scores else {})
            except Exception as e:  # noqa: BLE001
                yield dead_letter("align", "extraction_failed", pair.id,
                                  f"{type(e).__name__}: {e}", pair.tgt_lang)
                continue
            self._aligned.inc()
            yield lane, AlignedPair(pair=pair, alignments=found, aligner=self._aligner,
                                    link_scores=strengths)


class Align(beam.PTransform):
    """(lane, SentencePair) -> (lane, AlignedPair) with one alignment per method (and,
    with ``link_scores``, each link's similarity, for similarity-weighted matching).

    Each distinct sentence is encoded once whatever ``shared_side`` is; ``shared_side``
    ("src" or "tgt") names the side that repeats across pairs (the labelled source across
    target languages, the gold target across directions), which is joined last so its
    vectors are not copied per pair through the shuffle. ``batch_size``: distinct
    sentences per encoder batch.
    """

    def __init__(self, handler: AlignmentEncoderHandler, methods: Sequence[str], aligner: str,
                 batch_size: int = 128, batch_tokens: int = 16384, shared_side: str = "src",
                 link_scores: bool = False):
        super().__init__()
        unknown = set(methods) - set(alignment.METHODS)
        if unknown:
            raise ValueError(f"unknown alignment methods {sorted(unknown)}")
        if shared_side not in ("src", "tgt"):
            raise ValueError(f"shared_side must be src or tgt, not {shared_side!r}")
        self._shared_is_source = shared_side == "src"
        self._encode = InferInBatches(handler, size_fn=Sentence.size,
                                      max_batch_size=batch_size, max_batch_tokens=batch_tokens,
                                      progress="align", unit="distinct sentences")
        self._extract = _Extract(tuple(methods), aligner, link_scores, self._shared_is_source)

    def expand(self, lane_pairs):
        shared = self._shared_is_source
        encoded = (lane_pairs
                   | "Sides" >> beam.FlatMap(_sides)
                   | "DistinctSentences" >> beam.Distinct()
                   | "AsSentences" >> beam.MapTuple(Sentence)
                   | "Encode" >> self._encode
                   | "EncodedByKey" >> beam.Map(_encoded_by_key))
        by_other = lane_pairs | "KeyByOther" >> beam.Map(
            lambda e: (_side_key(e[1], not shared), e))
        with_other = ({"encoded": encoded, "pairs": by_other}
                      | "JoinOther" >> beam.CoGroupByKey()
                      | "AttachOther" >> beam.FlatMap(_attach_other, shared))
        res = ({"encoded": encoded, "pairs": with_other}
               | "JoinShared" >> beam.CoGroupByKey()
               | "Extract" >> beam.ParDo(self._extract).with_outputs(DEAD, main="ok"))
        return Staged(res.ok, res[DEAD])
