"""The dataset card: written with huggingface_hub, loads without a warning, names its
licence, its source and the models actually used, and holds no absolute path."""

import logging
import warnings

import pytest

from tests.helpers import read_outputs, write_jsonl
from pipeline.run import main


@pytest.fixture
def tiny_aligner(tiny_bert):
    return [f"--alignment_model={tiny_bert}", "--align_layers=2"]


def load_quietly(out, lang, caplog):
    import datasets

    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        ds = datasets.load_dataset(str(out), lang, split="train")
    said = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records
                                                if r.levelno >= logging.WARNING]
    return ds, said


def test_a_given_translation_run_loads_clean_and_names_no_translator(tmp_path, caplog,
                                                                     tiny_aligner):
    rows = [{"id": f"r{i}", "tokens": ["Maria", "lives", "in", "Lisbon", str(i)],
             "ner_tags": ["B-PER", "O", "O", "B-LOC", "O"],
             "translation_tokens": ["Maria", "mora", "em", "Lisboa", str(i)]}
            for i in range(6)]
    data = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out"
    assert main([f"--output={out}", f"--input={data}", "--target_langs=por_Latn",
                 "--license=cc-by-4.0", "--source_attribution=Made-up sentences, test suite",
                 "--runner=FnApiRunner", *tiny_aligner]) == 0
    card = (out / "README.md").read_text("utf-8")
    summary, _, _ = read_outputs(str(out))
    assert summary["languages"]["por_Latn"]["translation_origin"] == {"given": 6}
    # the models named are the models used: no translator ran
    assert "translation: none: every translation was given in the input" in card
    assert summary["provenance"]["translation_model"] not in card
    assert "\nlicense: cc-by-4.0\n" in card and "Made-up sentences, test suite" in card
    assert str(tmp_path) not in card  # relative paths only
    ds, said = load_quietly(out, "por_Latn", caplog)
    assert ds.num_rows == 6
    assert not [s for s in said if "card" in s.lower() or "dataset_info" in s
                or "malformed" in s], said


def test_the_default_licence_is_unknown():
    from xlner.formats.card import dataset_card

    card = dataset_card({"languages": {"por_Latn": {"written": 2}}}, ["por_Latn"],
                        shard_bytes={"por_Latn": 10}, shard_files={"por_Latn": ["a.parquet"]})
    assert "\nlicense: unknown\n" in card and "num_bytes: 10" in card
    assert "source: not given" in card
