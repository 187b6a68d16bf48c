"""The alignment heuristic of García-Ferrero et al. (2022), as configured in the paper.

For each source entity: collect the runs of target words aligned to any of its words, merge
runs separated by at most ``merge_distance`` unaligned words, keep runs whose length is
*strictly* more than ``length_ratio_threshold`` times the entity length, and label them
(docs/method.md §5). Later entities overwrite earlier labels, as in the paper; with
``overwrite=False`` a run that touches an already-labelled word is skipped (the thesis).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Sequence

from xlner.text.bio import OUTSIDE, repair_iob2, tags_to_spans
from xlner.formats.records import ProjectedEntity, Span


def aligned_runs(targets: Iterable[int]) -> list[list[int]]:
    """Step (1): grow ranges [l, r) from aligned target positions in arrival order."""
    runs: list[list[int]] = []
    for t in targets:
        absorbed = False
        for run in runs:
            if run[0] <= t < run[1]:
                absorbed = True
            elif t == run[1]:
                run[1] += 1
                absorbed = True
            elif t == run[0] - 1:
                run[0] -= 1
                absorbed = True
        if not absorbed:
            runs.append([t, t + 1])
    return runs


def merge_runs(runs: list[list[int]], merge_distance: int,
               reproduce_merge_quirk: bool = False) -> list[list[int]]:
    """Step (2): merge ranges whose gap is at most ``merge_distance`` words.

    The reference sets the merged end to the later range's end even when that range lies
    inside the previous one (docs/method.md P9); ``reproduce_merge_quirk`` keeps that, the
    default takes the maximum.
    """
    if not runs:
        return []
    runs = sorted(runs, key=lambda r: r[0])
    merged = [list(runs[0])]
    for l, r in runs[1:]:
        last = merged[-1]
        if l - last[1] > merge_distance:
            merged.append([l, r])
        else:
            last[1] = r if reproduce_merge_quirk else max(last[1], r)
    return merged


def project_heuristic(
    src_spans: Sequence[Span],
    alignment: Iterable[tuple[int, int]],
    n_target: int,
    *,
    merge_distance: int = 1,
    length_ratio_threshold: float = 0.8,
    overwrite: bool = True,
    reproduce_merge_quirk: bool = False,
) -> tuple[tuple[str, ...], tuple[ProjectedEntity, ...]]:
    """Project source spans onto ``n_target`` target words.

    ``alignment`` holds (source word, target word) pairs; their order matters only as the
    arrival order of step (1), as in the reference. Returns IOB2 tags (overwrite artefacts
    normalised the way lenient seqeval reads them) and the resulting target entities, each
    with the source entity whose run it is, its score — the fraction of its words aligned
    to that entity (words a merge filled in lower it) — and its length over the entity's.
    """
    by_source: dict[int, list[int]] = defaultdict(list)
    for s, t in alignment:
        if 0 <= t < n_target:
            by_source[s].append(t)
    tags = [OUTSIDE] * n_target
    owner: list = [None] * n_target  # (source entity, its aligned target words) per word
    for index, span in enumerate(src_spans):
        targets = [t for j in range(span.start, span.end) for t in by_source.get(j, ())]
        runs = merge_runs(aligned_runs(targets), merge_distance, reproduce_merge_quirk)
        for l, r in runs:
            if (r - l) / len(span) <= length_ratio_threshold:
                continue
            if not overwrite and any(tags[k] != OUTSIDE for k in range(l, r)):
                continue
            tags[l] = "B-" + span.label
            for k in range(l + 1, r):
                tags[k] = "I-" + span.label
            for k in range(l, r):
                owner[k] = (index, frozenset(targets))
    final = repair_iob2(tags).tags
    entities = []
    for s in tags_to_spans(final):
        index, supported = owner[s.start]
        aligned = sum(1 for k in range(s.start, s.end) if k in supported)
        entities.append(ProjectedEntity(s.start, s.end, s.label, index, aligned / len(s),
                                        len(s) / len(src_spans[index])))
    return final, tuple(entities)
