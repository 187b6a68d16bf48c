"""Entry point of the translate-train job: ``python -m pipeline.run [options]``.

With no arguments it projects the English sample shipped in the package onto Portuguese
with the embedded offline models. Any Beam runner flag works (``--runner=DataflowRunner``
...); without one it runs in-process on the FnApiRunner (the DirectRunner would first try
to download Prism).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Optional, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.config import JobConfig
from pipeline.graph import build_translate_train
from pipeline.options import XlnerOptions, suspicious_flags
from transforms.write import join_path, read_json

LOG = logging.getLogger("xlner")


def make_options(argv: Sequence[str]) -> PipelineOptions:
    problems = suspicious_flags(argv)
    if problems:
        raise SystemExit("\n".join(problems))
    options = PipelineOptions(list(argv))
    std = options.view_as(StandardOptions)
    if not std.runner:
        std.runner = "FnApiRunner"
    options.view_as(XlnerOptions)  # registers and validates our flags
    return options


def check_inputs(cfg: JobConfig) -> None:
    """Fail before building the job when an input pattern matches nothing."""
    for pattern in cfg.inputs:
        if not FileSystems.match([pattern])[0].metadata_list:
            raise SystemExit(f"--input {pattern!r} matches no file")


def read_summary(output: str) -> Optional[dict]:
    try:
        return read_json(join_path(output, "summary.json"))
    except Exception:  # noqa: BLE001 - remote runs may not be finished or readable here
        return None


def run(argv: Sequence[str] = (), wait: bool = True):
    options = make_options(argv)
    FileSystems.set_options(options)  # gs:// credentials/endpoints for the checks below
    cfg = JobConfig.from_options(options)
    check_inputs(cfg)
    started = time.time()
    pipeline = beam.Pipeline(options=options)
    build_translate_train(pipeline, cfg)
    result = pipeline.run()
    if wait:
        result.wait_until_finish()
        LOG.info("run %s finished in %.1f s", cfg.run_id, time.time() - started)
    return result, cfg


def main(argv: Optional[Sequence[str]] = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    argv = sys.argv[1:] if argv is None else list(argv)
    started = time.time()
    result, cfg = run(argv)
    output = cfg.output_dir
    summary = read_summary(output)
    print(f"\nxlner: run {cfg.run_id} finished in {time.time() - started:.1f} s")
    for lang in cfg.target_langs:
        print(f"  shards:      {join_path(output, lang)}/part-*.parquet")
    print(f"  dead letter: {join_path(output, 'dead_letter')}/")
    print(f"  summary:     {join_path(output, 'summary.json')}")
    if summary:
        print(f"  read {summary['records_read']}, rejected {summary['records_rejected']}, "
              f"dead-lettered {summary['dead_lettered']} in all")
        for lang, s in summary["languages"].items():
            ratio = s["proj_ratio"]
            line = (f"  {lang}: written {s['written']}, entities {s['entities_in_total']} -> "
                    f"{s['entities_out_total']}, proj_ratio "
                    f"{'n/a' if ratio is None else f'{ratio:.3f}'}")
            gold = s.get("gold_evaluation")
            if gold:
                ov = gold["overall"]
                line += (f", vs gold: F1 {100 * ov['f1']:.1f} (P {100 * ov['precision']:.1f} "
                         f"R {100 * ov['recall']:.1f})")
            print(line)
        if not summary["accounting_balanced"]:
            print("  WARNING: the summary does not account for every record", file=sys.stderr)
            return 1
    if cfg.opts["publish"]:
        print(f"  published:   {join_path(cfg.opts['output'], 'LATEST')} -> run {cfg.run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
