"""Projection quality on real English->Greek gold (the vendored data/bible-dev/dev.jsonl).

Runs the translate-train job (rows carry the human Greek translation as
``translation_tokens``) once per (layer, alignment method), scores the written shards
against ``gold_translation_tags`` with seqeval in its default mode, and puts beside each run
the naive baseline of the data set's README computed from the *same* alignments: for each
English entity, the Greek span from the leftmost to the rightmost aligned word, and the
alignment error rate of the shards' ``alignment`` column against the human alignment
(``dev_align.jsonl`` beside the input; gold links as sure links, AER = 1 - 2|A∩S| / (|A| +
|S|) over the corpus). The gold is phrase-level (one Greek word linked to every word of
"This is the record"), so AER stays high for every word aligner; compare rows, not papers.

    python -m benchmarks.bible_dev [--layers 6,8] [--methods argmax,itermax,awesome]
                                   [--projections heuristic,ngram:greedy,ngram:ilp]
"""

from __future__ import annotations

import argparse
import glob
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time

import pyarrow.parquet as pq
from seqeval.metrics import f1_score, precision_score, recall_score

from benchmarks.data import DEV
from xlner.bio import spans_to_tags, tags_to_spans
from xlner.metrics import proj_ratio_term
from xlner.records import Span
from xlner.schema import decoded_rows

DEFAULT_INPUT = DEV


def naive_projection(row) -> list[str]:
    """The README's baseline: leftmost..rightmost target word aligned to the entity."""
    links = [(a["src"], a["tgt"]) for a in row["alignment"]]
    spans = []
    for s in tags_to_spans(row["src_ner_tags"]):
        targets = [t for j, t in links if s.start <= j < s.end]
        if targets:
            spans.append(Span(min(targets), max(targets) + 1, s.label))
    return list(spans_to_tags(spans, len(row["tokens"])))


def gold_alignments(input_path):
    """``dev_align.jsonl`` next to the input, by id; None when there is none."""
    path = os.path.join(os.path.dirname(os.path.abspath(input_path)), "dev_align.jsonl")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        rows = (json.loads(line) for line in f)
        return {r["id"]: {(int(a), int(b)) for a, b in r["alignment"]} for r in rows}


def alignment_error_rate(rows, gold) -> float:
    """Corpus AER of the written alignments, gold links taken as sure links."""
    inter = n_pred = n_gold = 0
    for r in rows:
        pred = {(a["src"], a["tgt"]) for a in r["alignment"]}
        sure = gold.get(r["id"], set())
        inter += len(pred & sure)
        n_pred += len(pred)
        n_gold += len(sure)
    return 1.0 - 2.0 * inter / (n_pred + n_gold) if n_pred + n_gold else 0.0


def score(gold, pred, src):
    return {"f1": 100 * f1_score(gold, pred), "p": 100 * precision_score(gold, pred),
            "r": 100 * recall_score(gold, pred),
            "proj_ratio": sum(proj_ratio_term(s, p) for s, p in zip(src, pred)) / len(pred)}


def run_one(input_path, out, extra):
    cmd = [sys.executable, "-m", "pipeline.run", f"--input={input_path}",
           "--target_langs=ell_Grek", f"--output={out}", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    rows = [r for f in sorted(glob.glob(f"{out}/ell_Grek/*.parquet"))
            for r in decoded_rows(pq.read_table(f))]
    return rows, wall


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", default=DEFAULT_INPUT)
    ap.add_argument("--layers", default="6,8")
    ap.add_argument("--methods", default="argmax,itermax,awesome")
    ap.add_argument("--projections", default="heuristic,ngram:greedy,ngram:ilp",
                    help="projection[:matching], comma-separated")
    ap.add_argument("--extra", default="", help="more job flags, space-separated")
    args = ap.parse_args(argv)
    gold_links = gold_alignments(args.input)
    print("| layer | alignment | projection | F1 | P | R | AER % | proj_ratio | naive F1 "
          "(same alignment) | wall s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for layer, method, projection in itertools.product(
                args.layers.split(","), args.methods.split(","), args.projections.split(",")):
            proj, _, matching = projection.partition(":")
            out = os.path.join(tmp, f"L{layer}-{method}-{proj}-{matching}")
            flags = [f"--align_layers={layer}", f"--align_method={method}",
                     f"--projection={proj}", *args.extra.split()]
            if matching:
                flags.append(f"--matching={matching}")
            rows, wall = run_one(args.input, out, flags)
            extra = [json.loads(r["extra"]) for r in rows]
            gold = [e["gold_translation_tags"] for e in extra]
            src = [r["src_ner_tags"] for r in rows]
            ours = score(gold, [r["ner_tags"] for r in rows], src)
            naive = score(gold, [naive_projection(r) for r in rows], src)
            aer = ("n/a" if gold_links is None
                   else f"{100 * alignment_error_rate(rows, gold_links):.1f}")
            print(f"| {layer} | {method} | {projection} | {ours['f1']:.2f} | "
                  f"{ours['p']:.1f} | {ours['r']:.1f} | {aer} | {ours['proj_ratio']:.3f} | "
                  f"{naive['f1']:.1f} | {wall:.0f} |", flush=True)


if __name__ == "__main__":
    main()
