"""Choosing which candidate each source entity is projected onto (method.md §6.3-6.5).

The problem (the paper's "formalised projection"): maximise the total score of chosen
(entity, candidate) pairs such that no two chosen candidates overlap (nor is one used
twice) and each entity is projected at most ``n_proj`` times.

* :func:`greedy_match` — the paper's "argmax" approximation, exactly as the reference:
  repeatedly take the global maximum (ties: lowest entity, then lowest candidate index),
  retire the entity once it has ``n_proj`` projections, forbid every overlapping candidate;
* :func:`ilp_match` — the exact optimum with HiGHS through ``scipy.optimize.milp``. The
  no-overlap constraints are written per target position (at most one chosen candidate
  covers each word): for intervals this is equivalent to the pairwise constraints (a set
  of pairwise-overlapping intervals shares a point) and needs O(n) rows instead of O(C²);
* :func:`bipartite_match` — the reference's "exact" variant (§6.5): a full bipartite
  matching, with overlaps resolved afterwards by skipping; meant for disjoint candidates.

All return ``(entity index, candidate index)`` pairs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from xlner.candidates import bounds
from xlner.records import Span


def greedy_match(scores: sparse.spmatrix | np.ndarray, candidates: Sequence[Span],
                 n_proj: int = 1) -> list[tuple[int, int]]:
    """The reference's greedy "argmax" selection; the chosen spans never overlap."""
    dense = scores.toarray() if sparse.issparse(scores) else np.array(scores, dtype=float)
    if dense.size == 0:
        return []
    live = np.flatnonzero(dense.max(axis=0) > 0)  # candidates with any support, in order
    if live.size == 0:
        return []
    c = dense[:, live].copy()
    all_starts, all_ends = bounds(candidates)
    starts, ends = all_starts[live], all_ends[live]
    used = np.zeros(c.shape[0], dtype=np.int64)
    chosen = []
    while True:
        flat = int(np.argmax(c))  # first maximum in row-major order
        p, t = divmod(flat, c.shape[1])
        if c[p, t] <= 0:
            break
        chosen.append((p, int(live[t])))
        used[p] += 1
        if used[p] >= n_proj:
            c[p, :] = 0
        c[:, (starts < ends[t]) & (starts[t] < ends)] = 0
    return chosen


def ilp_match(scores: sparse.spmatrix | np.ndarray, candidates: Sequence[Span],
              n_proj: int = 1) -> list[tuple[int, int]]:
    """Exact optimum of the ILP with at most ``n_proj`` projections per entity."""
    coo = sparse.coo_matrix(scores)
    keep = coo.data > 0
    ent, cand, val = coo.row[keep], coo.col[keep], coo.data[keep]
    if val.size == 0:
        return []
    n_var = val.size
    starts, ends = bounds(candidates)
    rows, cols = [], []
    # (1) projections per entity
    for k, p in enumerate(ent):
        rows.append(p)
        cols.append(k)
    n_rows = int(ent.max()) + 1
    # (2) at most one chosen candidate covers each target position
    positions = np.unique(np.concatenate([np.arange(starts[t], ends[t]) for t in set(cand)]))
    pos_row = {int(pos): n_rows + r for r, pos in enumerate(positions)}
    for k, t in enumerate(cand):
        for pos in range(starts[t], ends[t]):
            rows.append(pos_row[pos])
            cols.append(k)
    a = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)),
                          shape=(n_rows + len(positions), n_var))
    upper = np.concatenate([np.full(n_rows, n_proj), np.ones(len(positions))])
    # HiGHS stops by default within a 1e-4 relative gap; similarity-weighted scores can
    # differ by less than that, so ask for the true optimum (no slower on Bible dev).
    res = milp(c=-val, constraints=LinearConstraint(a, -np.inf, upper),
               integrality=np.ones(n_var), bounds=Bounds(0, 1),
               options={"mip_rel_gap": 0.0})
    if res.x is None:
        raise RuntimeError(f"ILP solver failed: {res.message}")
    picked = np.flatnonzero(res.x > 0.5)
    return sorted((int(ent[k]), int(cand[k])) for k in picked)


def bipartite_match(scores: sparse.spmatrix | np.ndarray, candidates: Sequence[Span]
                    ) -> list[tuple[int, int]]:
    """The reference's "exact" variant: full bipartite matching, overlaps skipped after.

    Raises ValueError (as scipy does) when no full matching exists (method.md P14).
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
