"""Combining additive tallies (run summaries, evaluation counts) in any order."""

from __future__ import annotations

from typing import Callable

import apache_beam as beam


class SumOf(beam.CombineFn):
    """Sums values that have ``add(other) -> self``; ``zero`` makes the empty value."""

    def __init__(self, zero: Callable):
        self._zero = zero

    def create_accumulator(self):
        return self._zero()

    def add_input(self, acc, value):
        return acc.add(value)

    def merge_accumulators(self, accs):
        out = self._zero()
        for a in accs:
            out.add(a)
        return out

    def extract_output(self, acc):
        return acc
