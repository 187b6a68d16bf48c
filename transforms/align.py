"""Align the words of sentence pairs: each distinct sentence encoded once per run, then CPU
extraction; only words are shuffled, except the vectors of sentences no group can hold.

A distinct sentence is its words and language. Pairs are grouped by the side that repeats
(``shared_side``: the English source shared by every target language; in the evaluation,
the gold sentence shared by both directions), at most ``PAIRS_PER_GROUP`` to a group (see
below). A group's sentences are encoded together, so words cross
the shuffle and vectors stay on the worker that computed them. A sentence that lands in
more than one group (a source repeated across records, a translation two sources share)
is found by a words-only count first, encoded once on its own, and its vectors are sent to
the groups that need it: the only vectors that cross the shuffle. Every distinct sentence
is thus one encoder input per run, whatever the batches, bundles or workers.

Groups are cut from the pairs of one shared sentence, sorted by pair key, in chunks of
``PAIRS_PER_GROUP``: the English sentence of one record or of several (a record per
target language, duplicated sentences of a corpus) is then one group, and no group grows
without bound. A hot sentence (more than ``HOT_KEY_PAIRS`` pairs, e.g. a line repeated
100,000 times in a corpus) is not sorted in memory: its pairs are streamed into buckets of
about ``PAIRS_PER_GROUP`` by a stable hash of the pair key, and its vectors are still
computed once and lent to every bucket's group. Lent vectors are the one thing an
in-memory runner holds for the whole run at its shuffle: with groups cut by record id,
1,000 Bible pairs of which 434 repeated peaked at 5.5 GB (1.8 GB for 1,000 distinct ones),
and 300 English sentences given in 10 languages as separate records at 6.0 GB.

The encoder (GPU where present) runs through RunInference (``InferInBatches``); inside a
batch, the sentences are sorted by their own length into sub-batches. Extraction (argmax /
itermax / mwmf / awesome) runs in a plain ParDo, so it scales over every worker core
instead of queueing behind the model; every requested method is extracted from the same
encoder pass.

Elements are ``(lane, SentencePair)`` in and ``(lane, AlignedPair)`` out: a lane (e.g. the
alignment direction) lets pairs of several kinds share one encoder pass.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from transforms.inference_import import PredictionResult

from transforms.batching import InferInBatches
from transforms.blas import OneBlasThread
from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from transforms.handlers import AlignmentEncoderHandler
from xlner.projection import alignment
from xlner import defaults
from xlner.models.encoders import pair_similarity
from xlner.formats.records import AlignedPair, Failure, SentencePair

# Pairs of one shared sentence per group at most (about, for a hot one): a sentence repeated
# across thousands of records never becomes one giant element (its later groups borrow its
# vectors).
PAIRS_PER_GROUP = 256
# A shared sentence with more pairs than this is hot: streamed into hashed buckets instead of
# sorted in memory (below it, its pairs are sorted and form as few groups as possible).
HOT_KEY_PAIRS = 4 * PAIRS_PER_GROUP


def sentence_key(lang: str, words: Sequence[str]) -> str:
    text = "\x1f".join((lang, *words))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Sentence:
    """One distinct sentence to encode on its own, and the groups that need it."""

    key: str
    lang: str
    words: tuple[str, ...]
    groups: tuple = ()

    def to_encode(self) -> list[tuple[str, str, tuple[str, ...]]]:
        return [(self.key, self.lang, self.words)]

    def assemble(self, encoded: dict):
        return encoded[self.key]

    def size(self) -> int:
        """Padded subwords, for batch budgets (~1.5 subwords per word, two specials)."""
        return 2 * len(self.words) + 2


@dataclass(frozen=True)
class AlignGroup:
    """Pairs that share one side (``shared_is_source``: their source, else their target),
    and the vectors of their sentences encoded elsewhere (``borrowed``: key -> Encoded or
    Failure)."""

    shared_is_source: bool
    members: tuple[tuple[str, SentencePair], ...]  # (lane, pair)
    borrowed: dict = field(default_factory=dict)

    def sides(self, pair: SentencePair):
        """(shared, other) as (key, lang, words)."""
        src = (sentence_key(pair.src_lang, pair.src_words), pair.src_lang, pair.src_words)
        tgt = (sentence_key(pair.tgt_lang, pair.tgt_words), pair.tgt_lang, pair.tgt_words)
        return (src, tgt) if self.shared_is_source else (tgt, src)

    def to_encode(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """The group's distinct sentences not encoded elsewhere, the shared one first."""
        found = {}
        for _, pair in self.members:
            for key, lang, words in self.sides(pair):
                if key not in self.borrowed:
                    found.setdefault(key, (key, lang, words))
        return list(found.values())

    def assemble(self, encoded: dict) -> dict:
        return {**self.borrowed, **{k: encoded[k] for k, _, _ in self.to_encode()}}

    def count(self) -> int:
        return len(self.members)

    def size(self) -> int:
        """Padded subwords to encode, for batch budgets (~1.5 subwords per word)."""
        return sum(2 * len(words) + 2 for _, _, words in self.to_encode())


