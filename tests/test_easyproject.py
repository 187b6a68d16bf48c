"""EasyProject markers and span recovery (docs/method.md §7), with the real embedded translator,
and its two composites (EasyProject, BackTranslate) with assert_that over a fake model."""

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.fakes import FAIL, fake_texts, sentence, test_pipeline
from tests.helpers import make_pair
from transforms.easyproject import BackTranslate, EasyProject
from xlner.projection.easyproject import entity_texts, marked_sentence, marked_words, recover
from xlner.formats.records import MarkedUnit, Span

WORDS = "Angela Merkel visited Paris on Monday with John Smith .".split()
SPANS = (Span(0, 2, "PER"), Span(3, 4, "LOC"), Span(7, 9, "PER"))


def test_markers_wrap_entities_without_inner_spaces():
    assert marked_words(["a", "b"], [Span(1, 2, "X")]) == ["a", "[", "b", "]"]
    assert marked_sentence(WORDS, SPANS) == \
        "[Angela Merkel] visited [Paris] on Monday with [John Smith]."
    assert entity_texts(WORDS, SPANS) == ["Angela Merkel", "Paris", "John Smith"]


def test_recovery_labels_marked_spans_by_fuzzy_match():
    r = recover("[Angela Merkel] visitou [Paris] com [John Smith].",
                ["Angela Merkel", "Paris", "John Smith (em inglês)"], ["PER", "LOC", "PER"])
    assert r.words == ("Angela", "Merkel", "visitou", "Paris", "com", "John", "Smith", ".")
    assert r.spans == (Span(0, 2, "PER"), Span(3, 4, "LOC"), Span(5, 7, "PER"))
    assert (r.markers, r.matched) == (3, 3)


def test_best_match_by_default_last_match_with_paper_quirks():
    # both entity translations pass 0.5 against "[Ana Maria]"; the best one is "Ana Maria"
    ents, labels = ["Ana Maria", "Ana Mari"], ["PER", "ORG"]
    assert recover("[Ana Maria] chegou.", ents, labels).spans[0].label == "PER"
    assert recover("[Ana Maria] chegou.", ents, labels, paper_quirks=True).spans[0].label == "ORG"


def test_unmatched_markers_lose_the_entity_and_their_brackets_by_default():
    r = recover("A [coisa estranha] em [Lisboa].", ["União Europeia", "Lisboa"], ["ORG", "LOC"])
    assert r.words == ("A", "coisa", "estranha", "em", "Lisboa", ".")
    assert r.spans == (Span(4, 5, "LOC"),) and r.matched == 1
    quirky = recover("A [coisa estranha] em [Lisboa].", ["União Europeia", "Lisboa"],
                     ["ORG", "LOC"], paper_quirks=True)
    assert quirky.words[:4] == ("A", "[", "coisa", "estranha")  # docs/method.md P12


def test_each_source_entity_is_used_once_and_failed_entity_translations_are_skipped():
    r = recover("[Paris] e [Paris]", ["Paris", None], ["LOC", "LOC"])
    assert r.matched == 1


@pytest.mark.slow
def test_round_trip_through_the_embedded_marian_model():
    from xlner.models.translators import EmbeddedMarianTranslator

    m = EmbeddedMarianTranslator()
    out = [o.text for o in m.translate([marked_sentence(WORDS, SPANS)] +
                                       entity_texts(WORDS, SPANS), "eng_Latn", "por_Latn")]
    r = recover(out[0], out[1:], [s.label for s in SPANS])
    got = {(s.label, " ".join(r.words[s.start:s.end])) for s in r.spans}
    assert got == {("PER", "Angela Merkel"), ("LOC", "Paris"), ("PER", "John Smith")}


# ------------------------------------------------------------------ the composites
def test_easyproject_recovers_the_marked_entities_and_dead_letters_a_failed_unit():
    words = ("Angela", "Merkel", "visited", "Paris", ".")
    spans = (Span(0, 2, "PER"), Span(3, 4, "LOC"))
    ok = MarkedUnit("por_Latn/u1", sentence("u1", words), "eng_Latn", "por_Latn", words, spans)
    bad_words = ("Paris", FAIL)
    bad = MarkedUnit("por_Latn/u2", sentence("u2", bad_words), "eng_Latn", "por_Latn",
                     bad_words, (Span(0, 1, "LOC"),))
    with test_pipeline() as p:
        res = p | beam.Create([ok, bad]) | EasyProject(fake_texts())
        assert_that(res.ok | beam.Map(lambda e: (e.unit.key, e.words, e.spans, e.matched)),
                    equal_to([("por_Latn/u1", ("ANGELA", "MERKEL", "VISITED", "PARIS", "."),
                               spans, 2)]), label="recovered")
        assert_that(res.dead | beam.Map(lambda d: (d.stage, d.record_id, d.tgt_lang)),
                    equal_to([("easyproject", "u2", "por_Latn")]), label="dead")


def test_back_translation_replaces_the_source_side_and_keeps_the_key():
    pair = make_pair("v1", "eng_Latn", "ell_Grek", ["John", "saw", "Mary"],
                     [Span(0, 1, "PER"), Span(2, 3, "PER")], ["Ιωάννης", "είδε", "Μαρία"])
    failing = make_pair("v2", "eng_Latn", "ell_Grek", ["John", FAIL], [Span(0, 1, "PER")],
                        ["Ιωάννης", "x"])
    with test_pipeline() as p:
        res = p | beam.Create([pair, failing]) | BackTranslate(fake_texts())
        assert_that(res.ok | beam.Map(lambda q: (q.key, q.src_lang, q.src_words, q.src_spans,
                                                 q.tgt_words, q.record.id)),
                    equal_to([(pair.key, "ell_Grek", ("JOHN", "SAW", "MARY"), pair.src_spans,
                               pair.tgt_words, "v1")]), label="pairs")
        assert_that(res.dead | beam.Map(lambda d: (d.stage, d.record_id, d.tgt_lang)),
                    equal_to([("easyproject", "v2", "ell_Grek")]), label="dead")
