"""Choosing which candidate each source entity is projected onto (docs/method.md §6.3-6.5).

The problem (the paper's "formalised projection"): maximise the total score of chosen
(entity, candidate) pairs such that no two chosen candidates overlap (nor is one used
twice) and each entity is projected at most ``n_proj`` times.

* :func:`greedy_match` — the paper's "argmax" approximation, exactly as the reference:
  repeatedly take the global maximum (ties: lowest entity, then lowest candidate index),
  retire the entity once it has ``n_proj`` projections, forbid every overlapping candidate
  (computed as one sort of the nonzero entries and one scan, not a dense argmax per pick);
* :func:`ilp_match` — the exact optimum with HiGHS through ``scipy.optimize.milp``. The
  no-overlap constraints are written per target position (at most one chosen candidate
  covers each word): for intervals this is equivalent to the pairwise constraints (a set
  of pairwise-overlapping intervals shares a point) and needs O(n) rows instead of O(C²);
* :func:`bipartite_match` — the reference's "exact" variant (docs/method.md §6.5): a full
  matching, with overlaps resolved afterwards by skipping; meant for disjoint candidates.

The ``*_match`` functions take a score matrix and return ``(entity, candidate index)``
pairs; :func:`greedy_select` and :func:`ilp_select` take ``(score, entity, start, end)``
entries (the n-gram fast path, ``scores.ngram_alignment_entries``) and return
``(entity, start, end)``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from xlner.projection.candidates import bounds
from xlner.formats.records import Span


def greedy_select(entries: Sequence[tuple[float, int, int, int]], n_proj: int = 1
                  ) -> list[tuple[int, int, int]]:
    """The reference's greedy "argmax" over ``(score, entity, start, end)`` entries whose
    order among equal scores is the matrix's row-major order (entity, then candidate by
    start and length — the n-gram enumeration order). Returns ``(entity, start, end)`` in
    pick order.

    Repeatedly taking the global maximum of the dense matrix and zeroing the retired
    entity's row and the overlapped candidates' columns only ever *removes* entries, so the
    sequence of maxima is the sorted entry list with the removed entries skipped: one sort
    and one scan instead of a dense argmax per pick (the property tests check equality
    with the reference's dense loop, ties included).
    """
    used: dict[int, int] = {}
    taken: list[tuple[int, int]] = []
    chosen = []
    for score, p, s, e in sorted(entries, key=lambda x: (-x[0], x[1], x[2], x[3])):
        if score <= 0 or used.get(p, 0) >= n_proj:
            continue
        if any(s < te and ts < e for ts, te in taken):
            continue
        chosen.append((p, s, e))
        used[p] = used.get(p, 0) + 1
        taken.append((s, e))
    return chosen


def greedy_match(scores: sparse.spmatrix | np.ndarray, candidates: Sequence[Span],
                 n_proj: int = 1) -> list[tuple[int, int]]:
    """The reference's greedy selection on a score matrix (candidates in the n-gram
    order); the chosen spans never overlap. Pairs come in pick order."""
    if sparse.issparse(scores):
        coo = scores.tocoo()
        ent, cand, val = coo.row, coo.col, coo.data
    else:
        dense = np.asarray(scores, dtype=float)
        if dense.size == 0:
            return []
        ent, cand = np.nonzero(dense > 0)
        val = dense[ent, cand]
    keep = val > 0
    ent, cand, val = ent[keep], cand[keep], val[keep]
    if val.size == 0:
        return []
    starts, ends = bounds(candidates)
    order = np.lexsort((cand, ent, -val))  # row-major first maximum first
    used = np.zeros(int(ent.max()) + 1, dtype=np.int64)
    taken: list[tuple[int, int]] = []
    chosen = []
    for k in order.tolist():
        p, t = int(ent[k]), int(cand[k])
        if used[p] >= n_proj:
            continue
        s, e = int(starts[t]), int(ends[t])
        if any(s < te and ts < e for ts, te in taken):
            continue
        chosen.append((p, t))
        used[p] += 1
        taken.append((s, e))
    return chosen


def _ilp(ent: np.ndarray, starts: np.ndarray, ends: np.ndarray, val: np.ndarray,
         n_proj: int) -> np.ndarray:
    """Indices of the chosen variables; variable k is entity ent[k] on span
    [starts[k], ends[k]) with score val[k] > 0."""
    n_var = val.size
    n_rows = int(ent.max()) + 1
    # (1) projections per entity: row ent[k]; (2) at most one chosen span covers each
    # target position: one row per position covered by any variable
    lengths = ends - starts
    var_of_cell = np.repeat(np.arange(n_var), lengths)
    pos_of_cell = (np.arange(var_of_cell.size) - np.repeat(np.cumsum(lengths) - lengths,
                                                            lengths) + starts[var_of_cell])
    positions, pos_row = np.unique(pos_of_cell, return_inverse=True)
    rows = np.concatenate([ent, n_rows + pos_row])
    cols = np.concatenate([np.arange(n_var), var_of_cell])
    a = sparse.csr_matrix((np.ones(rows.size), (rows, cols)),
                          shape=(n_rows + positions.size, n_var))
    upper = np.concatenate([np.full(n_rows, n_proj), np.ones(positions.size)])
    # HiGHS stops by default within a 1e-4 relative gap; similarity-weighted scores can
    # differ by less than that, so ask for the true optimum (no slower on Bible dev).
    res = milp(c=-val, constraints=LinearConstraint(a, -np.inf, upper),
               integrality=np.ones(n_var), bounds=Bounds(0, 1),
               options={"mip_rel_gap": 0.0})
    if res.x is None:
        raise RuntimeError(f"ILP solver failed: {res.message}")
    return np.flatnonzero(res.x > 0.5)


def ilp_match(scores: sparse.spmatrix | np.ndarray, candidates: Sequence[Span],
              n_proj: int = 1) -> list[tuple[int, int]]:
    """Exact optimum of the ILP with at most ``n_proj`` projections per entity."""
    coo = sparse.coo_matrix(scores)
    keep = coo.data > 0
    ent, cand, val = coo.row[keep], coo.col[keep], coo.data[keep]
    if val.size == 0:
        return []
    starts, ends = bounds(candidates)
    picked = _ilp(ent, starts[cand], ends[cand], val, n_proj)
    return sorted((int(ent[k]), int(cand[k])) for k in picked)


def conflict_free_best(entries: Sequence[tuple[float, int, int, int]], n_proj: int = 1
                       ) -> list[tuple[int, int, int]] | None:
    """Each entity's best entry, when that choice is the ILP's unique optimum: one
    projection per entity, each entity's maximum unique, and no two maxima overlapping.
    The sum of per-entity maxima bounds every feasible solution from above, this choice
    reaches it, and any other choice loses an entity's unique maximum: so the solver
    would return exactly this. None when the solver is needed."""
    if n_proj != 1:
        return None
    best: dict[int, tuple[float, int, int]] = {}
    tied: set[int] = set()
    for score, p, s, e in entries:
        if score <= 0:
            continue
        if p not in best or score > best[p][0]:
            best[p] = (score, s, e)
            tied.discard(p)
        elif score == best[p][0]:
            tied.add(p)
    if tied:
        return None
    spans = sorted((s, e) for _, s, e in best.values())
    if any(a[1] > b[0] for a, b in zip(spans, spans[1:])):
        return None
    return sorted((p, s, e) for p, (_, s, e) in best.items())


def ilp_select(entries: Sequence[tuple[float, int, int, int]], n_proj: int = 1
               ) -> list[tuple[int, int, int]]:
    """:func:`ilp_match` on ``(score, entity, start, end)`` entries (no matrix, no
    candidate list); returns ``(entity, start, end)`` sorted. The solver runs only where
    it can change the answer (:func:`conflict_free_best`)."""
    entries = [x for x in entries if x[0] > 0]
    if not entries:
        return []
    shortcut = conflict_free_best(entries, n_proj)
    if shortcut is not None:
        return shortcut
    arr = np.array([x[1:] for x in entries], dtype=np.int64)
    val = np.array([x[0] for x in entries], dtype=float)
    picked = _ilp(arr[:, 0], arr[:, 1], arr[:, 2], val, n_proj)
    return sorted(tuple(int(v) for v in arr[k]) for k in picked)


def bipartite_match(scores: sparse.spmatrix | np.ndarray, candidates: Sequence[Span]
                    ) -> list[tuple[int, int]]:
    """The reference's "exact" variant: full bipartite matching, overlaps skipped after.

    Raises ValueError (as scipy does) when no full matching exists (docs/method.md P14).
    """
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    m = sparse.csr_matrix(scores)
    rows = np.flatnonzero(np.asarray(m.max(axis=1).todense()).ravel() > 0)
    if rows.size == 0:
        return []
    sub = m[rows]
    r, c = min_weight_full_bipartite_matching(sub, maximize=True)
    chosen, taken = [], []
    for p, t in sorted(zip(rows[r].tolist(), c.tolist())):
        span = candidates[t]
        if any(span.overlaps(candidates[o]) for o in taken):
            continue
        taken.append(t)
        chosen.append((p, t))
    return chosen


def total_score(scores, matches) -> float:
    m = sparse.csr_matrix(scores)
    return float(sum(m[p, t] for p, t in matches))


MATCHERS = {"greedy": greedy_match, "ilp": ilp_match}
