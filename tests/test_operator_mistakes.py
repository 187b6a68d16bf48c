"""Operator mistakes stop the job before any work with one line and a non-zero exit; a
run that produced nothing useful never exits 0; outputs are deterministic and a reused
output folder holds exactly the new run's rows."""

import glob
import hashlib
import json
import os
import shutil

import pytest

from pipeline.run import main
from tests.helpers import one_line_error, read_outputs, write_jsonl


@pytest.fixture
def tiny_aligner(tiny_bert):
    return [f"--alignment_model={tiny_bert}", "--align_layers=2"]


def test_output_that_is_a_file_or_not_writable(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert "is a file" in one_line_error(capsys, [f"--output={a_file}"])
    # a folder that cannot be created (its parent is a file), whoever runs the test
    assert "not writable" in one_line_error(capsys, [f"--output={a_file}/out"])
    # a folder with somebody's README.md (--output . in a checkout): never overwritten
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# my project\n")
    assert "not an xlner dataset card" in one_line_error(capsys, [f"--output={project}"])
    assert (project / "README.md").read_text() == "# my project\n"


@pytest.mark.parametrize("argv, message", [
    (["--target_langs="], "--target_langs is empty"),
    (["--target_langs=por_Latn,por_Latn"], "repeats a language"),
    (["--model=facebook/nllb-200-3.3B"], "unknown option --model"),
    (["--input=/no/such/*.conll"], "matches no file"),
    (["--target_langs=../x"], "'../x' is not an NLLB-200 language code"),
    (["--target_langs=/etc"], "'/etc' is not an NLLB-200 language code"),
    (["--target_langs=sw"], "did you mean 'swh_Latn'"),
    (["--source_lang=english"], "did you mean 'eng_Latn'"),
    (["--publish", "--run_id=.."], "is not a safe run id"),
    (["--publish", "--run_id=../.."], "is not a safe run id"),
    (["--min_entity_score=0.5", "--entity_ratio_bounds=2,1"], "LOW <= HIGH"),
    (["--align_batch_size=0"], "--align_batch_size must be at least 1"),
    (["--n_proj=0"], "--n_proj must be at least 1"),
    (["--max_token_chars=0"], "--max_token_chars must be at least 1"),
    (["--runner=DaskRunner"], "--runner=DaskRunner is not supported"),
    (["--runner=apache_beam.runners.dask.dask_runner.DaskRunner"], "DaskRunner is not"),
    # NaN, infinities and negative values never reach a run (nor summary.json, the card)
    (["--min_entity_score=nan"], "--min_entity_score must be a number >= 0"),
    (["--length_ratio_threshold=-0.5"], "--length_ratio_threshold must be a number >= 0"),
    (["--length_ratio_bounds=nan,2"], "--length_ratio_bounds must be LOW,HIGH"),
    (["--score_weights=align=inf"], "--score_weights must be name=weight pairs"),
    (["--score_weights=align=0"], "--score_weights: 'align=0' gives no score a weight"),
    (["--merge_distance=-1"], "--merge_distance must be a whole number from 0"),
    (["--num_beams=1e3"], "--num_beams must be a whole number from 0 to 99"),
    (["--align_layers=0"], "--align_layers must be N, A-B or N,M,..."),
])
def test_mistakes_before_any_work(tmp_path, capsys, argv, message):
    assert message in one_line_error(capsys, [f"--output={tmp_path}/out", *argv])
    assert not os.path.exists(tmp_path / "out" / "summary.json")


def test_models_that_cannot_load_are_named_before_any_work(tmp_path, capsys, tiny_nllb):
    empty = tmp_path / "empty"
    empty.mkdir()
    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_nllb, pickled)
    for f in glob.glob(str(pickled / "*.safetensors")):
        os.rename(f, str(pickled / "pytorch_model.bin"))
    out = f"--output={tmp_path}/out"
    assert "no such folder" in one_line_error(
        capsys, [out, f"--translation_model={tmp_path}/missing"])
    assert "not a model folder (no config.json)" in one_line_error(
        capsys, [out, f"--alignment_model={empty}"])
    assert "--allow_pickle_weights" in one_line_error(capsys, [out, f"--translation_model={pickled}"])
    assert "no such embedded model" in one_line_error(capsys, [out, "--ner_model=embedded:x",
                                                               "--projection=ner"])


