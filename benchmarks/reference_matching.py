"""The reference implementation's n-gram candidate matching, written the way it computes
(docs/method.md §6.1, §6.2, §6.4): the baseline the benchmark measures our path against, and
the oracle the property tests compare our greedy selection with. Not shipped code.

What makes it "reference-style" (and slow) is deliberate and follows the method:

* n-grams are enumerated by Python loops over (start, length), a stop-word test per span;
* the score matrix is built entity by entity, candidate by candidate, counting the aligned
  word pairs of each (entity, candidate) with a Python loop over the entity's links, into
  a CSR matrix of the nonzero scores;
* entities and candidates without a nonzero score are dropped, the overlap lists are built
  from per-position hit lists, and greedy matching repeats a dense global argmax
  (row-major first maximum: ties go to the lowest entity, then the lowest candidate),
  zeroing the entity's row once it has ``n_proj`` projections and the columns of every
  candidate overlapping the chosen one.
"""

from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np
from scipy.sparse import csr_matrix

STOP_WORDS = frozenset({"!", "?"})


def reference_ngrams(words: Sequence[str], max_words: Optional[int] = None,
                     stop_words: Iterable[str] = STOP_WORDS) -> list[tuple[int, int]]:
    """All spans [s, e) of 1..max_words words without a stop word, by start then length."""
    stops = set(stop_words)
    n = len(words)
    longest = n if max_words is None else max_words
    out = []
    for s in range(n):
        for length in range(1, longest + 1):
            e = s + length
            if e > n:
                break
            if any(w in stops for w in words[s:e]):
                continue
            out.append((s, e))
    return out


def aligned_by_source_word(alignment: Sequence[tuple[int, int]], n_src: int
                           ) -> list[list[int]]:
    """For each source word, the target words it is aligned to."""
    by_src = [[] for _ in range(n_src)]
    for j, i in sorted(alignment):
        if 0 <= j < n_src:
            by_src[j].append(i)
    return by_src


def reference_scores(entities: Sequence[tuple[int, int]], candidates: Sequence[tuple[int, int]],
                     alignment: Sequence[tuple[int, int]], n_src: int) -> csr_matrix:
    """The Dice-like alignment score 2·N(p, t) / (|p| + |t|), loops over everything."""
    by_src = aligned_by_source_word(alignment, n_src)
    data, cols, indptr = [], [], [0]
    for a, b in entities:
        links = by_src[a:b]
        for col, (s, e) in enumerate(candidates):
            n = 0
            for targets in links:
                n += sum(1 if s <= i < e else 0 for i in targets)
            if n > 0:
                data.append(2 * n / ((b - a) + (e - s)))
                cols.append(col)
        indptr.append(len(cols))
    return csr_matrix((data, cols, indptr), shape=(len(entities), len(candidates)))


def _position_hits(candidates: Sequence[tuple[int, int]]) -> list[list[int]]:
    """For each target position, the candidates covering it."""
    hits = [[] for _ in range(max(e for _, e in candidates))]
    for k, (s, e) in enumerate(candidates):
        for pos in range(s, e):
            hits[pos].append(k)
    return hits


def overlapping(candidates: Sequence[tuple[int, int]]) -> list[list[int]]:
    """For each candidate, every candidate sharing a word with it (itself included)."""
    if not candidates:
        return []
    hits = _position_hits(candidates)
    out = []
    for s, e in candidates:
        seen = set()
        for pos in range(s, e):
            seen.update(hits[pos])
        out.append(sorted(seen))
    return out


def _supported(scores, candidates):
    """As the reference: only entities and candidates with some support, densely."""
    scores = csr_matrix(scores)
    rows = np.flatnonzero(scores.getnnz(axis=1) > 0)
    cols = np.flatnonzero(scores.getnnz(axis=0) > 0)
    if rows.size == 0 or cols.size == 0:
        return None
    return rows, cols, scores[rows][:, cols].toarray(), [candidates[t] for t in cols]


def reference_greedy(scores: csr_matrix, candidates: Sequence[tuple[int, int]],
                     n_proj: int = 1) -> list[tuple[int, int]]:
    """Repeated dense global argmax; returns (entity, candidate) pairs in pick order."""
    supported = _supported(scores, candidates)
    if supported is None:
        return []
    rows, cols, c, kept = supported
    return _argmax_loop(c, rows, cols, overlapping(kept), n_proj)


def _argmax_loop(c: np.ndarray, rows, cols, overlap_of, n_proj: int) -> list[tuple[int, int]]:
    """The reference's greedy: repeat the dense global argmax (row-major first maximum),
    zero the entity's row after ``n_proj`` picks and the columns of ``overlap_of[t]``
    (indices or a mask) of the chosen candidate ``t``."""
    used = [0] * len(rows)
    chosen = []
    while c.max() > 0:
        p, t = np.unravel_index(np.argmax(c), c.shape)
        chosen.append((int(rows[p]), int(cols[t])))
        used[p] += 1
        if used[p] >= n_proj:
            c[p] = 0
        c[:, overlap_of[t]] = 0
    return chosen


def reference_project(src_spans, tgt_words: Sequence[str], alignment, n_src: int,
                      max_words: Optional[int] = None, n_proj: int = 1
                      ) -> list[tuple[int, int, str]]:
    """The whole n-gram + greedy projection: chosen (start, end, label), sorted by start."""
    cands = reference_ngrams(tgt_words, max_words)
    if not src_spans or not cands:
        return []
    ents = [(s.start, s.end) for s in src_spans]
    chosen = reference_greedy(reference_scores(ents, cands, alignment, n_src), cands, n_proj)
    return sorted((cands[t][0], cands[t][1], src_spans[p].label) for p, t in chosen)


