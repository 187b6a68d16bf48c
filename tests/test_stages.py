"""Per-stage accounting in summary.json: the stage counts agree with the rest of the books,
busy time is measured, and a run whose metrics are missing says so instead of lying."""

import hashlib
import json
import math
import os

import pytest

from pipeline.run import main, run
from pipeline.stages import Stages, collect, record_stages
from tests.helpers import listed_files, read_outputs, write_jsonl
from xlner.formats.stages import SEALED, stage_rows, table_lines

GOOD = {"tokens": ["Ana", "mora", "em", "Lisboa"], "ner_tags": ["B-PER", "O", "O", "B-LOC"],
        "translation_tokens": ["Ana", "lives", "in", "Lisbon"]}


def _input(folder):
    """8 good rows, 2 rejected as invalid and a duplicate id (validate), a line that is
    not JSON (read)."""
    rows = [dict(GOOD, id=f"r{i}") for i in range(8)]
    rows += [dict(GOOD, id="bad1", ner_tags=["B-PER"]), dict(GOOD, id="bad2", tokens=[]),
             dict(GOOD, id="r0"), "{not json"]
    return write_jsonl(os.path.join(str(folder), "in.jsonl"), rows)


def _args(tmp_path, tiny_bert, *extra):
    return [f"--input={_input(tmp_path)}", f"--alignment_model={tiny_bert}",
            "--align_layers=2", "--share_models=false", "--runner=FnApiRunner", *extra]


def _dead_by_stage(summary, stage):
    return sum(summary["dead_letters_by_stage"].get(stage, {}).values())


def test_stage_counts_agree_with_the_summary_and_the_table_is_printed(tmp_path, tiny_bert,
                                                                       capsys):
    out = tmp_path / "out"
    assert main([f"--output={out}", *_args(tmp_path, tiny_bert)]) == 0
    summary, rows, _ = read_outputs(out)
    assert summary["accounting_balanced"] and summary["stages_metrics"] == "committed"
    assert "stages_reason" not in summary
    stages = check_books(summary)
    assert list(stages) == ["read", "translate", "split", "align", "project", "write"]
    read, write = stages["read"], stages["write"]
    # read: a source; what it passes on is every record read less those rejected
    assert read["records_in"] is None
    assert read["records_out"] == summary["records_valid"] == 8
    assert read["records_out"] == summary["records_read"] - summary["records_rejected"]
    assert read["dead_lettered"] == summary["records_rejected"] == (
        _dead_by_stage(summary, "read") + _dead_by_stage(summary, "validate")) == 4
    # each stage's dead letters are the summary's for its stage; in = out + dead
    for name in ("translate", "split", "align", "project"):
        s = stages[name]
        assert s["dead_lettered"] == _dead_by_stage(summary, name), name
        assert s["records_in"] == s["records_out"] + s["dead_lettered"], name
    assert stages["translate"]["records_in"] == read["records_out"]  # one target language
    assert stages["project"]["records_out"] == write["records_in"]
    written = sum(lang["written"] for lang in summary["languages"].values())
    assert write["records_in"] == written == len(rows["por_Latn"]) == 8
    assert write["records_out"] == len(listed_files(out, "shard")) and not write["dead_lettered"]
    for s in stages.values():
        assert s["busy_seconds"] > 0 and math.isfinite(s["busy_seconds"]), s
        assert s["records_per_second"] > 0
    # the manifest lists the summary's final bytes
    data = (out / "summary.json").read_bytes()
    (entry,) = [f for f in json.loads((out / "manifest.json").read_bytes())["files"]
                if f["kind"] == "summary"]
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data)
    printed = capsys.readouterr().out
    assert "stages (committed Beam metrics" in printed
    table = printed[printed.index("stages (committed"):].splitlines()[1:]
    assert table[0].split() == ["stage", "in", "out", "dead", "busy", "s", "rec/s"]
    assert [line.split()[0] for line in table[1:7]] == list(stages)
    assert table[1].split()[1:4] == ["-", "8", "4"]


