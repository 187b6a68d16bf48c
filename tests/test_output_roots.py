"""Output roots outside the adversarial trees (issue 15): a root reused for another
language, a run whose summary cannot be read, remote outputs checked before any work."""

import json
import os
import subprocess
import sys
import time

import pytest

from pipeline.run import main
from tests.helpers import listed_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def job_args(tmp_path_factory, tiny_bert):
    from tests.helpers import small_job_args

    return small_job_args(tmp_path_factory.mktemp("roots"), tiny_bert)


def files_under(folder):
    return {os.path.relpath(os.path.join(b, f), folder) for b, _, fs in os.walk(folder)
            for f in fs}


def test_a_root_reused_for_another_language_holds_exactly_the_new_run(tmp_path, job_args):
    """The first language's shards, listed in the first manifest, are removed: the card,
    the summary and the folder all describe the new run only."""
    out = tmp_path / "out"
    assert main([f"--output={out}", *job_args, "--target_langs=por_Latn"]) == 0
    assert main([f"--output={out}", *job_args, "--target_langs=ell_Grek"]) == 0
    with open(out / "manifest.json") as f:
        manifest = json.load(f)
    assert files_under(out) == {m["path"] for m in manifest["files"]} | {
        "manifest.json", ".xlner.lock"}
    assert [lang for lang, _ in listed_files(str(out), "shard")] == ["ell_Grek"]
    assert not (out / "por_Latn").exists() and manifest["foreign"] == []
    assert "por_Latn" not in (out / "README.md").read_text()


def test_a_finished_run_whose_summary_cannot_be_read_fails(tmp_path, job_args, capsys,
                                                          monkeypatch):
    import pipeline.run as run_module

    real_run = run_module.run

    def run_then_lose_the_summary(argv, wait=True):
        result, cfg = real_run(argv, wait)
        os.remove(os.path.join(cfg.output_dir, "summary.json"))
        return result, cfg

    monkeypatch.setattr(run_module, "run", run_then_lose_the_summary)
    assert main([f"--output={tmp_path}/out", *job_args]) == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("xlner:")]
    assert len(lines) == 1 and "summary" in lines[0] and "cannot be read" in lines[0]


def test_gcs_output_without_credentials_is_one_line_within_seconds(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GOOGLE_", "STORAGE_EMULATOR", "CLOUDSDK"))}
    env.update(HOME=str(tmp_path), CLOUDSDK_CONFIG=str(tmp_path), NO_GCE_CHECK="true")
    started = time.time()
    proc = subprocess.run([sys.executable, "-m", "pipeline.run",
                           "--output=gs://xlner-no-credentials/corpus"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("xlner:")]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "credentials" in lines[0] and time.time() - started < 60
    assert "loading" not in proc.stderr  # no model was loaded: nothing was done


def test_gcs_output_in_a_missing_bucket_stops_before_work(capsys):
    from tests.gcs import storage_emulator

    with storage_emulator("xlner-exists"):
        assert main(["--output=gs://xlner-missing-bucket/corpus"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("xlner:")]
    assert len(lines) == 1 and "gs://xlner-missing-bucket/corpus is not writable" in lines[0]


def test_a_second_run_into_a_folder_another_run_is_writing_stops_before_work(tmp_path,
                                                                          job_args, capsys):
    """Without --publish the folder itself is leased: a run that is alive (this test's
    own process) keeps a second one out; once it is gone, the next run takes over."""
    from xlner.storage.leases import holder_record

    out = tmp_path / "out"
    out.mkdir()
    alive = holder_record("other", "a-alive")
    (out / "LEASE.json").write_text(json.dumps(alive))
    assert main([f"--output={out}", *job_args]) == 2
    line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("xlner:")]
    assert len(line) == 1 and "LEASE.json is held by attempt a-alive" in line[0]
    assert sorted(os.listdir(out)) == ["LEASE.json"]  # nothing was done
    gone = dict(alive, pid=2 ** 22 + 1)  # no such process
    (out / "LEASE.json").write_text(json.dumps(gone))
    assert main([f"--output={out}", *job_args]) == 0
    assert not (out / "LEASE.json").exists()
