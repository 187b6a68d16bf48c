"""The translate-train job end to end on the FnApiRunner (tiny encoder unless stated)."""

import dataclasses
import json
import os

import pytest

from pipeline.options import ConfigError
from tests.helpers import run_job, write_jsonl


@pytest.fixture
def tiny_aligner(tiny_bert):
    return [f"--alignment_model={tiny_bert}", "--align_layers=2"]


def test_sample_run_writes_readable_shards_and_a_balanced_summary(tmp_path, tiny_aligner):
    import datasets

    out = tmp_path / "out"
    summary, rows, dead = run_job(str(out), "--share_models=false", *tiny_aligner)
    assert summary["records_read"] == 40 and summary["accounting_balanced"]
    por = rows["por_Latn"]
    assert len(por) == 40 and dead == []
    for r in por:
        assert len(r["tokens"]) == len(r["ner_tags"]) > 0
        assert [r["translation"][o["start"]:o["end"]] for o in r["token_offsets"]] == r["tokens"]
        assert r["translation_origin"] == "model" and "provenance" not in r
    assert summary["provenance"]["translation_model"] == "embedded:marian-en-pt"
    assert sorted(r["id"] for r in por)[0] == "data/sample_en.conll:0"
    assert summary["label_list"][0] == "O" and "B-PER" in summary["label_list"]
    # the trainer's one line: the card's config per language, typed ClassLabel tags
    ds = datasets.load_dataset(str(out), "por_Latn", split="train")
    assert ds.num_rows == 40 and set(ds.column_names) >= {"id", "tokens", "ner_tags"}
    assert ds.features["ner_tags"].feature.names == summary["label_list"]
    assert ds.features["entities"].feature["score"].dtype == "float32"


def test_bad_input_goes_to_dead_letter_and_everything_is_accounted(tmp_path, tiny_aligner):
    conll = tmp_path / "bad.conll"
    conll.write_text("-DOCSTART- O\n\nParis B-LOC\nis O\nnice O\n\n"
                     "broken-line-without-tag\nx O\n\n"
                     "Lisbon PER\n\n"            # tag without prefix: ambiguous
                     "Lisbon I-LOC\nrocks O\n\n",  # IOB1: repaired
                     encoding="utf-8")
    jsonl = write_jsonl(tmp_path / "bad.jsonl", [
        {"id": "empty", "tokens": [], "ner_tags": []},
        {"id": "long", "tokens": ["word"] * 2000, "ner_tags": ["O"] * 2000},
        "{not json",
        {"id": "mismatch", "tokens": ["a", "b"], "ner_tags": ["O"]},
        {"id": "ok", "tokens": ["John", "lives", "in", "Lisbon"],
         "ner_tags": ["B-PER", "O", "O", "B-LOC"]},
    ])
    summary, rows, dead = run_job(str(tmp_path / "out"), f"--input={conll},{jsonl}",
                                  *tiny_aligner)
    reasons = sorted((d["stage"], d["reason"]) for d in dead)
    assert reasons == sorted([("read", "malformed_line"), ("validate", "invalid_tag"),
                              ("validate", "empty_sentence"), ("validate", "sentence_too_long"),
                              ("read", "malformed_line"), ("validate", "length_mismatch")])
    assert all(d["detail"] for d in dead)
    assert {d["record_id"] for d in dead} >= {"empty", "long", "mismatch"}
    assert summary["records_read"] == 9 and summary["records_rejected"] == 6
    assert summary["records_repaired"] == 1
    lang = summary["languages"]["por_Latn"]
    assert lang["written"] == 3 and lang["accounted"] and summary["accounting_balanced"]
    # CoNLL ids are <folder>/<file>:<sentence ordinal>; JSONL rows keep their own id
    ids = {r["id"].split("/")[-1] for r in rows["por_Latn"]}
    assert ids == {"bad.conll:0", "bad.conll:3", "ok"}


