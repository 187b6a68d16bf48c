"""Candidate extraction, the alignment score and the matchers (docs/method.md §6)."""

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from benchmarks.reference_matching import reference_greedy, reference_project
from xlner.text.bio import is_iob2, spans_to_tags, tags_to_spans
from xlner.projection.candidates import ner_candidates, ngram_candidates
from xlner.projection.matching import (bipartite_match, greedy_match, greedy_select, ilp_match,
                            ilp_select, total_score)
from xlner.projection.projectors import CandidateProjector, HeuristicProjector
from tests.helpers import make_pair, project
from xlner.formats.records import AlignedPair, Span
from xlner.projection.scores import alignment_scores, fuse, ner_model_scores, ngram_alignment_entries


def test_ngrams_are_ordered_by_start_then_length_and_skip_stop_words():
    c = ngram_candidates(["a", "b", "c"])
    assert [(x.start, x.end) for x in c] == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    c = ngram_candidates(["a", "!", "b"])
    assert [(x.start, x.end) for x in c] == [(0, 1), (2, 3)]
    assert len(ngram_candidates(["w"] * 50, max_words=30)) == sum(
        min(30, 50 - s) for s in range(50))


def test_ner_candidates_ignore_class_and_can_add_subranges():
    spans = [Span(2, 4, "PER"), Span(0, 1, "MISC")]
    assert [(c.start, c.end) for c in ner_candidates(spans)] == [(0, 1), (2, 4)]
    assert len(ner_candidates(spans, extract_subranges=True)) == 1 + 3


def test_dice_score_matches_the_worked_example():
    # docs/method.md P13: a 2-word entity aligned to target words 3 and 5
    cands = [Span(3, 4, "CAND"), Span(3, 6, "CAND"), Span(0, 2, "CAND")]
    s = alignment_scores([Span(0, 2, "PER")], cands, [(0, 3), (1, 5)], 7).toarray()[0]
    assert s[0] == pytest.approx(2 / 3) and s[1] == pytest.approx(0.8) and s[2] == 0


def test_dice_score_can_exceed_one_with_many_to_many_links():
    s = alignment_scores([Span(0, 1, "X")], [Span(0, 1, "CAND")], [(0, 0), (0, 0)], 1)
    assert s.toarray()[0, 0] == pytest.approx(2.0)


def test_greedy_breaks_ties_by_lowest_entity_then_lowest_candidate():
    cands = [Span(0, 1, "C"), Span(1, 2, "C")]
    scores = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert greedy_match(scores, cands) == [(0, 0), (1, 1)]


def test_greedy_is_global_not_entity_by_entity():
    cands = [Span(0, 1, "C"), Span(1, 2, "C")]
    scores = np.array([[0.6, 0.5], [0.9, 0.0]])
    # entity 1's 0.9 is taken first, so entity 0 falls back to candidate 1
    assert sorted(greedy_match(scores, cands)) == [(0, 1), (1, 0)]


def test_ilp_finds_what_greedy_misses():
    cands = [Span(0, 2, "C"), Span(0, 1, "C"), Span(1, 2, "C")]
    scores = np.array([[1.0, 0.9, 0.0], [0.0, 0.0, 0.9]])
    assert total_score(scores, greedy_match(scores, cands)) == pytest.approx(1.0)
    assert total_score(scores, ilp_match(scores, cands)) == pytest.approx(1.8)


def brute_force(scores, cands, n_proj):
    pairs = [(p, t) for p in range(scores.shape[0]) for t in range(scores.shape[1])
             if scores[p, t] > 0]
    best = 0.0
    for r in range(len(pairs) + 1):
        for combo in itertools.combinations(pairs, r):
            ts = [cands[t] for _, t in combo]
            if any(a.overlaps(b) for a, b in itertools.combinations(ts, 2)):
                continue
            if any(sum(1 for q, _ in combo if q == p) > n_proj for p, _ in combo):
                continue
            best = max(best, sum(scores[p, t] for p, t in combo))
    return best