def overlapping_pairs(candidates: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Every unordered pair of distinct candidates sharing a word (per-position hits)."""
    if not candidates:
        return []
    hits = _position_hits(candidates)
    pairs = set()
    for ks in hits:
        for x in range(len(ks)):
            for y in range(x + 1, len(ks)):
                pairs.add((ks[x], ks[y]))
    return sorted(pairs)


def reference_ilp(scores: csr_matrix, candidates: Sequence[tuple[int, int]],
                  n_proj: int = 1) -> list[tuple[int, int]]:
    """The thesis's ILP as the reference formulates it (docs/method.md §6.3): a variable for
    every (entity, candidate) of the dense matrix left after dropping all-zero entities and
    candidates, at most ``n_proj`` per entity, and one constraint per *pair* of
    overlapping candidates (O(C²) rows). The reference hands it to GUROBI; here it goes to
    HiGHS (``scipy.optimize.milp``), the solver our path uses, so the comparison is of
    the formulations. Returns sorted (entity, candidate) pairs."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    supported = _supported(scores, candidates)
    if supported is None:
        return []
    rows, cols, c, kept = supported
    n_ent, n_cand = c.shape
    a_rows, a_cols = [], []
    for p in range(n_ent):  # projections per entity
        for t in range(n_cand):
            a_rows.append(p)
            a_cols.append(p * n_cand + t)
    r = n_ent
    for t1, t2 in overlapping_pairs(kept):  # no two overlapping candidates, any entities
        for p in range(n_ent):
            a_rows += [r, r]
            a_cols += [p * n_cand + t1, p * n_cand + t2]
        r += 1
    for t in range(n_cand):  # a candidate is used once (an overlap with itself)
        for p in range(n_ent):
            a_rows.append(r)
            a_cols.append(p * n_cand + t)
        r += 1
    a = csr_matrix((np.ones(len(a_rows)), (a_rows, a_cols)), shape=(r, n_ent * n_cand))
    upper = np.concatenate([np.full(n_ent, n_proj), np.ones(r - n_ent)])
    res = milp(c=-c.ravel(), constraints=LinearConstraint(a, -np.inf, upper),
               integrality=np.ones(n_ent * n_cand), bounds=Bounds(0, 1))
    if res.x is None:
        raise RuntimeError(f"ILP solver failed: {res.message}")
    picked = np.flatnonzero(res.x > 0.5)
    return sorted((int(rows[k // n_cand]), int(cols[k % n_cand])) for k in picked)


# ------------------------------------------------------------- the same algorithm, numpy
def vectorised_ngrams(words: Sequence[str], max_words: Optional[int] = None,
                      stop_words: Iterable[str] = STOP_WORDS) -> np.ndarray:
    """:func:`reference_ngrams` as an array of (start, end) rows, in the same order (by
    start, then length): valid spans from a prefix count of stop words."""
    n = len(words)
    stops = set(stop_words)
    before = np.concatenate([[0], np.cumsum([w in stops for w in words])])
    start, end = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    ok = (end > start) & (before[end] == before[start])
    if max_words is not None:
        ok &= end - start <= max_words
    return np.stack([start[ok], end[ok]], axis=1)


def vectorised_scores(entities: np.ndarray, candidates: np.ndarray,
                      alignment: Sequence[tuple[int, int]]) -> np.ndarray:
    """:func:`reference_scores` as a dense matrix: aligned pairs counted by one product of
    (entity x link) and (link x candidate) membership matrices."""
    links = np.asarray(alignment, dtype=np.int64).reshape(-1, 2)
    j, i = links[:, 0], links[:, 1]
    in_entity = (entities[:, :1] <= j) & (j < entities[:, 1:])
    in_candidate = (candidates[:, :1] <= i) & (i < candidates[:, 1:])
    n = in_entity.astype(np.int64) @ in_candidate.T.astype(np.int64)
    lengths = ((entities[:, 1] - entities[:, 0])[:, None]
               + (candidates[:, 1] - candidates[:, 0])[None, :])
    return np.where(n > 0, 2 * n / lengths, 0.0)


def vectorised_greedy(scores: np.ndarray, candidates: np.ndarray, n_proj: int = 1
                      ) -> list[tuple[int, int]]:
    """:func:`reference_greedy` with a boolean overlap matrix of the kept candidates
    (a broadcast comparison) instead of per-position hit lists, then the same argmax
    loop: the same ties, the same picks in the same order."""
    rows = np.flatnonzero((scores > 0).any(axis=1))
    cols = np.flatnonzero((scores > 0).any(axis=0))
    if rows.size == 0 or cols.size == 0:
        return []
    c = scores[np.ix_(rows, cols)].copy()
    kept = candidates[cols]
    overlap = (kept[:, None, 0] < kept[None, :, 1]) & (kept[None, :, 0] < kept[:, None, 1])
    return _argmax_loop(c, rows, cols, overlap, n_proj)


def vectorised_project(src_spans, tgt_words: Sequence[str], alignment, n_src: int,
                       max_words: Optional[int] = None, n_proj: int = 1
                       ) -> list[tuple[int, int, str]]:
    """:func:`reference_project` computed with numpy: the competent baseline."""
    cands = vectorised_ngrams(tgt_words, max_words)
    if not src_spans or not len(cands):
        return []
    ents = np.asarray([(s.start, s.end) for s in src_spans], dtype=np.int64)
    chosen = vectorised_greedy(vectorised_scores(ents, cands, alignment), cands, n_proj)
    return sorted((int(cands[t][0]), int(cands[t][1]), src_spans[p].label) for p, t in chosen)
