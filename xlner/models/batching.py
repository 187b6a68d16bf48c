"""Length-sorted, token-budgeted batches (pure; the Beam transform is
``transforms/batching.py``, the translation benchmark uses the same function)."""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")


def sort_and_batch(items: Iterable[T], size_fn: Callable[[T], int], max_batch_size: int,
                   max_batch_tokens: int) -> Iterator[list[T]]:
    """Items sorted by ``size_fn``, cut into batches of at most ``max_batch_size`` whose
    padded cost (count x longest) stays within ``max_batch_tokens``; an item longer than
    the budget forms a batch of its own."""
    batch: list[T] = []
    for item in sorted(items, key=size_fn):
        size = max(1, size_fn(item))
        # Padded cost of the batch = count x longest (items are sorted ascending).
        if batch and (len(batch) >= max_batch_size
                      or (len(batch) + 1) * size > max_batch_tokens):
            yield batch
            batch = []
        batch.append(item)
    if batch:
        yield batch


def approx_tokens(text: str) -> int:
    """Rough subword count (about 4 characters per token) used for translation budgets."""
    return len(text) // 4 + 2
