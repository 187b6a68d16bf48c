"""The publish protocol under real concurrency and SIGKILL (issue 15): two processes, one
paused at each named step (``XLNER_PAUSE_AT``), or killed there. Invariants checked after
every scenario: LATEST points at a complete manifest whose files exist with their sha256;
the root card is the card of that run (a reader re-derives it after a kill between the
two writes); nothing outside the run's own attempts was deleted or changed; a loser exits
non-zero with one line.

Most scenarios run the protocol functions in small subprocesses (tests/publish_driver.py);
the last tests run the real job for each class of step (lease, commit, record)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

from pipeline.latest import main as latest_main
from tests.adversary import fingerprint
from xlner.storage.guarded_files import open_root
from xlner.storage.leases import LeaseHeld, holder_record, take
from xlner.storage.publication import (CARD, LATEST, read_latest, root_card, sync_card,
                               verify_files)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLISH_STEPS = ["lease", "pending", "removed", "verified", "cas", "latest", "card",
                 "cleanup"]


# ---------------------------------------------------------------- helpers
def start(root, run_id, pause_dir=None, step=None, *extra, module="tests.publish_driver"):
    env = dict(os.environ, XLNER_PAUSE_AT=step or "", XLNER_PAUSE_DIR=str(pause_dir or ""))
    args = [str(root), run_id, *extra] if module == "tests.publish_driver" else list(extra)
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def reach(proc, pause_dir, step, timeout=240):
    deadline = time.time() + timeout
    while not (pause_dir / f"{step}.reached").exists():
        if proc.poll() is not None:
            pytest.fail(f"exited {proc.returncode} before {step}: {proc.stderr.read()}")
        assert time.time() < deadline, f"never reached {step}"
        time.sleep(0.05)


def go(proc, pause_dir, step, timeout=240):
    (pause_dir / f"{step}.go").write_text("")
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def kill(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def finish(proc, timeout=240):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def one_line(err):
    lines = [line for line in err.splitlines() if line.startswith("xlner:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def check_invariants(root, card_may_lag=False):
    """LATEST -> a complete manifest with every file matching; the card is that run's (or,
    with ``card_may_lag``, the previous run's until a reader re-derives it)."""
    r = open_root(str(root))
    pointer, manifest = read_latest(r)
    if pointer is None:
        assert not (root / CARD).exists()
        return None
    verify_files(r, manifest)
    card = (root / CARD).read_bytes()
    if card != root_card(r, manifest):
        assert card_may_lag, "the root card does not describe what LATEST points at"
        assert latest_main([str(root)]) == 0  # a reader re-derives it
        assert (root / CARD).read_bytes() == root_card(r, manifest)
    return pointer


