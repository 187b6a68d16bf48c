"""Each distinct sentence (words + language) is encoded once per run, however the pairs
are batched or bundled: the English side shared by every target language is one encoder
input, and equal translations are one input too. The fake encoder counts what it is given."""

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_pipeline as beam_test
from apache_beam.testing.util import assert_that, equal_to

from tests.fakes import FAIL, FakeEncoderHandler, HashEncoder, counter
from tests.helpers import make_pair
from transforms.align import Align
from xlner.projection import alignment
from xlner.models.encoders import pair_similarity
from xlner.formats.records import Span

ENGLISH = [["Ana", "lives", "in", "Lisbon", "."], ["Rui", "works", "in", "Porto"],
           ["Ana", "met", "Rui", "."], ["Lisbon"]]
TARGETS = ["por_Latn", "swh_Latn", "yor_Latn"]


def translation(k: int, lang: str) -> list[str]:
    if lang == "por_Latn" and k in (0, 1):  # two sources, one equal translation
        return ["Ana", "mora", "em", "Lisboa"]
    return [w.upper() if lang == "swh_Latn" else w + lang[:1] for w in ENGLISH[k]]


def records(n_records: int = 40):
    """n records over 4 distinct English sentences, each in 3 target languages."""
    return [("lane", make_pair(f"r{i}", "eng_Latn", lang, ENGLISH[i % 4],
                               [Span(0, 1, "PER")], translation(i % 4, lang)))
            for i in range(n_records) for lang in TARGETS]


def expected(pairs, method="argmax"):
    enc = HashEncoder()
    out = []
    for lane, p in pairs:
        src, tgt = enc.encode([p.src_words, p.tgt_words])
        out.append((lane, p.key, alignment.extract(pair_similarity(src, tgt), method)))
    return out


def distinct_sentences(pairs) -> int:
    return len({(p.src_lang, p.src_words) for _, p in pairs}
               | {(p.tgt_lang, p.tgt_words) for _, p in pairs})


def run_align(pairs, batch_size, shared_side="src", extra=()):
    opts = PipelineOptions(["--runner=FnApiRunner", *extra])
    p = beam_test.TestPipeline(options=opts)
    res = (p | beam.Create(pairs)
           | Align(FakeEncoderHandler("fake", (1,)), ["argmax"], "fake",
                   batch_size=batch_size, shared_side=shared_side))
    assert_that(res.ok | beam.MapTuple(lambda lane, a: (lane, a.pair.key,
                                                        a.alignments["argmax"])),
                equal_to(expected(pairs)), label="alignments")
    assert_that(res.dead, equal_to([]), label="no dead letters")
    return p.run()


@pytest.mark.parametrize("batch_size", [1, 4, 64])
def test_each_distinct_sentence_is_encoded_once_at_any_batch_size(batch_size):
    pairs = records()
    assert len(pairs) == 120 and distinct_sentences(pairs) == 4 + 11
    result = run_align(pairs, batch_size)
    assert counter(result, "fake_encoder_inputs") == 15
    assert counter(result, "sentences_encoded") == 15
    # the pairs of one source share a group (10 records x 3 languages), so only the one
    # translation two different sources share is encoded alone and lent
    assert counter(result, "sentences_encoded_alone") == 1


def test_distinct_sources_lend_nothing_between_groups():
    """A corpus whose sentences are all distinct: every pair's vectors stay in its group
    (no vectors cross the shuffle), still one encoder input per sentence."""
    pairs = [("lane", make_pair(f"r{i}", "eng_Latn", lang, [f"w{i}", "x"], [Span(0, 1, "PER")],
                                [f"w{i}", lang])) for i in range(30) for lang in TARGETS]
    result = run_align(pairs, 4)
    assert counter(result, "sentences_encoded_alone") == 0
    assert counter(result, "fake_encoder_inputs") == distinct_sentences(pairs) == 30 + 90


