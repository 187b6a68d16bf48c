"""Splits: the input's own (split-named files, datasets exports) and --validation_fraction's
deterministic hold-out, each a split that datasets loads by name, with the books per split."""

from __future__ import annotations

import json
import logging
import os
import warnings

import pytest

from pipeline.run import main
from tests.helpers import one_line_error, read_outputs, run_job
from xlner.formats.splits import file_splits, files_by_split, in_validation, named_split


def test_the_split_is_a_stable_hash_of_the_id():
    ids = [f"doc{i}" for i in range(20_000)]
    held = [i for i in ids if in_validation(i, 0.2)]
    assert 0.18 < len(held) / len(ids) < 0.22
    assert held == [i for i in ids if in_validation(i, 0.2)]  # the same every time
    assert set(i for i in ids if in_validation(i, 0.1)) <= set(held)  # nested: rows stay put
    assert not any(in_validation(i, 0.0) for i in ids)
    assert files_by_split(["por_Latn/validation-00000-of-00001-ab.parquet",
                           "por_Latn/part-00000-of-00001-cd.parquet"]) == {
        "validation": ["por_Latn/validation-00000-of-00001-ab.parquet"],
        "train": ["por_Latn/part-00000-of-00001-cd.parquet"]}


def test_validation_fraction_gives_train_and_validation_that_load_clean(tmp_path, caplog):
    import datasets

    out = tmp_path / "out"
    _, rows, dead = run_job(str(out), "--validation_fraction=0.25")
    assert dead == [] and len(rows["por_Latn"]) == 40
    expected = {r["id"] for r in rows["por_Latn"] if in_validation(r["id"], 0.25)}
    assert 0 < len(expected) < 40
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        ds = datasets.load_dataset(str(out), "por_Latn")
    assert set(ds) == {"train", "validation"}
    assert set(ds["validation"]["id"]) == expected
    assert not set(ds["train"]["id"]) & expected
    assert ds["train"].num_rows + ds["validation"].num_rows == 40
    noise = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [m for m in noise if "card" in m.lower() or "split" in m.lower()], noise
    assert ds["validation"].features["ner_tags"].feature.names[0] == "O"


@pytest.mark.parametrize("value", ["nan", "1", "1.5", "-0.1", "inf"])
def test_a_fraction_that_is_not_one_stops_before_work(tmp_path, capsys, value):
    assert main([f"--output={tmp_path}/o", f"--validation_fraction={value}"]) == 2
    err = capsys.readouterr().err
    assert err.count("xlner: error:") == 1 and "--validation_fraction" in err


def test_the_latest_load_line_keeps_the_validation_split_apart(tmp_path, capsys):
    import datasets

    from pipeline.latest import main as latest_main

    root = tmp_path / "corpus"
    assert main([f"--output={root}", "--runner=FnApiRunner", "--validation_fraction=0.25",
                 "--publish", "--run_id=r1"]) == 0
    capsys.readouterr()
    assert latest_main([str(root), "--lang=por_Latn", "--load_line"]) == 0
    line = capsys.readouterr().out.strip()
    ds = eval(line, {"datasets": datasets})  # the line exactly as printed
    assert set(ds) == {"train", "validation"}
    assert ds["train"].num_rows + ds["validation"].num_rows == 40
    assert all(in_validation(i, 0.25) for i in ds["validation"]["id"])
    assert not any(in_validation(i, 0.25) for i in ds["train"]["id"])


# ---------------------------------------------------------------- the input's own splits
CONLL = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
# Real English sentences the embedded English->Portuguese translator handles.
SENTENCES = [
    ("Angela Merkel visited Paris on Monday .", "B-PER I-PER O B-LOC O O O"),
    ("The European Union is based in Brussels .", "O B-ORG I-ORG O O O B-LOC O"),
    ("John Smith works for Google in New York .", "B-PER I-PER O O B-ORG O B-LOC I-LOC O"),
    ("Maria lives in Lisbon .", "B-PER O O B-LOC O"),
    ("Microsoft opened an office in Berlin .", "B-ORG O O O O B-LOC O"),
    ("Pedro visited London last year .", "B-PER O B-LOC O O O"),
]