def test_a_model_that_fails_to_load_stops_the_run_once_with_one_line(tmp_path, capsys,
                                                                     tiny_nllb, tiny_aligner):
    from tests.hostile_models import misshaped_tensor

    broken = tmp_path / "nllb"
    shutil.copytree(tiny_nllb, broken)
    for f in glob.glob(str(broken / "*.safetensors")):
        with open(f, "wb") as fh:
            fh.write(b"garbage")
    line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--translation_model={broken}",
                                   "--target_langs=swh_Latn", *tiny_aligner])
    assert "not a complete safetensors file" in line and str(broken) in line
    # weights that look whole but do not fit the config are found when the model loads
    name = "model.encoder.layers.0.fc1.weight"
    misshaped = misshaped_tensor(tiny_nllb, tmp_path / "misshaped", name)
    line = one_line_error(capsys, [f"--output={tmp_path}/out2",
                                   f"--translation_model={misshaped}",
                                   "--target_langs=swh_Latn", *tiny_aligner])
    assert "ModelRefused" in line and str(misshaped) in line and f"wrong shape: {name}" in line
    assert not os.path.exists(tmp_path / "out2" / "summary.json")


def test_rows_without_a_single_projected_entity_fail_the_run(tmp_path, capsys, tiny_aligner):
    # a threshold no run can pass: rows are written, but they would teach a trainer nothing
    line = one_line_error(capsys, [f"--output={tmp_path}/a", "--projection=heuristic",
                                   "--length_ratio_threshold=50", *tiny_aligner], code=1)
    assert "por_Latn: 40 rows but no entity projected (of 93 in the source)" in line


def test_a_language_without_rows_fails_the_run_unless_allowed(tmp_path, capsys, tiny_aligner):
    # the embedded translator has no English->Swahili: every swh_Latn record dead-letters
    args = ["--target_langs=por_Latn,swh_Latn", *tiny_aligner]
    line = one_line_error(capsys, [f"--output={tmp_path}/a", *args], code=1)
    assert "swh_Latn: no rows written (40 dead-lettered); top reasons: " in line
    assert "translate/unsupported_language_pair x40 (" in line
    assert "give --translation_model" in line and "eng_Latn<->por_Latn" in line
    assert main([f"--output={tmp_path}/b", *args, "--allow_empty"]) == 0
    summary, rows, _ = read_outputs(str(tmp_path / "b"))
    assert summary["problems"] == [] and len(rows["por_Latn"]) == 40


def digests(folder):
    return {os.path.relpath(p, folder): hashlib.sha256(open(p, "rb").read()).hexdigest()
            for p in sorted(glob.glob(os.path.join(folder, "*", "part-*.parquet")))}


def test_shards_are_byte_identical_whatever_the_worker_count(tmp_path, tiny_aligner):
    data = write_jsonl(tmp_path / "in.jsonl", [
        {"id": f"r{i:03d}", "tokens": ["Ana", "mora", "em", "Lisboa", str(i)],
         "ner_tags": ["B-PER", "O", "O", "B-LOC", "O"], "tgt_lang": "por_Latn",
         "translation_tokens": ["Ana", "lives", "in", "Lisbon", str(i)]} for i in range(120)])
    common = [f"--input={data}", "--run_id=fixed", *tiny_aligner]
    assert main([f"--output={tmp_path}/one", *common]) == 0
    assert main([f"--output={tmp_path}/two", *common, "--direct_num_workers=2",
                 "--direct_running_mode=multi_processing"]) == 0
    one, two = digests(str(tmp_path / "one")), digests(str(tmp_path / "two"))
    assert one and one == two


