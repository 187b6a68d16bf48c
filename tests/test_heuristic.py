"""The García-Ferrero heuristic as specified in docs/method.md §5."""

from xlner.projection.heuristic import aligned_runs, merge_runs, project_heuristic
from xlner.formats.records import Span


def project(spans, alignment, n, **kw):
    return project_heuristic(spans, alignment, n, **kw)[0]


def test_single_word_entity_projects_to_every_aligned_run():
    tags = project([Span(0, 1, "PER")], [(0, 1), (0, 4)], 6)
    assert tags == ("O", "B-PER", "O", "O", "B-PER", "O")


def test_gap_of_one_unaligned_word_is_merged():
    tags = project([Span(0, 2, "ORG")], [(0, 1), (1, 3)], 5)
    assert tags == ("O", "B-ORG", "I-ORG", "I-ORG", "O")


def test_gap_of_two_is_not_merged_and_short_runs_fail_the_ratio():
    # 2-word entity aligned to two single words 3 apart: runs of length 1, ratio 0.5 <= 0.8
    assert project([Span(0, 2, "ORG")], [(0, 1), (1, 4)], 6) == ("O",) * 6


def test_ratio_threshold_is_strict():
    # 5-word entity onto a 4-word run: 4/5 == 0.8 is not > 0.8
    five = Span(0, 5, "MISC")
    four = [(j, j) for j in range(4)]
    assert project([five], four, 6) == ("O",) * 6
    assert project([five], four, 6, length_ratio_threshold=0.79)[:4] == (
        "B-MISC", "I-MISC", "I-MISC", "I-MISC")


def test_later_entities_overwrite_unless_no_overwrite():
    spans = [Span(0, 1, "PER"), Span(1, 2, "LOC")]
    alignment = [(0, 0), (0, 1), (1, 1)]
    assert project(spans, alignment, 3) == ("B-PER", "B-LOC", "O")
    assert project(spans, alignment, 3, overwrite=False) == ("B-PER", "I-PER", "O")


def test_unaligned_entity_is_not_projected():
    tags, entities = project_heuristic([Span(0, 1, "PER"), Span(2, 3, "LOC")], [(0, 0)], 3)
    assert tags == ("B-PER", "O", "O") and [e.span for e in entities] == [Span(0, 1, "PER")]


def test_out_of_order_arrivals_grow_and_merge_runs():
    runs = aligned_runs([5, 3, 4])
    assert sorted(map(tuple, runs)) == [(3, 5), (4, 6)]
    assert merge_runs(runs, 1) == [[3, 6]]


def test_merge_quirk_only_with_paper_quirks():
    runs = [[2, 8], [3, 5]]  # the second run lies inside the first (docs/method.md P9)
    assert merge_runs(runs, 1) == [[2, 8]]
    assert merge_runs(runs, 1, reproduce_merge_quirk=True) == [[2, 5]]


def test_overwrite_artefacts_become_valid_iob2():
    spans = [Span(0, 2, "ORG"), Span(2, 3, "PER")]
    alignment = [(0, 0), (1, 1), (1, 2), (2, 1)]
    tags, out = project_heuristic(spans, alignment, 3)
    assert tags == ("B-ORG", "B-PER", "B-ORG")  # ORG run 0-2 overwritten in the middle
    assert [s.label for s in out] == ["ORG", "PER", "ORG"]


def test_each_entity_names_its_source_and_how_well_links_support_it():
    spans = [Span(0, 2, "ORG"), Span(3, 4, "PER")]
    # ORG: words 1 and 3 aligned, merged over the unaligned word 2; PER: word 5 alone
    tags, entities = project_heuristic(spans, [(0, 1), (1, 3), (3, 5)], 6)
    assert tags == ("O", "B-ORG", "I-ORG", "I-ORG", "O", "B-PER")
    org, per = entities
    assert (org.source_index, org.score, org.length_ratio) == (0, round(2 / 3, 6), 3 / 2)
    assert (per.source_index, per.score, per.length_ratio) == (1, 1.0, 1.0)
