"""Publication deletes only what it can prove ours: a run id or path can never make the job
delete or write outside OUTPUT/runs/<run_id>/ (a run id of '..' used to delete LATEST and
every published run; a linked run folder used to have the files it led to deleted)."""

import json
import os

import pytest

from xlner.storage.guarded_files import OutputRefused, open_root
from xlner.storage.publication import (LATEST, UnsafePath, attempt_rel, check_run_id,
                               delete_other_attempts)


def tree(folder):
    return sorted(os.path.relpath(os.path.join(b, f), folder)
                  for b, _, fs in os.walk(folder) for f in fs)


def attempt(root, run_id, name, ours=True):
    folder = root / "runs" / run_id / name
    (folder / "por_Latn").mkdir(parents=True)
    (folder / "por_Latn" / "part-0.parquet").write_text("x")
    if ours:
        (folder / "ATTEMPT.json").write_text(json.dumps({"run_id": run_id, "attempt": name}))


@pytest.fixture
def corpus(tmp_path):
    """A published corpus, with a file next to it that is nobody's business."""
    root = tmp_path / "corpus"
    attempt(root, "2026-11-16", "a1")
    for name in ("a2", "a3"):
        attempt(root, "2026-11-23", name)
    attempt(root, "2026-11-23", "a4", ours=False)  # no ATTEMPT.json: not provably ours
    (root / LATEST).write_text(json.dumps({"run_id": "2026-11-16", "attempt": "a1",
                                           "manifest": "runs/2026-11-16/a1/manifest.json"}))
    (tmp_path / "neighbour.txt").write_text("keep me")
    return root


@pytest.mark.parametrize("run_id", ["2026-11-16", "20261116T101010Z-ab12cd", "r", "v1.2_x-y",
                                    "a" * 128, "a20261201T225732-128935"])
def test_good_run_ids(run_id):
    check_run_id(run_id)


@pytest.mark.parametrize("run_id", ["..", ".", "../..", "a/../..", "a/b", "", ".hidden",
                                    "a..b", "-x", "_x", "a b", "a\\b", "a" * 129, "ä",
                                    "x\n", None, "gs://b"])
def test_bad_run_ids_fail_with_one_line(run_id):
    with pytest.raises(UnsafePath) as e:
        check_run_id(run_id)
    assert "\n" not in str(e.value) and "--run_id=" in str(e.value)


@pytest.mark.parametrize("run_id", ["..", ".", "../..", "2026-11-16/..", "../corpus/runs"])
def test_delete_other_attempts_refuses_to_leave_the_run_folder(corpus, run_id):
    before = tree(corpus.parent)
    with pytest.raises(UnsafePath):
        delete_other_attempts(open_root(str(corpus)), run_id, "a9")
    assert tree(corpus.parent) == before  # LATEST, every run and the neighbour are there


def test_delete_other_attempts_removes_only_provable_attempts_of_its_run(corpus):
    removed, left = delete_other_attempts(open_root(str(corpus)), "2026-11-23", "a3")
    assert removed == 1 and left == ["runs/2026-11-23/a4"]
    assert tree(corpus) == ["LATEST", "runs/2026-11-16/a1/ATTEMPT.json",
                            "runs/2026-11-16/a1/por_Latn/part-0.parquet",
                            "runs/2026-11-23/a3/ATTEMPT.json",
                            "runs/2026-11-23/a3/por_Latn/part-0.parquet",
                            "runs/2026-11-23/a4/por_Latn/part-0.parquet"]


def test_the_attempt_latest_points_at_is_never_removed(corpus):
    (corpus / LATEST).write_text(json.dumps({"run_id": "2026-11-23", "attempt": "a2"}))
    delete_other_attempts(open_root(str(corpus)), "2026-11-23", "a3")
    assert (corpus / "runs" / "2026-11-23" / "a2" / "ATTEMPT.json").exists()


@pytest.mark.parametrize("link_at", ["runs", "runs/2026-11-23", "runs/2026-11-23/a0"])
def test_a_linked_run_or_attempt_folder_cannot_lead_the_deletion_outside(corpus, tmp_path,
                                                                       link_at):
    outside = tmp_path / "elsewhere"
    attempt(outside, "2026-11-23", "a0")  # even with an ATTEMPT.json of ours in it
    target = outside / link_at
    real = corpus / link_at
    if real.exists():
        os.rename(real, tmp_path / "moved")
    os.symlink(target, real)
    before = tree(outside)
    try:
        delete_other_attempts(open_root(str(corpus)), "2026-11-23", "a3")
    except OutputRefused as e:
        assert "is a symbolic link" in str(e) and "\n" not in str(e)
    assert tree(outside) == before


def test_attempt_paths_are_checked():
    with pytest.raises(UnsafePath):
        attempt_rel("2026-11-23", "../../..")
    with pytest.raises(UnsafePath):
        attempt_rel("..", "a1")


def test_gcs_deletion_is_refused_too():
    from tests.gcs import storage_emulator

    with storage_emulator("xlner-safety") as client:
        bucket = client.bucket("xlner-safety")
        names = ["out/LATEST", "out/runs/r1/a1/ATTEMPT.json", "out/runs/r1/a1/por/p.parquet",
                 "out/runs/r2/a2/por/p.parquet", "out/runs/r2/a3/por/p.parquet",
                 "out/runs/r2/a5/por/p.parquet", "neighbour.txt"]
        for n in names:
            bucket.blob(n).upload_from_string(b"x")
        for a in ("a2", "a3"):
            bucket.blob(f"out/runs/r2/{a}/ATTEMPT.json").upload_from_string(
                json.dumps({"run_id": "r2", "attempt": a}).encode())
        names += ["out/runs/r2/a2/ATTEMPT.json", "out/runs/r2/a3/ATTEMPT.json"]
        root = open_root("gs://xlner-safety/out")
        for bad in ("..", "../..", "."):
            with pytest.raises(UnsafePath):
                delete_other_attempts(root, bad, "a9")
        assert sorted(b.name for b in client.list_blobs("xlner-safety")) == sorted(names)
        removed, left = delete_other_attempts(root, "r2", "a3")
        assert removed == 1 and left == ["runs/r2/a5"]
        assert sorted(b.name for b in client.list_blobs("xlner-safety")) == sorted(
            n for n in names if "/a2/" not in n)
