"""The entity confidence: a probability in [0, 1] whatever the inputs, the shipped
calibration well-formed, and a file that is not one refused."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from xlner.projection.confidence import (FEATURES, Calibration, features, margins, shipped)

words = st.lists(st.text(min_size=0, max_size=6), min_size=1, max_size=8)
anything = st.floats(allow_nan=True, allow_infinity=True)


@settings(max_examples=300, deadline=None)
@given(words, words, st.integers(0, 8), st.integers(0, 8), st.integers(0, 8),
       st.integers(0, 8), anything, st.booleans())
def test_the_confidence_is_a_probability_whatever_the_inputs(src, tgt, a, b, c, d, margin,
                                                              agrees):
    x = features(src, min(a, b), max(a, b), tgt, min(c, d), max(c, d), margin, agrees)
    assert len(x) == len(FEATURES) and all(math.isfinite(v) for v in x)
    p = shipped().confidence(x)
    assert 0.0 <= p <= 1.0


@given(st.lists(anything, min_size=4, max_size=4), anything)
def test_even_a_hostile_calibration_yields_a_probability_or_is_refused(weights, intercept):
    try:
        calibration = Calibration(intercept, tuple(weights))
    except ValueError:
        assert not all(math.isfinite(v) for v in (intercept, *weights))
        return
    assert 0.0 <= calibration.confidence((1e308, -1e308, 50.0, 1.0)) <= 1.0


def test_the_shipped_calibration_round_trips_and_says_where_it_was_fitted():
    c = shipped()
    assert Calibration.from_json(c.to_json()) == c
    assert "Matthew" in c.fitted_on
    # a clear choice by a span as long as its entity is trusted more than a doubtful one
    sure = c.confidence(features(["in", "Galilee"], 1, 2, ["τῇ", "Γαλιλαίᾳ"], 1, 2, 0.5, True))
    doubtful = c.confidence(features(["in", "Galilee"], 1, 2, ["τῇ", "Γαλιλαίᾳ"], 0, 2, 0.0,
                                     False))
    assert sure > doubtful


@pytest.mark.parametrize("text", ['{"features": ["margin"], "intercept": 1, "weights": [1]}',
                                  '{"features": %s, "intercept": "nan", "weights": [1, 1, 1, 1]}'
                                  % str(list(FEATURES)).replace("'", '"')])
def test_a_calibration_file_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        Calibration.from_json(text)


def test_the_margin_is_to_the_best_other_span_of_the_same_entity():
    entries = [(0.9, 0, 0, 1), (0.5, 0, 0, 2), (0.7, 1, 3, 4)]
    assert margins(entries, [(0, 0, 1), (1, 3, 4)]) == {(0, 0, 1): pytest.approx(0.4),
                                                        (1, 3, 4): 0.7}
