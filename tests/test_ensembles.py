"""Layer pooling, link strengths and similarity-weighted candidate scores."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from tests.helpers import project
from tests.test_candidates_matching import instances

from xlner.projection.alignment import (SubwordSimilarity, argmax_matrix, concatenate_layers, extract,
                             itermax_matrix, link_similarities)
from xlner.projection.candidates import ngram_candidates
from xlner.projection.matching import greedy_match, ilp_match, total_score
from xlner.projection.projectors import CandidateProjector
from xlner.formats.records import AlignedPair, SentencePair, Span
from xlner.projection.scores import alignment_scores


def similarity(x, y, xw, yw):
    return SubwordSimilarity(np.asarray(xw), np.asarray(yw), x @ y.T,
                             np.linalg.norm(x, axis=1), np.linalg.norm(y, axis=1))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(0, 2 ** 31 - 1))
def test_concatenated_layers_equal_the_similarity_of_concatenated_vectors(m, n, n_layers,
                                                                          seed):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(m, 5)) for _ in range(n_layers)]
    ys = [rng.normal(size=(n, 5)) for _ in range(n_layers)]
    xw, yw = list(range(m)), list(range(n))
    pooled = concatenate_layers([similarity(x, y, xw, yw) for x, y in zip(xs, ys)])
    direct = similarity(np.hstack(xs), np.hstack(ys), xw, yw)
    np.testing.assert_allclose(pooled.dot, direct.dot, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(pooled.src_norm, direct.src_norm, rtol=1e-10)
    np.testing.assert_allclose(pooled.cosine_01(), direct.cosine_01(), rtol=1e-10)
    if n_layers == 1:
        assert extract(pooled, "itermax") == extract(similarity(xs[0], ys[0], xw, yw),
                                                     "itermax")


def test_concatenation_is_a_norm_weighted_mean_of_layer_cosines():
    # two layers disagree: layer 1 links (0, 0), layer 2 (with twice the norm) (0, 1)
    e = np.eye(2)
    l1 = similarity(np.array([[1.0, 0.0]]), e, [0], [0, 1])
    l2 = similarity(np.array([[0.0, 2.0]]), 2 * e, [0], [0, 1])
    pooled = concatenate_layers([l1, l2])
    # x = (1,0 | 0,2), y0 = (1,0 | 2,0), y1 = (0,1 | 0,2): cosines 1/5 and 4/5, where the
    # plain mean of the layer cosines would tie at 1/2
    np.testing.assert_allclose(2 * pooled.cosine_01() - 1, [[0.2, 0.8]])
    assert set(extract(pooled, "argmax")) == {(0, 1)}


def test_concatenate_layers_rejects_mismatched_subwords_and_nothing():
    a = similarity(np.ones((2, 3)), np.ones((1, 3)), [0, 1], [0])
    b = similarity(np.ones((2, 3)), np.ones((1, 3)), [0, 0], [0])
    with pytest.raises(ValueError, match="same subwords"):
        concatenate_layers([a, b])
    with pytest.raises(ValueError, match="at least one"):
        concatenate_layers([])


def test_link_similarity_is_the_best_subword_pair_of_the_two_words():
    # source word 0 has subwords 0, 1; target words 0 and 1 one subword each
    cos = np.array([[0.2, -0.4],
                    [0.6, 0.0],
                    [-1.0, 1.0]])  # source subword 2 is word 1
    sim = SubwordSimilarity(np.array([0, 0, 1]), np.array([0, 1]), cos, np.ones(3),
                            np.ones(2))
    assert link_similarities(sim, [(0, 0), (0, 1), (1, 1), (1, 0)]) == pytest.approx(
        (0.8, 0.5, 1.0, 0.0))
    assert link_similarities(sim, []) == ()
    with pytest.raises(ValueError, match="without subwords"):
        link_similarities(sim, [(2, 0)])


def test_argmax_links_are_a_subset_of_itermax_links():
    """Why no argmax|itermax union or intersection method: they are itermax and argmax."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        sim = rng.random(tuple(rng.integers(1, 9, size=2)))
        a, i = argmax_matrix(sim), itermax_matrix(sim)
        assert not (a & ~i).any()


def test_unit_weights_give_the_papers_dice_score():
    entities = [Span(0, 2, "PER"), Span(3, 4, "LOC")]
    links = [(0, 1), (1, 2), (3, 0), (3, 4)]
    cands = ngram_candidates(["w"] * 5)
    for prune in (True, False):
        plain = alignment_scores(entities, cands, links, 5, prune_dominated=prune)
        unit = alignment_scores(entities, cands, links, 5, prune_dominated=prune,
                                weights=[1.0] * 4)
        np.testing.assert_allclose(unit.toarray(), plain.toarray())


