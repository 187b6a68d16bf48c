"""The translation model's encoder as the aligner (TransAlign): a seq2seq checkpoint as
--alignment_model, and --alignment_model=translation, which reuses the loaded translation
model, so one model serves both steps. Tiny random models: wiring, not quality."""

import logging

import numpy as np
import pytest

from tests.helpers import run_job
from xlner.models.encoders import WordPairEncoder, as_layers


def test_layer_specs():
    assert as_layers(8) == (8,) and as_layers("6-11") == (6, 7, 8, 9, 10, 11)
    assert as_layers("2,4") == (2, 4)
    with pytest.raises(ValueError):
        as_layers("9-3")


def test_concatenated_layers_stack_their_vectors(tiny_bert):
    words = ["Ana", "mora", "em", "Lisboa"]
    one = WordPairEncoder(tiny_bert, 2).encode([words])[0]
    both = WordPairEncoder(tiny_bert, "1-2").encode([words])[0]
    assert both.vectors.shape[1] == 2 * one.vectors.shape[1]
    np.testing.assert_allclose(both.vectors[:, one.vectors.shape[1]:], one.vectors,
                               rtol=1e-5, atol=1e-5)  # the last block is layer 2's states


def test_a_seq2seq_encoder_starts_each_sentence_with_its_language_code(tiny_nllb):
    enc = WordPairEncoder(tiny_nllb, 1)
    assert enc.language_codes
    words = ["Ana", "mora", "em", "Lisboa"]
    por, eng = enc.encode([words, words], ["por_Latn", "eng_Latn"])
    assert por.vectors.shape[0] == len(por.word_of) and set(por.word_of) == {0, 1, 2, 3}
    assert not np.allclose(por.vectors, eng.vectors)  # the code token changes the states
    with pytest.raises(ValueError, match="language code"):
        enc.encode([words])


def loads(caplog):
    return [r.getMessage() for r in caplog.records if "loaded" in r.getMessage()]


def test_a_seq2seq_checkpoint_aligns_the_job(tmp_path, tiny_nllb, caplog):
    caplog.set_level(logging.INFO)
    summary, rows, dead = run_job(str(tmp_path / "out"), f"--translation_model={tiny_nllb}",
                                  f"--alignment_model={tiny_nllb}", "--align_layers=1",
                                  "--max_new_tokens=8")
    assert summary["accounting_balanced"] and len(rows["por_Latn"]) == 40
    assert any(r["alignment"] for r in rows["por_Latn"])
    assert sum("loaded alignment encoder" in m for m in loads(caplog)) == 1


def test_the_translation_model_lends_its_encoder_one_load_for_both_steps(tmp_path, tiny_nllb,
                                                                          caplog):
    caplog.set_level(logging.INFO)
    summary, rows, dead = run_job(str(tmp_path / "out"), f"--translation_model={tiny_nllb}",
                                  "--alignment_model=translation", "--align_layers=1",
                                  "--max_new_tokens=8")
    assert summary["accounting_balanced"] and len(rows["por_Latn"]) == 40
    assert any(r["alignment"] for r in rows["por_Latn"])
    messages = loads(caplog)
    assert sum("loaded translation model" in m for m in messages) == 1
    assert not any("loaded alignment encoder" in m for m in messages)
    assert any("aligning with the encoder of translation model" in r.getMessage()
               for r in caplog.records)
    assert "(its encoder)" in summary["provenance"]["alignment_model"]


def test_reuse_needs_a_hugging_face_translator(tmp_path):
    from pipeline.options import ConfigError

    with pytest.raises(ConfigError, match="needs a Hugging Face --translation_model"):
        run_job(str(tmp_path / "out"), "--alignment_model=translation")
