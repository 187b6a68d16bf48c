"""Input that cannot be silently wrong (issue 15, item 5): rows meant for one language never
become data for another, a file read in part fails the run, and paths that are not regular
files are refused before any work and never hang a worker."""

import gzip
import json
import os
import socket
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.run import main
from tests.helpers import one_line_error, read_outputs, write_jsonl

ROOT = os.path.join(os.path.dirname(__file__), "..")
GREEK = {"id": "g1", "tokens": ["Jesus", "Christ"], "ner_tags": ["B-ENT", "I-ENT"],
         "translation_tokens": ["Ἰησοῦ", "χριστοῦ"]}


@pytest.fixture
def tiny_aligner(tiny_bert):
    return [f"--alignment_model={tiny_bert}", "--align_layers=2"]


# ------------------------------------------------------------------ rows and target languages
@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_a_translation_without_tgt_lang_is_never_used_for_every_target(tmp_path, capsys,
                                                                       kind):
    rows = [dict(GREEK, id="tagged", tgt_lang="ell_Grek"), GREEK]
    if kind == "parquet":
        data = str(tmp_path / "in.parquet")
        pq.write_table(pa.Table.from_pylist(rows), data)
        where = f"row 1 of {data}"
    else:
        data = write_jsonl(tmp_path / "in.jsonl", rows)
        where = f"line 2 of {data}"
    line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--input={data}",
                                   "--target_langs=por_Latn,ell_Grek"])
    assert "1 input row(s) carry a translation without tgt_lang" in line
    assert where in line and "--target_langs names 2 languages" in line
    assert not os.path.exists(tmp_path / "out" / "por_Latn")


@pytest.mark.parametrize("kind", ["jsonl", "jsonl.gz", "parquet"])
def test_rows_meant_for_a_language_outside_the_targets_stop_before_any_work(tmp_path, capsys,
                                                                            kind):
    rows = [dict(GREEK, id=f"g{i}", tgt_lang="ell_Grek") for i in range(3)]
    rows.append({"id": "p", "tokens": ["Ana"], "ner_tags": ["B-PER"], "tgt_lang": "por_Latn"})
    path = tmp_path / f"in.{kind}"
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
        path.write_bytes(gzip.compress(text) if kind.endswith(".gz") else text)
    # the default target (por_Latn) must not turn the Greek rows into Portuguese data
    line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--input={path}"])
    assert "3 input row(s) are meant for ell_Grek (their tgt_lang" in line
    assert "give --target_langs=ell_Grek (or por_Latn,ell_Grek)" in line
    assert not os.path.exists(tmp_path / "out" / "summary.json")


def test_the_pre_flight_reads_gcs_inputs_too(tmp_path, capsys):
    from tests.gcs import storage_emulator

    rows = [dict(GREEK, id=f"g{i}", tgt_lang="ell_Grek") for i in range(2)]
    local = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), local)
    with storage_emulator("xlner-preflight") as client:
        bucket = client.bucket("xlner-preflight")
        bucket.blob("in/a.parquet").upload_from_filename(str(local))
        bucket.blob("in/b.jsonl.gz").upload_from_string(gzip.compress(
            (json.dumps(dict(GREEK, id="j", tgt_lang="swh_Latn")) + "\n").encode()))
        line = one_line_error(capsys, [f"--output={tmp_path}/out",
                                       "--input=gs://xlner-preflight/in/*"])
    assert "3 input row(s) are meant for ell_Grek,swh_Latn" in line


def test_the_job_guards_the_rule_where_the_pre_flight_cannot_see(tmp_path, capsys,
                                                                 tiny_aligner):
    """An escaped key ("tgt\\u005flang") hides from the launcher's text scan; the reader
    applies the same rule to every row: dead letters naming the language, exit 1."""
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": "a", "tokens": ["Ana"], "ner_tags": ["B-PER"], '
                    '"tgt\\u005flang": "ell_Grek"}\n'
                    '{"id": "b", "tokens": ["Rui"], "ner_tags": ["B-PER"]}\n', "utf-8")
    out = tmp_path / "out"
    assert main([f"--output={out}", f"--input={data}", *tiny_aligner]) == 1
    line = [x for x in capsys.readouterr().err.splitlines() if x.startswith("xlner:")][0]
    assert "1 input row(s) are meant for ell_Grek" in line and "--target_langs=ell_Grek" in line
    summary, rows, dead = read_outputs(str(out))
    assert [r["id"] for r in rows["por_Latn"]] == ["b"]
    assert [(d["reason"], d["record_id"], d["tgt_lang"]) for d in dead] == [
        ("tgt_lang_not_a_target", "a", "ell_Grek")]
    assert summary["accounting_balanced"]