def test_a_sentence_in_thousands_of_records_is_encoded_once_in_bounded_groups():
    pairs = [("lane", make_pair(f"r{i}", "eng_Latn", "por_Latn", ENGLISH[0],
                                [Span(0, 1, "PER")], translation(0, "por_Latn")))
             for i in range(2000)]
    result = run_align(pairs, 64)
    assert counter(result, "fake_encoder_inputs") == 2  # one source, one translation


@pytest.mark.parametrize("shared_side", ["src", "tgt"])
def test_once_across_bundles_and_parallel_workers(shared_side):
    pairs = records(24)
    result = run_align(pairs, 2, shared_side,
                       ["--direct_num_workers=2", "--direct_running_mode=multi_threading"])
    assert counter(result, "fake_encoder_inputs") == distinct_sentences(pairs)


def test_a_sentence_the_encoder_fails_on_dead_letters_only_its_pairs():
    """A bad translation fails alone: not the other pairs of its group (the same source in
    another language), and a bad sentence repeated across records (encoded on its own)
    fails every pair that has it and no other."""
    good = records(8)
    bad = [("lane", make_pair(rid, "eng_Latn", lang, ENGLISH[k], [Span(0, 1, "PER")],
                              ["Ana", FAIL])) for rid, lang, k in
           [("r0", "deu_Latn", 0), ("x1", "deu_Latn", 1), ("x2", "deu_Latn", 1)]]
    p = beam_test.TestPipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    res = (p | beam.Create(good + bad)
           | Align(FakeEncoderHandler("fake", (1,)), ["argmax"], "fake", batch_size=64))
    assert_that(res.ok | beam.MapTuple(lambda lane, a: (lane, a.pair.key,
                                                        a.alignments["argmax"])),
                equal_to(expected(good)), label="kept")
    assert_that(res.dead | beam.Map(lambda d: (d.stage, d.reason, d.record_id, d.tgt_lang)),
                equal_to([("align", "encoder_failed", rid, "deu_Latn")
                          for rid in ("r0", "x1", "x2")]), label="dead")
    p.run()


def test_pairs_of_one_source_share_a_group_whatever_their_record_ids():
    """One English sentence given as a separate record per language, or records repeating
    a whole pair: its pairs form one group, so no vectors cross the shuffle for them (an
    in-memory runner holds lent vectors for the whole run); past PAIRS_PER_GROUP they
    open another group, which borrows the two sentences."""
    from transforms import align

    per_language = [("lane", make_pair(f"{lang}:r{k}", "eng_Latn", lang, ENGLISH[k],
                                       [Span(0, 1, "PER")], [w + lang for w in ENGLISH[k]]))
                    for k in range(3) for lang in TARGETS]
    result = run_align(per_language, 4)
    assert counter(result, "sentences_encoded_alone") == 0
    assert counter(result, "fake_encoder_inputs") == distinct_sentences(per_language) == 12

    def dup(n, k=0):
        return [("lane", make_pair(f"d{k}-{i:05d}", "eng_Latn", "por_Latn", ENGLISH[k],
                                   [Span(0, 1, "PER")], translation(k, "por_Latn") + [str(k)]))
                for i in range(n)]

    result = run_align(dup(align.PAIRS_PER_GROUP) + dup(40, 2), 8)
    assert counter(result, "sentences_encoded_alone") == 0
    assert counter(result, "fake_encoder_inputs") == 4
    result = run_align(dup(align.PAIRS_PER_GROUP + 1), 8)
    assert counter(result, "fake_encoder_inputs") == 2
    assert counter(result, "sentences_encoded_alone") == 2  # two groups: both sides lent


def test_groups_are_cut_the_same_whatever_the_order():
    from transforms.align import PAIRS_PER_GROUP, _cut_groups

    pairs = [("lane", make_pair(f"r{i:04d}", "eng_Latn", "por_Latn", ENGLISH[1],
                                [Span(0, 1, "PER")], ["x", str(i)]))
             for i in range(PAIRS_PER_GROUP + 3)]
    one = list(_cut_groups(("k", pairs)))
    other = list(_cut_groups(("k", pairs[::-1])))
    assert one == other
    assert [key for key, _ in one].count(("k", 0)) == PAIRS_PER_GROUP
    assert [key for key, _ in one].count(("k", 1)) == 3