# The dead-letter stage names each measured stage owns (the graph's measure calls).
OWN_DEAD = {"read": ("read", "validate"), "tag_targets": ("ner",),
            "translate_marked": ("easyproject",), "back_translate": ("easyproject",)}


def check_books(summary):
    """The stage rows agree with the rest of the summary, for any graph."""
    stages = {s["stage"]: s for s in summary["stages"]}
    assert list(stages)[0] == "read" and list(stages)[-1] == "write"
    langs = len(summary["languages"])
    read = stages["read"]
    assert read["records_in"] is None
    assert read["records_out"] == summary["records_read"] - summary["records_rejected"]
    for name, s in stages.items():
        own = sum(_dead_by_stage(summary, d) for d in OWN_DEAD.get(name, (name,)))
        assert s["dead_lettered"] == own, name
        assert s["busy_seconds"] > 0 and math.isfinite(s["busy_seconds"]), name
        if name in ("translate", "translate_marked"):  # one record per target language
            assert s["records_in"] * langs == s["records_out"] + s["dead_lettered"], name
        elif name not in ("read", "write"):
            assert s["records_in"] == s["records_out"] + s["dead_lettered"], name
    # every dead letter belongs to a measured stage
    assert sum(s["dead_lettered"] for s in stages.values()) == summary["dead_lettered"]
    written = sum(lang["written"] for lang in summary["languages"].values())
    assert stages["write"]["records_in"] == written
    return stages


@pytest.mark.parametrize("flags, expected", [
    (["--projection=ner", "--matching=greedy"], "tag_targets"),
    (["--align_direction=tgt2tgt"], "back_translate"),
    (["--projection=easyproject"], "translate_marked"),
    (["--label_source"], "label_source"),
    (["--min_entity_score=0.99"], "filter"),
    (["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"],
     "align")])
def test_every_graph_shape_accounts_by_stage(tmp_path, tiny_bert, flags, expected):
    args = [f"--output={tmp_path / 'out'}", f"--alignment_model={tiny_bert}",
            "--align_layers=2", *flags]
    if "--label_source" in flags:
        args.append("--input=" + write_jsonl(tmp_path / "raw.jsonl", [
            {"id": "u1", "tokens": "Angela Merkel visited Paris on Monday .".split()},
            {"id": "u2", "tokens": "Barack Obama met Pope Francis in Rome .".split()}]))
    if not any(f.startswith("--runner") for f in flags):
        args.append("--runner=FnApiRunner")
    run(args)
    summary, _, _ = read_outputs(tmp_path / "out")
    assert summary["accounting_balanced"]
    assert expected in check_books(summary)


def test_a_runner_without_metrics_gives_null_stages_with_the_reason(tmp_path, tiny_bert,
                                                                    capsys, monkeypatch):
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    def no_metrics(self):
        raise NotImplementedError("this runner does not report metrics")

    monkeypatch.setattr(fn_runner.RunnerResult, "metrics", no_metrics)
    out = tmp_path / "out"
    assert main([f"--output={out}", *_args(tmp_path, tiny_bert)]) == 0  # not a failure
    summary, _, _ = read_outputs(out)
    reason = "the runner returned no metrics (this runner does not report metrics)"
    assert summary["stages"] is None and summary["stages_reason"] == reason
    assert "stages_metrics" not in summary and summary["accounting_balanced"]
    data = (out / "summary.json").read_bytes()
    (entry,) = [f for f in json.loads((out / "manifest.json").read_bytes())["files"]
                if f["kind"] == "summary"]
    assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert f"  stages: not measured: {reason}" in capsys.readouterr().out


