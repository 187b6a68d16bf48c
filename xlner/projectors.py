"""Projection methods that work from a word alignment, behind one interface.

* ``heuristic`` — the García-Ferrero alignment heuristic (method.md §5);
* ``ngram`` / ``ner`` — candidate matching (§6): target candidates (all n-grams, or the
  spans an NER model predicts on the target words), scored against each source entity by
  the alignment Dice score, and matched greedily (the paper's "argmax"), exactly by ILP, or
  by the reference's bipartite variant.

The two methods that need no alignment (EasyProject, model transfer) are stages of their
own (``transforms/easyproject.py``, ``transforms/ner.py``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional, Protocol

from xlner import matching
from xlner.bio import spans_to_tags
from xlner.candidates import ner_candidates, ngram_candidates
from xlner.heuristic import project_heuristic
from xlner.records import AlignedPair, Span
from xlner.scores import alignment_scores, fuse, ner_model_scores, ngram_alignment_entries
from xlner.text import writes_without_spaces

# PAN-X tokenises ja/zh/th per character; the reference caps n-grams there (method.md §6.1).
NO_SPACE_MAX_WORDS = 30


class Projector(Protocol):
    name: str
    align_method: str

    def project(self, aligned: AlignedPair) -> tuple[tuple[str, ...], tuple[Span, ...]]:
        """Target tags and spans for one aligned pair."""

    def describe(self) -> dict:
        """Settings recorded in the output's provenance."""


@dataclass(frozen=True)
class HeuristicProjector:
    align_method: str = "argmax"
    merge_distance: int = 1
    length_ratio_threshold: float = 0.8
    overwrite: bool = True
    reproduce_merge_quirk: bool = False
    name: str = "heuristic"

    def project(self, aligned: AlignedPair):
        pair = aligned.pair
        return project_heuristic(
            pair.src_spans, aligned.alignments[self.align_method], len(pair.tgt_words),
            merge_distance=self.merge_distance,
            length_ratio_threshold=self.length_ratio_threshold, overwrite=self.overwrite,
            reproduce_merge_quirk=self.reproduce_merge_quirk)

    def describe(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CandidateProjector:
    """Candidates + alignment score + matching; ``name`` is ``ngram`` or ``ner``."""

    name: str = "ngram"
    matching: str = "greedy"  # greedy | ilp | bipartite
    align_method: str = "argmax"
    max_words: Optional[int] = None  # n-gram length cap; None: all (30 for no-space scripts)
    n_proj: int = 1
    ner_subranges: bool = False
    # The paper scores by alignment only; the thesis also fuses an NER-model score.
    score_weights: tuple = (("align", 1.0),)

    def __post_init__(self):
        if self.name not in ("ngram", "ner"):
            raise ValueError(f"unknown candidate extraction {self.name!r}")
        if self.matching not in ("greedy", "ilp", "bipartite"):
            raise ValueError(f"unknown matching {self.matching!r}")

    def candidates(self, pair) -> list[Span]:
        if self.name == "ngram":
            cap = self.max_words
            if cap is None and writes_without_spaces(pair.tgt_lang):
                cap = NO_SPACE_MAX_WORDS
            return ngram_candidates(pair.tgt_words, cap)
        if pair.tgt_spans is None:
            raise ValueError("NER candidates need target NER spans; the graph must tag the "
                             "target words first")
        return ner_candidates(pair.tgt_spans, self.ner_subranges)

    @property
    def prunable(self) -> bool:
        """Pruning dominated pairs (scores.py) is exact only when every sub-span of a
        candidate is a candidate too (n-grams, NER spans with sub-ranges) and for greedy or
        ILP matching; the bipartite variant needs every supported edge, as the reference."""
        return (self.matching != "bipartite" and (self.name == "ngram" or self.ner_subranges)
                and dict(self.score_weights).keys() == {"align"})

    @property
    def needs_word_probs(self) -> bool:
        return bool(dict(self.score_weights).get("ner"))

    def scores(self, aligned: AlignedPair, cands):
        pair = aligned.pair
        weights = {k: w for k, w in self.score_weights if w}
        mats = {}
        if "align" in weights:
            mats["align"] = alignment_scores(pair.src_spans, cands,
                                             aligned.alignments[self.align_method],
                                             len(pair.tgt_words), prune_dominated=self.prunable)
        if "ner" in weights:
            if pair.tgt_word_probs is None:
                raise ValueError("the NER-model score needs the target's word probabilities")
            labels, probs = pair.tgt_word_probs
            mats["ner"] = ner_model_scores(pair.src_spans, cands, probs, labels)
        if list(weights) == ["align"] and weights["align"] == 1.0:
            return mats["align"]
        return fuse(mats, weights)

    @property
    def direct(self) -> bool:
        """n-grams scored by alignment alone and matched greedily or by ILP: the nonzero
        pruned entries are enumerated directly (``scores.ngram_alignment_entries``), with
        no candidate list and no matrix; the same selections, much faster."""
        return (self.name == "ngram" and self.prunable and self.matching in ("greedy", "ilp")
                and dict(self.score_weights) == {"align": 1.0})

    def _project_direct(self, aligned: AlignedPair):
        pair = aligned.pair
        cap = self.max_words
        if cap is None and writes_without_spaces(pair.tgt_lang):
            cap = NO_SPACE_MAX_WORDS
        entries = ngram_alignment_entries(pair.src_spans, pair.tgt_words,
                                          aligned.alignments[self.align_method], cap)
        select = matching.greedy_select if self.matching == "greedy" else matching.ilp_select
        labels = [pair.src_spans[p].label for p in range(len(pair.src_spans))]
        spans = sorted((Span(s, e, labels[p]) for p, s, e in select(entries, self.n_proj)),
                       key=lambda sp: sp.start)
        tags = ["O"] * len(pair.tgt_words)
        for sp in spans:  # disjoint by construction: valid IOB2 as written
            tags[sp.start] = "B-" + sp.label
            for k in range(sp.start + 1, sp.end):
                tags[k] = "I-" + sp.label
        return tuple(tags), tuple(spans)

    def project(self, aligned: AlignedPair):
        if self.direct:
            return self._project_direct(aligned)
        pair = aligned.pair
        cands = self.candidates(pair)
        scores = self.scores(aligned, cands)
        if self.matching == "bipartite":
            chosen = matching.bipartite_match(scores, cands)
        else:
            chosen = matching.MATCHERS[self.matching](scores, cands, self.n_proj)
        spans = sorted((Span(cands[t].start, cands[t].end, pair.src_spans[p].label)
                        for p, t in chosen), key=lambda s: s.start)
        return spans_to_tags(spans, len(pair.tgt_words)), tuple(spans)

    def describe(self) -> dict:
        return asdict(self)
