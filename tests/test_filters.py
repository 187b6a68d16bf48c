"""Filters for noisy projections: what each removes, and that the job counts it."""

import pytest

from tests.helpers import make_pair, run_job
from xlner.projection.filters import Filters, parse_bounds
from xlner.formats.records import ProjectedEntity, Projection, Span


def projection(n_src=2, n_tgt_words=4, entities=()):
    src = [Span(i, i + 1, "PER") for i in range(n_src)]
    pair = make_pair("x", "eng_Latn", "por_Latn", ["A"] * max(n_src, 2), src,
                     ["a"] * n_tgt_words)
    from xlner.text.bio import spans_to_tags

    return Projection(pair, "test", spans_to_tags([e.span for e in entities], n_tgt_words),
                      tuple(entities))


E0 = ProjectedEntity(0, 1, "PER", 0, 0.9, 1.0)
E1 = ProjectedEntity(2, 3, "PER", 1, 0.4, 1.0)
UNSCORED = ProjectedEntity(3, 4, "PER")


def test_low_scores_are_removed_and_counted_unscored_entities_kept():
    kept, removed, reason, _ = Filters(min_entity_score=0.5).apply(
        projection(entities=(E0, E1, UNSCORED)))
    assert reason is None and removed == 1 and kept.filtered == 1
    assert kept.entities == (E0, UNSCORED) and kept.tags == ("B-PER", "O", "O", "B-PER")


@pytest.mark.parametrize("filters, entities, reason", [
    (Filters(require_all_entities=True), (E0,), "incomplete_projection"),
    (Filters(require_all_entities=True), (E0, E1), None),
    (Filters(require_all_entities=True), (), "incomplete_projection"),
    (Filters(entity_ratio=(0.75, 1.5)), (E0,), "entity_ratio_out_of_bounds"),
    (Filters(entity_ratio=(0.5, 1.5)), (E0,), None),
    (Filters(length_ratio=(0.5, 1.5)), (E0,), "length_ratio_out_of_bounds"),  # 4/2 words
    (Filters(length_ratio=(0.5, 2.0)), (E0,), None),
])
def test_sentence_filters_drop_with_a_reason(filters, entities, reason):
    kept, _, got, detail = filters.apply(projection(entities=entities))
    assert got == reason and (kept is None) == (reason is not None)
    assert bool(detail) == (reason is not None)


def test_an_entity_dropped_by_score_counts_as_not_projected():
    kept, removed, reason, _ = Filters(min_entity_score=0.5, require_all_entities=True).apply(
        projection(entities=(E0, E1)))
    assert kept is None and removed == 1 and reason == "incomplete_projection"


@pytest.mark.parametrize("text, ok", [("0.5,2", (0.5, 2.0)), ("", None), ("2,1", None),
                                      ("x", None), ("-1,2", None)])
def test_bounds_are_parsed_or_refused(text, ok):
    if ok is None and text:
        with pytest.raises(ValueError):
            parse_bounds(text, "--x")
    else:
        assert parse_bounds(text, "--x") == ok


def test_the_job_counts_what_each_filter_removed(tmp_path, tiny_bert):
    summary, rows, dead = run_job(str(tmp_path / "out"), f"--alignment_model={tiny_bert}",
                                  "--align_layers=2", "--require_all_entities",
                                  "--min_entity_score=0.99")
    effects = {f["name"]: f["removed"] for f in summary["filters"]}
    dropped = [d for d in dead if d["stage"] == "filter"]
    assert effects["require_all_entities"] == len(dropped) > 0
    assert effects["min_entity_score"] == summary["languages"]["por_Latn"]["entities_filtered"]
    assert summary["accounting_balanced"] and len(rows["por_Latn"]) + len(dropped) == 40
    for r in rows["por_Latn"]:  # kept sentences project every source entity
        assert {e["source_index"] for e in r["entities"]} == set(
            range(sum(t.startswith("B-") for t in r["src_ner_tags"])))
