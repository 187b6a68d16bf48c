"""The CTranslate2 engine: same tokens as ``generate`` in float32, converted once per
machine; truncated translations and over-long inputs reported, never passed on."""

import os
import subprocess
import sys
import textwrap

import pytest

from tests.tiny_models import CORPUS, build_trained_tiny_nllb
from xlner.models import ct2
from xlner.models.ct2 import CTranslate2Translator, ensure_ct2_model, resolve_compute_type
from xlner.models.translators import (GenerationSettings, HFSeq2SeqTranslator, LazyTranslator,
                                      build_translator)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEXTS = CORPUS + ["Paris", "John Smith visited Lisbon and Paris .",
                  "Brussels , Lisbon , Paris , Nairobi and Lagos ."]


@pytest.fixture(scope="session")
def trained_nllb(tmp_path_factory):
    return str(build_trained_tiny_nllb(tmp_path_factory.mktemp("trained") / "nllb"))


@pytest.fixture(scope="session")
def ct2_cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("ct2cache"))


def hf_ids(t: HFSeq2SeqTranslator, texts, src, tgt, **kwargs):
    """generate's new tokens (after the decoder start), padding removed."""
    t.tokenizer.src_lang = src
    enc = t.tokenizer(texts, return_tensors="pt", padding=True)
    out = t.model.generate(**enc, forced_bos_token_id=t._lang_token_id(tgt), **kwargs)
    pad = t.tokenizer.pad_token_id
    return [[i for i in row[1:] if i != pad] for row in out.tolist()]


def ct2_ids(c: CTranslate2Translator, texts, src, tgt):
    c.tokenizer.src_lang = src
    source = [c.tokenizer.convert_ids_to_tokens(ids) for ids in c.tokenizer(texts).input_ids]
    res = c.translator.translate_batch(source, target_prefix=[[tgt]] * len(texts),
                                       return_end_token=True, **c._decoding)
    return [c.tokenizer.convert_tokens_to_ids(r.hypotheses[0]) for r in res]


@pytest.mark.parametrize("max_new_tokens", [None, 12, 6])
def test_greedy_float32_gives_generates_tokens(trained_nllb, ct2_cache, max_new_tokens):
    gen = GenerationSettings(max_new_tokens=max_new_tokens)
    hf = HFSeq2SeqTranslator(trained_nllb, generation=gen)
    fast = CTranslate2Translator(trained_nllb, device="cpu", compute_type="float32",
                                 generation=gen, cache_dir=ct2_cache)
    eos = hf.tokenizer.eos_token_id
    for tgt in ("por_Latn", "swh_Latn"):
        ref = hf_ids(hf, TEXTS, "eng_Latn", tgt,
                     **({"max_new_tokens": max_new_tokens} if max_new_tokens else {}))
        assert ct2_ids(fast, TEXTS, "eng_Latn", tgt) == ref
        if max_new_tokens is None:  # the model really translates, and stops by itself
            assert len({tuple(r) for r in ref}) >= len(CORPUS)
            assert all(r[-1] == eos and len(r) > 3 for r in ref)
        # ... and the outputs the job sees are the same, truncations included
        assert fast.translate(TEXTS, "eng_Latn", tgt) == hf.translate(TEXTS, "eng_Latn", tgt)
    out = fast.translate(["The European Union is based in Brussels ."], "eng_Latn", "swh_Latn")
    if max_new_tokens is None:
        assert out[0].text == ". Brussels in based is Union European The"
    if max_new_tokens == 6:  # 6 tokens cannot hold these sentences: all cut short
        assert {o.reason for o in out} == {"translation_truncated"}
        assert "max_new_tokens=6" in out[0].error and "input: 10 tokens" in out[0].error


def test_checkpoint_generation_settings_are_reproduced(tiny_nllb, ct2_cache):
    """The wiring model's checkpoint sets min_new_tokens, max_new_tokens, suppress_tokens."""
    hf = HFSeq2SeqTranslator(tiny_nllb)
    fast = CTranslate2Translator(tiny_nllb, device="cpu", compute_type="float32",
                                 cache_dir=ct2_cache)
    for tgt in ("por_Latn", "swh_Latn"):
        assert ct2_ids(fast, TEXTS, "eng_Latn", tgt) == hf_ids(hf, TEXTS, "eng_Latn", tgt)
        assert fast.translate(TEXTS, "eng_Latn", tgt) == hf.translate(TEXTS, "eng_Latn", tgt)
    assert fast.translate(["x"], "eng_Latn", "xyz_Latn")[0].reason == "unsupported_language_pair"


