"""The real jobs over adversarial output trees (issue 15): links to folders outside the root
at every place the jobs write, files where folders go and folders where files go, FIFOs,
hard links, read-only folders, foreign files with our names. A sentinel tree outside the
root must be byte-identical afterwards (every file hashed, every link target read), and
each run either succeeds or stops with one line naming the path."""

import hashlib
import json
import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.evaluate import main as evaluate_main
from pipeline.latest import main as latest_main
from pipeline.run import main
from tests.adversary import (KINDS, fingerprint, make_sentinel, make_writable,
                             one_line_naming_a_path, plant)
from tests.helpers import write_jsonl

RUN_ID = "r1"


@pytest.fixture(scope="module")
def job(tmp_path_factory, tiny_bert):
    """A few sentences with their translations (one is a dead letter), and the name of the
    shard the job writes for them (learnt from a clean run: names are deterministic)."""
    d = tmp_path_factory.mktemp("adversarial-job")
    data = write_jsonl(d / "in.jsonl", [
        {"id": f"r{i}", "tokens": ["Ana", "mora", "em", "Lisboa"],
         "ner_tags": ["B-PER", "O", "O", "B-LOC"],
         "translation_tokens": ["Ana", "lives", "in", "Lisbon"]} for i in range(3)]
        + [{"id": "mismatch", "tokens": ["a", "b"], "ner_tags": ["O"]}])
    args = [f"--input={data}", f"--alignment_model={tiny_bert}", "--align_layers=2",
            "--share_models=false", f"--run_id={RUN_ID}"]
    assert main([f"--output={d}/clean", *args]) == 0
    with open(d / "clean" / "manifest.json") as f:
        listed = {x["kind"]: x["path"] for x in json.load(f)["files"]}
    return args, listed["shard"], listed["dead_letter"]


def places(shard, dead, publish):
    common = ["", "README.md", ".xlner.lock"]
    if not publish:
        return common + ["por_Latn", "dead_letter", "summary.json", "manifest.json",
                         "LEASE.json", shard, dead]
    return common + ["runs", f"runs/{RUN_ID}", f"runs/{RUN_ID}/LEASE.json", "LATEST",
                     f"runs/{RUN_ID}/a-old", f"runs/{RUN_ID}/a-old/por_Latn"]


def run_attacked(capsys, args, tree, publish, earlier_attempt=False):
    """Plant ``tree`` under a fresh root, run the job, check the sentinel and the outcome."""
    base = tempfile.mkdtemp(prefix="xlner-adversarial-")
    try:
        outside, root = os.path.join(base, "outside"), os.path.join(base, "out")
        make_sentinel(outside)
        if "" in tree:
            plant(base, "out", tree[""], outside)
        else:
            os.makedirs(root)
        if earlier_attempt and os.path.isdir(root) and not os.path.islink(root):
            _earlier_attempt(root, outside)
        for rel, kind in sorted(tree.items()):
            if rel:
                plant(root, rel, kind, outside)
        before = fingerprint(outside)
        capsys.readouterr()
        code = main([f"--output={root}", *args] + (["--publish"] if publish else []))
        err = capsys.readouterr().err
        assert fingerprint(outside) == before, (tree, err)
        lines = [line for line in err.splitlines() if line.startswith("xlner:")]
        if code != 0:
            assert code in (1, 2) and len(lines) == 1 and "Traceback" not in err, err
            assert one_line_naming_a_path(lines[0], root), lines[0]
        else:
            _check_outputs(root, publish)
        return code, lines
    finally:
        make_writable(base)
        shutil.rmtree(base)


def _earlier_attempt(root, outside):
    """An earlier attempt of the run id, ours by its ATTEMPT.json, holding a link to a
    folder outside and a hard link to a file outside: the clean-up removes the attempt's
    own entries and never follows either."""
    attempt = os.path.join(root, "runs", RUN_ID, "a-earlier")
    os.makedirs(os.path.join(attempt, "por_Latn"))
    with open(os.path.join(attempt, "ATTEMPT.json"), "w") as f:
        json.dump({"run_id": RUN_ID, "attempt": "a-earlier"}, f)
    os.symlink(os.path.join(outside, "dir"), os.path.join(attempt, "por_Latn", "linked"))
    os.link(os.path.join(outside, "hard.txt"), os.path.join(attempt, "summary.json"))


def _check_outputs(root, publish):
    if publish:
        assert latest_main([root, "--lang=por_Latn", "--verify"]) == 0
        return
    with open(os.path.join(root, "manifest.json")) as f:
        for entry in json.load(f)["files"]:
            with open(os.path.join(root, entry["path"]), "rb") as fh:
                assert hashlib.sha256(fh.read()).hexdigest() == entry["sha256"]


