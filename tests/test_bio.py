import pytest
from hypothesis import given, strategies as st

from xlner.text.bio import (InvalidTags, is_iob2, label_list, repair_iob2, spans_to_tags,
                       tags_to_spans)
from xlner.formats.records import Span


def test_leading_inside_tag_becomes_begin():
    r = repair_iob2(["I-PER", "I-PER", "O", "I-LOC"])
    assert r.tags == ("B-PER", "I-PER", "O", "B-LOC")
    assert r.repairs == 2


def test_type_change_inside_entity_starts_new_entity():
    assert repair_iob2(["B-PER", "I-LOC"]).tags == ("B-PER", "B-LOC")


def test_bioes_and_bilou_map_to_iob2():
    assert repair_iob2(["S-PER", "B-LOC", "E-LOC", "U-ORG"]).tags == (
        "B-PER", "B-LOC", "I-LOC", "B-ORG")
    assert repair_iob2(["B-X", "M-X", "L-X"]).tags == ("B-X", "I-X", "I-X")


@pytest.mark.parametrize("bad", ["PER", "B-", "X-PER", "b-PER", "B- PER", 3, None, ""])
def test_ambiguous_or_malformed_tags_are_rejected(bad):
    with pytest.raises(InvalidTags) as e:
        repair_iob2(["O", bad])
    assert e.value.reason == "invalid_tag"


def test_valid_iob2_is_untouched():
    tags = ("B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC")
    assert repair_iob2(tags).repairs == 0 and is_iob2(tags)


def test_spans_round_trip_and_adjacent_entities():
    tags = ("B-PER", "I-PER", "B-PER", "O", "B-LOC")
    spans = tags_to_spans(tags)
    assert spans == (Span(0, 2, "PER"), Span(2, 3, "PER"), Span(4, 5, "LOC"))
    assert spans_to_tags(spans, 5) == tags


def test_label_list_is_sorted_and_complete():
    assert label_list(["PER", "LOC", "PER"]) == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


TAG = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "S-ORG", "E-ORG"])


@given(st.lists(TAG, max_size=20))
def test_repair_always_yields_valid_iob2_with_same_entity_words(tags):
    fixed = repair_iob2(tags).tags
    assert is_iob2(fixed)
    assert [t == "O" for t in fixed] == [t == "O" for t in tags]
    assert [t[2:] for t in fixed] == [t[2:] for t in tags]
    assert spans_to_tags(tags_to_spans(fixed), len(fixed)) == fixed
