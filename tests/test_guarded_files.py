"""The guarded file layer (xlner/storage/guarded_files.py) against adversarial trees: whatever sits
at the places the jobs write, nothing outside the root changes, and every refusal is one
line naming the path."""

import hashlib
import json
import os
import shutil
import tempfile
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversary import (KINDS, fingerprint, make_sentinel, make_writable,
                             one_line_naming_a_path, plant)
from xlner.storage.guarded_files import Conflict, OutputRefused, check_rel, open_root
from xlner.storage.publication import delete_other_attempts, record_run

# the places the translate-train job writes (folders and files), with and without --publish
PLACES = ["por_Latn", "dead_letter", "runs", "runs/r1", "runs/r1/a1", "runs/r1/a0",
          "runs/r1/a0/por_Latn", "summary.json", "README.md", "manifest.json", "LATEST",
          "LEASE.json", ".xlner.lock", "runs/r1/LEASE.json", "runs/r1/a0/ATTEMPT.json",
          "por_Latn/part-00000-of-00001-aaaaaaaaaaaa.parquet",
          "dead_letter/dead_letter-00000-of-00001-bbbbbbbbbbbb.jsonl",
          "runs/r1/a1/por_Latn/part-00000-of-00001-cccccccccccc.parquet"]
OURS = b"our bytes"


def operations(root):
    """Every kind of call the jobs make, on every place."""
    sha = hashlib.sha256(OURS).hexdigest()
    files = [p for p in PLACES if "." in p.rsplit("/", 1)[-1]]
    for rel in files:
        yield f"write {rel}", lambda rel=rel: root.write(rel, OURS)
        yield f"read {rel}", lambda rel=rel: root.read(rel)
        yield f"delete {rel}", lambda rel=rel: root.delete_matching(rel, sha)
    yield "create lease", lambda: root.create("runs/r1/LEASE.json", b"{}")
    yield "swap LATEST", lambda: root.write_if("LATEST", b"{}", root.read_versioned(
        "LATEST")[1])
    yield "remove attempt", lambda: root.remove_folder("runs/r1/a0")
    yield "list", lambda: root.list_files("por_Latn") + root.list_files("runs")
    yield "list run", lambda: root.list_dir("runs/r1")
    yield "clean attempts", lambda: delete_other_attempts(root, "r1", "a1")
    yield "record run", lambda: record_run(root, "", {"files": [
        {"path": "por_Latn/part-00000-of-00001-aaaaaaaaaaaa.parquet", "sha256": sha,
         "kind": "shard"}]}, ["por_Latn", "dead_letter"])
    yield "check places", lambda: root.check_places(["por_Latn", "runs/r1/a1"],
                                                    ["summary.json", "LATEST"])


def attack(tree: dict):
    base = tempfile.mkdtemp(prefix="xlner-adversary-")
    try:
        outside, rootdir = os.path.join(base, "outside"), os.path.join(base, "out")
        make_sentinel(outside)
        os.makedirs(rootdir)
        for rel, kind in sorted(tree.items()):
            plant(rootdir, rel, kind, outside)
        # a previous run's manifest that lists files in the adversarial places
        if not os.path.lexists(os.path.join(rootdir, "manifest.json")):
            with open(os.path.join(rootdir, "manifest.json"), "w") as f:
                json.dump({"files": [{"path": p, "sha256": hashlib.sha256(OURS).hexdigest()}
                                     for p in PLACES]}, f)
        before = fingerprint(outside)
        root = open_root(rootdir)
        for name, op in operations(root):
            try:
                op()
            except OutputRefused as e:
                assert one_line_naming_a_path(str(e), rootdir), (name, str(e))
            except Conflict:
                pass
        assert fingerprint(outside) == before, tree
    finally:
        make_writable(base)
        shutil.rmtree(base)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(PLACES), st.sampled_from(KINDS), min_size=1,
                       max_size=6))
def test_no_adversarial_tree_changes_anything_outside_the_root(tree):
    attack(tree)


@pytest.mark.parametrize("depth", sorted({p.count("/") for p in PLACES}))
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_at_every_place(kind, depth):
    """Each kind at every place of one depth at once (places of one depth never nest)."""
    attack({p: kind for p in PLACES if p.count("/") == depth})


def test_a_link_is_never_followed_and_the_refusal_names_it(tmp_path):
    outside = tmp_path / "outside"
    make_sentinel(str(outside))
    (tmp_path / "out").mkdir()
    os.symlink(outside / "dir", tmp_path / "out" / "por_Latn")
    root = open_root(str(tmp_path / "out"))
    with pytest.raises(OutputRefused, match="por_Latn is a symbolic link") as e:
        root.write("por_Latn/part.parquet", b"x")
    assert "\n" not in str(e.value) and not (outside / "dir" / "part.parquet").exists()
    (tmp_path / "out" / "summary.json").write_text("{}")
    with pytest.raises(OutputRefused, match="summary.json is a file, not a folder"):
        root.write("summary.json/x", b"x")
    with pytest.raises(OutputRefused, match="por_Latn is a symbolic link"):
        root.delete_matching("por_Latn/file.txt", "0" * 64)
    # the root itself may not be a link (links above it are the operator's choice)
    os.symlink(tmp_path / "out", tmp_path / "linked-out")
    with pytest.raises(OutputRefused, match="linked-out is a symbolic link"):
        open_root(str(tmp_path / "linked-out")).write("a", b"x")