def _shared_key(element, shared_is_source: bool) -> str:
    _, pair = element
    lang, words = ((pair.src_lang, pair.src_words) if shared_is_source
                   else (pair.tgt_lang, pair.tgt_words))
    return sentence_key(lang, words)


def buckets_for(n_pairs: int) -> int:
    """How many buckets a hot shared sentence's ``n_pairs`` pairs are spread over: about
    ``PAIRS_PER_GROUP`` pairs a bucket."""
    return max(1, -(-n_pairs // PAIRS_PER_GROUP))


def bucket_of(pair_key: str, buckets: int) -> int:
    """A pair's bucket: a stable hash of its key (the same on every worker and run)."""
    if buckets <= 1:
        return 0
    digest = hashlib.blake2b(pair_key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % buckets


def _cut_groups(key_and_elements):
    """(group key, element) for the pairs of one shared sentence. Up to ``HOT_KEY_PAIRS``
    pairs: sorted by pair key and lane (the same cut on any runner), ``PAIRS_PER_GROUP``
    to a group. A hot sentence (more pairs) is never held whole or sorted: its pairs are
    counted, then streamed to buckets of about ``PAIRS_PER_GROUP`` by a stable hash of
    the pair key (the groups form at the next shuffle; GroupByKey values are re-iterable,
    and a runner that pages large values, as Dataflow's state API can, never holds them)."""
    key, elements = key_and_elements
    if iter(elements) is elements:  # a one-pass iterator (no runner gives one): hold it
        elements = list(elements)
    head = list(itertools.islice(elements, HOT_KEY_PAIRS + 1))
    if len(head) <= HOT_KEY_PAIRS:
        ordered = sorted(head, key=lambda e: (e[1].key, repr(e[0])))
        for start in range(0, len(ordered), PAIRS_PER_GROUP):
            for element in ordered[start:start + PAIRS_PER_GROUP]:
                yield (key, start // PAIRS_PER_GROUP), element
        return
    del head
    Metrics.counter(NAMESPACE, "hot_sentences_spread").inc()
    buckets = buckets_for(sum(1 for _ in elements))
    for element in elements:
        yield (key, bucket_of(element[1].key, buckets)), element


def _incidences(placed):
    """(sentence key, (lang, words, the pair's group)) for both sides of a placed pair."""
    group, (_, pair) = placed
    return [(sentence_key(pair.src_lang, pair.src_words), (pair.src_lang, pair.src_words, group)),
            (sentence_key(pair.tgt_lang, pair.tgt_words), (pair.tgt_lang, pair.tgt_words, group))]


class _GroupsOfSentence(beam.CombineFn):
    """(lang, words, group) values of one sentence -> (lang, words, sorted groups)."""

    def create_accumulator(self):
        return None, set()

    def add_input(self, acc, value):
        lang, words, group = value
        acc[1].add(group)
        return (acc[0] or (lang, words)), acc[1]

    def merge_accumulators(self, accs):
        accs = list(accs)
        first = next((a[0] for a in accs if a[0] is not None), None)
        return first, set().union(*(a[1] for a in accs))

    def extract_output(self, acc):
        return (*acc[0], tuple(sorted(acc[1])))


def _repeated(key_and_groups):
    """A Sentence to encode on its own when it lands in more than one group."""
    key, (lang, words, groups) = key_and_groups
    if len(groups) > 1:
        Metrics.counter(NAMESPACE, "sentences_encoded_alone").inc()
        yield Sentence(key, lang, tuple(words), groups)


def _lend(result: PredictionResult):
    """A repeated sentence's vectors (or its Failure) to each group that needs them."""
    sentence: Sentence = result.example
    for group in sentence.groups:
        yield group, (sentence.key, result.inference)


def _group(joined, shared_is_source: bool):
    _, parts = joined
    members = tuple(sorted(parts["pairs"], key=lambda m: (m[1].key, m[0])))
    if members:
        Metrics.distribution(NAMESPACE, "pairs_per_group").update(len(members))
        yield AlignGroup(shared_is_source, members, dict(parts["borrowed"]))


class _Extract(beam.DoFn):
    def __init__(self, methods: Sequence[str], aligner: str, link_scores: bool):
        self._methods = tuple(methods)
        self._aligner = aligner
        self._link_scores = link_scores
        self._aligned = Metrics.counter(NAMESPACE, "pairs_aligned")
        self._one_blas_thread = OneBlasThread()

    def process(self, result: PredictionResult):
        with self._one_blas_thread():
            yield from self._process(result)

    def _process(self, result: PredictionResult):
        group: AlignGroup = result.example
        encoded = result.inference  # {key: Encoded or Failure}
        for lane, pair in group.members:
            (shared, _, _), (other, _, _) = group.sides(pair)
            failed = next((encoded[k] for k in (shared, other)
                           if isinstance(encoded[k], Failure)), None)
            if failed is not None:
                yield dead_letter("align", "encoder_failed", pair.id, failed.error,
                                  pair.tgt_lang, {"src_words": list(pair.src_words),
                                                  "tgt_words": list(pair.tgt_words)})
                continue
            src, tgt = ((encoded[shared], encoded[other]) if group.shared_is_source
                        else (encoded[other], encoded[shared]))
            yield from self._extract(lane, pair, src, tgt)

    def _extract(self, lane, pair, src, tgt):
        try:
            sim = pair_similarity(src, tgt)
            found = {m: alignment.extract(sim, m) for m in self._methods}
            strengths = ({m: alignment.link_similarities(sim, links)
                          for m, links in found.items()} if self._link_scores else {})
        except Exception as e:  # noqa: BLE001
            yield dead_letter("align", "extraction_failed", pair.id,
                              f"{type(e).__name__}: {e}", pair.tgt_lang)
            return
        self._aligned.inc()
        yield lane, AlignedPair(pair=pair, alignments=found, aligner=self._aligner,
                                link_scores=strengths)


class Align(beam.PTransform):
    """(lane, SentencePair) -> (lane, AlignedPair) with one alignment per method (and,
    with ``link_scores``, each link's similarity, for similarity-weighted matching).

    ``shared_side`` ("src" or "tgt") is the side pairs are grouped by: the side that
    repeats across pairs (the labelled source across target languages, the gold target
    across directions). ``batch_size``: groups per encoder batch.
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
        self._encode_repeated = InferInBatches(handler, size_fn=Sentence.size,
                                               max_batch_size=batch_size,
                                               max_batch_tokens=batch_tokens)
        self._encode = InferInBatches(handler, size_fn=AlignGroup.size,
                                      max_batch_size=batch_size, max_batch_tokens=batch_tokens,
                                      progress="align", unit="sentence pairs",
                                      weight=AlignGroup.count)
        self._extract = _Extract(tuple(methods), aligner, link_scores)

    def expand(self, lane_pairs):
        shared = self._shared_is_source
        grouped = (lane_pairs
                   | "KeyByShared" >> beam.Map(lambda e: (_shared_key(e, shared), e))
                   | "PairsOfShared" >> beam.GroupByKey()
                   | "CutGroups" >> beam.FlatMap(_cut_groups))
        lent = (grouped
                | "WhereSentencesAre" >> beam.FlatMap(_incidences)
                | "GroupsOfSentence" >> beam.CombinePerKey(_GroupsOfSentence())
                | "Repeated" >> beam.FlatMap(_repeated)
                | "EncodeRepeated" >> self._encode_repeated
                | "Lend" >> beam.FlatMap(_lend))
        res = ({"pairs": grouped, "borrowed": lent}
               | "Group" >> beam.CoGroupByKey()
               | "Groups" >> beam.FlatMap(_group, shared)
               | "Encode" >> self._encode
               | "Extract" >> beam.ParDo(self._extract).with_outputs(DEAD, main="ok"))
        return Staged(res.ok, res[DEAD])
