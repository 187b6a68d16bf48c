"""Scores of (source entity, target candidate) pairs for candidate matching (docs/method.md §6.2).

A score function maps an aligned pair and its candidates to a sparse matrix of shape
(#source entities, #candidates); zero means "no support" and is never matched. The paper
uses the alignment score only; the thesis's NER-model score and weighted fusion plug into
the same interface.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np
from scipy import sparse

from xlner.projection.candidates import DEFAULT_STOP_WORDS, bounds
from xlner.formats.records import Span


def length_factor(src_words: int, tgt_words: int, prior: float) -> float:
    """The one-sided length prior: ``(src_words / tgt_words) ** prior`` for a candidate
    longer than its entity, 1 otherwise. One-sided, so a shorter candidate is never
    penalised more than a longer one and pruning dominated pairs stays exact. Plain
    ``math.pow`` in both score paths, so they agree to the last bit."""
    if prior == 0.0 or tgt_words <= src_words:
        return 1.0
    return math.pow(src_words / tgt_words, prior)


def _length_factors(src_len: np.ndarray, tgt_len: np.ndarray, prior: float) -> np.ndarray:
    """:func:`length_factor` for every (entity, candidate), by the same ``math.pow``."""
    return np.array([[length_factor(int(a), int(b), prior) for b in tgt_len]
                     for a in src_len])


def alignment_scores(src_spans: Sequence[Span], candidates: Sequence[Span],
                     alignment: Sequence[tuple[int, int]], n_target: int,
                     prune_dominated: bool = True,
                     weights: Optional[Sequence[float]] = None,
                     length_prior: float = 0.0) -> sparse.csr_matrix:
    """Dice-like alignment score ``2·N(p, t) / (len(p) + len(t))``.

    ``N(p, t)`` counts aligned word *pairs* (source word in entity p, target word in
    candidate t); with many-to-many alignments the score can exceed 1 (docs/method.md P4).
    Per-entity prefix sums over target positions: O(E·(n + C)).
    ``weights`` (one non-negative number per link, e.g. ``alignment.link_similarities``)
    makes ``N`` their sum instead of the count: with unit weights it is the paper's score.
    Measured on Bible dev, similarity weights mostly act as a tie-break between candidates
    that Dice scores equally, which the ILP otherwise resolves arbitrarily.

    ``length_prior``: each score times :func:`length_factor` (a name must not take the
    article or verb beside it, as Dice alone lets it).

    ``prune_dominated`` drops (p, t) whose first or last word is not aligned to p: the
    candidate without that word keeps N, is shorter, so scores strictly higher, and
    overlaps no more than t does. This needs that shorter span to be a candidate as well,
    i.e. every sub-span of a candidate is one (n-grams, not plain NER spans). Such pairs
    are never chosen by greedy matching (the shorter one is always alive and better) nor
    by an optimal solution, so dropping them changes no greedy result and no optimal value
    (property tests check both) while shrinking the ILP from O(n²) to O(aligned²)
    variables per entity. It can change *which* of several tied optima the ILP solver
    returns (on Bible dev it alone moved F1 89.70 -> 93.08): the reason for ``weights``.
    Weights keep the pruning exact: the dropped word carries no link, so no weight.
    """
    n_ent, n_cand = len(src_spans), len(candidates)
    if n_ent == 0 or n_cand == 0:
        return sparse.csr_matrix((n_ent, n_cand))
    if weights is not None and len(weights) != len(alignment):
        raise ValueError(f"{len(weights)} link weights for {len(alignment)} links")
    hits = np.zeros((n_ent, n_target + 1), dtype=np.int64)
    starts = np.array([s.start for s in src_spans])
    ends = np.array([s.end for s in src_spans])
    links = np.asarray(alignment, dtype=np.int64).reshape(-1, 2)
    valid = (links[:, 1] >= 0) & (links[:, 1] < n_target)
    links = links[valid]
    inside = (starts[:, None] <= links[None, :, 0]) & (links[None, :, 0] < ends[:, None])
    ent, k = np.nonzero(inside.T)[::-1]  # (entity, link) pairs, in link order
    np.add.at(hits, (ent, links[k, 1] + 1), 1)
    prefix = np.cumsum(hits, axis=1)  # prefix[:, k] = aligned pairs landing before k
    c_start, c_end = bounds(candidates)
    counts = prefix[:, c_end] - prefix[:, c_start]
    numerator = counts
    if weights is not None:  # support still decided on the integer counts: no rounding dust
        mass = np.zeros((n_ent, n_target + 1))
        np.add.at(mass, (ent, links[k, 1] + 1), np.asarray(weights, dtype=float)[valid][k])
        mass_prefix = np.cumsum(mass, axis=1)
        numerator = np.where(counts > 0, mass_prefix[:, c_end] - mass_prefix[:, c_start], 0.0)
    lengths = (ends - starts)[:, None] + (c_end - c_start)[None, :]
    scores = np.where(counts > 0, 2.0 * numerator / lengths, 0.0)
    if length_prior:
        scores = scores * _length_factors(ends - starts, c_end - c_start, length_prior)
    if prune_dominated:
        aligned = hits[:, 1:] > 0  # [entity, target position]
        scores *= aligned[:, c_start] & aligned[:, c_end - 1]
    return sparse.csr_matrix(scores)


def _entity_hits(src_spans: Sequence[Span], alignment: Sequence[tuple[int, int]], n: int,
                 weights: Optional[Sequence[float]]):
    """Per source entity: target position -> links landing there, and -> their weight,
    accumulated in link order (the order :func:`alignment_scores` sums in)."""
    per_entity: list[dict[int, int]] = [{} for _ in src_spans]
    per_mass: list[dict[int, float]] = [{} for _ in src_spans]
    owners: dict[int, list[int]] = {}
    for p, sp in enumerate(src_spans):
        for j in range(sp.start, sp.end):
            owners.setdefault(j, []).append(p)
    if weights is not None and len(weights) != len(alignment):
        raise ValueError(f"{len(weights)} link weights for {len(alignment)} links")
    for link, (j, t) in enumerate(alignment):
        ps = owners.get(j)
        if ps is not None and 0 <= t < n:
            for p in ps:
                d = per_entity[p]
                d[t] = d.get(t, 0) + 1
                if weights is not None:
                    per_mass[p][t] = per_mass[p].get(t, 0.0) + float(weights[link])
    return per_entity, per_mass


def ngram_alignment_entries(src_spans: Sequence[Span], tgt_words: Sequence[str],
                            alignment: Sequence[tuple[int, int]],
                            max_words: Optional[int] = None,
                            stop_words: Iterable[str] = DEFAULT_STOP_WORDS,
                            weights: Optional[Sequence[float]] = None,
                            length_prior: float = 0.0
                            ) -> list[tuple[float, int, int, int]]:
    """The nonzero entries of the pruned alignment score against all n-gram candidates,
    as ``(score, entity, start, end)``, without building the candidates or a matrix.

    Exactly the nonzero entries of ``alignment_scores(src_spans, ngram_candidates(
    tgt_words, max_words, stop_words=stop_words), alignment, len(tgt_words))`` (pruned):
    a pair survives pruning iff the candidate's first and last words are aligned to the
    entity, so the entries are the spans between two aligned target words of the entity
    (no stop word inside, at most ``max_words`` long). Their number is O(aligned²) per
    entity rather than O(n²), and for the short sentences of NER data plain Python over
    them is far cheaper than any array or sparse-matrix construction (a benchmark stage
    measures it against the reference: ``python -m benchmarks``). Same float expression
    as :func:`alignment_scores`, so ties break identically; with ``weights`` too (the
    per-position sums are accumulated in link order, the prefix sums in position order).
    """
    n = len(tgt_words)
    per_entity, per_mass = _entity_hits(src_spans, alignment, n, weights)
    stops = set(stop_words)
    stop_before = None  # stop_before[k]: number of stop words in tgt_words[:k]
    if stops and not stops.isdisjoint(tgt_words):
        stop_before = [0]
        for w in tgt_words:
            stop_before.append(stop_before[-1] + (w in stops))
    cap = n if max_words is None else max_words
    out = []
    for p, hits in enumerate(per_entity):
        if not hits:
            continue
        length = src_spans[p].end - src_spans[p].start
        pos = sorted(hits)
        mass = hits if weights is None else per_mass[p]
        cum = [0.0 if weights is not None else 0]
        for t in pos:
            cum.append(cum[-1] + mass[t])
        for a, s in enumerate(pos):
            for b in range(a, len(pos)):
                e = pos[b] + 1
                if e - s > cap:
                    break
                if stop_before is not None and stop_before[e] != stop_before[s]:
                    break  # every longer span from s contains the stop word too
                score = 2 * (cum[b + 1] - cum[a]) / (length + (e - s))
                if length_prior and e - s > length:
                    score = score * length_factor(length, e - s, length_prior)
                out.append((score, p, s, e))
    return out


def ner_model_scores(src_spans: Sequence[Span], candidates: Sequence[Span],
                     word_probs: np.ndarray, label_names: Sequence[str],
                     alpha: float = 1.15, threshold: float = 0.05) -> sparse.csr_matrix:
    """The thesis's NER-model score (not used for the paper's numbers).

    ``α^(len−1) · mean(P(B-l | first word), P(I-l | following words))`` with l the source
    entity's class and ``word_probs`` the per-word label distribution of a tagger on the
    target words; α > 1 prefers the full predicted span to its sub-spans; scores at or
    below ``threshold`` are dropped.
    """
    index = {name: k for k, name in enumerate(label_names)}
    out = np.zeros((len(src_spans), len(candidates)))
    for p, ent in enumerate(src_spans):
        b, i = index.get("B-" + ent.label), index.get("I-" + ent.label)
        if b is None:
            continue
        for t, c in enumerate(candidates):
            probs = [word_probs[c.start, b]]
            if c.end - c.start > 1 and i is not None:
                probs += list(word_probs[c.start + 1:c.end, i])
            score = alpha ** (c.end - c.start - 1) * float(np.mean(probs))
            out[p, t] = score if score > threshold else 0.0
    return sparse.csr_matrix(out)


SCORES = ("align", "ner")


def parse_weights(spec: str, what: str = "score weights") -> tuple[tuple[str, float], ...]:
    """``"align=0.5,ner=0.5"`` -> (("align", 0.5), ("ner", 0.5)); unknown or repeated
    names, weights that are not finite numbers >= 0, and all-zero weights raise."""
    out: dict[str, float] = {}
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        name, sep, value = item.partition("=")
        if not sep or name not in SCORES:
            raise ValueError(f"{what}: {item!r} is not name=weight with name in {SCORES}")
        if name in out:
            raise ValueError(f"{what}: {name} is given twice in {spec!r}")
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not (math.isfinite(weight) and weight >= 0):
            raise ValueError(f"{what}: the weight of {name} must be a finite number >= 0, "
                             f"not {value!r}")
        out[name] = weight
    if not any(out.values()):
        raise ValueError(f"{what}: {spec!r} gives no score a weight above zero")
    return tuple(out.items())


def format_weights(weights: tuple[tuple[str, float], ...]) -> str:
    """The inverse of :func:`parse_weights`: (("align", 1.0),) -> ``"align=1"``."""
    return ",".join(f"{name}={weight:g}" for name, weight in weights)


def fuse(scores: Mapping[str, sparse.csr_matrix], weights: Mapping[str, float]
         ) -> sparse.csr_matrix:
    """Weighted sum of score matrices of the same shape (the thesis's "fusion")."""
    names = [n for n, w in weights.items() if w]
    if not names:
        raise ValueError("fusion needs at least one non-zero weight")
    total = weights[names[0]] * scores[names[0]]
    for n in names[1:]:
        total = total + weights[n] * scores[n]
    return sparse.csr_matrix(total)
