"""Entry point of the evaluation job: ``python -m pipeline.evaluate [options]``.

Translate-test, as the paper evaluates (method.md §1.2): gold sentences of each language
are translated to English, tagged by an English NER model, and the entities are projected
back onto the gold tokens by each requested method; seqeval scores (typed and span-only)
and proj_ratio per language x method go to ``OUTPUT/metrics.json`` and a report
(``report.md``, ``report.html``) beside the paper's published numbers.

    python -m pipeline.evaluate --input gold.jsonl --langs ell_Grek --span_only
    python -m pipeline.evaluate --dataset masakhaner2 --data_dir DATA --langs all \\
        --methods all --translation_model facebook/nllb-200-3.3B ...
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Optional, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline.config import JobConfig
from pipeline.evaluation import EvalConfig, build_evaluation
from pipeline.run import make_options
from transforms.write import join_path, read_json
from xlner.methods import resolve

LOG = logging.getLogger("xlner")


def check_data(ecfg: EvalConfig) -> None:
    missing = [p for lang in ecfg.languages for p in lang["patterns"]
               if not FileSystems.match([p])[0].metadata_list]
    if missing:
        raise SystemExit("no gold data at: " + ", ".join(missing))


def run(argv: Sequence[str] = (), wait: bool = True):
    options = make_options(argv)
    FileSystems.set_options(options)
    cfg = JobConfig.from_options(options, targets_option=None)
    if cfg.opts["publish"]:
        raise SystemExit("--publish is for the translate-train corpus (pipeline.run)")
    ecfg = EvalConfig.from_options(cfg)
    check_data(ecfg)
    pipeline = beam.Pipeline(options=options)
    build_evaluation(pipeline, cfg, ecfg)
    result = pipeline.run()
    if wait:
        result.wait_until_finish()
    return result, cfg, ecfg


def print_table(metrics: dict) -> None:
    primary = metrics["primary"]
    methods = metrics["methods"]
    print(f"\n{primary} F1 x100 (paper in parentheses where it has the same method), "
          "proj_ratio")
    print("lang".ljust(12) + "".join(resolve(m)[0].short.rjust(24) for m in methods))
    for code, entry in metrics["languages"].items():
        cells = []
        for m in methods:
            b = entry["methods"].get(m)
            if not b:
                cells.append("-".rjust(24))
                continue
            ours = 100 * b[primary]["overall"]["f1"]
            paper = f" ({100 * b['paper']['f1']:.1f})" if b["paper"] else ""
            pr = b[primary]["proj_ratio"]
            cells.append(f"{ours:.1f}{paper} pr {pr:.2f}".rjust(24))
        print(code.ljust(12) + "".join(cells))


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    argv = sys.argv[1:] if argv is None else list(argv)
    started = time.time()
    _, cfg, ecfg = run(argv)
    output = cfg.opts["output"]
    print(f"\nxlner evaluate: run {cfg.run_id} finished in {time.time() - started:.1f} s")
    for name in ("metrics.json", "report.md", "report.html", "dead_letter/",
                 "predictions/"):
        print(f"  {join_path(output, name)}")
    try:
        print_table(read_json(join_path(output, "metrics.json")))
    except Exception:  # noqa: BLE001 - remote runs: metrics may not be readable here
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
