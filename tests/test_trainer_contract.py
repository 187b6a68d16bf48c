"""The trainer's contract: translate-train shards train a token classifier as they are."""

import json

import torch

from tests.helpers import run_job


def test_shards_load_cast_and_train_one_step(tmp_path, tiny_bert):
    import datasets
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    out = tmp_path / "out"
    run_job(str(out), f"--alignment_model={tiny_bert}", "--align_layers=2")
    with open(out / "summary.json", encoding="utf-8") as f:
        labels = json.load(f)["label_list"]

    # One line, no casting: the card names the config, the files carry the features.
    ds = datasets.load_dataset(str(out), "por_Latn", split="train")
    assert ds.features["ner_tags"].feature.names == labels
    assert all(0 <= t < len(labels) for row in ds["ner_tags"] for t in row)
    # pyarrow and pandas read the same files: integer tags, names in the schema metadata
    import glob

    import pandas as pd
    import pyarrow.parquet as pq

    shard = sorted(glob.glob(str(out / "por_Latn" / "*.parquet")))[0]
    assert json.loads(pq.read_schema(shard).metadata[b"label_list"]) == labels
    assert list(pd.read_parquet(shard)["ner_tags"].iloc[0]) == ds["ner_tags"][0]
    entities = ds[0]["entities"]
    assert entities and {"start", "end", "label", "score", "source_index"} <= set(entities[0])

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)

    def encode(batch):
        enc = tokenizer(batch["tokens"], is_split_into_words=True, truncation=True,
                        padding="max_length", max_length=48)
        enc["labels"] = []
        for i, tags in enumerate(batch["ner_tags"]):
            previous, row = None, []
            for w in enc.word_ids(i):  # label the first subword of each word
                row.append(-100 if w is None or w == previous else tags[w])
                previous = w
            enc["labels"].append(row)
        return enc

    train = ds.map(encode, batched=True, remove_columns=ds.column_names)
    train.set_format("torch")
    model = AutoModelForTokenClassification.from_pretrained(
        tiny_bert, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)})
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = train[:8]
    before = model.classifier.weight.detach().clone()
    loss = model(**batch).loss
    loss.backward()
    optimiser.step()
    assert torch.isfinite(loss)
    assert not torch.equal(before, model.classifier.weight)