def test_a_translation_for_the_one_target_is_used_as_given(tmp_path, tiny_aligner):
    untagged = dict(GREEK, id="u")  # no tgt_lang, one target: it is for that target
    tagged = dict(GREEK, id="t", tgt_lang="ell_Grek")
    data = write_jsonl(tmp_path / "in.jsonl", [untagged, tagged])
    assert main([f"--output={tmp_path}/out", f"--input={data}", "--target_langs=ell_Grek",
                 *tiny_aligner]) == 0
    summary, rows, dead = read_outputs(str(tmp_path / "out"))
    assert {r["id"]: r["tokens"] for r in rows["ell_Grek"]} == {
        "u": ["Ἰησοῦ", "χριστοῦ"], "t": ["Ἰησοῦ", "χριστοῦ"]}
    assert summary["languages"]["ell_Grek"]["translation_origin"] == {"given": 2}


# ------------------------------------------------------------------ files read in part
def truncated_gz(path, rows):
    data = gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode())
    path.write_bytes(data[:len(data) * 2 // 3])
    return str(path)


def test_a_truncated_input_fails_the_run_and_publishes_nothing(tmp_path, capsys, tiny_aligner):
    rows = [{"id": f"r{i}", "tokens": ["Ana", "mora", str(i)], "ner_tags": ["B-PER", "O", "O"],
             "translation_tokens": ["Ana", "lives", str(i)]} for i in range(400)]
    cut = truncated_gz(tmp_path / "in.jsonl.gz", rows)
    root = tmp_path / "corpus"
    args = [f"--output={root}", f"--input={cut}", "--publish", "--run_id=cut", *tiny_aligner]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert f"1 input file(s) could not be read to their end: {cut}" in err
    assert "--allow_partial_input" in err
    assert not (root / "LATEST").exists()  # nothing published over the previous corpus
    summaries = [os.path.join(b, "summary.json") for b, _, fs in os.walk(root)
                 if "summary.json" in fs]
    summary = json.load(open(summaries[0]))
    (entry,) = summary["incomplete_inputs"]
    assert entry["path"] == cut and 0 < entry["records_read"] < 400
    assert "truncated" in entry["error"]
    # the operator accepts the partial file: the rows read are used, and counted
    assert main([*args[:-3], "--run_id=cut2", "--allow_partial_input", *tiny_aligner]) == 0
    from transforms.publish import latest_manifest as read_latest

    latest = read_latest(str(root))
    assert latest["run_id"] == "cut2"
    assert latest["rows_by_lang"]["por_Latn"] == entry["records_read"]


def test_a_read_error_mid_file_is_a_file_read_in_part(tmp_path, capsys, monkeypatch,
                                                      tiny_aligner):
    import io

    import transforms.read as read

    class Failing(io.RawIOBase):
        def __init__(self, f):
            self._f, self._n = f, 0

        def readable(self):
            return True

        def readinto(self, b):
            if self._n > 300:
                raise OSError(5, "Input/output error")
            data = self._f.read(min(len(b), 100))
            b[:len(data)] = data
            self._n += len(data)
            return len(data)

        def close(self):
            self._f.close()

    opener = read.open_input
    monkeypatch.setattr(read, "open_input", lambda path: Failing(opener(path)))
    data = write_jsonl(tmp_path / "in.jsonl", [
        {"id": f"r{i}", "tokens": ["Ana"], "ner_tags": ["B-PER"]} for i in range(50)])
    assert main([f"--output={tmp_path}/out", f"--input={data}", *tiny_aligner]) == 1
    assert "could not be read to their end" in capsys.readouterr().err
    summary, _, _ = read_outputs(str(tmp_path / "out"))
    assert "Input/output error" in summary["incomplete_inputs"][0]["error"]


# ------------------------------------------------------------------ paths that are not files
def test_fifos_devices_sockets_and_directories_are_refused_before_any_work(tmp_path, capsys):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.jsonl"
    folder.mkdir()
    sock_path = str(tmp_path / "s.jsonl")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(sock_path)
    try:
        for path, kind in [(fifo, "a FIFO (named pipe)"), ("/dev/zero", "a character device"),
                           (folder, "a directory"), (sock_path, "a socket")]:
            line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--input={path}"])
            assert f"--input '{path}' is {kind}, not a regular file" in line
    finally:
        sock.close()


def test_a_glob_that_matches_a_folder_or_a_dangling_link_is_refused(tmp_path, capsys):
    """Beam's listing skips both without a word: the files meant to be read would be
    missing from the corpus."""
    (tmp_path / "d" / "more.jsonl").mkdir(parents=True)
    write_jsonl(tmp_path / "d" / "a.jsonl", [{"id": "a", "tokens": ["x"], "ner_tags": ["O"]}])
    line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--input={tmp_path}/d/*"])
    assert f"matches '{tmp_path}/d/more.jsonl', a directory, not a regular file" in line
    os.rmdir(tmp_path / "d" / "more.jsonl")
    os.symlink(tmp_path / "gone.jsonl", tmp_path / "d" / "b.jsonl")
    line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--input={tmp_path}/d/**"])
    assert f"matches '{tmp_path}/d/b.jsonl', a link to nothing" in line


def test_a_fifo_as_input_never_hangs_the_command(tmp_path):
    fifo = tmp_path / "pipe.conll"
    os.mkfifo(fifo)
    res = subprocess.run([sys.executable, "-m", "pipeline.run", f"--input={fifo}",
                          f"--output={tmp_path}/out"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 2 and "is a FIFO (named pipe)" in res.stderr


@pytest.mark.timeout(120)
def test_the_reader_never_blocks_on_a_fifo_or_a_device_it_is_given():
    """Reached inside the job (the path changed after the launcher looked), a FIFO without
    a writer and /dev/zero are unreadable files at once, not a hung worker."""
    import tempfile

    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from transforms.read import ReadLabeledSentences

    with tempfile.TemporaryDirectory() as folder:
        fifo = os.path.join(folder, "pipe.conll")
        os.mkfifo(fifo)
        with TestPipeline(runner="FnApiRunner") as p:
            read = p | ReadLabeledSentences([fifo, "/dev/zero"])
            dead = read.dead | beam.Map(lambda d: (d.reason, d.detail.split(": ", 1)[0],
                                                   "not a regular file" in d.detail))
            assert_that(dead, equal_to([("unreadable_file", fifo, True),
                                        ("unreadable_file", "/dev/zero", True)]))


# ------------------------------------------------------------------ tokens kept byte for byte
def test_given_tokens_reach_the_shards_byte_for_byte(tmp_path, tiny_aligner):
    """No reader, stage or writer normalises a token: joiners, decomposed accents (NFD),
    a no-break space inside a PAN-X style token all come out as they went in."""
    src = ["Sri", "Lanka", "Cafe\u0301", "New\u00a0York"]  # NFD é, NBSP inside a token
    tgt = ["ශ්\u200dරී", "ලංකාව", "می\u200cخواهم", "Cafe\u0301"]
    text = "ශ්\u200dරී ලංකාව می\u200cخواهم Cafe\u0301"
    data = write_jsonl(tmp_path / "in.jsonl", [
        {"id": "tokens", "tokens": src, "ner_tags": ["B-LOC", "I-LOC", "O", "B-LOC"],
         "translation_tokens": tgt},
        {"id": "text", "tokens": src, "ner_tags": ["B-LOC", "I-LOC", "O", "B-LOC"],
         "translation": text}])
    conll = tmp_path / "in.conll"
    conll.write_text("".join(f"{w}\t{t}\n" for w, t in zip(src, ["B-LOC", "I-LOC", "O",
                                                                  "B-LOC"])), "utf-8")
    assert main([f"--output={tmp_path}/out", f"--input={data}", "--target_langs=sin_Sinh",
                 *tiny_aligner]) == 0
    _, rows, _ = read_outputs(str(tmp_path / "out"))
    by_id = {r["id"]: r for r in rows["sin_Sinh"]}
    assert by_id["tokens"]["tokens"] == tgt and by_id["tokens"]["src_tokens"] == src
    assert by_id["text"]["tokens"] == tgt and by_id["text"]["translation"] == text
    assert [text[o["start"]:o["end"]] for o in by_id["text"]["token_offsets"]] == tgt
    from xlner.formats.inputs import conll_rows  # CoNLL columns split at the tab only

    (row,) = conll_rows(conll.read_text("utf-8").splitlines(True), "in.conll")
    assert row["tokens"] == src


def test_gold_data_read_in_part_fails_the_evaluation(tmp_path, capsys, tiny_nllb, tiny_bert,
                                                    tiny_tagger_dir):
    from pipeline.evaluate import main as evaluate

    gold = "".join(f"Nairobi B-LOC\nni O\nmji {i} O\n\n" for i in range(300)).encode()
    data = gzip.compress(gold)
    (tmp_path / "swa").mkdir()
    (tmp_path / "swa" / "test.txt.gz").write_bytes(data[:len(data) // 2])
    args = ["--dataset=masakhaner2", f"--data_dir={tmp_path}", "--langs=swa",
            "--data_pattern={data_dir}/{lang}/{split}.txt.gz", "--methods=MT",
            f"--translation_model={tiny_nllb}", f"--alignment_model={tiny_bert}",
            "--align_layers=2", f"--ner_model={tiny_tagger_dir}", "--max_new_tokens=8",
            "--span_only"]  # the tiny tagger's types are not the gold's; spans still score
    assert evaluate([f"--output={tmp_path}/a", *args]) == 1
    assert "gold data of swa could not be read to its end" in capsys.readouterr().err
    assert evaluate([f"--output={tmp_path}/b", *args, "--allow_partial_input"]) == 0