def load_clean(out, lang, caplog):
    """``load_dataset(out, lang)``, asserting that datasets said nothing about the card or
    the splits (warnings and log records both)."""
    import datasets

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        ds = datasets.load_dataset(str(out), lang)
    noise = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [m for m in noise if "card" in m.lower() or "split" in m.lower()], noise
    return ds


def conll_export(tmp_path):
    """A CoNLL-2003-like DatasetDict (HF's label order, integer ClassLabel tags, string
    ids restarting in every split), train/validation/test."""
    import datasets

    features = datasets.Features({
        "id": datasets.Value("string"),
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=CONLL))})

    def split(rows):
        return datasets.Dataset.from_dict({
            "id": [str(i) for i in range(len(rows))],
            "tokens": [text.split() for text, _ in rows],
            "ner_tags": [[CONLL.index(t) for t in tags.split()] for _, tags in rows]},
            features=features)

    return datasets.DatasetDict({"train": split(SENTENCES[:3]),
                                 "validation": split(SENTENCES[3:5]),
                                 "test": split(SENTENCES[5:])})


def test_split_names_of_input_files():
    assert named_split("data/train.conll") == "train"
    assert named_split("swa/dev.txt") == "validation"
    assert named_split("en-valid.jsonl.gz") == "validation"
    assert named_split("data/test-00000-of-00001.parquet") == "test"
    assert named_split("saved/validation/data-00000-of-00001.arrow") == "validation"
    assert named_split("default/test/0000.parquet") == "test"
    assert named_split("data/bible-dev/dev-translate-test.jsonl") is None  # two: none
    assert named_split("mytest/contest.conll") is None  # words, not substrings
    # one split alone is no split: everything is train, ids unchanged
    assert file_splits(["a/dev.jsonl", "a/notes.jsonl"]) == {"a/dev.jsonl": None,
                                                             "a/notes.jsonl": None}
    assert file_splits(["train.conll", "test.conll", "extra.conll"]) == {
        "train.conll": "train", "test.conll": "test", "extra.conll": "train"}
    assert list(files_by_split(["l/test-0.parquet", "l/part-0.parquet",
                                "l/validation-0.parquet"])) == ["train", "validation", "test"]


def test_split_named_conll_files_give_train_validation_test_that_load_clean(tmp_path,
                                                                             caplog):
    folder = tmp_path / "conll"
    folder.mkdir()
    blocks = ["\n".join(f"{w} {t}" for w, t in zip(text.split(), tags.split()))
              for text, tags in SENTENCES]
    (folder / "train.conll").write_text("\n\n".join(blocks[:3]) + "\n")
    # dev: two sentences and one with a tag that is not IOB2 (a dead letter of its split)
    (folder / "dev.conll").write_text("\n\n".join(blocks[3:5] + ["Rome X-LOC"]) + "\n")
    (folder / "test.conll").write_text(blocks[5] + "\n")
    out = tmp_path / "out"
    summary, rows, dead = run_job(str(out), f"--input={folder}/*.conll")

    ds = load_clean(out, "por_Latn", caplog)
    assert {s: ds[s].num_rows for s in ds} == {"train": 3, "validation": 2, "test": 1}
    assert ds["validation"]["id"] == ["validation/conll/dev.conll:0",
                                      "validation/conll/dev.conll:1"]
    assert all(i.startswith("test/") for i in ds["test"]["id"])
    assert sorted(os.listdir(out / "por_Latn"))[0].startswith("part-")  # train's old name
    assert [d["split"] for d in dead] == ["validation"] and dead[0]["reason"] == "invalid_tag"
    assert summary["splits"] == {"train": 3, "validation": 3, "test": 1}
    lang = summary["languages"]["por_Latn"]
    assert lang["written_by_split"] == {"train": 3, "validation": 2, "test": 1}
    assert lang["dead_lettered_by_split"] == {"validation": 1}
    assert summary["accounting_balanced"] and summary["problems"] == []


