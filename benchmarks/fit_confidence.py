"""Fit the entity confidence (``xlner.projection.confidence``) on one half of Bible dev
and measure it on the other, as the protocol says: fitted on Matthew, reported on Mark
(and on the held-out books with ``--heldout``, for reporting only).

    python -m benchmarks.fit_confidence                 # measure the shipped calibration
    python -m benchmarks.fit_confidence --write         # refit on Matthew, rewrite the file

An entity is *right* when its span and type are exactly a gold entity of the verse. The
fit is a logistic regression (L2 1e-3, L-BFGS) whose coefficients are rounded to 3
decimals, so a refit on the same rows writes the same file.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
from typing import Sequence

import numpy as np
from scipy.optimize import minimize

from benchmarks.data import DEV, HELDOUT, REPORT, SELECT, book
from xlner.evaluation.calibration import reliability  # the report's ECE, one definition
from xlner.projection.confidence import FEATURES, Calibration, features
from xlner.text.bio import tags_to_spans

CONFIDENCE_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "xlner", "data", "confidence.json")
L2 = 1e-3
DECIMALS = 3


def entity_table(rows: Sequence[dict]) -> list[tuple]:
    """(verse id, features, stored score, right?, raw alignment score) of every projected
    entity that came from candidate matching (it has an alignment score)."""
    out = []
    for r in rows:
        gold = {(s.start, s.end, s.label) for s in tags_to_spans(
            json.loads(r["extra"])["gold_translation_tags"])}
        src = tags_to_spans(r["src_ner_tags"])
        for e in r["entities"]:
            if e.get("alignment_score") is None or e["source_index"] is None:
                continue
            s = src[e["source_index"]]
            x = features(r["src_tokens"], s.start, s.end, r["tokens"], e["start"], e["end"],
                         e["margin"], e["greedy_agrees"])
            out.append((r["id"], x, e["score"], (e["start"], e["end"], e["label"]) in gold,
                        e["alignment_score"]))
    return out


def fit(table) -> Calibration:
    """Logistic regression of right/wrong on the features, rounded coefficients."""
    x = np.array([t[1] for t in table], dtype=float)
    y = np.array([t[3] for t in table], dtype=float)
    design = np.hstack([np.ones((len(x), 1)), x])

    def loss(w):
        z = design @ w
        nll = np.sum(np.logaddexp(0.0, z) - y * z) / len(y)
        grad = design.T @ (1.0 / (1.0 + np.exp(-z)) - y) / len(y)
        return nll + L2 * np.sum(w[1:] ** 2), grad + 2 * L2 * np.r_[0.0, w[1:]]

    w = minimize(loss, np.zeros(design.shape[1]), jac=True, method="L-BFGS-B",
                 options={"maxiter": 2000, "gtol": 1e-10}).x
    w = [round(float(v), DECIMALS) + 0.0 for v in w]
    return Calibration(w[0], tuple(w[1:]), fitted_on=f"Bible dev, Matthew ({len(y)} "
                       f"entities, {int(y.sum())} right); python -m benchmarks.fit_confidence")


def measure(table, calibration: Calibration, books=None) -> dict:
    """The calibrated confidence's reliability, and the raw score's (capped at 1) beside
    it: what a trainer filtering by the score got before."""
    part = [t for t in table if books is None or book(t[0]) in books]
    out = reliability([calibration.confidence(t[1]) for t in part], [t[3] for t in part])
    raw = reliability([min(t[4], 1.0) for t in part], [t[3] for t in part])
    out["raw_score"] = {k: raw.get(k) for k in ("ece", "precision_at_0_9", "coverage_at_0_9")}
    return out


def run_rows(input_path: str, folder: str, extra: Sequence[str] = ()) -> list[dict]:
    from benchmarks.bible_dev import run_one

    return run_one(input_path, folder, ["--runner=FnApiRunner", *extra])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="refit on Matthew, rewrite the file")
    ap.add_argument("--heldout", action="store_true", help="also measure the held-out books")
    ap.add_argument("--extra", default="", help="more job flags, space-separated (e.g. "
                    "--inference_dtype=bfloat16: the shipped calibration measured on them)")
    args = ap.parse_args(argv)
    extra = shlex.split(args.extra)
    if args.write and extra:
        ap.error("--write fits the calibration of the job's defaults: no --extra")
    with tempfile.TemporaryDirectory() as tmp:
        table = entity_table(run_rows(DEV, os.path.join(tmp, "dev"), extra))
        held = (entity_table(run_rows(HELDOUT, os.path.join(tmp, "held"), extra))
                if args.heldout else [])
    fitted = fit([t for t in table if book(t[0]) in SELECT])
    if args.write:
        with open(CONFIDENCE_FILE, "w", encoding="utf-8") as f:
            f.write(fitted.to_json())
    with open(CONFIDENCE_FILE, encoding="utf-8") as f:
        shipped = Calibration.from_json(f.read())
    report = {"features": FEATURES, "job_flags": extra, "shipped": json.loads(shipped.to_json()),
              "refit_equals_shipped": fitted == shipped,
              "matthew (fit)": measure(table, shipped, SELECT),
              "mark (report)": measure(table, shipped, REPORT)}
    if held:
        report["held-out (report)"] = measure(held, shipped)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