# ---------------------------------------------------------------- the reported cases
@pytest.mark.parametrize("place", ["runs", f"runs/{RUN_ID}"])
def test_publish_with_the_run_folder_linked_outside_deletes_nothing(capsys, job, place):
    args, _, _ = job
    code, lines = run_attacked(capsys, args, {place: "link_to_dir"}, publish=True)
    assert code == 2 and "is a symbolic link" in lines[0]


@pytest.mark.parametrize("place", ["por_Latn", "dead_letter", "summary.json", "README.md",
                                   "manifest.json"])
def test_without_publish_no_link_under_the_root_is_followed(capsys, job, place):
    args, _, _ = job
    kind = "link_to_file" if "." in place else "link_to_dir"
    code, lines = run_attacked(capsys, args, {place: kind}, publish=False)
    assert code == 2 and "is a symbolic link" in lines[0]


def test_a_shard_name_taken_by_a_folder_fails_the_run_naming_it(capsys, job):
    args, shard, _ = job
    code, lines = run_attacked(capsys, args, {shard: "folder"}, publish=False)
    assert code == 1 and shard in lines[0] and "is a folder" in lines[0]


def test_an_earlier_attempt_holding_links_is_cleaned_without_following_them(capsys, job):
    args, _, _ = job
    code, _ = run_attacked(capsys, args, {}, publish=True, earlier_attempt=True)
    assert code == 0


def test_foreign_files_with_our_shard_names_are_left_in_place(capsys, job):
    args, shard, dead = job
    code, _ = run_attacked(capsys, args, {shard.replace("-of-", "-of-9"): "foreign_file",
                                          dead.replace("-of-", "-of-9"): "foreign_file"},
                           publish=False)
    assert code == 0


@pytest.mark.parametrize("name", ["summary.json", "manifest.json", "README.md"])
def test_a_foreign_file_at_one_of_our_names_is_never_replaced(capsys, job, name):
    args, _, _ = job
    code, lines = run_attacked(capsys, args, {name: "hard_link"}, publish=False)
    assert code == 2 and name in lines[0]


# ---------------------------------------------------------------- every place, every kind
@pytest.mark.parametrize("publish", [False, True])
def test_every_kind_at_the_places_known_before_work(capsys, job, publish):
    """Links and wrong kinds at every place known before work stop the job before any
    work (exit 2): nothing is read, loaded or written. (A shard's name is known only once
    its bytes are: there the run fails, exit 1, see above and the generated trees.)"""
    args, shard, dead = job
    for place in places(shard, dead, publish):
        if place.count("/") > 1 or place in (shard, dead):
            continue
        is_file = "." in place or place == "LATEST"
        for kind in ("link_to_dir", "dangling_link",
                     "fifo" if is_file or not place else "file"):
            code, _ = run_attacked(capsys, args, {place: kind}, publish)
            assert code == 2, (place, kind)


@settings(max_examples=6, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_adversarial_trees_through_the_real_job(capsys, job, data):
    args, shard, dead = job
    publish = data.draw(st.booleans(), label="publish")
    tree = data.draw(st.dictionaries(st.sampled_from(places(shard, dead, publish)),
                                     st.sampled_from(KINDS), max_size=3), label="tree")
    run_attacked(capsys, args, tree, publish, earlier_attempt=publish)


# ---------------------------------------------------------------- the other roots
def test_a_linked_translation_cache_is_refused_before_work(capsys, job, tmp_path):
    args, _, _ = job
    outside = tmp_path / "outside"
    make_sentinel(str(outside))
    os.symlink(outside / "dir", tmp_path / "cache")
    before = fingerprint(str(outside))
    assert main([f"--output={tmp_path}/out", f"--translation_cache={tmp_path}/cache",
                 *args]) == 2
    err = capsys.readouterr().err
    assert "--translation_cache" in err and "is a symbolic link" in err
    assert fingerprint(str(outside)) == before


@pytest.mark.parametrize("place", ["predictions", "dead_letter", "metrics.json",
                                   "report.html"])
def test_the_evaluation_job_follows_no_link_either(capsys, tmp_path, place):
    outside = tmp_path / "outside"
    make_sentinel(str(outside))
    (tmp_path / "out").mkdir()
    plant(str(tmp_path / "out"), place, "link_to_file" if "." in place else "link_to_dir",
          str(outside))
    gold = write_jsonl(tmp_path / "gold.jsonl", [
        {"id": "g1", "tokens": ["Ana", "mora"], "ner_tags": ["B-PER", "O"]}])
    before = fingerprint(str(outside))
    code = evaluate_main([f"--output={tmp_path}/out", f"--input={gold}",
                          "--langs=por_Latn", "--methods=H-s-S"])
    err = capsys.readouterr().err
    assert code == 2 and place in err and "is a symbolic link" in err, err
    assert fingerprint(str(outside)) == before
