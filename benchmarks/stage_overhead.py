"""Cost of the per-stage accounting (``transforms/stages.py``) on trivial DoFns.

    python -m benchmarks.stage_overhead                 # 200k elements, best of 3
    python -m benchmarks.stage_overhead --n 50000 --repeats 5

Three trivial steps (``Map``, ``FlatMap``, a class DoFn) over ``n`` integers on the
FnApiRunner, plain, with their DoFns timed only, and inside ``measure`` (timed, plus the
in/out counting branches), runs interleaved, best wall time of each; and the same three DoFns called
directly, plain and wrapped, to give the added cost per element without the runner. The
last line is one JSON object. Trivial DoFns are the worst case: the job's stages do
milliseconds of work per record.
"""

from __future__ import annotations

import argparse
import json
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from transforms.stages import _Timed, _time_parts, measure


class _Double(beam.DoFn):
    def process(self, x):
        yield 2 * x


def _steps(pcoll):
    return (pcoll | "Inc" >> beam.Map(lambda x: x + 1)
            | "Same" >> beam.FlatMap(lambda x: (x,))
            | "Double" >> beam.ParDo(_Double()))


def _pipeline_seconds(n: int, mode: str) -> float:
    """``plain``; ``timed``: the DoFns wrapped, no counting branches; ``measured``: the
    whole ``measure`` (timing and the records in/out branches)."""
    p = beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"]))
    numbers = p | "Numbers" >> beam.Create(range(n), reshuffle=False)
    if mode == "measured":
        with measure("bench", numbers) as m:
            out = _steps(numbers)
            m.output(out)
    elif mode == "timed":
        node = p._current_transform()
        first = len(node.parts)
        out = _steps(numbers)
        for part in node.parts[first:]:
            _time_parts(part, "bench")
    else:
        out = _steps(numbers)
    _ = out | "Count" >> beam.combiners.Count.Globally()
    start = time.perf_counter()
    p.run().wait_until_finish()
    return time.perf_counter() - start


def _direct_seconds(n: int, wrapped: bool) -> float:
    """The three DoFns called as a fused chain would call them, without a runner."""
    fns = [beam.Map(lambda x: x + 1).fn, beam.FlatMap(lambda x: (x,)).fn, _Double()]
    if wrapped:
        fns = [_Timed(fn, "bench") for fn in fns]
    for fn in fns:
        fn.setup()
        fn.start_bundle()
    start = time.perf_counter()
    for x in range(n):
        for a in fns[0].process(x):
            for b in fns[1].process(a):
                for _ in fns[2].process(b):
                    pass
    seconds = time.perf_counter() - start
    if wrapped:  # flush outside a bundle's metrics context: only the counter call
        for fn in fns:
            fn._busy = 0.0
    return seconds


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    times: dict = {"plain": [], "timed": [], "measured": [], "direct_plain": [],
                   "direct_wrapped": []}
    for _ in range(args.repeats):  # interleaved, so drift hits every side alike
        for mode in ("plain", "timed", "measured"):
            times[mode].append(_pipeline_seconds(args.n, mode))
        times["direct_plain"].append(_direct_seconds(args.n, False))
        times["direct_wrapped"].append(_direct_seconds(args.n, True))
    best = {k: min(v) for k, v in times.items()}
    added = {mode: 1e6 * (best[mode] - best["plain"]) / args.n for mode in ("timed", "measured")}
    out = {"n": args.n, "repeats": args.repeats, "best_seconds": best,
           "pipeline_ratio": best["measured"] / best["plain"],
           "pipeline_ratio_timing_only": best["timed"] / best["plain"],
           "pipeline_added_us_per_element": added["measured"],
           "pipeline_added_us_per_element_timing_only": added["timed"],
           "direct_ratio": best["direct_wrapped"] / best["direct_plain"],
           "direct_added_us_per_element":
               1e6 * (best["direct_wrapped"] - best["direct_plain"]) / args.n}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
