"""The run's per-stage accounting, read from the finished pipeline's metrics.

The graph's stages count into Beam metrics (``transforms/stages.py``); the summary is
written inside the pipeline before those are committed, with ``"stages": null`` and a
``stages_reason``. Once the launcher has waited for the run it reads the committed values
(attempted ones only where a runner does not commit, said in ``stages_metrics``) and, unless
``--publish`` sealed the summary, puts them in ``summary.json`` and the summary's line of
``manifest.json``, each replaced only if unchanged since it was read. Nothing here fails a
run: metrics a runner does not return leave ``"stages": null`` with the reason.
"""

from __future__ import annotations

import json
import logging
from typing import NamedTuple, Optional

from pipeline.outputs import output_folder, publishing
from xlner.formats.stages import stage_rows, table_lines
from xlner.storage.guarded_files import sha256_of
from xlner.storage.publication import MANIFEST

LOG = logging.getLogger("xlner")
SUMMARY = "summary.json"


class Stages(NamedTuple):
    rows: Optional[list]  # None: not measured
    metrics: str  # "committed" or "attempted" (when rows)
    reason: str  # why not measured (when not)


def _one_line(e: BaseException) -> str:
    return (" ".join(str(e).split())[:200] or type(e).__name__)


def _value(result, kind: str):
    try:
        return getattr(result, kind)
    except Exception:  # noqa: BLE001 - a runner that does not support this kind
        return None


def collect(result) -> Stages:
    """The stage rows from a finished run's metrics; never raises."""
    from apache_beam.metrics.metric import MetricsFilter

    from transforms.stages import STAGES_NAMESPACE

    try:
        counters = result.metrics().query(
            MetricsFilter().with_namespace(STAGES_NAMESPACE))["counters"]
    except Exception as e:  # noqa: BLE001 - a runner without metrics
        return Stages(None, "", f"the runner returned no metrics ({_one_line(e)})")
    values: dict = {}
    attempted = False
    for counter in counters:
        value = _value(counter, "committed")
        if value is None:
            value, attempted = _value(counter, "attempted"), True
        if value is None:
            continue
        name = counter.key.metric.name
        values[name] = values.get(name, 0) + int(value)
    rows = stage_rows(values)
    if not rows:
        return Stages(None, "", f"the runner returned no {STAGES_NAMESPACE} metrics")
    return Stages(rows, "attempted" if attempted else "committed", "")


def _with_stages(summary: dict, stages: Stages) -> dict:
    """The summary with its ``stages`` keys set, in the place they had."""
    keys = ({"stages": stages.rows, "stages_metrics": stages.metrics} if stages.rows is not None
            else {"stages": None, "stages_reason": stages.reason})
    out = {}
    for k, v in summary.items():
        if k == "stages":
            out.update(keys)
        elif not k.startswith("stages_"):
            out[k] = v
    return out


def fill_summary(cfg, stages: Stages) -> bool:
    """Put ``stages`` in this run's summary.json and its manifest line (not with
    --publish); False when the files are not this run's or changed meanwhile."""
    folder = output_folder(cfg)
    root = folder.root
    rel, manifest_rel = folder.rel(SUMMARY), folder.rel(MANIFEST)
    data, token = root.read_versioned(rel)
    manifest_data, manifest_token = root.read_versioned(manifest_rel)
    if data is None or manifest_data is None:
        return False
    summary, manifest = json.loads(data), json.loads(manifest_data)
    if ((summary.get("run_id"), summary.get("attempt")) != (cfg.run_id, cfg.attempt)
            or "stages" not in summary or summary["stages"] is not None):
        return False
    entries = [f for f in manifest.get("files", ()) if f.get("path") == rel]
    if len(entries) != 1 or entries[0].get("sha256") != sha256_of(data):
        return False
    new = json.dumps(_with_stages(summary, stages), indent=2, ensure_ascii=False).encode()
    entries[0].update(bytes=len(new), sha256=sha256_of(new))
    root.write_if(rel, new, token)
    try:
        root.write_if(manifest_rel,
                      json.dumps(manifest, indent=2, ensure_ascii=False).encode(),
                      manifest_token)
    except BaseException:
        # the manifest could not follow: put the summary back, so the two never disagree
        root.write_if(rel, data, root.read_versioned(rel)[1])
        raise
    return True


def record_stages(cfg, result) -> Stages:
    """Read the finished run's stage metrics and, unless --publish sealed the summary,
    write them into it. Never raises: the run's outcome is not the metrics'."""
    stages = collect(result)
    if publishing(cfg):
        return stages
    try:
        if not fill_summary(cfg, stages):
            LOG.warning("stage metrics not added to %s: it is not this run's summary or "
                        "changed meanwhile", output_folder(cfg).url(SUMMARY))
    except Exception as e:  # noqa: BLE001 - the summary stays as the pipeline wrote it
        LOG.warning("could not add the stage metrics to the summary: %s", _one_line(e))
    return stages


def stage_report(stages: Stages) -> list[str]:
    """The end-of-run lines: a compact table, or why there is none."""
    if stages.rows is None:
        return [f"  stages: not measured: {stages.reason}"]
    return ([f"  stages ({stages.metrics} Beam metrics; busy s: time inside the stage's "
             "DoFns, all workers; rec/s: records in per busy second):"]
            + [f"    {line}" for line in table_lines(stages.rows)])
