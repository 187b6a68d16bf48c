"""Full runs reading and writing gs:// through Beam's filesystems, on a local GCS emulator."""

import json
import os

import pyarrow.parquet as pq
import pytest

from pipeline.evaluate import run as run_evaluation
from pipeline.options import sample_input_path
from pipeline.run import run
from tests.gcs import storage_emulator
from tests.helpers import write_jsonl
from transforms.publish import latest_manifest as read_latest, latest_shards

BUCKET = "xlner-test"
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture
def gcs():
    with storage_emulator(BUCKET) as client:
        yield client.bucket(BUCKET)


def test_translate_train_and_evaluation_on_gcs(gcs, tiny_bert, tiny_nllb, tiny_tagger_dir,
                                               tmp_path):
    gcs.blob("in/sample_en.conll").upload_from_filename(sample_input_path())
    gcs.blob("eval/swa/test.txt").upload_from_filename(
        os.path.join(FIXTURES, "masakhaner2", "swa", "test.txt"))
    aligner = [f"--alignment_model={tiny_bert}", "--align_layers=2"]
    common = [f"--input=gs://{BUCKET}/in/*.conll", f"--output=gs://{BUCKET}/corpus",
              f"--translation_cache=gs://{BUCKET}/cache", "--publish", "--run_id=2026-11-23",
              "--runner=FnApiRunner", *aligner]
    run(common)

    names = {b.name for b in gcs.client.list_blobs(BUCKET)}
    assert "corpus/LATEST" in names and "corpus/runs/2026-11-23/LEASE.json" not in names
    assert [n for n in names if n.endswith("/manifest.json")] == [
        f"corpus/runs/2026-11-23/{read_latest(f'gs://{BUCKET}/corpus')['attempt']}/manifest.json"]
    assert any(n.startswith("cache/translations-") and n.endswith(".parquet") for n in names)
    manifest = read_latest(f"gs://{BUCKET}/corpus")
    assert manifest["rows_by_lang"] == {"por_Latn": 40}
    shards = latest_shards(f"gs://{BUCKET}/corpus", "por_Latn")
    assert shards and all(s.startswith(f"gs://{BUCKET}/corpus/runs/2026-11-23/") for s in shards)
    local = tmp_path / "shard.parquet"
    gcs.blob(shards[0][len(f"gs://{BUCKET}/"):]).download_to_filename(str(local))
    assert pq.read_table(local).num_rows == 40

    # a second run reads the translation cache back from gs://
    run([a.replace("2026-11-23", "2026-11-30") for a in common])
    summary_path = [f["path"] for f in read_latest(f"gs://{BUCKET}/corpus")["files"]
                    if f["kind"] == "summary"][0]
    summary = json.loads(gcs.blob(f"corpus/{summary_path}").download_as_text())
    assert summary["languages"]["por_Latn"]["translation_origin"] == {"cache": 40}

    run_evaluation([f"--output=gs://{BUCKET}/report", "--dataset=masakhaner2",
                    f"--data_dir=gs://{BUCKET}/eval", "--langs=swa", "--methods=H-s-S,MT",
                    f"--ner_model={tiny_tagger_dir}", "--runner=FnApiRunner", *aligner,
                    f"--translation_model={tiny_nllb}", "--max_new_tokens=8"])
    names = {b.name for b in gcs.client.list_blobs(BUCKET, prefix="report/")}
    assert {"report/metrics.json", "report/report.html", "report/report.md"} <= names
    metrics = json.loads(gcs.blob("report/metrics.json").download_as_text())
    mt = metrics["languages"]["swa"]["methods"]["MT"]
    assert mt["typed"]["sentences"] == 4 and mt["failed"] == 0



@pytest.fixture
def gcsfs_on_the_emulator(monkeypatch, tmp_path):
    """gcsfs (what ``datasets`` reads gs:// with) on the emulator, and ``datasets`` allowed
    to read remote files. The test environment, not the load line: gcsfs finds the emulator
    by STORAGE_EMULATOR_HOST (set by storage_emulator), which takes anonymous requests; the
    emulator speaks only the JSON API, so gcsfs's JSON-API filesystem serves gs:// (its
    default subclass first asks the gRPC Storage Control API for the bucket type, and
    against the emulator waits 60 s per call before it falls back to the same JSON API);
    conftest's HF_HUB_OFFLINE=1 makes ``datasets`` refuse every remote path."""
    import datasets
    import fsspec
    import gcsfs.core

    previous = fsspec.get_filesystem_class("gs")
    fsspec.register_implementation("gs", gcsfs.core.GCSFileSystem, clobber=True)
    monkeypatch.setitem(fsspec.config.conf, "gcs", {"token": "anon"})
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", False)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-datasets")
    gcsfs.core.GCSFileSystem.clear_instance_cache()
    yield
    gcsfs.core.GCSFileSystem.clear_instance_cache()
    fsspec.register_implementation("gs", previous, clobber=True)


def test_a_published_corpus_loads_from_gcs_with_the_line_xlner_latest_prints(
        gcs, tiny_bert, tmp_path, capsys, gcsfs_on_the_emulator):
    """The trainer's remote path end to end: publish to gs://, ask ``xlner-latest`` for the
    load line, run that line exactly as printed (``datasets`` reads gs:// through gcsfs)."""
    import datasets

    from pipeline.latest import main as latest_main
    from xlner.formats.schema import features

    rows = [{"id": f"r{i}", "tokens": ["Ana", "mora", "em", f"Lisboa{i}"],
             "ner_tags": ["B-PER", "O", "O", "B-LOC"],
             "translation_tokens": ["Ana", "lives", "in", f"Lisbon{i}"]} for i in range(7)]
    data = write_jsonl(tmp_path / "in.jsonl", rows)
    root = f"gs://{BUCKET}/trainer"
    run([f"--input={data}", f"--output={root}", "--publish", "--run_id=r1",
         "--target_langs=por_Latn", "--runner=FnApiRunner",
         f"--alignment_model={tiny_bert}", "--align_layers=2"])
    assert latest_main([root, "--lang=por_Latn", "--load_line"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith('datasets.load_dataset("parquet", data_files=')
    shards = latest_shards(root, "por_Latn")
    assert shards and all(f'"{s}"' in line for s in shards)

    ds = eval(line, {"datasets": datasets})  # the line exactly as printed

    # the rows written, as written: the shards' own bytes, and the input they came from
    written = []
    for shard in shards:
        local = tmp_path / shard.rsplit("/", 1)[1]
        gcs.blob(shard[len(f"gs://{BUCKET}/"):]).download_to_filename(str(local))
        table = pq.read_table(local)
        written += table.to_pylist()
    labels = json.loads(table.schema.metadata[b"label_list"])
    assert ds.num_rows == len(written) == 7
    assert sorted(ds.to_list(), key=lambda r: r["id"]) == sorted(written, key=lambda r: r["id"])
    assert ds.features == datasets.Features.from_dict(features(labels))
    assert ds.features["ner_tags"] == datasets.Sequence(datasets.ClassLabel(names=labels))
    got = sorted(ds, key=lambda r: r["id"])
    assert [r["src_tokens"] for r in got] == [row["tokens"] for row in rows]
    assert [r["tokens"] for r in got] == [row["translation_tokens"] for row in rows]
    assert [[labels[t] for t in r["src_ner_tags"]] for r in got] == [
        row["ner_tags"] for row in rows]
