"""Alignment error rate as the Bible benchmarks compute it (gold links as sure links)."""

import pytest

from benchmarks.alignment_search import aer, vote
from benchmarks.bible_dev import alignment_error_rate


def test_aer_of_the_job_shards_and_of_the_harness_agree_on_a_worked_example():
    gold = {"a": {(0, 0), (1, 0), (2, 1)}, "b": {(0, 1)}}
    pred = {"a": [(0, 0), (2, 2)], "b": [(0, 1), (1, 1)]}
    # |A∩S| = 2 (a: (0,0); b: (0,1)), |A| = 4, |S| = 4: AER = 1 - 4/8
    assert aer([pred["a"], pred["b"]], [gold["a"], gold["b"]]) == pytest.approx(0.5)
    rows = [{"id": k, "alignment": [{"src": s, "tgt": t} for s, t in v]}
            for k, v in pred.items()]
    assert alignment_error_rate(rows, gold) == pytest.approx(0.5)
    assert alignment_error_rate([{"id": "a", "alignment": [{"src": 2, "tgt": 1}]}],
                                {"a": {(2, 1)}}) == 0.0


def test_vote_keeps_links_found_by_enough_alignments():
    per_layer = [[((0, 0), (1, 1))], [((0, 0), (1, 2))], [((0, 0), (1, 1))]]
    assert vote(per_layer, 1) == [((0, 0), (1, 1), (1, 2))]
    assert vote(per_layer, 2) == [((0, 0), (1, 1))]
    assert vote(per_layer, 3) == [((0, 0),)]
