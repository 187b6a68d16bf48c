"""Length-sorted, token-budgeted batching: the pure function (shared by the Beam transform
and the benchmarks) and the Beam composite with assert_that."""

import apache_beam as beam
from apache_beam.testing.util import assert_that
from hypothesis import given, settings, strategies as st

from tests.fakes import test_pipeline
from transforms.batching import SortAndBatchByKey
from xlner.models.batching import sort_and_batch


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=60), st.integers(1, 8), st.integers(1, 120))
def test_batches_are_sorted_capped_and_keep_every_item(sizes, max_size, budget):
    batches = list(sort_and_batch(sizes, lambda x: x, max_size, budget))
    assert sorted(x for b in batches for x in b) == sorted(sizes)
    flat = [x for b in batches for x in b]
    assert flat == sorted(flat)
    for b in batches:
        assert 1 <= len(b) <= max_size
        # within the budget, unless a single item is over it on its own
        assert len(b) * max(1, max(b)) <= budget or len(b) == 1


def test_a_long_item_gets_its_own_batch():
    assert list(sort_and_batch([3, 3, 100, 3], lambda x: x, 32, 64)) == [[3, 3, 3], [100]]


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