def corrupt_weights(model_dir):
    """Keep the folder a model by its look (it passes the pre-flight check: complete
    safetensors) but make it fail to load (a tensor of the wrong shape): a run that
    succeeds with it never loaded it."""
    from safetensors.torch import load_file, save_file

    weights = os.path.join(model_dir, "model.safetensors")
    state = load_file(weights)
    name = next(iter(state))
    state[name] = state[name].new_zeros(*(d + 1 for d in state[name].shape))
    save_file(state, weights, metadata={"format": "pt"})


def test_given_translations_never_load_a_translation_model(tmp_path, tiny_aligner,
                                                          tiny_nllb):
    import shutil

    data = write_jsonl(tmp_path / "given.jsonl", [
        {"id": "a", "tokens": ["Maria", "lives", "in", "Lisbon"],
         "ner_tags": ["B-PER", "O", "O", "B-LOC"], "tgt_lang": "por_Latn",
         "translation_tokens": ["Maria", "mora", "em", "Lisboa"],
         "gold_translation_tags": ["B-PER", "O", "O", "B-LOC"]},
        {"id": "b", "tokens": ["Paris"], "ner_tags": ["B-LOC"],
         "translation": "Paris, França"},
    ])
    unloadable = str(tmp_path / "nllb")
    shutil.copytree(tiny_nllb, unloadable)
    corrupt_weights(unloadable)
    summary, rows, dead = run_job(str(tmp_path / "out"), f"--input={data}",
                                  f"--translation_model={unloadable}", *tiny_aligner)
    assert dead == []
    by_id = {r["id"]: r for r in rows["por_Latn"]}
    assert by_id["a"]["tokens"] == ["Maria", "mora", "em", "Lisboa"]
    assert by_id["a"]["token_offsets"] is None and by_id["a"]["translation"] == "Maria mora em Lisboa"
    assert by_id["b"]["tokens"] == ["Paris", ",", "França"]
    assert summary["languages"]["por_Latn"]["translation_origin"] == {"given": 2}
    assert json.loads(by_id["a"]["extra"]) == {"gold_translation_tags": ["B-PER", "O", "O", "B-LOC"]}
    assert summary["languages"]["por_Latn"]["gold_evaluation"]["sentences"] == 1


def test_translation_cache_is_written_then_reused_without_the_model(tmp_path, tiny_nllb,
                                                                    tiny_aligner, monkeypatch):
    from xlner.models import translators

    import shutil

    model = str(tmp_path / "nllb")
    shutil.copytree(tiny_nllb, model)
    data = write_jsonl(tmp_path / "in.jsonl", [
        {"id": f"s{i}", "tokens": ["Angela", "Merkel", "visited", "Paris", str(i % 3)],
         "ner_tags": ["B-PER", "I-PER", "O", "B-LOC", "O"]} for i in range(6)])
    cache = str(tmp_path / "cache")
    args = [f"--input={data}", f"--translation_model={model}", f"--translation_cache={cache}",
            "--max_new_tokens=6", *tiny_aligner]
    first, rows1, dead1 = run_job(str(tmp_path / "out1"), *args)
    assert first["languages"]["por_Latn"]["translation_origin"] == {"model": 6}
    cached_files = [f for f in os.listdir(cache) if f.endswith(".parquet")]
    assert cached_files
    import pyarrow.parquet as pq
    assert pq.read_table(os.path.join(cache, cached_files[0])).num_rows == 3  # 3 distinct texts

    # a second run must not need the model any more (its weights stay: they are the key)
    monkeypatch.setattr(translators.HFSeq2SeqTranslator, "__init__",
                        lambda *a, **k: pytest.fail("the translation model was loaded"))
    second, rows2, dead2 = run_job(str(tmp_path / "out2"), *args)
    assert second["languages"]["por_Latn"]["translation_origin"] == {"cache": 6}
    t1 = {r["id"]: r["translation"] for r in rows1["por_Latn"]}
    t2 = {r["id"]: r["translation"] for r in rows2["por_Latn"]}
    assert t1 == t2 and dead1 == dead2 == []


