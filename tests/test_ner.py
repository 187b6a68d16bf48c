"""Word-level NER: grouping, first-subword aggregation, windows, the spaCy default."""

import pytest

from xlner.text.bio import group_word_labels
from xlner.models.ner import HFWordTagger, SpacyTagger
from xlner.formats.records import Span


def test_grouping_reads_iob1_taggers_like_hugging_face():
    labels = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-ORG", "PER", "PER"]
    assert group_word_labels(labels) == (
        Span(0, 2, "PER"), Span(3, 4, "LOC"), Span(4, 6, "LOC"), Span(6, 7, "ORG"),
        Span(7, 8, "PER"), Span(8, 9, "PER"))  # unprefixed labels count as B-


@pytest.fixture(scope="module")
def tiny_tagger(tmp_path_factory):
    from tests.tiny_models import build_tiny_tagger

    return str(build_tiny_tagger(tmp_path_factory.mktemp("tagger") / "tagger"))


def test_hf_tagger_groups_iob1_output_into_entities(tiny_tagger):
    tagger = HFWordTagger(tiny_tagger)
    assert tagger.tag([["Angela", "Merkel"], ["Paris"]]) == [(Span(0, 2, "PER"),),
                                                              (Span(0, 1, "PER"),)]


def test_hf_tagger_windows_long_sentences_instead_of_truncating(tiny_tagger):
    tagger = HFWordTagger(tiny_tagger)  # 64 positions in the tiny model
    words = ["Angela", "Merkel", "visited", "Paris"] * 50
    probs = tagger.word_probabilities([words])[0]
    assert probs.shape == (200, 8)
    assert (probs.argmax(1) == 7).all()  # every word, past the first window too, is tagged


def test_spacy_default_maps_ontonotes_to_conll_on_given_words():
    tagger = SpacyTagger()
    words = "Angela Merkel visited Paris on Monday with the European Union .".split()
    spans = tagger.tag([words])[0]
    found = {(s.label, " ".join(words[s.start:s.end])) for s in spans}
    assert ("PER", "Angela Merkel") in found and ("LOC", "Paris") in found
    assert not any(s.label == "DATE" for s in spans)  # Monday: dates become O
