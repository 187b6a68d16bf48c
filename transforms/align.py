"""Align the words of sentence pairs: each distinct sentence encoded once, then CPU extraction.

Pairs that share a side are grouped first (translate-train: the English source shared by
every target language; the evaluation: the gold sentence shared by both directions), so
the shared sentence is encoded once for all of them, and only words travel through the
shuffle, never vectors. The encoder (GPU where present) runs through RunInference on
groups; inside a batch every distinct sentence is encoded once, in sub-batches of single
sentences sorted by their own length. Extraction (argmax / itermax / mwmf / awesome) runs in
a plain ParDo, so it scales over every worker core instead of queueing behind the model;
every requested method is extracted from the same encoder pass.

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
from xlner import alignment, defaults
from xlner.models.encoders import pair_similarity
from xlner.records import AlignedPair, Failure, SentencePair

# Pairs sharing one sentence are spread over this many groups at most, so a sentence
# repeated across thousands of records never becomes one giant element.
GROUP_BUCKETS = 64


@dataclass(frozen=True)
class AlignGroup:
    """Pairs that share one side's words (``shared``, their source or their target)."""

    shared: tuple[str, ...]
    shared_is_source: bool
    members: tuple[tuple[str, SentencePair], ...]  # (lane, pair)

    def others(self) -> list[tuple[str, ...]]:
        return [p.tgt_words if self.shared_is_source else p.src_words
                for _, p in self.members]

    def sentences(self) -> list[tuple[tuple[str, ...], str]]:
        """(words, language) to encode: the shared side first, then each member's other."""
        first = self.members[0][1]
        shared = (self.shared, first.src_lang if self.shared_is_source else first.tgt_lang)
        return [shared] + [(p.tgt_words, p.tgt_lang) if self.shared_is_source
                           else (p.src_words, p.src_lang) for _, p in self.members]

    def count(self) -> int:
        return len(self.members)

    def size(self) -> int:
        """Words to encode, for batch budgets (~1.5 subwords per word)."""
        return 2 * (len(self.shared) + sum(len(o) for o in self.others())) + 4


def _words_key(words) -> str:
    return hashlib.sha1("\x1f".join(words).encode("utf-8", "surrogatepass")).hexdigest()


def _group_key(element, shared_is_source: bool):
    lane, pair = element
    words = ((pair.src_lang, *pair.src_words) if shared_is_source
             else (pair.tgt_lang, *pair.tgt_words))
    bucket = int(_words_key([pair.id])[:8], 16) % GROUP_BUCKETS  # a record's pairs together
    return (_words_key(words), bucket), element


def _group(key_and_members, shared_is_source: bool) -> AlignGroup:
    _, members = key_and_members
    members = tuple(sorted(members, key=lambda m: (m[1].key, m[0])))
    first = members[0][1]
    return AlignGroup(first.src_words if shared_is_source else first.tgt_words,
                      shared_is_source, members)


class _Extract(beam.DoFn):
    def __init__(self, methods: Sequence[str], aligner: str, link_scores: bool):
        self._methods = tuple(methods)
        self._aligner = aligner
        self._link_scores = link_scores
        self._aligned = Metrics.counter(NAMESPACE, "pairs_aligned")

    def process(self, result: PredictionResult):
        group: AlignGroup = result.example
        encoded = result.inference
        for i, (lane, pair) in enumerate(group.members):
            if isinstance(encoded, Failure):
                yield dead_letter("align", "encoder_failed", pair.id, encoded.error,
                                  pair.tgt_lang, {"src_words": list(pair.src_words),
                                                  "tgt_words": list(pair.tgt_words)})
                continue
            shared, other = encoded[0], encoded[1 + i]
            src, tgt = (shared, other) if group.shared_is_source else (other, shared)
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

    ``shared_side`` ("src" or "tgt") is the side pairs are grouped by: the side that
    repeats across pairs (the labelled source across target languages, the gold target
    across directions).
    """

    def __init__(self, handler: AlignmentEncoderHandler, methods: Sequence[str], aligner: str,
                 batch_size: int = defaults.ALIGN_BATCH_SIZE,
                 batch_tokens: int = defaults.ALIGN_BATCH_TOKENS, shared_side: str = "src",
                 link_scores: bool = False):
        super().__init__()
        unknown = set(methods) - set(alignment.METHODS)
        if unknown:
            raise ValueError(f"unknown alignment methods {sorted(unknown)}")
        if shared_side not in ("src", "tgt"):
            raise ValueError(f"shared_side must be src or tgt, not {shared_side!r}")
        self._shared_is_source = shared_side == "src"
        self._encode = InferInBatches(handler, size_fn=AlignGroup.size,
                                      max_batch_size=batch_size, max_batch_tokens=batch_tokens,
                                      progress="align", unit="sentence pairs",
                                      weight=AlignGroup.count)
        self._extract = _Extract(tuple(methods), aligner, link_scores)

    def expand(self, lane_pairs):
        shared = self._shared_is_source
        res = (lane_pairs
               | "KeyByShared" >> beam.Map(_group_key, shared)
               | "GroupShared" >> beam.GroupByKey()
               | "Groups" >> beam.Map(_group, shared)
               | "Encode" >> self._encode
               | "Extract" >> beam.ParDo(self._extract).with_outputs(DEAD, main="ok"))
        return Staged(res.ok, res[DEAD])
