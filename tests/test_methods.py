"""The method registry: what each method needs, its keys, the table in docs/USAGE.md."""

import os

import pytest

from xlner.projection.methods import (PAPER_METHODS, Method, UnknownMethod, markdown_table, parse,
                           resolve)

ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_the_thirteen_paper_methods_round_trip_by_key_and_abbreviation():
    assert len(PAPER_METHODS) == 13 and len({m.key for m in PAPER_METHODS}) == 13
    for m in PAPER_METHODS:
        assert parse(m.key) == m == parse(m.short) and m.in_paper
    assert [m.key for m in resolve("H-s-S,Cg-t-A+ilp")] == ["heur-src2tgt-sim",
                                                          "cand-ngram-tgt2tgt-awe+ilp"]


def test_variants_outside_the_paper_have_keys_of_the_same_shape():
    m = Method.of("ngram", "src2tgt", "argmax", "ilp")
    assert m.key == "cand-ngram-src2tgt-argmax+ilp" and parse(m.key) == m and not m.in_paper
    assert Method.of("easyproject").key == "EP" and parse("EP").needs_marked_translation
    assert Method.of("heuristic", align_method="mwmf").short == "H-s-mwmf"


@pytest.mark.parametrize("method, needs", [
    (Method("model_transfer"), {"target_ner"}),
    (Method("easyproject"), {"marked_translation"}),
    (Method("heuristic", "src2tgt", "itermax"), {"alignment"}),
    (Method("ner", "tgt2tgt", "awesome", "greedy"), {"alignment", "target_ner",
                                                     "back_translation"}),
    (Method("ngram", "tgt2tgt", "argmax", "ilp"), {"alignment", "back_translation"}),
])
def test_each_method_says_what_it_needs(method, needs):
    got = {n for n in ("alignment", "target_ner", "back_translation", "marked_translation")
           if getattr(method, f"needs_{n}")}
    assert got == needs


@pytest.mark.parametrize("bad", [
    lambda: Method("heuristic"),  # no alignment method
    lambda: Method("model_transfer", align_method="argmax"),
    lambda: Method("heuristic", align_method="argmax", matching="ilp"),
    lambda: Method.of("easyproject", "tgt2tgt"),
    lambda: Method("ngram", align_method="magic", matching="greedy"),
    lambda: parse("H-s-S+ilp"),
    lambda: parse("nonsense"),
    lambda: resolve("H-s-S,heur-src2tgt-sim"),  # the same method twice
])
def test_impossible_methods_are_refused(bad):
    with pytest.raises(UnknownMethod):
        bad()


def test_usage_method_table_is_generated_from_the_registry():
    with open(os.path.join(ROOT, "docs", "USAGE.md"), encoding="utf-8") as f:
        assert markdown_table() in f.read()