def test_a_reused_output_folder_holds_exactly_the_new_run(tmp_path, tiny_aligner):
    out = str(tmp_path / "out")
    big = write_jsonl(tmp_path / "big.jsonl", [
        {"id": f"b{i}", "tokens": ["Ana", str(i)], "ner_tags": ["B-PER", "O"],
         "translation_tokens": ["Ana", str(i)]} for i in range(30)])
    small = write_jsonl(tmp_path / "small.jsonl", [
        {"id": f"s{i}", "tokens": ["Rui", str(i)], "ner_tags": ["B-PER", "O"],
         "translation_tokens": ["Rui", str(i)]} for i in range(3)])
    assert main([f"--output={out}", f"--input={big}", *tiny_aligner]) == 0
    import datasets

    assert datasets.load_dataset(out, "por_Latn", split="train").num_rows == 30  # cached now
    old_shard = glob.glob(f"{out}/por_Latn/part-*")[0]
    # files in our folders, with our names, that no manifest of ours lists: not ours
    foreign = [f"{out}/por_Latn/part-00007-of-00009-0123456789ab.parquet",
               f"{out}/dead_letter/dead_letter-00003-of-00004-0123456789ab.jsonl"]
    os.makedirs(f"{out}/dead_letter")
    shutil.copy(old_shard, foreign[0])
    with open(foreign[1], "w") as f:
        f.write('{"stage": "read", "reason": "from somebody else"}\n')
    (tmp_path / "out" / "keep.txt").write_text("not ours")
    assert main([f"--output={out}", f"--input={small}", *tiny_aligner]) == 0
    summary, rows, dead = read_outputs(out)
    assert sorted(r["id"] for r in rows["por_Latn"]) == ["s0", "s1", "s2"] and dead == []
    assert summary["languages"]["por_Latn"]["written"] == 3
    assert not os.path.exists(old_shard)  # the previous run's shard, listed and unchanged
    assert all(os.path.exists(f) for f in foreign) and (tmp_path / "out" / "keep.txt").exists()
    with open(f"{out}/manifest.json") as f:
        assert json.load(f)["foreign"] == sorted(os.path.relpath(p, out) for p in foreign)
    # the dataset card's infos change with the data: datasets does not serve its stale cache
    assert sorted(datasets.load_dataset(out, "por_Latn", split="train")["id"]) == [
        "s0", "s1", "s2"]
    # the same rows, other tags (every entity filtered out): the new data, not the cached
    assert main([f"--output={out}", f"--input={small}", "--min_entity_score=5",
                 "--allow_empty", *tiny_aligner]) == 0
    _, rows, _ = read_outputs(out)
    loaded = datasets.load_dataset(out, "por_Latn", split="train")
    names = loaded.features["ner_tags"].feature.names
    assert {i: [names[t] for t in tags] for i, tags in zip(loaded["id"], loaded["ner_tags"])} \
        == {r["id"]: r["ner_tags"] for r in rows["por_Latn"]} == {
            f"s{i}": ["O", "O"] for i in range(3)}


HOSTILE = os.path.join(os.path.dirname(__file__), "fixtures", "hostile")


def test_the_hostile_file_set_goes_through_the_job_with_every_record_accounted(
        tmp_path, capsys, tiny_aligner):
    import json

    with open(os.path.join(HOSTILE, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    args = [f"--input={HOSTILE}/data/**", *tiny_aligner]
    # two input files hold no records: that alone fails a run ...
    line = one_line_error(capsys, [f"--output={tmp_path}/strict", *args,
                                   "--allow_partial_input"], code=1)
    assert "2 input file(s) hold no records (read/empty_file)" in line
    # ... and so does the truncated one ...
    line = one_line_error(capsys, [f"--output={tmp_path}/strict2", *args, "--allow_empty"],
                          code=1)
    assert "1 input file(s) could not be read to their end: " in line
    assert "compressed/truncated.conll.gz" in line
    # ... unless allowed; then every record is written or dead-lettered with its reason
    assert main([f"--output={tmp_path}/out", *args, "--allow_empty",
                 "--allow_partial_input"]) == 0
    summary, rows, dead = read_outputs(str(tmp_path / "out"))
    written = {r["id"] for r in rows["por_Latn"]}
    assert written == set(expected["ok"])
    assert sorted((d["stage"], d["reason"], d["record_id"]) for d in dead) == sorted(
        (s, r, i) for s, r, i in expected["dead"])
    assert summary["accounting_balanced"] and summary["records_read"] == len(
        expected["ok"]) + len(expected["dead"])
    assert [e["path"].endswith("compressed/truncated.conll.gz")
            for e in summary["incomplete_inputs"]] == [True]
    reasons = {(r["stage"], r["reason"]): r for r in summary["dead_letter_reasons"]}
    assert reasons[("validate", "duplicate_id")]["count"] == 4
    assert all(d["detail"] for d in dead)  # every reason comes with a readable detail


def test_no_secret_from_the_environment_reaches_an_output_or_the_log(tmp_path, capfd,
                                                                      monkeypatch, tiny_aligner):
    secret = "s3cr3t-7f1c9a"
    for name in ("HF_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS_JSON", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, secret)
    assert main([f"--output={tmp_path}/out", *tiny_aligner]) == 0
    logged = "".join(capfd.readouterr())
    assert secret not in logged
    for path in glob.glob(f"{tmp_path}/out/**", recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                assert secret.encode() not in f.read(), path