def test_a_save_to_disk_export_keeps_its_splits_and_label_order(tmp_path, caplog):
    """The CoNLL-2003 order (not sorted) without --label_list, and the output concatenates
    with the input without any mapping; a row without tokens is a dead letter."""
    import datasets

    export = conll_export(tmp_path)
    bad = export["train"].to_dict()
    bad["id"].append("broken")
    bad["tokens"].append(None)
    bad["ner_tags"].append([0])
    export["train"] = datasets.Dataset.from_dict(bad, features=export["train"].features)
    export.save_to_disk(str(tmp_path / "saved"))
    out = tmp_path / "out"
    assert main([f"--output={out}", f"--input={tmp_path / 'saved'}",
                 "--runner=FnApiRunner"]) == 0
    summary, _, dead = read_outputs(str(out))
    assert summary["label_list"] == CONLL
    assert [(d["record_id"], d["reason"], d["split"]) for d in dead] == [
        ("train/broken", "invalid_record", "train")]
    assert summary["splits"] == {"train": 4, "validation": 2, "test": 1}
    assert summary["accounting_balanced"]

    ds = load_clean(out, "por_Latn", caplog)
    assert set(ds) == {"train", "validation", "test"}
    assert sorted(ds["train"]["id"]) == ["train/0", "train/1", "train/2"]
    assert ds["train"].features["ner_tags"] == export["train"].features["ner_tags"]
    both = datasets.concatenate_datasets([
        export["train"].select(range(3)).select_columns(["tokens", "ner_tags"]),
        ds["train"].select_columns(["tokens", "ner_tags"])])
    assert both.num_rows == 6 and both.features["ner_tags"].feature.names == CONLL
    # the projection kept the entities: tags decode to the same types as the source
    by_id = {r["id"]: r for r in ds["train"]}
    assert by_id["train/0"]["ner_tags"][:2] == [CONLL.index("B-PER"), CONLL.index("I-PER")]


def test_a_parquet_export_keeps_its_splits_and_latest_loads_them(tmp_path, capsys):
    """``data/<split>-*.parquet`` (the Hub's layout); --validation_fraction holds out train
    rows only, beside the input's own test split; xlner-latest's line loads all three."""
    import datasets

    from pipeline.latest import main as latest_main

    export = conll_export(tmp_path)
    for split in ("train", "test"):  # no validation of its own: the fraction may hold out
        export[split].to_parquet(str(tmp_path / "hub" / "data" /
                                     f"{split}-00000-of-00001.parquet"))
    root = tmp_path / "corpus"
    assert main([f"--output={root}", f"--input={tmp_path}/hub/data/*.parquet",
                 "--validation_fraction=0.5", "--publish", "--run_id=r1",
                 "--runner=FnApiRunner"]) == 0
    capsys.readouterr()
    assert latest_main([str(root), "--lang=por_Latn", "--load_line"]) == 0
    line = capsys.readouterr().out.strip()
    ds = eval(line, {"datasets": datasets})  # the line exactly as printed
    held = {i for i in ["train/0", "train/1", "train/2"] if in_validation(i, 0.5)}
    assert 0 < len(held) < 3  # this fraction holds out some train rows, not all
    assert set(ds["validation"]["id"]) == held
    assert set(ds["train"]["id"]) == {"train/0", "train/1", "train/2"} - held
    assert ds["test"]["id"] == ["test/0"]
    assert ds["train"].features["ner_tags"].feature.names == CONLL
    with open(next(root.glob("runs/r1/*/summary.json")), encoding="utf-8") as f:
        summary = json.load(f)
    assert summary["splits"] == {"train": 3, "test": 1}
    assert summary["languages"]["por_Latn"]["written_by_split"] == {
        "train": 3 - len(held), "validation": len(held), "test": 1}
    assert summary["accounting_balanced"]


