"""Projection methods that work from a word alignment, behind one interface.

* ``heuristic`` — the García-Ferrero alignment heuristic (docs/method.md §5);
* ``ngram`` / ``ner`` — candidate matching (§6): target candidates (all n-grams, or the
  spans an NER model predicts on the target words), scored against each source entity by
  the alignment Dice score, and matched greedily (the paper's "argmax"), exactly by ILP, or
  by the reference's bipartite variant;
* ``model_transfer`` / ``easyproject`` — the spans already on the target words (an NER
  model's, or those EasyProject recovered from its marked translation) are the labels.

:func:`build_projector` makes the projector of a :class:`~xlner.projection.methods.Method`.
"""

from __future__ import annotations

import math

from dataclasses import asdict, dataclass
from typing import Mapping, Optional, Protocol

from xlner import defaults

from xlner.projection import confidence, matching

from xlner import precision
from xlner.text.bio import spans_to_tags
from xlner.projection.candidates import ner_candidates, ngram_candidates
from xlner.projection.heuristic import project_heuristic
from xlner.projection.methods import Method
from xlner.formats.records import AlignedPair, Alignment, ProjectedEntity, SentencePair, Span
from xlner.projection.scores import alignment_scores, fuse, ner_model_scores, ngram_alignment_entries
from xlner.text.words import writes_without_spaces

# PAN-X tokenises ja/zh/th per character; the reference caps n-grams there (docs/method.md §6.1).
NO_SPACE_MAX_WORDS = 30
LINK_WEIGHTINGS = ("count", "similarity")


Alignments = Mapping[str, Alignment]  # extraction method -> word alignment
LinkScores = Mapping[str, tuple]  # extraction method -> a similarity per link


class Projector(Protocol):
    name: str
    align_method: str  # "" for projectors that use no alignment

    def project(self, pair: SentencePair, alignments: Alignments,
                link_scores: Optional[LinkScores] = None
                ) -> tuple[tuple[str, ...], tuple[ProjectedEntity, ...]]:
        """Target tags and entities for one pair (``alignments`` and their per-link
        similarities, ``link_scores``, by extraction method)."""

    def describe(self) -> dict:
        """Settings recorded in the output's provenance."""


@dataclass(frozen=True)
class ProjectionSettings:
    """The tunable settings of the projectors (the method picks which apply); the
    defaults are the job's (``xlner.defaults``)."""

    merge_distance: int = defaults.MERGE_DISTANCE
    length_ratio_threshold: float = defaults.LENGTH_RATIO_THRESHOLD
    overwrite: bool = defaults.OVERWRITE
    paper_quirks: bool = defaults.PAPER_QUIRKS
    max_candidate_words: Optional[int] = defaults.MAX_CANDIDATE_WORDS
    n_proj: int = defaults.N_PROJ
    ner_subranges: bool = defaults.NER_SUBRANGES
    score_weights: tuple = defaults.SCORE_WEIGHTS
    link_weighting: str = defaults.LINK_WEIGHTING
    length_prior: float = defaults.LENGTH_PRIOR


@dataclass(frozen=True)
class SpanProjector:
    """The spans already on the target words are the labels: model transfer (an NER
    model's, docs/method.md §8.2) and EasyProject (recovered from its marked translation)."""

    name: str = "model_transfer"
    align_method: str = ""
    needs_word_probs: bool = False

    def project(self, pair: SentencePair, alignments: Alignments = None, link_scores=None):
        if pair.tgt_spans is None:
            raise ValueError(f"{self.name} needs spans on the target words; the graph must "
                             "attach them first")
        entities = tuple(s if isinstance(s, ProjectedEntity) else
                         ProjectedEntity(s.start, s.end, s.label) for s in pair.tgt_spans)
        return spans_to_tags(entities, len(pair.tgt_words)), entities

    def describe(self) -> dict:
        return {"projection": self.name}