@st.composite
def instances(draw, max_words=9, max_entities=4):
    n = draw(st.integers(1, max_words))
    entities = []
    for _ in range(draw(st.integers(0, max_entities))):
        a = draw(st.integers(0, 8))
        entities.append(Span(a, a + draw(st.integers(1, 3)), draw(st.sampled_from(["PER", "LOC"]))))
    links = draw(st.lists(st.tuples(st.integers(0, 11), st.integers(0, n - 1)), max_size=12))
    return n, entities, links


@settings(max_examples=150, deadline=None)
@given(instances(), st.integers(1, 2))
def test_ilp_is_optimal_and_never_below_greedy(inst, n_proj):
    n, entities, links = inst
    cands = ngram_candidates(["w"] * n, max_words=4)
    scores = alignment_scores(entities, cands, links, n)
    g, i = greedy_match(scores, cands, n_proj), ilp_match(scores, cands, n_proj)
    for chosen in (g, i):
        spans = [cands[t] for _, t in chosen]
        assert not any(a.overlaps(b) for a, b in itertools.combinations(spans, 2))
        assert all(sum(1 for q, _ in chosen if q == p) <= n_proj for p, _ in chosen)
    assert total_score(scores, i) >= total_score(scores, g) - 1e-9
    if len(cands) * len(entities) <= 40:
        assert total_score(scores, i) == pytest.approx(brute_force(scores.toarray(), cands,
                                                                   n_proj))


def test_bipartite_variant_skips_overlaps_after_matching():
    cands = [Span(0, 2, "C"), Span(1, 3, "C")]
    scores = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert bipartite_match(scores, cands) == [(0, 0)]


def test_fused_and_ner_model_scores():
    cands = [Span(0, 1, "C"), Span(0, 2, "C")]
    probs = np.array([[0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])  # O, B-PER, I-PER
    ner = ner_model_scores([Span(0, 1, "PER")], cands, probs, ["O", "B-PER", "I-PER"])
    # the full predicted span beats its first word thanks to alpha > 1
    assert ner.toarray()[0, 1] == pytest.approx(1.15 * 0.8)
    assert ner.toarray()[0, 1] > ner.toarray()[0, 0]
    align = alignment_scores([Span(0, 1, "PER")], cands, [(0, 0)], 2)
    fused = fuse({"align": align, "ner": ner}, {"align": 0.5, "ner": 0.5}).toarray()
    assert fused[0, 0] == pytest.approx(0.5 * 1.0 + 0.5 * 0.8)


# ------------------------------------------------------------------ projector properties
@st.composite
def aligned_pairs(draw):
    n_src = draw(st.integers(1, 8))
    n_tgt = draw(st.integers(1, 8))
    tags = draw(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC"]), min_size=n_src,
                         max_size=n_src))
    from xlner.text.bio import repair_iob2
    spans = tags_to_spans(repair_iob2(tags).tags)
    links = tuple(sorted(set(draw(st.lists(st.tuples(st.integers(0, n_src - 1),
                                                     st.integers(0, n_tgt - 1)),
                                           max_size=10)))))
    ner = tuple(tags_to_spans(repair_iob2(draw(st.lists(
        st.sampled_from(["O", "B-ORG", "I-ORG"]), min_size=n_tgt, max_size=n_tgt))).tags))
    pair = make_pair("x", "eng_Latn", "por_Latn", ("w",) * n_src, spans, ("v",) * n_tgt,
                        tgt_spans=ner)
    return AlignedPair(pair, {"argmax": links}, "test")


# These tests give alignments of one method and no link similarities: the paper's count.
PAPER = {"align_method": "argmax", "link_weighting": "count", "length_prior": 0.0}
PROJECTORS = [HeuristicProjector("argmax"), CandidateProjector("ngram", "greedy", **PAPER),
              CandidateProjector("ngram", "ilp", **PAPER),
              CandidateProjector("ner", "greedy", **PAPER),
              CandidateProjector("ner", "ilp", **PAPER)]


