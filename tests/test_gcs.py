"""Full runs reading and writing gs:// through Beam's filesystems, on a local GCS emulator."""

import json
import os

import pyarrow.parquet as pq
import pytest

from pipeline.evaluate import run as run_evaluation
from pipeline.options import sample_input_path
from pipeline.run import run
from tests.gcs import storage_emulator
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
