"""Extraction rules against SimAlign's own implementations, on random similarity matrices."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from simalign import SentenceAligner

from xlner.projection.alignment import (SubwordSimilarity, argmax_matrix, awesome_matrix, extract,
                             itermax_matrix, lift_to_words, mwmf_matrix)

shapes = st.tuples(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2 ** 31 - 1))


def random_sim(m, n, seed):
    return np.random.default_rng(seed).random((m, n))


@given(shapes)
def test_argmax_equals_simalign_inter(shape):
    sim = random_sim(*shape)
    fwd, rev = SentenceAligner.get_alignment_matrix(sim)
    assert np.array_equal(argmax_matrix(sim), (fwd * rev) > 0)


@given(shapes)
def test_itermax_equals_simalign(shape):
    sim = random_sim(*shape)
    assert np.array_equal(itermax_matrix(sim), SentenceAligner.iter_max(sim) > 0)


@settings(max_examples=40)
@given(shapes)
def test_mwmf_equals_simalign_networkx_matching(shape):
    sim = random_sim(*shape)  # continuous random weights: the optimum is unique
    assert np.array_equal(mwmf_matrix(sim), SentenceAligner.get_max_weight_match(sim) > 0)


def test_awesome_keeps_pairs_confident_in_both_directions():
    dot = np.array([[10.0, 0.0, 9.9], [0.0, 10.0, 0.0]])
    got = awesome_matrix(dot, threshold=1e-3)
    # word 0 is split between targets 0 and 2 in the forward softmax; target 2 also
    # prefers source 0 in the backward softmax, so both survive.
    assert got.tolist() == [[True, False, True], [False, True, False]]
    assert not awesome_matrix(dot, threshold=0.6)[0, 2]


def test_any_subword_pair_lifts_to_its_words():
    matrix = np.zeros((3, 2), dtype=bool)
    matrix[1, 0] = matrix[2, 1] = True
    # source subwords 0,1 belong to word 0, subword 2 to word 1
    assert lift_to_words(matrix, [0, 0, 1], [0, 1]) == ((0, 0), (1, 1))


def test_extract_handles_empty_and_rejects_unknown_method():
    empty = SubwordSimilarity(np.zeros(0, np.int32), np.zeros(2, np.int32),
                              np.zeros((0, 2), np.float32), np.zeros(0), np.ones(2))
    assert extract(empty, "itermax") == ()
    sim = SubwordSimilarity(np.arange(2), np.arange(2), np.eye(2, dtype=np.float32),
                            np.ones(2), np.ones(2))
    assert extract(sim, "argmax") == ((0, 0), (1, 1))
    with pytest.raises(ValueError):
        extract(sim, "fast_align")
