"""One model loader (xlner.models.loading): hostile model folders never run code, never
prompt, and never load half-initialised; real-looking checkpoints load; every model has a
fingerprint of its files.

The folders are built from the tiny test models (tests/hostile_models.py); each test names
the way a real folder gets that way (an ``auto_map`` from a hub repo with custom code, an
interrupted copy, a hand-edited checkpoint, a hub cache of symlinks).
"""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.run import main
from tests import hostile_models as hostile
from tests.tiny_models import build_tiny_masked_lm, build_tiny_nllb, build_tiny_xlmr_tagger
from xlner.models.loading import ModelRefused, open_model

ROOT = Path(__file__).resolve().parent.parent
BERT_LAYER = "encoder.layer.1.output.dense.weight"


def one_line_error(capsys, argv, code=2):
    got = main(argv)
    err = capsys.readouterr().err.strip()
    assert got == code, err
    lines = [line for line in err.splitlines() if line.startswith("xlner:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def aligner(tiny_bert):
    return [f"--alignment_model={tiny_bert}", "--align_layers=2"]


# ------------------------------------------------------------------ code in a model folder
@pytest.mark.parametrize("stdin", ["terminal", "closed pipe"])
def test_a_folder_with_remote_code_stops_the_run_before_work_and_never_prompts(
        tmp_path, tiny_nllb, aligner, stdin):
    """transformers asks on a terminal whether to run a folder's own Python, and runs it
    when answered y; the job must refuse such a folder before any work, with a terminal on
    stdin and nobody to answer, or with stdin closed."""
    evil = hostile.with_remote_code(tiny_nllb, tmp_path / "evil")
    if stdin == "terminal":
        keep, child = os.openpty()  # the job's stdin is a terminal nobody types into
    else:
        child, keep = os.pipe()  # the job's stdin is a pipe already at its end
        os.close(keep)
        keep = None
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pipeline.run", f"--output={tmp_path}/out",
             f"--translation_model={evil}", *aligner, "--runner=FnApiRunner"],
            stdin=child, capture_output=True, text=True, timeout=240, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    finally:
        for fd in (keep, child):
            if fd is not None:
                os.close(fd)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("xlner:")]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1 and str(evil) in lines[0] and "custom code" in lines[0]
    assert not (evil / hostile.SENTINEL).exists()
    assert not (tmp_path / "out" / "summary.json").exists()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("option, make, message", [
    ("translation_model", lambda src, dst: hostile.with_remote_code(
        src, dst, "tokenizer_config.json"), "custom code (auto_map in tokenizer_config.json)"),
    ("translation_model", hostile.with_code_file_only, "custom code (modeling_evil.py)"),
    ("translation_model", hostile.pickled_only, "--allow_pickle_weights"),
    ("translation_model", hostile.truncated, "model.safetensors is not a complete"),
    ("alignment_model", hostile.truncated, "model.safetensors is not a complete"),
    ("alignment_model", lambda src, dst: hostile.with_remote_code(src, dst),
     "custom code (auto_map in config.json)"),
    ("alignment_model", hostile.with_nested_remote_code, "custom code (auto_map in config.json)"),
    ("alignment_model", hostile.with_custom_pipeline,
     "custom code (custom_pipelines in config.json)"),
    ("alignment_model", lambda src, dst: hostile.with_file(src, dst, "tokenizer.json",
                                                           b'{"version": "1.0", "trunc'),
     "tokenizer.json is not valid JSON"),
    ("alignment_model", lambda src, dst: hostile.with_file(src, dst, "config.json", b"[1, 2]"),
     "config.json is not a JSON object"),
    ("alignment_model", hostile.sharded_with_a_shard_missing,
     "model.safetensors.index.json names model-00002-of-00002.safetensors, which is not"),
])
def test_broken_or_hostile_folders_are_refused_before_work(tmp_path, capsys, tiny_nllb,
                                                           tiny_bert, option, make, message):
    src = tiny_nllb if option == "translation_model" else tiny_bert
    folder = make(src, tmp_path / "model")
    line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--{option}={folder}",
                                   "--align_layers=2", "--target_langs=swh_Latn"])
    assert f"--{option}={folder}" in line and message in line, line
    assert not (folder / hostile.SENTINEL).exists()
    assert not (tmp_path / "out" / "summary.json").exists()


