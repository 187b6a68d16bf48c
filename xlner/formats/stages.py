"""Per-stage accounting of a run (``summary.json`` ``stages``), from counter values.

Every measured stage of the graph reports four counters in one metrics namespace:
``<stage>:in`` (records handed to it), ``<stage>:out`` (records it passed on),
``<stage>:dead`` (its dead letters) and ``<stage>:busy_us`` (microseconds spent inside its
DoFns' calls, summed over workers). This module turns the committed values into rows and a
compact table; it knows nothing of Beam, so a runner's metrics or a test's dict feed it.
"""

from __future__ import annotations

import math
from typing import Mapping, Optional, Sequence

METRICS = ("in", "out", "dead", "busy_us")
# Graph order (a stage the graph does not have, or that no record reached, is left out).
ORDER = ("read", "validate", "label_source", "translate", "translate_marked", "split",
         "tag_targets", "back_translate", "align", "project", "filter", "write")
# Stages with no input collection: they count what they make, not what they take.
SOURCES = ("read",)


# Why a summary carries ``"stages": null`` (``stages_reason``).
PENDING = ("the summary is written inside the pipeline, before the runner has committed "
           "the stage metrics; the launcher fills them in when it waits for the run")
SEALED = ("--publish seals the summary inside the pipeline (its manifest, which LATEST "
          "points at, lists its sha256) before the stage metrics exist; the launcher "
          "prints them at the end of the run")


def placeholder(published: bool) -> dict:
    """The ``stages`` keys of a summary written before the run's metrics exist."""
    return {"stages": None, "stages_reason": SEALED if published else PENDING}


def metric_name(stage: str, metric: str) -> str:
    return f"{stage}:{metric}"


def parse_name(name: str) -> Optional[tuple[str, str]]:
    """(stage, metric) of a counter name, None for a name that is not one of ours."""
    stage, _, metric = name.rpartition(":")
    return (stage, metric) if stage and metric in METRICS else None


def _order(stage: str) -> tuple:
    return (ORDER.index(stage), "") if stage in ORDER else (len(ORDER), stage)


def stage_rows(values: Mapping[str, int]) -> list[dict]:
    """Counter name -> value (summed over steps) into one row per stage, in graph order.

    ``records_per_second`` is records in (out for a source) per second of busy time."""
    found: dict = {}
    for name, value in values.items():
        parsed = parse_name(name)
        if parsed:
            found.setdefault(parsed[0], {})[parsed[1]] = int(value)
    rows = []
    for stage in sorted(found, key=_order):
        v = found[stage]
        busy = v.get("busy_us", 0) / 1e6
        records_in = None if stage in SOURCES else v.get("in", 0)
        records = v.get("out", 0) if records_in is None else records_in
        rows.append({"stage": stage, "records_in": records_in,
                     "records_out": v.get("out", 0), "dead_lettered": v.get("dead", 0),
                     "busy_seconds": round(busy, 6),
                     "records_per_second": round(records / busy, 3) if busy > 0 else None})
    return rows


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if math.isfinite(value) else str(value)
    return f"{value:,}"


def table_lines(rows: Sequence[dict]) -> list[str]:
    """The rows as a fixed-width table (one header line, one line per stage)."""
    head = ("stage", "in", "out", "dead", "busy s", "rec/s")
    keys = ("stage", "records_in", "records_out", "dead_lettered", "busy_seconds",
            "records_per_second")
    cells = [head] + [tuple(r[k] if k == "stage" else _cell(r[k]) for k in keys)
                      for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    return ["  ".join([line[0].ljust(widths[0])]
                      + [line[i].rjust(widths[i]) for i in range(1, len(head))])
            for line in cells]
