"""Projection quality on real English->Greek gold (the vendored Bible names gold).

Runs the translate-train job (rows carry the human Greek translation as
``translation_tokens``) once per configuration, scores the written shards against
``gold_translation_tags`` with seqeval in its default mode, and reports every row on each
part of the protocol (``benchmarks.data``): **Matthew**, where settings are chosen,
**Mark**, where they are reported, and both; with ``--heldout`` also the held-out books
(Luke, John, Acts: reporting only, never used to choose a setting).

Beside each run: the naive baseline of the data set's README computed from the *same*
alignments (for each English entity, the Greek span from the leftmost to the rightmost
aligned word), and the alignment error rate of the shards' ``alignment`` column against
the human alignment (gold links as sure links, AER = 1 - 2|A∩S| / (|A| + |S|) over the
corpus). The gold is phrase-level (one Greek word linked to every word of "This is the
record"), so AER stays high for every word aligner; compare rows, not papers.

    python -m benchmarks.bible_dev --table defaults [--heldout]   # docs/QUALITY.md's table
    python -m benchmarks.bible_dev [--layers 6,8] [--methods argmax,itermax,awesome]
        [--projections heuristic,ngram:greedy,ngram:ilp] [--extra=FLAGS] [--split matthew]
"""

from __future__ import annotations

import argparse
import glob
import itertools
import json
import os
import shlex
import subprocess
import sys
import tempfile
from typing import Optional, Sequence

import pyarrow.parquet as pq
from seqeval.metrics import f1_score, precision_score, recall_score

from benchmarks.data import (DEV, HELDOUT, HELDOUT_BOOKS, REPORT, SELECT, alignment_path,
                             book)
from xlner.text.bio import spans_to_tags, tags_to_spans
from xlner.evaluation.metrics import proj_ratio_term
from xlner.formats.records import Span
from xlner.formats.schema import decoded_rows

DEFAULT_INPUT = DEV
SPLITS = {"matthew": SELECT, "mark": REPORT, "all": SELECT + REPORT}
# The table of docs/QUALITY.md: the job's defaults (no flags), then one change at a time.
DEFAULTS_TABLE = (
    ("none (the defaults: n-gram + ILP, itermax, layers 6-11, similarity-weighted, "
     "length prior 0.6)", ""),
    ("--length_prior 0 (no span-length prior)", "--length_prior=0"),
    ("--length_prior 0.15", "--length_prior=0.15"),
    ("--length_prior 0.3", "--length_prior=0.3"),
    ("--link_weighting count (the paper's Dice)", "--link_weighting=count"),
    ("--align_layers 8", "--align_layers=8"),
    ("--matching greedy", "--matching=greedy"),
    ("--projection heuristic", "--projection=heuristic"),
    ("--paper_defaults (heuristic, itermax, layer 8, count, quirks)", "--paper_defaults"),
    ("the earlier default (heuristic, argmax, layer 8, count)",
     "--projection=heuristic --align_method=argmax --align_layers=8 --link_weighting=count"),
)


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
    """The gold alignment beside the input (``dev_align.jsonl``), by id; None when absent."""
    path = alignment_path(input_path)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
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


def score_rows(rows, books: Optional[Sequence[str]] = None, naive: bool = False) -> dict:
    """Scores of the written rows of ``books`` (all rows when None)."""
    rows = [r for r in rows if books is None or book(r["id"]) in books]
    gold = [json.loads(r["extra"])["gold_translation_tags"] for r in rows]
    pred = [naive_projection(r) if naive else r["ner_tags"] for r in rows]
    return {"rows": len(rows), **score(gold, pred, [r["src_ner_tags"] for r in rows])}


def subset(input_path: str, books: Sequence[str], folder: str) -> str:
    """A copy of the input with only the verses of ``books``."""
    path = os.path.join(folder, "input-" + "-".join(books) + ".jsonl")
    with open(input_path, encoding="utf-8") as src, open(path, "w", encoding="utf-8") as out:
        out.writelines(line for line in src if book(json.loads(line)["id"]) in books)
    return path


def run_one(input_path, out, extra):
    """The job's written rows for ``input_path`` with ``extra`` flags (none: defaults)."""
    cmd = [sys.executable, "-m", "pipeline.run", f"--input={input_path}",
           "--target_langs=ell_Grek", f"--output={out}", *extra]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return [r for f in sorted(glob.glob(f"{out}/ell_Grek/*.parquet"))
            for r in decoded_rows(pq.read_table(f))]


