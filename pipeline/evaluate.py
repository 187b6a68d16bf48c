"""Entry point of the evaluation job: ``python -m pipeline.evaluate [options]``.

Translate-test, as the paper evaluates (docs/method.md §1.2): gold sentences of each language
are translated to English, tagged by an English NER model, and the entities are projected
back onto the gold tokens by each requested method; seqeval scores (typed and span-only)
and proj_ratio per language x method go to ``OUTPUT/metrics.json`` and a report
(``report.md``, ``report.html``) beside the paper's published numbers.

    python -m pipeline.evaluate --input gold.jsonl --langs ell_Grek --span_only
    python -m pipeline.evaluate --dataset masakhaner2 --data_dir DATA --langs all \\
        --methods all --translation_model facebook/nllb-200-3.3B ...
"""

from __future__ import annotations

import sys
import time
from typing import Sequence

from pipeline.launch import main_of, start
from pipeline.options import JOBS
from pipeline.run import finished
from transforms.files import join_path, read_json
from xlner.projection.methods import parse as parse_method


def run(argv: Sequence[str] = (), wait: bool = True):
    from pipeline.config import EvalConfig  # after the options: see pipeline.run.run

    def build(p, cfg):
        from pipeline.evaluation import build_evaluation

        return build_evaluation(p, cfg)

    return start(JOBS["evaluate"], argv, EvalConfig.from_options, build, wait)


def print_table(metrics: dict) -> None:
    """F1 with its 95% interval per language x method, the gold entities per language, and
    the paper's F1 only when the paper has figures for this run."""
    primary = metrics["primary"]
    methods = metrics["methods"]
    langs = metrics["languages"]
    with_paper = any(b.get("paper") for e in langs.values() for b in e["methods"].values())
    width = 36 if with_paper else 28
    print(f"\n{primary} F1 x100 [bootstrap 95% interval]"
          + (" (paper)" if with_paper else "") + ", proj_ratio; n = gold entities")
    print("lang".ljust(12) + "n".rjust(7)
          + "".join(parse_method(m).short.rjust(width) for m in methods))
    for code, entry in langs.items():
        cells, n = [], "-"
        for m in methods:
            b = entry["methods"].get(m)
            if not b:
                cells.append("-".rjust(width))
                continue
            overall = b[primary]["overall"]
            n = str(overall["number"])
            ci = overall.get("f1_ci")
            ci = f" [{100 * ci[0]:.1f}-{100 * ci[1]:.1f}]" if ci else ""
            paper = f" ({100 * b['paper']['f1']:.1f})" if b.get("paper") else ""
            cells.append(f"{100 * overall['f1']:.1f}{ci}{paper} pr {b[primary]['proj_ratio']:.2f}"
                         .rjust(width))
        print(code.ljust(12) + n.rjust(7) + "".join(cells))


def _main(argv: Sequence[str]) -> int:
    started = time.time()
    result, ecfg = run(argv)
    output = ecfg.opts.output
    print(f"\nxlner evaluate: run {ecfg.run_id} finished in {time.time() - started:.1f} s")
    for name in ("metrics.json", "report.md", "report.html", "dead_letter/",
                 "predictions/"):
        print(f"  {join_path(output, name)}")
    try:
        metrics = read_json(join_path(output, "metrics.json"))
    except Exception as e:  # noqa: BLE001 - remote runs: metrics may not be readable here
        if not finished(result):
            return 0
        print(f"xlner: the run failed: {join_path(output, 'metrics.json')} cannot be read: "
              f"{' '.join(str(e).split())[:300]}", file=sys.stderr)
        return 1
    print_table(metrics)
    status = 0
    partial = [code for code, entry in metrics["languages"].items()
               if ((entry.get("dead_letters") or {}).get("read") or {}).get("unreadable_file")]
    if partial and not ecfg.opts.allow_partial_input:
        print(f"xlner: the run failed: gold data of {', '.join(partial)} could not be read to "
              f"its end (read/unreadable_file in {join_path(output, 'dead_letter')}/); "
              "--allow_partial_input scores the sentences read before the error",
              file=sys.stderr)
        status = 1
    for problem in metrics.get("problems") or []:  # typed scores that cannot mean anything
        print(f"xlner: the run failed: {problem}", file=sys.stderr)
        status = 1
    empty = [code for code, entry in metrics["languages"].items() if not entry["sentences"]]
    if empty and not ecfg.opts.allow_empty:
        print(f"xlner: the run failed: no gold sentence was scored for {', '.join(empty)}",
              file=sys.stderr)
        status = 1
    return status


main = main_of(_main)

if __name__ == "__main__":
    sys.exit(main())
