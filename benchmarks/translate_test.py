"""The evaluation job (translate-test, as the paper evaluates) on the Bible gold.

Runs ``pipeline.evaluate`` once per configuration on the Greek gold with its human English
given (``dev-translate-test.jsonl``; English NER by ``--ner_model``), span-only since the
gold has one untyped class, and reports every method's span F1 on each part of the protocol
(``benchmarks.data``): Matthew (settings are chosen there), Mark (reported), both with the
job's bootstrap interval, and with ``--heldout`` the held-out books (reporting only). Then
each method's entity confidence on both dev books, whole and split by whether the entity
overlaps a gold span (the English tagger's extra names apart from projection errors).

    python -m benchmarks.translate_test [--methods H-s-S,Cg-s-S] [--heldout]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shlex
import subprocess
import sys
import tempfile

import pyarrow.parquet as pq

from benchmarks.data import DEV_TRANSLATE_TEST, HELDOUT_TRANSLATE_TEST, REPORT, SELECT, book
from xlner.evaluation.calibration import Reliability, sentence_reliability
from xlner.evaluation.metrics import Counts, chunks
from xlner.evaluation.scoring import score_sentence
from xlner.projection.methods import parse

METHODS = "H-s-S,Cg-s-S,Cg-s-S+ilp,H-s-A,Cg-s-A,Cn-s-S,MT"
CONFIGS = (("layer 8, Dice count (the paper's alignment settings)",
            "--align_layers=8 --link_weighting=count"),
           ("the defaults", ""))


def run(gold: str, methods: str, flags: str, out: str) -> tuple[dict, list[dict]]:
    """metrics.json and the predictions of one evaluation run."""
    cmd = [sys.executable, "-m", "pipeline.evaluate", f"--input={gold}", "--langs=ell_Grek",
           "--span_only", f"--methods={methods}", f"--output={out}", *shlex.split(flags)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    preds = [r for p in sorted(glob.glob(os.path.join(out, "predictions", "*.parquet")))
             for r in pq.read_table(p).to_pylist()]
    return metrics, preds


def span_f1(preds: list[dict], method: str, books=None) -> dict:
    """Span P/R/F1 (seqeval default mode) of one method on the verses of ``books``."""
    counts = Counts()
    for r in preds:
        if r["method"] == method and (books is None or book(r["id"]) in books):
            counts.add(score_sentence(r["gold"], r["pred"]).span)
    return counts.scores()["overall"]


def _num(x, scale: float, digits: int) -> str:
    """A table cell: ``x * scale`` or a dash where the number is undefined (no entity)."""
    return "—" if x is None else f"{scale * x:.{digits}f}"


def confidence_by_overlap(preds: list[dict], method: str) -> dict:
    """The calibration of one method's entity confidence, whole and split by whether the
    projected span overlaps a gold span: one that overlaps none is almost always a name the
    English tagger found and the gold does not count (a tagger error the projection
    confidence cannot see); one that overlaps is right or wrong by its projection. Each
    part is tallied by the report's own rule (``sentence_reliability`` over the scorer's
    chunks, spans untyped), so "all" is the report's calibration."""
    split = {"all": Reliability(), "overlapping a gold span": Reliability(),
             "overlapping none": Reliability()}
    for r in preds:
        if r["method"] != method:
            continue
        gold, pred = chunks(r["gold"]), chunks(r["pred"])
        scores = {(e["start"], e["end"], e["label"]): e["score"] for e in r["entities"]}
        touching = {c for c in pred if any(s < c[2] and c[1] < e for _, s, e in gold)}
        for part, chosen in (("all", pred), ("overlapping a gold span", touching),
                             ("overlapping none", pred - touching)):
            split[part].add(sentence_reliability(gold, chosen, scores, span_only=True))
    return {part: rel.summary() for part, rel in split.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", default=METHODS)
    ap.add_argument("--heldout", action="store_true",
                    help="also the held-out books (reporting only)")
    args = ap.parse_args(argv)
    keys = [parse(m).key for m in args.methods.split(",")]
    head = "| configuration | method | Matthew (select) | Mark (report) | both [95 % CI] (P / R) |"
    print(head + (" held-out (report) |" if args.heldout else ""))
    print("|---" * (6 if args.heldout else 5) + "|")
    calibration = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, flags) in enumerate(CONFIGS):
            metrics, preds = run(DEV_TRANSLATE_TEST, args.methods, flags, f"{tmp}/dev{i}")
            held = (run(HELDOUT_TRANSLATE_TEST, args.methods, flags, f"{tmp}/held{i}")[1]
                    if args.heldout else None)
            for key in keys:
                block = metrics["languages"]["ell_Grek"]["methods"][key]["span"]["overall"]
                lo, hi = block["f1_ci"]
                line = (f"| {label} | {parse(key).short} | "
                        f"{100 * span_f1(preds, key, SELECT)['f1']:.1f} | "
                        f"{100 * span_f1(preds, key, REPORT)['f1']:.1f} | "
                        f"{100 * block['f1']:.1f} [{100 * lo:.1f}–{100 * hi:.1f}] "
                        f"({100 * block['precision']:.1f} / {100 * block['recall']:.1f}) |")
                if held is not None:
                    line += f" {100 * span_f1(held, key)['f1']:.1f} |"
                print(line, flush=True)
                split = confidence_by_overlap(preds, key)
                if not split["all"]["n"]:
                    continue  # a method without projected entities (model transfer)
                for part, c in split.items():
                    calibration.append(
                        f"| {label} | {parse(key).short} | {part} | {c['n']} | "
                        f"{_num(c['confidence'], 1, 3)} | {_num(c['accuracy'], 100, 1)} | "
                        f"{_num(c['ece'], 1, 3)} | {c['n_at_0_9']} | "
                        f"{_num(c['precision_at_0_9'], 100, 1)} |")
    print("\nConfidence on both dev books, by whether the entity overlaps a gold span:\n")
    print("| configuration | method | entities | n | mean confidence | right % | ECE | "
          "n >= 0.9 | right % at >= 0.9 |")
    print("|---" * 9 + "|")
    print("\n".join(calibration))
    return 0


if __name__ == "__main__":
    sys.exit(main())