def test_weighted_dice_sums_the_link_weights():
    # entity of one word linked to target words 0 (weight 0.9) and 2 (weight 0.6)
    cands = ngram_candidates(["a", "b", "c"])  # (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
    s = alignment_scores([Span(0, 1, "PER")], cands, [(0, 0), (0, 2)], 3,
                         prune_dominated=False, weights=[0.9, 0.6]).toarray()[0]
    np.testing.assert_allclose(s, [2 * 0.9 / 2, 2 * 0.9 / 3, 2 * 1.5 / 4, 0.0,
                                   2 * 0.6 / 3, 2 * 0.6 / 2])
    # a zero-weight link supports nothing, and the weights must match the links
    z = alignment_scores([Span(0, 1, "PER")], cands, [(0, 0)], 3, weights=[0.0])
    assert z.nnz == 0
    with pytest.raises(ValueError, match="2 link weights for 1 links"):
        alignment_scores([Span(0, 1, "PER")], cands, [(0, 0)], 3, weights=[0.5, 0.5])


@st.composite
def weighted_instances(draw, max_words=10, max_entities=4):
    """The candidate-matching instances of test_candidates_matching, links deduplicated,
    with a weight per link."""
    n, entities, links = draw(instances(max_words, max_entities))
    links = sorted(set(links))
    weights = draw(st.lists(st.floats(0.05, 1.0), min_size=len(links),
                            max_size=len(links)))
    return n, entities, links, weights


@settings(max_examples=200, deadline=None)
@given(weighted_instances(), st.integers(1, 2))
def test_pruning_stays_exact_with_weights(inst, n_proj):
    n, entities, links, weights = inst
    cands = ngram_candidates(["w"] * n)
    full = alignment_scores(entities, cands, links, n, prune_dominated=False, weights=weights)
    pruned = alignment_scores(entities, cands, links, n, weights=weights)
    assert pruned.nnz <= full.nnz
    assert greedy_match(pruned, cands, n_proj) == greedy_match(full, cands, n_proj)
    assert total_score(full, ilp_match(pruned, cands, n_proj)) == pytest.approx(
        total_score(full, ilp_match(full, cands, n_proj)))


def tied_pair():
    """"Isaac" aligned to both Greek "Isaac"s (Dice ties 1.0 vs 1.0); the second link is the
    stronger one. A second entity is aligned to nothing."""
    pair = SentencePair.given("x", "eng_Latn", "ell_Grek", ("Isaac", "and", "Jacob"),
                        (Span(0, 1, "PER"), Span(2, 3, "PER")),
                        ("Ἰσαάκ", "καὶ", "Ἰσαὰκ", "δέ"))
    return AlignedPair(pair, {"itermax": ((0, 0), (0, 2))}, "test",
                       link_scores={"itermax": (0.70, 0.95)})


@pytest.mark.parametrize("matching", ["greedy", "ilp"])
def test_similarity_weighting_breaks_dice_ties_towards_the_stronger_link(matching):
    aligned = tied_pair()
    weighted = CandidateProjector("ngram", matching, "itermax", link_weighting="similarity")
    assert project(weighted, aligned)[1] == (Span(2, 3, "PER"),)
    # swap the strengths and the choice follows
    swapped = dataclasses.replace(aligned, link_scores={"itermax": (0.95, 0.70)})
    assert project(weighted, swapped)[1] == (Span(0, 1, "PER"),)
    # the paper's count: greedy keeps its lowest-index rule
    if matching == "greedy":
        plain = CandidateProjector("ngram", matching, "itermax", link_weighting="count")
        assert project(plain, aligned)[1] == (Span(0, 1, "PER"),)


def test_similarity_weighting_needs_the_link_scores():
    aligned = dataclasses.replace(tied_pair(), link_scores={})
    with pytest.raises(ValueError, match="link scores of 'itermax'"):
        project(CandidateProjector("ngram", "ilp", "itermax", link_weighting="similarity"),
                aligned)
    with pytest.raises(ValueError, match="unknown link weighting"):
        CandidateProjector("ngram", link_weighting="softmax")
    assert CandidateProjector("ngram").describe()["link_weighting"] == "similarity"  # the job's
