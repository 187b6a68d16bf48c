"""The stated precision of every float the job stores or decides on.

Alignment similarities ((cos + 1) / 2, and awesome-align's link probabilities) are rounded
to ``SIMILARITY_DECIMALS`` before any link is extracted or weighed; entity scores and
length ratios to ``SCORE_DECIMALS`` before they decide a match, a tie or a threshold
(``--min_entity_score``) and before they are stored. Ties left by the rounding are broken by
position (lowest index first), never by float noise.

Why: float results of the same sentence can differ in their last bits between machines,
libraries or thread counts. Rounding makes a stored value and a decision insensitive to
such noise except when the exact value lies within the noise of a rounding boundary (or
two candidates within it of each other), so on other hardware a few values can still land
on the other side; on one machine type and software stack the encoder itself gives the
same bits for a sentence whatever it is batched with (``xlner.models.subwords``), which is
what makes shards byte-identical.
"""

from __future__ import annotations

import math

import numpy as np

SIMILARITY_DECIMALS = 4
SCORE_DECIMALS = 6


def similarities(values: np.ndarray) -> np.ndarray:
    """``values`` (float32 or float64) on the similarity grid, as float64."""
    return np.round(np.asarray(values, dtype=np.float64), SIMILARITY_DECIMALS)


def score(value: float) -> float:
    """A score or ratio on the score grid (NaN and infinities are refused: a score must be
    a number a trainer can use)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"a score must be finite, not {value}")
    return round(value, SCORE_DECIMALS) + 0.0  # + 0.0: -0.0 is stored as 0.0


def scores(values: np.ndarray) -> np.ndarray:
    """An array of scores on the score grid."""
    return np.round(np.asarray(values, dtype=np.float64), SCORE_DECIMALS) + 0.0
