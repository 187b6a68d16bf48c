"""Issue 9, publication: a run id or path can never make the job delete or write outside
OUTPUT/runs/<run_id>/ (a run id of '..' used to delete LATEST and every published run)."""

import os

import pytest

from transforms.publish import (LATEST, UnsafePath, attempt_dir, check_inside, check_run_id,
                                delete_other_attempts, publish)


def tree(folder):
    return sorted(os.path.relpath(os.path.join(b, f), folder)
                  for b, _, fs in os.walk(folder) for f in fs)


@pytest.fixture
def corpus(tmp_path):
    """A published corpus, with a file next to it that is nobody's business."""
    root = tmp_path / "corpus"
    files = {"LATEST": "{}", "runs/2026-11-16/manifest.json": "{}",
             "runs/2026-11-16/a1/por_Latn/part-0.parquet": "x",
             "runs/2026-11-23/manifest.json": "{}",
             "runs/2026-11-23/a2/por_Latn/part-0.parquet": "x",
             "runs/2026-11-23/a3/por_Latn/part-0.parquet": "x"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
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
        delete_other_attempts(str(corpus), run_id, "a9")
    assert tree(corpus.parent) == before  # LATEST, every run and the neighbour are there


def test_delete_other_attempts_still_cleans_its_own_run(corpus):
    removed = delete_other_attempts(str(corpus), "2026-11-23", "a3")
    assert removed == 1
    assert tree(corpus) == ["LATEST", "runs/2026-11-16/a1/por_Latn/part-0.parquet",
                            "runs/2026-11-16/manifest.json",
                            "runs/2026-11-23/a3/por_Latn/part-0.parquet",
                            "runs/2026-11-23/manifest.json"]


def test_a_symlinked_attempt_cannot_lead_the_deletion_outside(corpus, tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "por_Latn").mkdir(parents=True)
    (outside / "por_Latn" / "precious.parquet").write_text("x")
    os.symlink(outside, corpus / "runs" / "2026-11-23" / "a0")
    with pytest.raises(UnsafePath, match="stale attempt file"):
        delete_other_attempts(str(corpus), "2026-11-23", "a3")
    assert (outside / "por_Latn" / "precious.parquet").exists()
    assert (corpus / "runs" / "2026-11-23" / "a2" / "por_Latn" / "part-0.parquet").exists()


def test_publish_with_a_bad_run_id_writes_and_deletes_nothing(corpus):
    before = tree(corpus.parent)
    with pytest.raises(UnsafePath):
        publish(str(corpus), "..", "a9", {"accounting_balanced": True}, [], [], [], 0)
    with pytest.raises(UnsafePath):
        attempt_dir(str(corpus), "2026-11-23", "../../..")
    assert tree(corpus.parent) == before and (corpus / LATEST).read_text() == "{}"


@pytest.mark.parametrize("root, path, inside", [
    ("/o", "/o/por_Latn/part", "/o/por_Latn/part"),
    ("/o/", "/o/por_Latn", "/o/por_Latn"),
    ("/o", "/o/a/./b/../c", "/o/a/c"),
    ("/o", "../x", None), ("/o", "/o", None), ("/o", "/o/", None), ("/o", "/other", None),
    ("/o", "/o2/x", None), ("/o", "/o/a/../../o/x", "/o/x"), ("/o", "/o/..", None),
    ("gs://b/o", "gs://b/o/por_Latn", "gs://b/o/por_Latn"),
    ("gs://b/o", "por_Latn", None),  # a local path
    ("gs://b/o/", "gs://b/o/x/../y", "gs://b/o/y"),
    ("gs://b/o", "../x", None), ("gs://b/o", "gs://b/o/../x", None),
    ("gs://b/o", "gs://c/o/x", None), ("gs://b/o", "/o/x", None), ("/o", "gs://b/o/x", None),
    ("gs://b/o", "gs://b/o", None), ("GS://b/o", "gs://b/o/x", "gs://b/o/x"),
])
def test_check_inside(root, path, inside):
    if inside is None:
        with pytest.raises(UnsafePath) as e:
            check_inside(root, path, "--target_langs path")
        assert "\n" not in str(e.value) and "is not inside" in str(e.value)
    else:
        assert check_inside(root, path) == inside


def test_relative_local_roots(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_inside("out", "out/por_Latn") == str(tmp_path / "out" / "por_Latn")
    assert check_inside("out/", "./out/a/../b") == str(tmp_path / "out" / "b")
    for bad in ("out/../x", "x", "../out/x"):
        with pytest.raises(UnsafePath):
            check_inside("out", bad)


def test_gcs_deletion_is_refused_too():
    from tests.gcs import storage_emulator

    with storage_emulator("xlner-safety") as client:
        bucket = client.bucket("xlner-safety")
        names = ["out/LATEST", "out/runs/r1/manifest.json", "out/runs/r1/a1/por/p.parquet",
                 "out/runs/r2/a2/por/p.parquet", "out/runs/r2/a3/por/p.parquet",
                 "neighbour.txt"]
        for n in names:
            bucket.blob(n).upload_from_string(b"x")
        for bad in ("..", "../..", "."):
            with pytest.raises(UnsafePath):
                delete_other_attempts("gs://xlner-safety/out", bad, "a9")
        assert sorted(b.name for b in client.list_blobs("xlner-safety")) == sorted(names)
        assert delete_other_attempts("gs://xlner-safety/out", "r2", "a3") == 1
        left = sorted(b.name for b in client.list_blobs("xlner-safety"))
        assert left == sorted(n for n in names if "/a2/" not in n)