def test_validation_fraction_is_refused_when_the_input_has_its_own_validation(tmp_path,
                                                                              capsys):
    for name in ("train.jsonl", "dev.jsonl"):
        (tmp_path / name).write_text('{"tokens": ["Maria"], "ner_tags": ["B-PER"]}\n')
    line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--input={tmp_path}/*.jsonl",
                                   "--validation_fraction=0.1"])
    assert "--validation_fraction" in line and "dev.jsonl" in line
    assert not (tmp_path / "out").exists()  # before any work


def test_the_books_balance_per_split():
    from pipeline.graph import tally_dead, tally_valid
    from xlner.formats.inputs import Validated
    from xlner.formats.records import DeadLetter, LabeledSentence
    from xlner.formats.summary import Tally

    splits = {"train.conll": "train", "test.conll": "test"}

    def valid(rid):
        return tally_valid(Validated(LabeledSentence(rid, ("a",), ("O",), "eng_Latn"), 0),
                           splits)

    def written(split, input_split):
        return Tally.of_written("por_Latn", ["O"], ["O"], "model", split=split,
                                input_split=input_split)

    parts = [valid("train/a"), written("train", "train"),
             valid("train/b"), written("validation", "train"),  # held out of train
             valid("test/c"), tally_dead(DeadLetter("translate", "x", "test/c",
                                                    tgt_lang="por_Latn", split="test")),
             tally_dead(DeadLetter("validate", "invalid_tag", "test/d", split="test"))]
    total = Tally()
    for t in parts:
        total.add(t)
    report = total.report(["por_Latn"])
    assert report["splits"] == {"train": 2, "test": 2}
    assert report["languages"]["por_Latn"]["written_by_split"] == {"train": 1,
                                                                   "validation": 1}
    assert report["languages"]["por_Latn"]["dead_lettered_by_split"] == {"test": 2}
    assert report["accounting_balanced"]
    # the totals balance, but a test record counted as written in train does not
    moved = Tally()
    for t in parts[:4] + [valid("test/c"), written("train", "train"), parts[-1]]:
        moved.add(t)
    assert moved.report(["por_Latn"])["records_read"] == 4
    assert not moved.report(["por_Latn"])["accounting_balanced"]


def test_input_format_arrow_reads_an_ipc_file_and_checks_its_languages(tmp_path, capsys,
                                                                       tiny_bert):
    """``--input_format arrow`` on a name without ``.arrow``, in the IPC *file* format (the
    stream format is what save_to_disk writes): rows meant for a language outside
    --target_langs stop the job before any work; good rows are read and written."""
    import pyarrow as pa

    def ipc(path, tgt):
        table = pa.table({"tokens": [["Maria", "lives", "in", "Lisbon"]] * 2,
                          "ner_tags": [["B-PER", "O", "O", "B-LOC"]] * 2,
                          "translation_tokens": [["Maria", "mora", "em", "Lisboa"]] * 2,
                          "tgt_lang": [tgt, tgt]})
        with pa.ipc.new_file(str(path), table.schema) as w:
            w.write_table(table)
        return path

    greek = ipc(tmp_path / "rows.ipc", "ell_Grek")
    line = one_line_error(capsys, [f"--output={tmp_path}/o1", f"--input={greek}",
                                   "--input_format=arrow"])
    assert "ell_Grek" in line and "--target_langs" in line
    good = ipc(tmp_path / "good.ipc", "por_Latn")
    summary, rows, dead = run_job(str(tmp_path / "o2"), f"--input={good}",
                                  "--input_format=arrow", f"--alignment_model={tiny_bert}",
                                  "--align_layers=2")
    assert dead == [] and [r["id"] for r in rows["por_Latn"]] == [
        f"{tmp_path.name}/good.ipc:0", f"{tmp_path.name}/good.ipc:1"]
    assert "splits" in summary and summary["splits"] == {"train": 2}


def test_files_that_disagree_on_their_labels_give_no_input_order_and_say_so(caplog):
    from transforms.read import _one_label_list

    assert _one_label_list([("O", "B-PER", "I-PER")] * 2) == ("O", "B-PER", "I-PER")
    with caplog.at_level(logging.WARNING):
        assert _one_label_list([("O", "B-PER", "I-PER"), ("O", "I-PER", "B-PER")]) is None
    assert "2 different ClassLabel lists" in caplog.text and "--label_list" in caplog.text