@pytest.mark.timeout(120)
def test_links_out_of_the_folder_that_are_not_plain_files_are_refused(tmp_path, capsys,
                                                                      tiny_bert):
    """A link to a FIFO or a device would hang the reader; a dangling one is a broken
    copy. Links to plain files are fine (the hub cache is made of them)."""
    for name, target in [("fifo", tmp_path / "a-fifo"), ("dangling", tmp_path / "gone"),
                         ("device", Path("/dev/zero")), ("loop", tmp_path / "loop" /
                                                         "model.safetensors")]:
        folder = hostile.copy_model(tiny_bert, tmp_path / name)
        if name == "fifo":
            os.mkfifo(target)
        (folder / "model.safetensors").unlink()
        os.symlink(target, folder / "model.safetensors")
        line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--alignment_model={folder}",
                                       "--align_layers=2"])
        assert f"--alignment_model={folder}" in line and "model.safetensors" in line, line
        assert "not a regular file" in line or "cannot be followed" in line, line
    # a FIFO in place of a config file, not behind a link
    fifo = hostile.copy_model(tiny_bert, tmp_path / "fifo-config")
    (fifo / "tokenizer_config.json").unlink()
    os.mkfifo(fifo / "tokenizer_config.json")
    line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--alignment_model={fifo}"])
    assert "tokenizer_config.json is not a regular file" in line