@settings(max_examples=200, deadline=None)
@given(aligned_pairs())
def test_projection_properties(aligned):
    links = aligned.alignments["argmax"]
    aligned_src = {s for s, _ in links}
    src_labels = {s.label for s in aligned.pair.src_spans}
    for projector in PROJECTORS:
        tags, spans = project(projector, aligned)
        assert len(tags) == len(aligned.pair.tgt_words) and is_iob2(tags)
        assert {s.label for s in spans} <= src_labels  # every projection keeps a source type
        if isinstance(projector, CandidateProjector):
            assert not any(a.overlaps(b) for a, b in itertools.combinations(spans, 2))
            assert len(spans) <= len(aligned.pair.src_spans)
        # An entity with no aligned word is never projected: dropping such entities from
        # the input changes nothing in the output.
        kept = tuple(s for s in aligned.pair.src_spans
                     if any(s.start <= j < s.end for j in aligned_src))
        without = dataclasses.replace(aligned, pair=dataclasses.replace(aligned.pair,
                                                                        src_spans=kept))
        assert project(projector, without) == (tags, spans)
        if not kept:
            assert spans == ()


@settings(max_examples=200, deadline=None)
@given(instances(max_words=12, max_entities=5), st.integers(1, 2),
       st.sampled_from([0.0, 0.3, 1.0, 4.0]))
def test_pruning_dominated_candidates_changes_no_result(inst, n_proj, prior):
    n, entities, links = inst
    cands = ngram_candidates(["w"] * n)
    full = alignment_scores(entities, cands, links, n, prune_dominated=False,
                            length_prior=prior)
    pruned = alignment_scores(entities, cands, links, n, length_prior=prior)
    assert pruned.nnz <= full.nnz
    assert greedy_match(pruned, cands, n_proj) == greedy_match(full, cands, n_proj)
    assert total_score(full, ilp_match(pruned, cands, n_proj)) == pytest.approx(
        total_score(full, ilp_match(full, cands, n_proj)))


@settings(max_examples=200, deadline=None)
@given(aligned_pairs())
def test_candidate_projectors_equal_the_unpruned_computation(aligned):
    """NER spans lack their sub-spans, so pruning must not apply to them (regression)."""
    pair = aligned.pair
    links = aligned.alignments["argmax"]
    for projector in PROJECTORS[1:]:
        cands = projector.candidates(pair)
        full = alignment_scores(pair.src_spans, cands, links, len(pair.tgt_words),
                                prune_dominated=False)
        chosen = (greedy_match(full, cands) if projector.matching == "greedy"
                  else ilp_match(full, cands))
        _, spans = project(projector, aligned)
        assert total_score(full, chosen) == pytest.approx(sum(
            full[p, t] for p, t in chosen))
        assert len(spans) == len(chosen)
        if projector.matching == "greedy":
            assert sorted((s.start, s.end) for s in spans) == sorted(
                (cands[t].start, cands[t].end) for _, t in chosen)


def test_fused_scores_use_the_targets_word_probabilities():
    # the alignment alone prefers "Lisboa" (word 2); a confident NER model says "Porto"
    pair = make_pair("x", "eng_Latn", "por_Latn", ("Porto",), (Span(0, 1, "LOC"),),
                        ("em", "Porto", "Lisboa"),
                        tgt_word_probs=(("O", "B-LOC", "I-LOC"),
                                        np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0],
                                                  [0.9, 0.1, 0.0]])))
    aligned = AlignedPair(pair, {"argmax": ((0, 2),)}, "test")
    only_align = CandidateProjector("ngram", **PAPER)
    fused = CandidateProjector("ngram", score_weights=(("align", 0.5), ("ner", 1.0)), **PAPER)
    assert project(only_align, aligned)[1] == (Span(2, 3, "LOC"),)
    assert fused.needs_word_probs and not fused.prunable
    assert project(fused, aligned)[1] == (Span(1, 2, "LOC"),)
    with pytest.raises(ValueError, match="word probabilities"):
        project(fused, AlignedPair(dataclasses.replace(pair, tgt_word_probs=None),
                                   {"argmax": ((0, 2),)}, "test"))


# ------------------------------------------- the fast paths against the reference's loops


