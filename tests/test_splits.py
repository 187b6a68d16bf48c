"""--validation_fraction: a deterministic held-out split that datasets loads by name."""

from __future__ import annotations

import logging
import warnings

import pytest

from pipeline.run import main
from tests.helpers import run_job
from xlner.formats.splits import files_by_split, in_validation


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