def test_an_empty_folder_is_refused(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    line = one_line_error(capsys, [f"--output={tmp_path}/out",
                                   f"--alignment_model={tmp_path}/empty"])
    assert "not a model folder (no config.json)" in line


def test_transformers_is_never_allowed_to_run_or_ask_even_past_the_folder_check(
        tmp_path, tiny_nllb, monkeypatch):
    """Defence in depth: every from_pretrained of the loader passes trust_remote_code=False,
    so even a folder the inspection let through cannot prompt or run code: a class only
    the folder's code defines is an error, not a question."""
    import builtins

    from xlner.models import loading

    evil = hostile.with_remote_code(tiny_nllb, tmp_path / "evil", "tokenizer_config.json")
    hostile.edit_json(evil / "tokenizer_config.json", tokenizer_class="EvilTokenizer")
    hostile.edit_json(evil / "config.json", model_type="evil",
                      auto_map={"AutoConfig": "evil.EvilConfig"})
    monkeypatch.setattr(builtins, "input", lambda *a: pytest.fail("transformers prompted"))
    monkeypatch.setattr(loading, "_custom_code", lambda folder: None)  # the check missed it
    folder = open_model(str(evil))
    for load in (folder.config, folder.tokenizer):
        with pytest.raises(ValueError, match="trust_remote_code"):
            load()
    assert not (evil / hostile.SENTINEL).exists()


def test_only_the_loader_calls_from_pretrained():
    """One layer every model load goes through: no other production module calls
    ``from_pretrained`` (tests and benchmarks may)."""
    offenders = []
    for package in ("xlner", "transforms", "pipeline"):
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "loading.py":
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if re.search(r"\.from_pretrained\(", line):
                    offenders.append(f"{path.relative_to(ROOT)}:{n}")
    assert offenders == []


# ------------------------------------------------------------------ weights vs. config
def _encoder(path, **kw):
    from xlner.models.encoders import WordPairEncoder

    return WordPairEncoder(str(path), layer=2, **kw)


@pytest.mark.parametrize("make, message", [
    (lambda src, dst: hostile.missing_tensor(src, dst, BERT_LAYER),
     f"missing from the checkpoint: {BERT_LAYER}"),
    (lambda src, dst: hostile.extra_tensor(src, dst, "encoder.layer.1.output.extra.weight"),
     "not used by the model: encoder.layer.1.output.extra.weight"),
    (lambda src, dst: hostile.misshaped_tensor(src, dst, BERT_LAYER),
     f"wrong shape: {BERT_LAYER} (33, 65) in the checkpoint, (32, 64) in the model"),
])
def test_weights_that_do_not_cover_the_config_stop_the_load(tmp_path, tiny_bert, make,
                                                            message):
    folder = make(tiny_bert, tmp_path / "model")
    with pytest.raises(ModelRefused) as e:
        _encoder(folder)
    text = str(e.value)
    assert "\n" not in text and str(folder) in text and message in text, text


def test_weights_of_another_architecture_stop_the_load(tmp_path, tiny_bert, tiny_nllb):
    folder = hostile.foreign_weights(tiny_bert, tmp_path / "model", tiny_nllb)
    with pytest.raises(ModelRefused, match=r"weights do not match its config: \d+ missing from "
                                           r"the checkpoint: embeddings.*; 47 not used by"):
        _encoder(folder)


def test_a_half_loaded_alignment_model_fails_the_run_with_one_line(tmp_path, capsys, tiny_bert):
    """Before: exit 0, with alignments from a randomly initialised layer."""
    folder = hostile.missing_tensor(tiny_bert, tmp_path / "model", BERT_LAYER)
    line = one_line_error(capsys, [f"--output={tmp_path}/out", f"--alignment_model={folder}",
                                   "--align_layers=2"])
    assert str(folder) in line and BERT_LAYER in line, line
    assert not (tmp_path / "out" / "summary.json").exists()


def test_a_tagger_without_its_classifier_is_refused(tmp_path, tiny_bert):
    from xlner.models.ner import HFWordTagger

    with pytest.raises(ModelRefused, match="missing from the checkpoint: classifier"):
        HFWordTagger(tiny_bert)


def test_a_translation_model_missing_a_layer_is_refused_by_both_engines(tmp_path, tiny_nllb):
    from xlner.models.ct2 import CTranslate2Translator
    from xlner.models.translators import HFSeq2SeqTranslator

    name = "model.encoder.layers.0.fc1.weight"
    folder = hostile.missing_tensor(tiny_nllb, tmp_path / "model", name)
    with pytest.raises(ModelRefused, match=re.escape(name)):
        HFSeq2SeqTranslator(str(folder))
    with pytest.raises(ModelRefused, match=re.escape(name)):  # the conversion loads it too
        CTranslate2Translator(str(folder), device="cpu", compute_type="float32",
                              cache_dir=str(tmp_path / "ct2"))
    assert not [p for p in (tmp_path / "ct2").glob("ct2-*") if not p.name.startswith(".")]


def test_real_looking_checkpoints_load(tmp_path, tiny_bert, tiny_tagger_dir, tiny_nllb):
    """What is legitimately absent or extra: a published encoder's pretraining head (mBERT,
    XLM-R ``cls.*``/``lm_head.*``) when the encoder alone is loaded, a tagger checkpoint's
    classifier (and its missing pooler, never read) when used as an encoder, the pooler a
    token classifier does not have, the translation model's decoder when only its encoder
    aligns, tied output embeddings."""
    from xlner.models.ner import HFWordTagger
    from xlner.models.translators import HFSeq2SeqTranslator

    words = [["Angela", "Merkel"], ["Paris"]]
    for folder in (tiny_bert, tiny_tagger_dir, build_tiny_masked_lm(tmp_path / "mlm")):
        assert len(_encoder(folder).encode(words)) == 2
    from xlner.models.encoders import WordPairEncoder

    nllb_encoder = WordPairEncoder(tiny_nllb, layer=1).encode(words, ["eng_Latn", "por_Latn"])
    assert nllb_encoder[0].vectors.shape[1] == 32
    xlmr = build_tiny_xlmr_tagger(tmp_path / "xlmr")
    assert len(HFWordTagger(str(xlmr)).tag(words)) == 2
    assert len(HFWordTagger(tiny_tagger_dir).tag(words)) == 2
    assert HFSeq2SeqTranslator(tiny_nllb).translate(["Paris ."], "eng_Latn", "por_Latn")[0].text


# ------------------------------------------------------------------ fingerprints
def test_the_fingerprint_follows_the_content_not_the_path(tmp_path, tiny_bert):
    copy = hostile.copy_model(tiny_bert, tmp_path / "copy")
    snapshot = hostile.hub_cache_layout(tiny_bert, tmp_path / "hub")
    prints = {open_model(str(p), cache_dir=str(tmp_path)).fingerprint() for p in
              (tiny_bert, copy, snapshot)}
    assert len(prints) == 1 and re.fullmatch(r"sha256:[0-9a-f]{64}", prints.pop())


def test_a_hub_id_resolves_to_its_cached_snapshot_offline(tmp_path, tiny_bert, monkeypatch):
    snapshot = hostile.hub_cache_layout(tiny_bert, tmp_path / "hub", repo="org/tiny-bert")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = open_model("org/tiny-bert", local_only=True)
    assert Path(folder.path) == snapshot
    assert folder.fingerprint() == open_model(tiny_bert).fingerprint()
    with pytest.raises(ModelRefused, match="no cached copy"):
        open_model("org/not-downloaded", local_only=True)


def test_a_cached_hub_id_runs_offline_and_an_uncached_one_stops_before_work(
        tmp_path, tiny_bert, monkeypatch, capsys):
    from tests.helpers import run_job

    hostile.hub_cache_layout(tiny_bert, tmp_path / "hub", repo="org/tiny-bert")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    summary, rows, _ = run_job(str(tmp_path / "out"), "--alignment_model=org/tiny-bert",
                               "--align_layers=2")
    assert len(rows["por_Latn"]) == 40
    assert summary["provenance"]["alignment_model_fingerprint"] == open_model(
        tiny_bert).fingerprint()
    line = one_line_error(capsys, [f"--output={tmp_path}/out2",
                                   "--alignment_model=org/not-downloaded"])
    assert "--alignment_model=org/not-downloaded: not a local folder" in line


def test_replaced_weights_change_the_fingerprint_even_with_the_same_size_and_time(
        tmp_path, tiny_nllb):
    folder = tmp_path / "nllb"
    build_tiny_nllb(folder, seed=0)
    cache = str(tmp_path)
    before = open_model(str(folder), cache_dir=cache).fingerprint()
    weights = folder / "model.safetensors"
    st = weights.stat()
    other = build_tiny_nllb(tmp_path / "other", seed=1) / "model.safetensors"
    assert other.stat().st_size == st.st_size
    os.replace(other, weights)  # same path, same size ...
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))  # ... and same modification time
    assert open_model(str(folder), cache_dir=cache).fingerprint() != before
    with open(weights, "r+b") as f:  # edited in place, time put back: the inode stays
        f.seek(-1, os.SEEK_END)
        f.write(b"\x01")
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert len({before, open_model(str(folder), cache_dir=cache).fingerprint()}) == 2


def test_a_file_is_hashed_once_per_machine(tmp_path, tiny_bert, monkeypatch):
    from xlner.models import fingerprints

    cache = str(tmp_path)
    first = open_model(tiny_bert, cache_dir=cache).fingerprint()
    fingerprints._digest_of.cache_clear()  # another process on the same machine
    monkeypatch.setattr(fingerprints, "_sha256_file",
                        lambda path: pytest.fail(f"{path} hashed again"))
    assert open_model(tiny_bert, cache_dir=cache).fingerprint() == first
    slots = list((tmp_path / "fingerprints").iterdir())
    assert slots and all(stat.S_IMODE(p.stat().st_mode) & 0o022 == 0 for p in slots)