@st.composite
def tied_matrices(draw):
    """Score matrices full of ties (few distinct values), over arbitrary candidate spans
    in arbitrary order."""
    n_ent = draw(st.integers(1, 4))
    spans = draw(st.lists(st.tuples(st.integers(0, 7), st.integers(1, 3)), min_size=1,
                          max_size=10, unique=True))
    cands = [Span(s, s + k, "CAND") for s, k in spans]
    values = st.sampled_from([0.0, 0.0, 0.5, 2 / 3, 1.0, 2.0])
    scores = np.array(draw(st.lists(st.lists(values, min_size=len(cands),
                                             max_size=len(cands)),
                                    min_size=n_ent, max_size=n_ent)))
    return scores, cands


@settings(max_examples=300, deadline=None)
@given(tied_matrices(), st.integers(1, 2))
def test_greedy_equals_the_reference_dense_argmax_loop(inst, n_proj):
    scores, cands = inst
    ref = reference_greedy(scores, [(c.start, c.end) for c in cands], n_proj)
    assert greedy_match(scores, cands, n_proj) == ref
    from scipy import sparse
    assert greedy_match(sparse.csr_matrix(scores), cands, n_proj) == ref
    entries = [(scores[p, t], p, cands[t].start, cands[t].end)
               for p in range(scores.shape[0]) for t in range(len(cands))]
    if all(cands[a].start < cands[b].start or (cands[a].start == cands[b].start and
                                               cands[a].end < cands[b].end)
           for a, b in zip(range(len(cands)), range(1, len(cands)))):  # n-gram order
        assert greedy_select(entries, n_proj) == [(p, cands[t].start, cands[t].end)
                                                   for p, t in ref]


@st.composite
def projection_instances(draw):
    n_src = draw(st.integers(1, 10))
    n_tgt = draw(st.integers(1, 12))
    tags = draw(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]),
                         min_size=n_src, max_size=n_src))
    from xlner.text.bio import repair_iob2
    spans = tags_to_spans(repair_iob2(tags).tags)
    words = tuple(draw(st.lists(st.sampled_from(["w", "w", "w", "!", "?"]), min_size=n_tgt,
                                max_size=n_tgt)))
    # duplicates allowed (many-to-many links count twice), and out-of-range indices
    links = tuple(draw(st.lists(st.tuples(st.integers(0, n_src), st.integers(0, n_tgt)),
                                max_size=16)))
    max_words = draw(st.sampled_from([None, None, 1, 2, 4]))
    pair = make_pair("x", "eng_Latn", "por_Latn", ("v",) * n_src, spans, words)
    return AlignedPair(pair, {"argmax": links}, "test"), max_words


@settings(max_examples=400, deadline=None)
@given(projection_instances(), st.integers(1, 2))
def test_direct_ngram_greedy_equals_the_reference(inst, n_proj):
    aligned, max_words = inst
    pair = aligned.pair
    links = [(a, b) for a, b in aligned.alignments["argmax"] if b < len(pair.tgt_words)]
    proj = CandidateProjector("ngram", "greedy", max_words=max_words, n_proj=n_proj, **PAPER)
    assert proj.direct
    tags, spans = project(proj, aligned)
    ref = reference_project(pair.src_spans, pair.tgt_words, links, len(pair.src_words) + 1,
                            max_words, n_proj)
    assert [(s.start, s.end, s.label) for s in spans] == ref
    assert tags == spans_to_tags(spans, len(pair.tgt_words))