def test_several_target_languages_are_accounted_separately(tmp_path, tiny_aligner):
    summary, rows, dead = run_job(str(tmp_path / "out"), "--target_langs=por_Latn,swh_Latn",
                                  *tiny_aligner)
    assert len(rows["por_Latn"]) == 40 and rows["swh_Latn"] == []
    assert {d["reason"] for d in dead} == {"unsupported_language_pair"}
    assert summary["languages"]["swh_Latn"]["dead_lettered"] == 40
    assert summary["accounting_balanced"]


def test_parquet_input_with_integer_tags_from_hf_metadata(tmp_path, tiny_aligner):
    import datasets

    feats = datasets.Features({
        "id": datasets.Value("string"),
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(
            names=["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]))})
    ds = datasets.Dataset.from_dict({"id": ["p0", "p1"],
                                     "tokens": [["Kofi", "Annan", "left"], ["Lagos"]],
                                     "ner_tags": [[1, 2, 0], [5]]}, features=feats)
    path = tmp_path / "hf.parquet"
    ds.to_parquet(str(path))
    summary, rows, dead = run_job(str(tmp_path / "out"), f"--input={path}", *tiny_aligner)
    src = {r["id"]: r["src_ner_tags"] for r in rows["por_Latn"]}
    assert src == {"p0": ["B-PER", "I-PER", "O"], "p1": ["B-LOC"]}


def test_portable_runner_with_embedded_job_service_and_shared_models(tmp_path, tiny_aligner):
    """What Flink and Dataflow execute: the portable protocol, models behind the proxy."""
    summary, rows, dead = run_job(
        str(tmp_path / "out"), "--job_endpoint=embed", "--environment_type=LOOPBACK",
        "--share_models", *tiny_aligner, runner="PortableRunner")
    assert summary["accounting_balanced"] and len(rows["por_Latn"]) == 40


def test_a_typo_in_our_options_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="did you mean --target_langs"):
        run_job(str(tmp_path / "out"), "--target_lang=por_Latn")


def test_missing_input_fails_before_running(tmp_path):
    with pytest.raises(ConfigError, match="matches no file"):
        run_job(str(tmp_path / "out"), f"--input={tmp_path}/nothing-*.conll")


@pytest.mark.parametrize("flags", [["--projection=ngram"],
                                   ["--projection=ngram", "--matching=ilp"],
                                   ["--projection=ner", "--matching=greedy"],
                                   ["--projection=model_transfer"],
                                   ["--projection=heuristic", "--align_method=awesome"]])
def test_every_projection_method_runs_through_the_graph(tmp_path, tiny_aligner, flags):
    from xlner.text.bio import is_iob2, tags_to_spans

    summary, rows, dead = run_job(str(tmp_path / "out"), *flags, *tiny_aligner)
    assert summary["accounting_balanced"] and dead == [] and len(rows["por_Latn"]) == 40
    method = flags[0].split("=")[1]
    for r in rows["por_Latn"]:
        assert is_iob2(r["ner_tags"]) and len(r["ner_tags"]) == len(r["tokens"])
        assert summary["provenance"]["projection"] == method
        spans = tags_to_spans(r["ner_tags"])
        assert [(s.start, s.end, s.label) for s in spans] == [
            (e["start"], e["end"], e["label"]) for e in r["entities"]]
        if method == "model_transfer":
            assert r["alignment"] == []


def test_easyproject_projection_with_the_embedded_translator(tmp_path):
    summary, rows, dead = run_job(str(tmp_path / "out"), "--projection=easyproject")
    assert summary["accounting_balanced"] and len(rows["por_Latn"]) == 40
    first = next(r for r in rows["por_Latn"] if r["id"].endswith(":0"))
    assert first["tokens"][:2] == ["Angela", "Merkel"] and first["ner_tags"][:2] == [
        "B-PER", "I-PER"]
    assert "[" not in first["translation"] and first["translation"].startswith("Angela Merkel")
    assert summary["languages"]["por_Latn"]["entities_out_total"] >= 80  # of 93


def test_tgt2tgt_gives_one_outcome_per_record_even_when_both_branches_fail(tmp_path,
                                                                          tiny_aligner):
    summary, rows, dead = run_job(str(tmp_path / "out"), "--align_direction=tgt2tgt",
                                  "--target_langs=por_Latn,swh_Latn", *tiny_aligner)
    assert len(rows["por_Latn"]) == 40
    swh = [d for d in dead if d["tgt_lang"] == "swh_Latn"]
    assert len(swh) == 40 and len({d["record_id"] for d in swh}) == 40
    assert summary["accounting_balanced"]
    settings = json.loads(summary["provenance"]["projection_settings"])
    assert settings["align_direction"] == "tgt2tgt"


def test_label_source_tags_unlabelled_sentences_with_ner(tmp_path, tiny_aligner):
    data = write_jsonl(tmp_path / "raw.jsonl", [
        {"id": "u1", "tokens": "Angela Merkel visited Paris on Monday .".split()},
        {"id": "u2", "tokens": "Barack Obama met Pope Francis in Rome .".split()}])
    summary, rows, dead = run_job(str(tmp_path / "out"), f"--input={data}",
                                  "--label_source", *tiny_aligner)
    src = {r["id"]: r["src_ner_tags"] for r in rows["por_Latn"]}
    assert src["u1"][:4] == ["B-PER", "I-PER", "O", "B-LOC"]
    assert summary["languages"]["por_Latn"]["entities_in"]["PER"] >= 2


def test_tgt2tgt_with_other_projections_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="tgt2tgt needs an aligning projection"):
        run_job(str(tmp_path / "out"), "--align_direction=tgt2tgt", "--projection=easyproject")


def test_thesis_score_fusion_runs_with_a_hugging_face_tagger(tmp_path, tiny_aligner,
                                                            tiny_tagger_dir):
    summary, rows, dead = run_job(str(tmp_path / "out"), "--projection=ngram",
                                  "--score_weights=align=0.5,ner=0.5",
                                  f"--ner_model={tiny_tagger_dir}", *tiny_aligner)
    assert summary["accounting_balanced"] and len(rows["por_Latn"]) == 40 and dead == []
    settings = json.loads(summary["provenance"]["projection_settings"])
    assert settings["score_weights"] == [["align", 0.5], ["ner", 0.5]]
    with pytest.raises(ConfigError, match="spaCy gives no probabilities"):
        run_job(str(tmp_path / "out2"), "--projection=ngram", "--score_weights=align=1,ner=1")


def test_each_distinct_sentence_is_encoded_once_across_target_languages(tmp_path, tiny_nllb,
                                                                        tiny_aligner):
    """The English side is shared by every target language: 3 languages encode it once."""
    from apache_beam.metrics.metric import MetricsFilter

    from pipeline.run import run

    targets = ["por_Latn", "swh_Latn", "yor_Latn"]
    result, cfg = run([f"--output={tmp_path}/out", f"--translation_model={tiny_nllb}",
                       f"--target_langs={','.join(targets)}", "--max_new_tokens=8",
                       *tiny_aligner])
    counters = result.metrics().query(MetricsFilter().with_name("sentences_encoded"))
    encoded = sum(c.committed for c in counters["counters"])
    from tests.helpers import read_outputs

    _, rows, _ = read_outputs(f"{tmp_path}/out")
    pairs = [r for lang in targets for r in rows[lang]]
    # distinct (language, words): the 40 English sources once, each translation once
    sources = {(r["src_lang"], tuple(r["src_tokens"])) for r in pairs}
    translations = {(r["lang"], tuple(r["tokens"])) for r in pairs}
    assert len(pairs) == 120 and len(sources) == 40
    assert encoded == len(sources) + len(translations) < 2 * len(pairs)


@pytest.mark.parametrize("beam_args, one_process", [
    ([], True), (["--direct_running_mode=multi_threading"], True),
    (["--direct_running_mode=multi_processing", "--direct_num_workers=2"], False),
    (["--environment_type=EXTERNAL", "--environment_config=localhost:1"], False),
    (["--runner=PortableRunner", "--job_endpoint=embed"], False)])
def test_models_are_shared_across_processes_only_where_there_are_several(
        beam_args, one_process):
    """``--share_models`` (the default) puts models behind Beam's cross-process proxy; a
    runner that runs every bundle in the launching process has no other process, so its
    models load in-process (no socket between the job and its model)."""
    from pipeline.config import RunConfig
    from pipeline.launch import beam_options, runs_in_one_process
    from pipeline.options import JOBS, parse_args

    assert runs_in_one_process(beam_options(beam_args)) is one_process
    opts, _ = parse_args(JOBS["run"], ["--target_langs=por_Latn"])
    cfg = RunConfig.from_options(opts)
    assert cfg.models.placement.share_across_processes  # as the option says, by default
    placed = dataclasses.replace(cfg, in_process=one_process).models.placement
    assert placed.share_across_processes is not one_process
    opts, _ = parse_args(JOBS["run"], ["--target_langs=por_Latn", "--share_models=false"])
    assert not dataclasses.replace(RunConfig.from_options(opts), in_process=False) \
        .models.placement.share_across_processes


def test_a_default_in_process_run_builds_no_model_sharing_proxy(tmp_path, tiny_bert,
                                                               monkeypatch):
    from apache_beam.utils import multi_process_shared

    from pipeline.run import main
    from tests.helpers import small_job_args

    made = []
    original = multi_process_shared.MultiProcessShared.__init__

    def counted(self, *a, **k):
        made.append(a)
        original(self, *a, **k)

    monkeypatch.setattr(multi_process_shared.MultiProcessShared, "__init__", counted)
    args = [a for a in small_job_args(tmp_path, tiny_bert) if a != "--share_models=false"]
    out = tmp_path / "out"
    assert main([*args, f"--output={out}", "--target_langs=por_Latn",
                 "--runner=FnApiRunner"]) == 0
    assert made == []
    assert main([*args, f"--output={tmp_path / 'out2'}", "--target_langs=por_Latn",
                 "--runner=FnApiRunner", "--direct_running_mode=multi_threading"]) == 0
    assert made == []


def test_steps_of_one_process_share_one_model_facade_by_identifier():
    """Without the cross-process proxy, handlers with one identifier hand every step the
    same lazy facade (one build per process); another identifier, or the proxy's path,
    gets its own; the facade is freed once no step holds it."""
    import gc

    from transforms.handlers import NERModelHandler, Placement

    local, shared = Placement(), Placement(share_across_processes=True)
    a = NERModelHandler("some/tagger", local, model_identifier="xlner-one")
    b = NERModelHandler("some/tagger", local, model_identifier="xlner-one")
    other = NERModelHandler("some/tagger", local, model_identifier="xlner-two")
    first = a.load_model()
    assert b.load_model() is first and not first.loaded  # nothing built by sharing
    assert other.load_model() is not first
    assert NERModelHandler("some/tagger", local).load_model() is not first
    proxied = NERModelHandler("some/tagger", shared, model_identifier="xlner-one")
    assert proxied.load_model() is not first  # Beam's proxy calls it once per machine
    import weakref

    gone = weakref.ref(first)
    del first
    gc.collect()
    assert gone() is None  # the registry does not keep a model alive
    again = a.load_model()
    assert again is b.load_model() and not again.loaded