@dataclass(frozen=True)
class HeuristicProjector:
    align_method: str = defaults.ALIGN_METHOD
    merge_distance: int = defaults.MERGE_DISTANCE
    length_ratio_threshold: float = defaults.LENGTH_RATIO_THRESHOLD
    overwrite: bool = defaults.OVERWRITE
    reproduce_merge_quirk: bool = defaults.PAPER_QUIRKS
    name: str = "heuristic"
    needs_word_probs: bool = False

    def project(self, pair: SentencePair, alignments: Alignments, link_scores=None):
        return project_heuristic(
            pair.src_spans, alignments[self.align_method], len(pair.tgt_words),
            merge_distance=self.merge_distance,
            length_ratio_threshold=self.length_ratio_threshold, overwrite=self.overwrite,
            reproduce_merge_quirk=self.reproduce_merge_quirk)

    def describe(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CandidateProjector:
    """Candidates + alignment score + matching; ``name`` is ``ngram`` or ``ner``."""

    name: str = defaults.CANDIDATES
    matching: str = defaults.MATCHING  # greedy | ilp | bipartite
    align_method: str = defaults.ALIGN_METHOD
    max_words: Optional[int] = defaults.MAX_CANDIDATE_WORDS  # None: all (30 without spaces)
    n_proj: int = defaults.N_PROJ
    ner_subranges: bool = defaults.NER_SUBRANGES
    # The paper scores by alignment only; the thesis also fuses an NER-model score.
    score_weights: tuple = defaults.SCORE_WEIGHTS
    # "count": the paper's Dice counts links; "similarity": each link weighs its
    # similarity (AlignedPair.link_scores), which breaks Dice's ties by link strength.
    link_weighting: str = defaults.LINK_WEIGHTING
    # Candidates longer than their entity score (entity / candidate words) ** length_prior.
    length_prior: float = defaults.LENGTH_PRIOR
    # Store the calibrated confidence as the entity's score (xlner.projection.confidence).
    calibrated: bool = defaults.CALIBRATED

    def __post_init__(self):
        if self.name not in ("ngram", "ner"):
            raise ValueError(f"unknown candidate extraction {self.name!r}")
        if self.matching not in ("greedy", "ilp", "bipartite"):
            raise ValueError(f"unknown matching {self.matching!r}")
        if not (math.isfinite(self.length_prior) and self.length_prior >= 0):
            raise ValueError(f"length_prior must be a finite number >= 0, not "
                             f"{self.length_prior!r}")
        if self.link_weighting not in LINK_WEIGHTINGS:
            raise ValueError(f"unknown link weighting {self.link_weighting!r}; expected one "
                             f"of {LINK_WEIGHTINGS}")

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

    def scores(self, pair: SentencePair, alignments: Alignments, cands,
               link_scores: Optional[LinkScores] = None):
        weights = {k: w for k, w in self.score_weights if w}
        mats = {}
        if "align" in weights:
            mats["align"] = alignment_scores(pair.src_spans, cands,
                                             alignments[self.align_method],
                                             len(pair.tgt_words), prune_dominated=self.prunable,
                                             weights=self._link_weights(link_scores),
                                             length_prior=self.length_prior)
        if "ner" in weights:
            if pair.tgt_word_probs is None:
                raise ValueError("the NER-model score needs the target's word probabilities")
            labels, probs = pair.tgt_word_probs
            mats["ner"] = ner_model_scores(pair.src_spans, cands, probs, labels)
        scores = (mats["align"] if list(weights) == ["align"] and weights["align"] == 1.0
                  else fuse(mats, weights))
        scores.data = precision.scores(scores.data)  # matching decides on the stated grid
        scores.eliminate_zeros()
        return scores

    @property
    def direct(self) -> bool:
        """n-grams scored by alignment alone and matched greedily or by ILP: the nonzero
        pruned entries are enumerated directly (``scores.ngram_alignment_entries``), with
        no candidate list and no matrix; the same selections, much faster."""
        return (self.name == "ngram" and self.prunable and self.matching in ("greedy", "ilp")
                and dict(self.score_weights) == {"align": 1.0})

    def _link_weights(self, link_scores: Optional[LinkScores]):
        if self.link_weighting != "similarity":
            return None
        weights = (link_scores or {}).get(self.align_method)
        if weights is None:
            raise ValueError(f"link_weighting='similarity' needs the link scores of "
                             f"{self.align_method!r}; the aligner must provide them")
        return weights

    def _project_direct(self, pair: SentencePair, alignments: Alignments,
                        link_scores: Optional[LinkScores]):
        cap = self.max_words
        if cap is None and writes_without_spaces(pair.tgt_lang):
            cap = NO_SPACE_MAX_WORDS
        entries = [(precision.score(score), p, s, e) for score, p, s, e in
                   ngram_alignment_entries(pair.src_spans, pair.tgt_words,
                                           alignments[self.align_method], cap,
                                           weights=self._link_weights(link_scores),
                                           length_prior=self.length_prior)]
        select = matching.greedy_select if self.matching == "greedy" else matching.ilp_select
        return self._scored_entities(pair, entries, select(entries, self.n_proj))

    def _scored_entities(self, pair: SentencePair, entries, chosen):
        """Entities of the chosen (entity, start, end), each with its raw score, margin,
        greedy agreement and (``calibrated``) its confidence as the score."""
        score_of = {(p, s, e): score for score, p, s, e in entries}
        greedy = set(chosen if self.matching == "greedy"
                     else matching.greedy_select(entries, self.n_proj))
        margin = confidence.margins(entries, chosen)
        calibration = confidence.shipped() if self.calibrated else None
        out = []
        for p, s, e in chosen:
            raw, src = score_of[(p, s, e)], pair.src_spans[p]
            values = confidence.features(pair.src_words, src.start, src.end, pair.tgt_words,
                                         s, e, margin[(p, s, e)], (p, s, e) in greedy)
            conf = calibration.confidence(values) if calibration else raw
            out.append(ProjectedEntity(s, e, src.label, p, conf, (e - s) / len(src), raw,
                                       margin[(p, s, e)], (p, s, e) in greedy))
        entities = tuple(sorted(out, key=lambda x: x.start))
        return spans_to_tags([x.span for x in entities], len(pair.tgt_words)), entities

    def project(self, pair: SentencePair, alignments: Alignments,
                link_scores: Optional[LinkScores] = None):
        if self.direct:
            return self._project_direct(pair, alignments, link_scores)
        cands = self.candidates(pair)
        scores = self.scores(pair, alignments, cands, link_scores)
        if self.matching == "bipartite":
            chosen = matching.bipartite_match(scores, cands)
        else:
            chosen = matching.MATCHERS[self.matching](scores, cands, self.n_proj)
        coo = scores.tocoo()
        entries = [(float(v), int(p), cands[t].start, cands[t].end)
                   for p, t, v in zip(coo.row, coo.col, coo.data)]
        return self._scored_entities(pair, entries, [(p, cands[t].start, cands[t].end)
                                                     for p, t in chosen])

    def describe(self) -> dict:
        return asdict(self)


def build_projector(method: Optional[Method] = None,
                    settings: ProjectionSettings = ProjectionSettings()) -> Projector:
    """The projector of ``method`` with ``settings``; without arguments, the projector the
    job runs without flags."""
    method = method or Method.of()
    if method.projection == "heuristic":
        return HeuristicProjector(
            align_method=method.align_method, merge_distance=settings.merge_distance,
            length_ratio_threshold=settings.length_ratio_threshold,
            overwrite=settings.overwrite, reproduce_merge_quirk=settings.paper_quirks)
    if method.projection in ("ngram", "ner"):
        return CandidateProjector(
            name=method.projection, matching=method.matching,
            align_method=method.align_method, max_words=settings.max_candidate_words,
            n_proj=settings.n_proj, ner_subranges=settings.ner_subranges,
            score_weights=settings.score_weights, link_weighting=settings.link_weighting,
            length_prior=settings.length_prior)
    return SpanProjector(name=method.projection)


def project_aligned(projector: Projector, aligned: AlignedPair):
    """(tags, entities) of a projector for an AlignedPair (benchmarks and tests)."""
    return projector.project(aligned.pair, aligned.alignments, aligned.link_scores)