def test_over_long_inputs_are_never_sent_and_do_not_break_the_batch(trained_nllb, ct2_cache):
    giant = "Paris " + "x" * 10_000  # one 10,000-character token
    texts = [CORPUS[1], giant, CORPUS[4]]
    for t in (HFSeq2SeqTranslator(trained_nllb),
              CTranslate2Translator(trained_nllb, device="cpu", compute_type="float32",
                                    cache_dir=ct2_cache)):
        assert t.max_input_tokens == 256  # the model's position embeddings
        out = t.translate(texts, "eng_Latn", "por_Latn")
        assert [o.text for o in out] == [CORPUS[1], None, CORPUS[4]]
        assert out[1].reason == "input_too_long" and "limit of 256 tokens" in out[1].error
    strict = build_translator(trained_nllb, engine="ctranslate2", compute_type="float32",
                              cache_dir=ct2_cache, max_input_tokens=4)
    out = strict.translate(texts, "eng_Latn", "por_Latn")
    assert [o.reason for o in out] == ["input_too_long"] * 3
    hf_strict = build_translator(trained_nllb, max_input_tokens=4)
    assert hf_strict.translate(texts, "eng_Latn", "por_Latn") == out
    out = strict.translate(["Paris", giant], "eng_Latn", "por_Latn")
    assert out[0].text is not None and out[1].reason == "input_too_long"
    assert hf_strict.translate(["Paris", giant], "eng_Latn", "por_Latn") == out


def test_conversion_is_cached_and_the_converted_folder_is_self_contained(
        trained_nllb, tmp_path, monkeypatch):
    calls = []
    real = ct2._convert
    monkeypatch.setattr(ct2, "_convert", lambda *a: (calls.append(a), real(*a)))
    first = ensure_ct2_model(trained_nllb, tmp_path)
    assert ensure_ct2_model(trained_nllb, tmp_path) == first and len(calls) == 1
    lazy = LazyTranslator(trained_nllb, "cpu", "auto", GenerationSettings(),
                          "ctranslate2", "float32", str(tmp_path))
    assert lazy.translate([CORPUS[1]], "eng_Latn", "por_Latn")[0].text == CORPUS[1]
    assert len(calls) == 1
    # the converted folder alone is a model source (tokenizer, limits, decoding length)
    alone = CTranslate2Translator(str(first), device="cpu", compute_type="float32")
    assert alone.path == first and alone.max_decoding_length == 199  # max_length 200 - 1
    assert alone.translate([CORPUS[1]], "eng_Latn", "swh_Latn")[0].text == \
        ". Brussels in based is Union European The"
    assert len(calls) == 1
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []


def test_concurrent_processes_convert_once(trained_nllb, tmp_path):
    log = tmp_path / "conversions.log"
    script = textwrap.dedent(f"""
        import time
        from xlner.models import ct2
        real = ct2._convert
        def counted(*a):
            with open({str(log)!r}, "a") as f:
                f.write("converted\\n")
            time.sleep(1.0)  # keep the other process waiting on the lock
            return real(*a)
        ct2._convert = counted
        print(ct2.ensure_ct2_model({trained_nllb!r}, {str(tmp_path / 'cache')!r}))
    """)
    env = {**os.environ, "PYTHONPATH": ROOT, "HF_HUB_OFFLINE": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1] and (tmp_path / "cache").is_dir()
    assert log.read_text().splitlines() == ["converted"]


def test_compute_type_choice():
    assert resolve_compute_type("auto", "cpu") == "int8"
    assert resolve_compute_type("auto", "cuda") == "float16"
    assert resolve_compute_type("int8_float16", "cuda:1") == "int8_float16"
    with pytest.raises(ValueError, match="compute type"):
        resolve_compute_type("int4", "cpu")
    with pytest.raises(ValueError, match="engine"):
        build_translator("x", engine="vllm")


def test_int8_on_cpu_translates(trained_nllb, ct2_cache):
    fast = build_translator(trained_nllb, device="cpu", engine="ctranslate2",
                            cache_dir=ct2_cache)
    assert fast.compute_type == "int8"
    out = fast.translate(CORPUS, "eng_Latn", "por_Latn")
    # int8 is not bit-exact, but this model's margins are wide: its copies survive
    assert sum(o.text == t for o, t in zip(out, CORPUS)) >= len(CORPUS) - 1
