"""Word alignment extraction from subword similarities (SimAlign and awesome-align rules).

The encoder (run in batches elsewhere) gives, per sentence pair, the dot products between
source and target subword vectors of one hidden layer and their norms. From those this
module extracts subword alignments with

* ``argmax``  — SimAlign "inter": mutual argmax of the cosine similarity;
* ``itermax`` — SimAlign iterative mutual argmax (max_count 2, alpha 0.9);
* ``mwmf``    — SimAlign maximum-weight maximal matching;
* ``awesome`` — awesome-align extraction: softmax over raw dot products in both
  directions, a pair is kept when both probabilities exceed a threshold (1e-3);

and lifts them to words with the "any pair" rule: words (i, j) are aligned if any subword
of i is aligned to any subword of j (docs/method.md §4). Pairs are (source word, target word).

Two additions measured on real gold (``benchmarks/alignment_search.py``):
:func:`concatenate_layers` pools several hidden layers into one similarity (the cosine of
the concatenated vectors), which removes most of the dependence on the choice of layer, and
:func:`link_similarities` gives each word link its strength, which candidate matching uses
to choose between equally good candidates (``scores.alignment_scores`` ``weights``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from xlner import precision

METHODS = ("argmax", "itermax", "mwmf", "awesome")
AWESOME_THRESHOLD = 1e-3


@dataclass(frozen=True)
class SubwordSimilarity:
    """Encoder output for one sentence pair, all that alignment extraction needs.

    ``src_word_of[k]`` is the word index of source subword k (likewise for the target);
    ``dot[k, l]`` the dot product of the two subword vectors; ``*_norm`` their L2 norms.
    Words that produced no subword (tokenizer drops them) simply never appear.
    """

    src_word_of: np.ndarray
    tgt_word_of: np.ndarray
    dot: np.ndarray
    src_norm: np.ndarray
    tgt_norm: np.ndarray

    def cosine_01(self) -> np.ndarray:
        """SimAlign's similarity: (cos + 1) / 2, in [0, 1], on the similarity grid
        (``xlner.precision``): every extraction method and link weight decides on it."""
        denom = np.outer(np.asarray(self.src_norm, dtype=np.float64),
                         np.asarray(self.tgt_norm, dtype=np.float64))
        cos = np.asarray(self.dot, dtype=np.float64) / np.maximum(denom, 1e-12)
        return precision.similarities((cos + 1.0) / 2.0)


def concatenate_layers(sims: Sequence[SubwordSimilarity]) -> SubwordSimilarity:
    """The similarity of the per-layer vectors concatenated, from per-layer similarities.

    Dot products add up over the concatenated dimensions and squared norms too, so this is
    exactly what one would get by concatenating ``hidden_states[l]`` for the given layers
    before taking dot products and norms. Its cosine is the norm-weighted mean of the
    per-layer cosines (close to their plain mean when the layers' norms are similar).
    """
    if not sims:
        raise ValueError("concatenate_layers needs at least one layer")
    first = sims[0]
    for s in sims[1:]:
        if not (np.array_equal(s.src_word_of, first.src_word_of)
                and np.array_equal(s.tgt_word_of, first.tgt_word_of)):
            raise ValueError("all layers must come from the same subwords")
    return SubwordSimilarity(
        first.src_word_of, first.tgt_word_of,
        np.sum([s.dot for s in sims], axis=0),
        np.sqrt(np.sum([np.square(s.src_norm, dtype=np.float64) for s in sims], axis=0)),
        np.sqrt(np.sum([np.square(s.tgt_norm, dtype=np.float64) for s in sims], axis=0)))


def argmax_matrix(sim: np.ndarray) -> np.ndarray:
    """Mutual argmax (SimAlign 'inter'): keep (i, j) if each is the other's best."""
    m, n = sim.shape
    fwd = np.zeros((m, n), dtype=bool)
    fwd[np.arange(m), sim.argmax(axis=1)] = True
    bwd = np.zeros((m, n), dtype=bool)
    bwd[sim.argmax(axis=0), np.arange(n)] = True
    return fwd & bwd


def itermax_matrix(sim: np.ndarray, max_count: int = 2, alpha: float = 0.9) -> np.ndarray:
    """SimAlign itermax: repeat mutual argmax, down-weighting rows/columns already aligned.

    Follows SimAlign exactly (same masks and stopping rule) so results are identical.
    """
    m, n = sim.shape
    inter = argmax_matrix(sim).astype(np.float64)
    if min(m, n) <= 2:
        return inter > 0
    count = 1
    while count < max_count:
        row_free = 1.0 - np.clip(inter.sum(1), 0.0, 1.0)[:, None] * np.ones((1, n))
        col_free = 1.0 - np.clip(inter.sum(0), 0.0, 1.0)[None, :] * np.ones((m, 1))
        mask = np.clip(alpha * row_free + alpha * col_free, 0.0, 1.0)
        mask_zeros = 1.0 - (1.0 - row_free) * (1.0 - col_free)
        if row_free.sum() < 1.0 or col_free.sum() < 1.0:
            mask *= 0.0
            mask_zeros *= 0.0
        new_sim = sim * mask
        fwd = np.eye(n)[new_sim.argmax(axis=1)] * mask_zeros
        bwd = np.eye(m)[new_sim.argmax(axis=0)].T * mask_zeros
        new_inter = fwd * bwd
        if np.array_equal(inter + new_inter, inter):
            break
        inter = inter + new_inter
        count += 1
    return inter > 0


def mwmf_matrix(sim: np.ndarray) -> np.ndarray:
    """Maximum-weight matching of maximal cardinality (SimAlign 'mwmf').

    SimAlign builds a networkx graph; on a complete bipartite graph with positive weights
    the Hungarian algorithm gives the same optimum (up to ties) orders of magnitude faster.
    """
    rows, cols = linear_sum_assignment(sim, maximize=True)
    out = np.zeros(sim.shape, dtype=bool)
    out[rows, cols] = True
    return out


def awesome_matrix(dot: np.ndarray, threshold: float = AWESOME_THRESHOLD) -> np.ndarray:
    """awesome-align 'softmax' extraction: bidirectional softmax over dot products."""
    def softmax(x, axis):
        z = x - x.max(axis=axis, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=axis, keepdims=True)

    dot = dot.astype(np.float64)
    return ((precision.similarities(softmax(dot, 1)) > threshold)
            & (precision.similarities(softmax(dot, 0)) > threshold))


def lift_to_words(matrix: np.ndarray, src_word_of, tgt_word_of) -> tuple[tuple[int, int], ...]:
    """Word pairs with at least one aligned subword pair, sorted."""
    ks, ls = np.nonzero(matrix)
    pairs = {(int(src_word_of[k]), int(tgt_word_of[l])) for k, l in zip(ks, ls)}
    return tuple(sorted(pairs))


def link_similarities(sim: SubwordSimilarity, links: Sequence[tuple[int, int]]
                      ) -> tuple[float, ...]:
    """Strength of each word link: the highest (cos + 1) / 2 over the subword pairs of the
    two words, in the order of ``links``.

    Dice counts every link as 1, so an entity aligned to two target words scores both
    one-word candidates equally and matching picks one arbitrarily (the ILP solver's
    choice); weighting links by their similarity breaks such ties towards the stronger link.
    """
    if not len(links):
        return ()
    cos = sim.cosine_01()
    src_of = np.asarray(sim.src_word_of)
    tgt_of = np.asarray(sim.tgt_word_of)
    out = []
    for i, j in links:
        block = cos[np.ix_(src_of == i, tgt_of == j)]
        if block.size == 0:
            raise ValueError(f"link ({i}, {j}) names a word without subwords")
        out.append(float(block.max()))
    return tuple(out)


def extract(sim: SubwordSimilarity, method: str,
            awesome_threshold: float = AWESOME_THRESHOLD) -> tuple[tuple[int, int], ...]:
    """Word alignment of one sentence pair by ``method`` (one of METHODS)."""
    if sim.dot.size == 0:
        return ()
    if method == "awesome":
        matrix = awesome_matrix(sim.dot, awesome_threshold)
    else:
        cos = sim.cosine_01()
        if method == "argmax":
            matrix = argmax_matrix(cos)
        elif method == "itermax":
            matrix = itermax_matrix(cos)
        elif method == "mwmf":
            matrix = mwmf_matrix(cos)
        else:
            raise ValueError(f"unknown alignment method {method!r}; expected one of {METHODS}")
    return lift_to_words(matrix, sim.src_word_of, sim.tgt_word_of)
