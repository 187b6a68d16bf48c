"""Entry point of the translate-train job: ``python -m pipeline.run [options]``.

With no arguments it projects the English sample shipped in the package onto Portuguese
with the embedded offline models. Any Beam runner flag works (``--runner=DataflowRunner``
...); without one it runs in-process on the FnApiRunner.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Optional, Sequence

from pipeline.launch import main_of, start
from pipeline.options import JOBS
from transforms.files import join_path, read_json
from xlner.formats.card import load_line, written_splits

if TYPE_CHECKING:
    from pipeline.config import RunConfig


def read_summary(output: str) -> tuple[Optional[dict], str]:
    """(summary, "") or (None, why it cannot be read)."""
    try:
        return read_json(join_path(output, "summary.json")), ""
    except Exception as e:  # noqa: BLE001 - remote runs may not be finished or readable here
        return None, " ".join(str(e).split())[:300] or type(e).__name__


def run(argv: Sequence[str] = (), wait: bool = True):
    # The graph's modules import Beam's RunInference and with it torch (~2 s): only once the
    # options are parsed and checked, so --help and operator mistakes never load them.
    from pipeline.config import RunConfig

    def build(p, cfg):
        from pipeline.graph import build_translate_train

        return build_translate_train(p, cfg)

    result, cfg = start(JOBS["run"], argv, RunConfig.from_options, build, wait)
    if wait and finished(result):  # the summary gets the committed stage metrics
        from pipeline.stages import record_stages

        record_stages(cfg, result)
    return result, cfg


def report(cfg: "RunConfig", seconds: float, finished: bool = True) -> int:
    """What the run made, in words a user can act on; 1 when the run is not a success
    (a finished run whose summary cannot be read is not one)."""
    output = cfg.output_dir
    summary, why = read_summary(output)
    if summary is None and not finished:  # a remote runner still running
        print(f"xlner: run {cfg.run_id} submitted; its summary will be at "
              f"{join_path(output, 'summary.json')}")
        return 0
    if summary is None:
        print(f"xlner: the run failed: its summary {join_path(output, 'summary.json')} "
              f"cannot be read: {why}", file=sys.stderr)
        return 1
    filtered = sum(r["count"] for r in summary["dead_letter_reasons"] if r["stage"] == "filter")
    print(f"\nxlner: run {cfg.run_id} finished in {seconds:.1f} s: "
          f"{summary['records_read']} records read, {summary['records_rejected']} rejected "
          f"as input, {summary['dead_lettered'] - filtered} dead letters"
          + (f", {filtered} sentences dropped by the filters" if filtered else ""))
    for lang, s in summary["languages"].items():
        ratio = s["proj_ratio"]
        line = (f"  {lang}: {s['written']} rows, {s['entities_in_total']} source entities "
                f"-> {s['entities_out_total']} projected (projection ratio "
                f"{'n/a' if ratio is None else f'{ratio:.3f}'})")
        gold = s.get("gold_evaluation")
        if gold:
            ov = gold["overall"]
            line += (f", vs gold F1 {100 * ov['f1']:.1f} (P {100 * ov['precision']:.1f} "
                     f"R {100 * ov['recall']:.1f})")
        print(line)
    print("  (projection ratio: projected / source entities per sentence, averaged; 1.0 = "
          "every entity found once)")
    print(f"  data:    {join_path(output, '<lang>')}/, every file listed in "
          f"{join_path(output, 'manifest.json')} (sha256) and the card "
          f"{join_path(output, 'README.md')}")
    print(f"  records: {join_path(output, 'summary.json')} (counts, reasons), "
          f"{join_path(output, 'dead_letter')}/ (every record not written, with why)")
    root = cfg.opts.output if cfg.opts.publish else output
    first = cfg.target_langs[0]
    print(f"  load:    {load_line(root, first, written_splits(summary, first))}")
    if summary["problems"]:
        for problem in summary["problems"]:
            print(f"xlner: the run failed: {problem}", file=sys.stderr)
        return 1
    if cfg.opts.publish:
        print(f"  published: {join_path(cfg.opts.output, 'LATEST')} -> run {cfg.run_id}")
    return 0


def finished(result) -> bool:
    """Whether the runner says the run has ended (it waited for it)."""
    from apache_beam.runners.runner import PipelineState

    try:
        return PipelineState.is_terminal(result.state)
    except Exception:  # noqa: BLE001 - a runner without a state: it ran here, in-process
        return True


def _main(argv: Sequence[str]) -> int:
    started = time.time()
    result, cfg = run(argv)
    code = report(cfg, time.time() - started, finished(result))
    if finished(result):
        from pipeline.stages import collect, stage_report

        print("\n".join(stage_report(collect(result))))
    return code


main = main_of(_main)

if __name__ == "__main__":
    sys.exit(main())