def _largest_group(result) -> int:
    from apache_beam.metrics.metric import MetricsFilter

    found = result.metrics().query(MetricsFilter().with_name("pairs_per_group"))
    return max(d.committed.max for d in found["distributions"])


def test_a_hot_sentence_is_streamed_into_bounded_groups_and_still_encoded_once():
    """A line repeated far past HOT_KEY_PAIRS is not sorted in memory: its pairs go to
    hashed buckets of about PAIRS_PER_GROUP, each a group that borrows the two sentences,
    still encoded once; a sentence at the limit keeps the sorted cut (full groups)."""
    from transforms import align

    n = 3 * align.HOT_KEY_PAIRS
    hot = [("lane", make_pair(f"h{i:05d}", "eng_Latn", "por_Latn", ENGLISH[2],
                              [Span(0, 1, "PER")], translation(2, "por_Latn")))
           for i in range(n)]
    warm = [("lane", make_pair(f"w{i:05d}", "eng_Latn", "swh_Latn", ENGLISH[3],
                               [Span(0, 1, "LOC")], translation(3, "swh_Latn")))
            for i in range(align.HOT_KEY_PAIRS)]
    result = run_align(warm, 64)
    assert counter(result, "hot_sentences_spread") == 0
    assert _largest_group(result) == align.PAIRS_PER_GROUP
    result = run_align(hot + warm, 64)
    assert counter(result, "hot_sentences_spread") == 1
    assert counter(result, "fake_encoder_inputs") == 4  # two sentences each, once
    assert _largest_group(result) <= 2 * align.PAIRS_PER_GROUP < n


class _Paged:
    """A re-iterable GroupByKey value that makes fresh elements on every pass, as a
    runner paging from disk does; counts how many of its pairs are alive at once."""

    def __init__(self, n: int):
        self.n, self.alive, self.most = n, 0, 0

    def _died(self):
        self.alive -= 1

    def __iter__(self):
        import weakref

        for i in range(self.n):
            pair = make_pair(f"h{i:05d}", "eng_Latn", "por_Latn", ENGLISH[2],
                             [Span(0, 1, "PER")], translation(2, "por_Latn"))
            weakref.finalize(pair, self._died)
            self.alive += 1
            self.most = max(self.most, self.alive)
            yield "lane", pair
            del pair


def test_a_hot_sentence_is_cut_while_streaming_not_held():
    from transforms.align import HOT_KEY_PAIRS, _cut_groups, buckets_for

    paged = _Paged(4 * HOT_KEY_PAIRS)
    buckets = set()
    for (_, bucket), _ in _cut_groups(("k", paged)):
        buckets.add(bucket)
    assert paged.most <= HOT_KEY_PAIRS + 2  # the head that showed it was hot, no more
    assert buckets == set(range(buckets_for(4 * HOT_KEY_PAIRS)))
    one = [(g, e[1].key) for g, e in _cut_groups(("k", _Paged(2 * HOT_KEY_PAIRS)))]
    other = [(g, e[1].key) for g, e in _cut_groups(("k", list(_Paged(2 * HOT_KEY_PAIRS))[::-1]))]
    assert sorted(one) == sorted(other)  # the same groups whatever the order


def test_buckets_are_stable_and_only_for_hot_sentences():
    from transforms.align import PAIRS_PER_GROUP, bucket_of, buckets_for

    assert buckets_for(1) == 1 and buckets_for(10 * PAIRS_PER_GROUP + 1) == 11
    assert bucket_of("por_Latn/r1", 1) == 0
    # a stable hash, not Python's salted one: the same bucket in every process
    assert (bucket_of("por_Latn/r1", 1000), bucket_of("por_Latn/r2", 1000)) == (113, 691)
    spread = {bucket_of(f"por_Latn/r{i}", 12) for i in range(2000)}
    assert spread == set(range(12))
    assert bucket_of("por_Latn/\udc80", 7) in range(7)  # odd ids hash too
