"""The dataset card: written with huggingface_hub, loads without a warning, names its
licence, its source and the models actually used, and holds no absolute path."""

import logging
import warnings

import pyarrow.parquet as pq
import pytest

from tests.helpers import listed_files, read_outputs, write_jsonl
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
    # the card's dataset_info declares the shards' features, read back by datasets itself
    import datasets

    (_, shard), = listed_files(str(out), "shard")
    in_files = datasets.Features.from_arrow_schema(pq.read_schema(shard))
    assert in_files["ner_tags"] == datasets.Sequence(
        datasets.ClassLabel(names=summary["label_list"]))
    from huggingface_hub import DatasetCard

    declared = datasets.info.DatasetInfosDict.from_dataset_card_data(
        DatasetCard.load(out / "README.md").data)
    assert declared["por_Latn"].features == in_files
    assert datasets.load_dataset_builder(str(out), "por_Latn").info.features == in_files
    assert ds.features == in_files


def test_the_default_licence_is_unknown():
    from xlner.formats.card import dataset_card

    card = dataset_card({"languages": {"por_Latn": {"written": 2}}}, ["por_Latn"],
                        shard_bytes={"por_Latn": 10}, shard_files={"por_Latn": ["a.parquet"]})
    assert "\nlicense: unknown\n" in card and "num_bytes: 10" in card
    assert "source: not given" in card


def test_each_config_declares_the_shards_features_as_datasets_writes_them():
    import datasets
    import yaml
    from huggingface_hub import DatasetCardData

    from xlner.formats.card import front_matter
    from xlner.formats.schema import features

    labels = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    summary = {"label_list": labels, "languages": {"por_Latn": {"written": 2},
                                                    "swh_Latn": {"written": 3}}}
    text = front_matter(summary, ["por_Latn", "swh_Latn"], "", {"por_Latn": 10},
                        {"por_Latn": ["por_Latn/a.parquet"]})
    declared = datasets.info.DatasetInfosDict.from_dataset_card_data(
        DatasetCardData(**yaml.safe_load(text.strip("-\n"))))
    in_files = datasets.Features.from_dict(features(labels))
    assert set(declared) == {"por_Latn", "swh_Latn"}
    assert all(info.features == in_files for info in declared.values())
    assert declared["swh_Latn"].features["src_ner_tags"] == datasets.Sequence(
        datasets.ClassLabel(names=labels))
    # a summary without a label list declares no features rather than wrong ones
    bare = front_matter({"languages": {}}, ["por_Latn"], "", {}, {})
    assert "features" not in bare and "num_examples: 0" in bare


CONLL = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def test_a_conll2003_export_keeps_its_label_order_and_concatenates(tmp_path, tiny_aligner):
    import datasets

    features = datasets.Features({
        "id": datasets.Value("string"),
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(names=CONLL)),
        "translation_tokens": datasets.Sequence(datasets.Value("string"))})
    names = {n: i for i, n in enumerate(CONLL)}
    source = datasets.Dataset.from_dict({
        "id": [f"c{i}" for i in range(4)],
        "tokens": [["EU", "rejects", "German", "call", str(i)] for i in range(4)],
        "ner_tags": [[names[t] for t in ["B-ORG", "O", "B-MISC", "O", "O"]]] * 4,
        "translation_tokens": [["UE", "rejeita", "apelo", "alemão", str(i)]
                               for i in range(4)]}, features=features)
    data = tmp_path / "conll.parquet"
    source.to_parquet(str(data))
    out = tmp_path / "out"
    assert main([f"--output={out}", f"--input={data}", "--target_langs=por_Latn",
                 f"--label_list={','.join(CONLL)}", "--runner=FnApiRunner",
                 *tiny_aligner]) == 0
    summary, _, _ = read_outputs(str(out))
    assert summary["label_list"] == CONLL
    projected = datasets.load_dataset(str(out), "por_Latn", split="train")
    assert projected.features["ner_tags"].feature.names == CONLL
    # the output beside the input, without any mapping
    both = datasets.concatenate_datasets([source.select_columns(["tokens", "ner_tags"]),
                                          projected.select_columns(["tokens", "ner_tags"])])
    assert both.num_rows == 8 and both.features["ner_tags"].feature.names == CONLL


def test_a_label_list_that_misses_a_type_falls_back_to_sorted():
    from xlner.text.bio import label_list

    assert label_list({"PER", "LOC"}, CONLL) == CONLL
    assert label_list({"PER", "DATE"}, CONLL) == ["O", "B-DATE", "I-DATE", "B-PER", "I-PER"]
    assert label_list({"PER"}) == ["O", "B-PER", "I-PER"]