def frozen(root, run_id):
    """Everything under the root except this run id's own folder and the pointers."""
    return {k: v for k, v in fingerprint(str(root)).items()
            if not k.startswith(f"runs/{run_id}") and k not in (LATEST, CARD, ".xlner.lock")}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A corpus root with run r0 published (copied for each scenario)."""
    root = tmp_path_factory.mktemp("published") / "corpus"
    code, _, err = finish(start(root, "r0"))
    assert code == 0, err
    return root


@pytest.fixture
def corpus(published, tmp_path):
    root = tmp_path / "corpus"
    shutil.copytree(published, root)
    pause = tmp_path / "pause"
    pause.mkdir()
    return root, pause


# ---------------------------------------------------------------- races
@pytest.mark.parametrize("step", PUBLISH_STEPS)
def test_a_second_attempt_for_a_run_id_stops_at_once_whatever_the_first_is_doing(
        corpus, step):
    root, pause = corpus
    first = start(root, "r1", pause, step)
    reach(first, pause, step)
    before = fingerprint(str(root))
    code, _, err = finish(start(root, "r1"), timeout=60)
    assert code == 2 and "is held by attempt" in one_line(err)
    assert fingerprint(str(root)) == before  # it did nothing at all
    code, out, err = go(first, pause, step)
    assert code == 0, err
    assert check_invariants(root)["attempt"] == out.strip()


def test_latest_never_moves_to_a_run_that_started_earlier(corpus):
    root, pause = corpus
    older = start(root, "r-old", pause, "verified")
    reach(older, pause, "verified")
    code, newer, err = finish(start(root, "r-new"))
    assert code == 0, err
    code, _, err = go(older, pause, "verified")
    assert code == 1 and "started after this one" in one_line(err)
    assert check_invariants(root)["attempt"] == newer.strip()


def test_two_publishers_racing_on_latest_leave_the_newer_one(corpus):
    root, pause = corpus
    (pause / "a").mkdir()
    (pause / "b").mkdir()
    early = start(root, "r-early", pause / "a", "lease")
    reach(early, pause / "a", "lease")
    late = start(root, "r-late", pause / "b", "cas")  # has read LATEST, not yet written
    reach(late, pause / "b", "cas")
    code, _, err = go(early, pause / "a", "lease")
    assert code == 0, err  # it published first ...
    code, out, err = go(late, pause / "b", "cas")
    assert code == 0, err  # ... and the later one's swap saw the change and won after it
    assert check_invariants(root)["attempt"] == out.strip()


# ---------------------------------------------------------------- kills
@pytest.mark.parametrize("step", PUBLISH_STEPS)
def test_sigkill_at_every_step_leaves_a_consistent_corpus_and_a_rerun_recovers(corpus,
                                                                             step):
    root, pause = corpus
    r0 = frozen(root, "r1")
    proc = start(root, "r1", pause, step)
    reach(proc, pause, step)
    kill(proc)
    pointer = check_invariants(root, card_may_lag=(step == "latest"))
    assert pointer["run_id"] == ("r1" if step in ("latest", "card", "cleanup") else "r0")
    assert frozen(root, "r1") == r0  # nothing but its own attempt changed
    # the same run id again: the lease of the dead process is taken over, the killed
    # attempt (ours by its ATTEMPT.json) removed once the new one is published
    code, out, err = finish(start(root, "r1"))
    assert code == 0, err
    assert "took over" in err
    assert check_invariants(root)["attempt"] == out.strip()
    assert sorted(os.listdir(root / "runs" / "r1")) == [out.strip()]
    assert frozen(root, "r1") == r0


def test_a_live_holder_on_another_machine_needs_the_operator_to_name_it(corpus):
    root, _ = corpus
    lease = root / "runs" / "r1" / "LEASE.json"
    lease.parent.mkdir(parents=True)
    lease.write_text(json.dumps({"attempt": "a-elsewhere", "host": "another-machine",
                                 "pid": 1, "started_unix": time.time()}))
    code, _, err = finish(start(root, "r1"))
    assert code == 2 and "--take_over_lease=a-elsewhere" in one_line(err)
    code, _, err = finish(start(root, "r1", None, None, "3", "a-elsewhere"))
    assert code == 0, err


def test_a_reused_pid_does_not_keep_a_dead_lease_alive(tmp_path):
    root = open_root(str(tmp_path))
    mine = holder_record("r1", "a-dead")
    mine["pid_start"] = "1"  # this pid, but a process that started at another time
    take(root, "LEASE.json", mine)
    take(root, "LEASE.json", holder_record("r1", "a-new"))  # taken over
    with pytest.raises(LeaseHeld, match="a-new"):  # ... and now held by a live process
        take(root, "LEASE.json", holder_record("r1", "a-third"))


def test_latest_tool_refuses_what_it_cannot_serve(corpus, capsys):
    root, _ = corpus
    assert latest_main([str(root), "--lang=por_Latn", "--verify"]) == 0
    shard = capsys.readouterr().out.strip()
    assert os.path.exists(shard)
    assert latest_main([str(root), "--lang=swh_Latn"]) == 1
    assert "published no rows for swh_Latn" in capsys.readouterr().err
    with open(shard, "r+b") as f:  # same size, other bytes: only --verify sees it
        f.write(b"X")
    assert latest_main([str(root), "--lang=por_Latn"]) == 0
    assert latest_main([str(root), "--lang=por_Latn", "--verify"]) == 1
    assert "does not match" in capsys.readouterr().err
    os.remove(shard)
    assert latest_main([str(root), "--lang=por_Latn"]) == 1
    err = capsys.readouterr().err
    assert "is missing" in err and err.count("\n") == 1
    assert latest_main([str(root.parent / "nothing-here")]) == 1
    assert "nothing is published" in capsys.readouterr().err


def test_latest_tool_prints_a_load_line_that_datasets_runs(corpus, capsys):
    import datasets

    root, _ = corpus
    assert latest_main([str(root), "--lang=por_Latn"]) == 0
    captured = capsys.readouterr()
    shards = captured.out.split()
    assert all(s.endswith(".parquet") for s in shards)
    assert "load with: datasets.load_dataset(\"parquet\"" in captured.err
    assert latest_main([str(root), "--lang=por_Latn", "--load_line"]) == 0
    line = capsys.readouterr().out.strip()
    ds = eval(line, {"datasets": datasets})  # the line exactly as printed

    assert ds.num_rows == sum(pq.read_metadata(s).num_rows for s in shards) > 0


# ---------------------------------------------------------------- on gs://
def test_the_protocol_on_gcs(tmp_path):
    from tests.gcs import storage_emulator

    with storage_emulator("xlner-protocol") as client:
        root = "gs://xlner-protocol/corpus"
        pause = tmp_path
        first = start(root, "r1", pause, "latest")
        reach(first, pause, "latest")
        code, _, err = finish(start(root, "r1"), timeout=60)  # same id: refused
        assert code == 2 and "is held by attempt" in one_line(err)
        kill(first)  # between LATEST and the card
        r = open_root(root)
        assert sync_card(r)  # a reader re-derives the card
        _, manifest = read_latest(r)
        assert r.read(CARD) == root_card(r, manifest)
        code, out, err = finish(start(root, "r1"))  # same host, dead pid: taken over
        assert code == 0, err
        assert read_latest(r)[0]["attempt"] == out.strip()
        attempts = {b.name.split("/")[3] for b in client.list_blobs(
            "xlner-protocol", prefix="corpus/runs/r1/")}
        assert attempts == {out.strip()}


# ---------------------------------------------------------------- the real job
@pytest.fixture(scope="module")
def job_args(tmp_path_factory, tiny_bert):
    from tests.helpers import small_job_args

    return small_job_args(tmp_path_factory.mktemp("protocol-job"), tiny_bert)


def test_job_races_and_kill_then_a_reader_and_a_rerun_recover(tmp_path, job_args, capsys):
    """The real job: a second launch of a running run id exits 2 before work; killed
    between LATEST and the card, a reader re-derives the card and a re-run of the id takes
    the dead lease over and removes the killed attempt; nothing of the earlier run moves."""
    from pipeline.run import main

    root, pause = tmp_path / "corpus", tmp_path
    assert main([f"--output={root}", "--publish", "--run_id=r0", *job_args]) == 0
    r0 = frozen(root, "r1")
    args = [f"--output={root}", "--publish", "--run_id=r1", *job_args]
    proc = start(root, "", pause, "lease,latest", *args, module="pipeline.run")
    reach(proc, pause, "lease")
    capsys.readouterr()
    assert main(args) == 2
    assert "is held by attempt" in one_line(capsys.readouterr().err)
    assert len(os.listdir(root / "runs" / "r1")) == 2  # the first's attempt and lease
    (pause / "lease.go").write_text("")
    reach(proc, pause, "latest")
    kill(proc)
    assert check_invariants(root, card_may_lag=True)["run_id"] == "r1"
    assert main(args) == 0
    pointer = check_invariants(root)
    assert os.listdir(root / "runs" / "r1") == [pointer["attempt"]]
    assert frozen(root, "r1") == r0


def test_job_killed_while_cleaning_a_reused_folder_leaves_every_file_listed(tmp_path,
                                                                          job_args):
    """Without --publish: killed after its manifest lists the files still to remove; the
    next run removes the earlier runs' files and the folder holds exactly the new run."""
    from pipeline.run import main
    from tests.helpers import listed_files

    out, pause = tmp_path / "out", tmp_path
    assert main([f"--output={out}", *job_args]) == 0
    proc = start(out, "", pause, "pending", f"--output={out}", *job_args,
                 "--target_langs=ell_Grek", module="pipeline.run")
    reach(proc, pause, "pending")
    kill(proc)
    with open(out / "manifest.json") as f:
        manifest = json.load(f)
    assert {p["path"].split("/")[0] for p in manifest["pending_removal"]} == {"por_Latn"}
    assert main([f"--output={out}", *job_args, "--target_langs=deu_Latn"]) == 0
    kept = {os.path.relpath(p, out) for _, p in listed_files(str(out), "shard")}
    on_disk = {os.path.relpath(os.path.join(b, f), out) for b, _, fs in os.walk(out)
               for f in fs if f.endswith(".parquet")}
    assert on_disk == kept and all(p.startswith("deu_Latn/") for p in kept)