def test_a_folder_swapped_for_a_link_mid_write_cannot_redirect_it(tmp_path):
    """Folders are held open by descriptor: replacing one by a link while the layer works
    does not send the write elsewhere (no check-then-use race)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = open_root(str(tmp_path / "out"))
    root.write("por_Latn/first", b"1")
    stop = threading.Event()

    def swap():
        while not stop.is_set():
            try:
                os.rename(tmp_path / "out" / "por_Latn", tmp_path / "out" / "real")
                os.symlink(outside, tmp_path / "out" / "por_Latn")
                os.unlink(tmp_path / "out" / "por_Latn")
                os.rename(tmp_path / "out" / "real", tmp_path / "out" / "por_Latn")
            except OSError:
                pass

    t = threading.Thread(target=swap)
    t.start()
    try:
        for i in range(100):
            try:
                root.write(f"por_Latn/f{i}", b"x")
            except OutputRefused:
                pass
    finally:
        stop.set()
        t.join()
    assert list(outside.iterdir()) == []


def test_a_folder_vanishing_while_it_is_created_never_sends_the_write_to_the_cwd(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = open_root(str(tmp_path / "out"))

    def vanished(parts, create):
        raise FileNotFoundError(2, "No such file or directory")

    monkeypatch.setattr(root, "_dir", vanished)
    with pytest.raises(OutputRefused, match="por_Latn vanished"):
        root.write("por_Latn/part.parquet", b"x")
    with pytest.raises(OutputRefused, match="por_Latn vanished"):
        root.create("por_Latn/LEASE.json", b"x")
    assert os.listdir(tmp_path) == []


def test_deletion_needs_the_recorded_bytes(tmp_path):
    root = open_root(str(tmp_path))
    root.write("por_Latn/a.parquet", b"ours")
    sha = hashlib.sha256(b"ours").hexdigest()
    (tmp_path / "por_Latn" / "b.parquet").write_bytes(b"changed since")
    assert root.delete_matching("por_Latn/b.parquet", sha) == "changed"
    assert root.delete_matching("por_Latn/missing.parquet", sha) == "missing"
    assert root.delete_matching("por_Latn/a.parquet", sha) == "removed"
    assert sorted(os.listdir(tmp_path / "por_Latn")) == ["b.parquet"]


def test_a_fifo_never_hangs_a_read(tmp_path):
    os.mkfifo(tmp_path / "summary.json")
    with pytest.raises(OutputRefused, match="summary.json is not a regular file"):
        open_root(str(tmp_path)).read("summary.json")


def test_compare_and_swap(tmp_path):
    root = open_root(str(tmp_path))
    assert root.create("LEASE.json", b"one") and not root.create("LEASE.json", b"two")
    data, token = root.read_versioned("LEASE.json")
    root.write("LEASE.json", b"changed")
    with pytest.raises(Conflict):
        root.write_if("LEASE.json", b"three", token)
    assert root.read("LEASE.json") == b"changed"


@pytest.mark.parametrize("rel", ["..", "../x", "a/../../x", "/etc/passwd", "a//b", "./a",
                                 "a\x00b", "a\\..\\b"])
def test_paths_that_could_leave_the_root_are_refused(rel):
    with pytest.raises(OutputRefused):
        check_rel(rel)


def test_gcs_paths_and_compare_and_swap():
    from tests.gcs import storage_emulator

    with storage_emulator("xlner-guard") as client:
        root = open_root("gs://xlner-guard/out")
        for rel in ("../x", "a/../../x", ".."):
            with pytest.raises(OutputRefused):
                root.write(rel, b"x")
        assert root.create("runs/r1/LEASE.json", b"a")
        assert not root.create("runs/r1/LEASE.json", b"b")
        data, token = root.read_versioned("runs/r1/LEASE.json")
        root.write("runs/r1/LEASE.json", b"c")
        with pytest.raises(Conflict):
            root.write_if("runs/r1/LEASE.json", b"d", token)
        sha = hashlib.sha256(b"c").hexdigest()
        assert root.delete_matching("runs/r1/LEASE.json", "0" * 64) == "changed"
        assert root.delete_matching("runs/r1/LEASE.json", sha) == "removed"
        client.bucket("xlner-guard").blob("neighbour").upload_from_string(b"n")
        root.probe()
        assert [b.name for b in client.list_blobs("xlner-guard")] == ["neighbour"]


def test_a_local_root_whose_parents_are_missing_is_made_like_mkdir_p(tmp_path):
    """`--output out/run1` in a fresh checkout (no out/ yet) works, as the README says;
    a parent that is a file is still refused with one line."""
    from xlner.storage.guarded_files import LocalRoot, OutputRefused
    root = LocalRoot(str(tmp_path / "a" / "b" / "run1"))
    root.probe()
    assert (tmp_path / "a" / "b" / "run1").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputRefused, match="not writable"):
        LocalRoot(str(tmp_path / "file" / "b" / "run1")).probe()