@settings(max_examples=200, deadline=None)
@given(projection_instances(), st.integers(1, 2), st.sampled_from([0.0, 0.3, 1.0]))
def test_direct_entries_are_the_pruned_matrix_and_ilp_stays_optimal(inst, n_proj, prior):
    aligned, max_words = inst
    pair = aligned.pair
    links = aligned.alignments["argmax"]
    cands = ngram_candidates(pair.tgt_words, max_words)
    pruned = alignment_scores(pair.src_spans, cands, links, len(pair.tgt_words),
                              length_prior=prior)
    coo = pruned.tocoo()
    expected = sorted((float(v), int(p), int(cands[t].start), int(cands[t].end))
                      for p, t, v in zip(coo.row, coo.col, coo.data) if v > 0)
    entries = ngram_alignment_entries(pair.src_spans, pair.tgt_words, links, max_words,
                                      length_prior=prior)
    assert sorted(entries) == expected  # the same floats, to the last bit
    full = alignment_scores(pair.src_spans, cands, links, len(pair.tgt_words),
                            prune_dominated=False, length_prior=prior)
    chosen = ilp_select(entries, n_proj)
    value = {(p, s, e): v for v, p, s, e in entries}
    assert sum(value[c] for c in chosen) == pytest.approx(
        total_score(full, ilp_match(full, cands, n_proj)))
    spans = [Span(s, e, "X") for _, s, e in chosen]
    assert not any(a.overlaps(b) for a, b in itertools.combinations(spans, 2))
    assert project(CandidateProjector("ngram", "ilp", max_words=max_words, n_proj=n_proj,
                                      **{**PAPER, "length_prior": prior}), aligned)[1] == tuple(sorted((Span(s, e, pair.src_spans[p].label) for p, s, e in
                                     chosen), key=lambda sp: sp.start))


def test_the_length_prior_prefers_the_name_to_article_plus_name():
    # "Galilee" -> "τῇ Γαλιλαίᾳ": the name's one word links to both the article and the
    # name; Dice alone scores the two-word span higher (2*2/3 > 2*1/2)
    src, links = [Span(0, 1, "LOC")], [(0, 0), (0, 1)]
    cands = ngram_candidates(["τῇ", "Γαλιλαίᾳ"])
    dice = alignment_scores(src, cands, links, 2, prune_dominated=False).toarray()[0]
    prior = alignment_scores(src, cands, links, 2, prune_dominated=False,
                             length_prior=1.0).toarray()[0]
    at = {(c.start, c.end): k for k, c in enumerate(cands)}
    both, name = at[(0, 2)], at[(1, 2)]
    assert dice[both] > dice[name]
    assert prior[both] < prior[name] and prior[name] == dice[name]  # shorter: no penalty


def test_length_factor_is_one_sided_and_refuses_nothing_it_should_not():
    from xlner.projection.scores import length_factor

    assert length_factor(2, 1, 0.3) == 1.0 and length_factor(2, 2, 0.3) == 1.0
    assert length_factor(1, 2, 0.3) == pytest.approx(0.5 ** 0.3)
    assert length_factor(1, 2, 0.0) == 1.0
    with pytest.raises(ValueError):
        CandidateProjector(length_prior=float("nan"))
    with pytest.raises(ValueError):
        CandidateProjector(length_prior=-0.1)


@settings(max_examples=400, deadline=None)
@given(projection_instances(), st.sampled_from([0.0, 0.3]))
def test_without_conflict_the_best_entries_are_the_solvers_answer(inst, prior):
    """Where conflict_free_best answers, the HiGHS solver returns exactly the same."""
    from xlner.projection.matching import _ilp, conflict_free_best

    aligned, max_words = inst
    pair = aligned.pair
    entries = [x for x in ngram_alignment_entries(
        pair.src_spans, pair.tgt_words, aligned.alignments["argmax"], max_words,
        length_prior=prior) if x[0] > 0]
    shortcut = conflict_free_best(entries)
    if shortcut is None or not entries:
        return
    arr = np.array([x[1:] for x in entries], dtype=np.int64)
    val = np.array([x[0] for x in entries], dtype=float)
    solved = sorted(tuple(int(v) for v in arr[k]) for k in _ilp(arr[:, 0], arr[:, 1],
                                                                    arr[:, 2], val, 1))
    assert shortcut == solved


def test_conflicts_and_ties_go_to_the_solver():
    from xlner.projection.matching import conflict_free_best

    assert conflict_free_best([(0.9, 0, 0, 2), (0.8, 1, 1, 3)]) is None  # overlapping bests
    assert conflict_free_best([(0.9, 0, 0, 1), (0.9, 0, 2, 3)]) is None  # a tie
    assert conflict_free_best([(0.9, 0, 0, 1), (0.5, 1, 1, 2)]) == [(0, 0, 1), (1, 1, 2)]
    assert conflict_free_best([(0.9, 0, 0, 1)], n_proj=2) is None
