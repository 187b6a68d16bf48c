"""Batching for inference (transforms/batching.py), as a composite with assert_that."""

import apache_beam as beam
from apache_beam.testing.util import assert_that

from tests.fakes import test_pipeline
from transforms.batching import SortAndBatchByKey


def test_sort_and_batch_keeps_keys_apart_sorted_and_within_the_budget():
    items = [("a", n) for n in (5, 1, 9, 3, 7, 2, 30)] + [("b", n) for n in (4, 8, 6)]

    def check(batches):
        assert sorted(x for b in batches for x in b) == sorted(items)  # each item once
        for b in batches:
            assert len({k for k, _ in b}) == 1  # one key (language pair) per batch
            sizes = [n for _, n in b]
            assert sizes == sorted(sizes) and len(b) <= 3
            assert len(b) * sizes[-1] <= 20 or len(b) == 1  # padded cost within budget
        assert [("a", 30)] in batches  # longer than the budget: a batch of its own

    with test_pipeline() as p:
        batches = (p | beam.Create(items)
                   | SortAndBatchByKey(key_fn=lambda x: x[0], size_fn=lambda x: x[1],
                                       max_batch_size=3, max_batch_tokens=20))
        assert_that(batches, check)