def evaluate(input_path: str, flags: Sequence[str], out: str, books_of: dict,
             gold_links: Optional[dict] = None) -> dict:
    """One configuration: F1/P/R per part of the protocol, AER (against ``gold_links``,
    by default the alignment file beside the input), naive baseline."""
    rows = run_one(input_path, out, flags)
    gold_links = gold_links or gold_alignments(input_path)
    parts = {name: score_rows(rows, books) for name, books in books_of.items()}
    parts["run"] = score_rows(rows)  # every row the run wrote
    parts["naive"] = score_rows(rows, naive=True)
    if gold_links is not None:
        parts["aer"] = 100 * alignment_error_rate(rows, gold_links)
    return parts


def _fmt(s: dict) -> str:
    return f"{s['f1']:.2f} ({s['p']:.1f} / {s['r']:.1f})" if s["rows"] else "n/a"


def defaults_table(input_path: str, heldout: bool, tmp: str) -> list[dict]:
    """The table of docs/QUALITY.md: each configuration on Matthew (select), Mark (report), both
    and, with ``heldout``, the held-out books (reporting only)."""
    head = "| change from the defaults | Matthew (select) | Mark (report) | Matthew + Mark | AER %"
    head += " | held-out (report) | Luke | John | Acts |" if heldout else " |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    results = []
    for i, (label, extra) in enumerate(DEFAULTS_TABLE):
        flags = shlex.split(extra)
        dev = evaluate(input_path, flags, os.path.join(tmp, f"dev{i}"),
                       {"matthew": SELECT, "mark": REPORT, "all": None})
        line = (f"| {label} | {_fmt(dev['matthew'])} | {_fmt(dev['mark'])} | "
                f"{_fmt(dev['all'])} | {dev.get('aer', float('nan')):.1f} |")
        result = {"label": label, "flags": extra, "dev": dev}
        if heldout:
            held = evaluate(HELDOUT, flags, os.path.join(tmp, f"held{i}"),
                            {"all": None, **{b: (b,) for b in HELDOUT_BOOKS}})
            line += (f" {_fmt(held['all'])} | "
                     + " | ".join(f"{held[b]['f1']:.2f}" for b in HELDOUT_BOOKS) + " |")
            result["heldout"] = held
        print(line, flush=True)
        results.append(result)
    return results


def grid(args, tmp: str) -> None:
    """layers x alignment methods x projections, each on the chosen split, per book."""
    books = SPLITS[args.split]
    input_path = args.input if args.split == "all" else subset(args.input, books, tmp)
    parts = {"Matthew": SELECT, "Mark": REPORT, "both": None}
    parts = {k: v for k, v in parts.items() if args.split == "all" or v == books}
    gold_links = gold_alignments(args.input)
    print("| layer | alignment | projection | " + " | ".join(f"F1 {k} (P / R)" for k in parts)
          + " | AER % | proj_ratio | naive F1 (same alignment) |")
    print("|---" * (len(parts) + 6) + "|")
    for layer, method, projection in itertools.product(
            args.layers.split(","), args.methods.split(","), args.projections.split(",")):
        proj, _, matching = projection.partition(":")
        flags = [f"--align_layers={layer}", f"--align_method={method}",
                 f"--projection={proj}", *shlex.split(args.extra)]
        if matching:
            flags.append(f"--matching={matching}")
        res = evaluate(input_path, flags, os.path.join(tmp, f"L{layer}-{method}-{proj}-"
                                                            f"{matching}"), parts, gold_links)
        print(f"| {layer} | {method} | {projection} | "
              + " | ".join(_fmt(res[k]) for k in parts)
              + f" | {res.get('aer', float('nan')):.1f} | {res['run']['proj_ratio']:.3f} | "
              f"{res['naive']['f1']:.1f} |", flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", default=DEFAULT_INPUT)
    ap.add_argument("--table", choices=("grid", "defaults"), default="grid",
                    help="defaults: the job's defaults and one change at a time (docs/QUALITY.md)")
    ap.add_argument("--heldout", action="store_true",
                    help="also score the held-out books (reporting only)")
    ap.add_argument("--split", choices=tuple(SPLITS), default="all",
                    help="grid: run on Matthew (choose), Mark (report) or both")
    ap.add_argument("--layers", default="6,8")
    ap.add_argument("--methods", default="argmax,itermax,awesome")
    ap.add_argument("--projections", default="heuristic,ngram:greedy,ngram:ilp",
                    help="projection[:matching], comma-separated")
    ap.add_argument("--extra", default="", help="more job flags, space-separated")
    ap.add_argument("--json", help="write the defaults table's scores here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.table == "defaults":
            results = defaults_table(args.input, args.heldout, tmp)
            if args.json:
                with open(args.json, "w", encoding="utf-8") as f:
                    json.dump(results, f, indent=1)
        else:
            grid(args, tmp)


if __name__ == "__main__":
    main()
