"""The pure length-sorted, token-budgeted batching (shared by the Beam transform and the
benchmarks)."""

from hypothesis import given, settings, strategies as st

from xlner.batching import sort_and_batch


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