def test_a_summary_that_is_not_this_runs_is_left_alone(tmp_path, tiny_bert):
    out = tmp_path / "out"
    _, cfg = run([f"--output={out}", *_args(tmp_path, tiny_bert)])
    before = (out / "summary.json").read_bytes()
    assert json.loads(before)["stages"] is not None  # filled once; never again
    assert record_stages(cfg, None).rows is None  # no result at all: a reason, no raise
    assert (out / "summary.json").read_bytes() == before
    (out / "summary.json").unlink()  # a vanished summary fails nothing either
    assert record_stages(cfg, None).reason.startswith("the runner returned no metrics")


def test_a_published_summary_keeps_null_stages_and_the_table_is_still_printed(
        tmp_path, tiny_bert, capsys):
    root = tmp_path / "root"
    assert main([f"--output={root}", "--publish", "--run_id=2026-12-05",
                 *_args(tmp_path, tiny_bert)]) == 0
    (summary_path,) = root.glob("runs/2026-12-05/*/summary.json")
    summary = json.loads(summary_path.read_bytes())
    assert summary["stages"] is None and summary["stages_reason"] == SEALED
    assert "stages (committed Beam metrics" in capsys.readouterr().out


class _Counter:
    def __init__(self, name, committed, attempted):
        from apache_beam.metrics.metricbase import MetricName

        self.key = type("Key", (), {"metric": MetricName("xlner.stages", name)})()
        self.committed, self.attempted = committed, attempted


class _Attempted:
    """Counters of a runner that commits none (committed None)."""

    state = "DONE"

    def __init__(self, counters):
        self._counters = counters

    def metrics(self):
        outer = self

        class Metrics:
            def query(self, _filter):
                return {"counters": outer._counters, "distributions": [], "gauges": []}
        return Metrics()


def test_attempted_values_only_where_nothing_is_committed_and_said_so():
    counters = [_Counter("write:in", None, 5), _Counter("write:busy_us", None, 2_000_000),
                _Counter("read:out", None, 7), _Counter("read:busy_us", None, 1)]
    stages = collect(_Attempted(counters))
    assert stages.metrics == "attempted"
    assert stages.rows == [
        {"stage": "read", "records_in": None, "records_out": 7, "dead_lettered": 0,
         "busy_seconds": 1e-06, "records_per_second": 7e6},
        {"stage": "write", "records_in": 5, "records_out": 0, "dead_lettered": 0,
         "busy_seconds": 2.0, "records_per_second": 2.5}]
    committed = collect(_Attempted([_Counter("write:in", 4, 5)]))
    assert committed.metrics == "committed" and committed.rows[0]["records_in"] == 4
    assert collect(_Attempted([])) == Stages(None, "", "the runner returned no "
                                             "xlner.stages metrics")


def test_rows_keep_graph_order_and_the_table_aligns():
    rows = stage_rows({"write:in": 3, "project:in": 3, "zeta:in": 1, "read:out": 3,
                       "other_counter": 9, "project:busy_us": 0})
    assert [r["stage"] for r in rows] == ["read", "project", "write", "zeta"]
    assert rows[1]["records_per_second"] is None  # no busy time: no rate, not infinity
    lines = table_lines(rows)
    assert len({len(line) for line in lines}) == 1 and lines[0].startswith("stage")


def test_a_manifest_that_cannot_follow_leaves_the_summary_as_the_manifest_names_it(
        tmp_path, tiny_bert, monkeypatch):
    from xlner.storage.guarded_files import Conflict, LocalRoot

    write_if = LocalRoot.write_if

    def refuse_manifest(self, rel, data, token):
        if rel.endswith("manifest.json"):
            raise Conflict(self.join(rel))
        return write_if(self, rel, data, token)

    monkeypatch.setattr(LocalRoot, "write_if", refuse_manifest)
    out = tmp_path / "out"
    run([f"--output={out}", *_args(tmp_path, tiny_bert)])
    summary = (out / "summary.json").read_bytes()
    assert json.loads(summary)["stages"] is None  # not filled: the manifest refused
    (entry,) = [f for f in json.loads((out / "manifest.json").read_bytes())["files"]
                if f["path"].endswith("summary.json")]
    assert entry["sha256"] == hashlib.sha256(summary).hexdigest()
