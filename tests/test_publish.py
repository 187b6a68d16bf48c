"""Scheduled regeneration: runs write under runs/<run_id>/, LATEST moves only on success."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.run import run
from tests.helpers import write_jsonl
from transforms.publish import latest_manifest as read_latest, latest_shards
from xlner.storage.publication import LATEST, check_summary


def publish_run(root, run_id, *extra, aligner=()):
    run([f"--output={root}", "--publish", f"--run_id={run_id}", "--runner=FnApiRunner",
         "--share_models=false", *aligner, *extra])
    return read_latest(str(root))


def snapshot(folder):
    out = {}
    for base, _, files in os.walk(folder):
        for f in files:
            p = os.path.join(base, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, folder)] = fh.read()
    return out


def test_publish_rerun_and_refusal(tmp_path, tiny_bert):
    root = tmp_path / "corpus"
    aligner = (f"--alignment_model={tiny_bert}", "--align_layers=2")
    first = publish_run(root, "2026-11-16", aligner=aligner)
    assert first["run_id"] == "2026-11-16" and first["rows_by_lang"] == {"por_Latn": 40}
    # no dead letter: no dead-letter file
    assert {f["kind"] for f in first["files"]} == {"shard", "summary", "card"}
    assert all(len(f["sha256"]) == 64 for f in first["files"])
    assert "ner_tags: list<item: int64>" in first["schema"] and first["label_list"][0] == "O"
    old = snapshot(root / "runs" / "2026-11-16")

    second = publish_run(root, "2026-11-23", aligner=aligner)
    assert json.loads((root / LATEST).read_text())["run_id"] == "2026-11-23"
    assert snapshot(root / "runs" / "2026-11-16") == old  # an earlier run is never touched

    again = publish_run(root, "2026-11-23", aligner=aligner)  # re-run of the same id
    assert again["attempt"] != second["attempt"]
    attempts = os.listdir(root / "runs" / "2026-11-23")
    assert attempts == [again["attempt"]]  # old attempt gone, lease released
    shards = lambda m: sorted((f["lang"], f["rows"], f["sha256"])  # noqa: E731
                              for f in m["files"] if f["kind"] == "shard")
    assert shards(again) == shards(second)  # identical data, byte for byte
    assert snapshot(root / "runs" / "2026-11-16") == old
    assert all(p.startswith(str(root)) and os.path.exists(p)
               for p in latest_shards(str(root), "por_Latn"))
    # the root's dataset card points at the published run: a trainer loads it in one line
    import datasets

    ds = datasets.load_dataset(str(root), "por_Latn", split="train")
    assert ds.num_rows == 40 and again["attempt"] in (root / "README.md").read_text()

    # A run whose checks fail (every sentence dead-lettered: no Swahili in the embedded
    # translator) fails and publishes nothing.
    with pytest.raises(Exception, match="fewer than 1"):
        publish_run(root, "2026-11-30", "--target_langs=swh_Latn", aligner=aligner)
    assert read_latest(str(root))["run_id"] == "2026-11-23"
    refused = list((root / "runs" / "2026-11-30").glob("*/PUBLISH_REFUSED.json"))
    assert refused and "swh_Latn" in refused[0].read_text()
    assert json.loads((root / LATEST).read_text())["run_id"] == "2026-11-23"


def test_a_run_killed_midway_leaves_latest_on_the_previous_run(tmp_path, e5_dir):
    root = tmp_path / "corpus"
    sample = [{"id": f"s{i}", "tokens": f"Maria Silva {i} lives in Lisbon with Ana .".split(),
               "ner_tags": ["B-PER", "I-PER", "O", "O", "O", "B-LOC", "O", "B-PER", "O"]}
              for i in range(400)]
    data = write_jsonl(tmp_path / "in.jsonl", sample)
    before = publish_run(root, "2026-11-16", f"--input={data}")
    latest_before = (root / LATEST).read_bytes()

    cmd = [sys.executable, "-m", "pipeline.run", f"--input={data}", f"--output={root}",
           "--publish", "--run_id=2026-11-23", "--share_models=false"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            cwd=os.path.join(os.path.dirname(__file__), ".."))
    deadline = time.time() + 240
    for line in proc.stderr:  # kill it while it aligns: well before publication
        if "loaded alignment encoder" in line or time.time() > deadline:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert (root / LATEST).read_bytes() == latest_before
    assert read_latest(str(root)) == before
    assert json.loads((root / LATEST).read_text())["run_id"] == "2026-11-16"


def test_summary_checks():
    ok = {"accounting_balanced": True, "languages": {"por_Latn": {"written": 3}}}
    assert check_summary(ok, ["por_Latn"], 1) == []
    assert check_summary(ok, ["por_Latn", "swh_Latn"], 1) == [
        "swh_Latn: 0 rows written, fewer than 1"]
    assert "account" in check_summary(dict(ok, accounting_balanced=False), ["por_Latn"], 1)[0]
