"""The alignment encoder without transformers (``xlner/models/plain_encoder.py``): the same
bits as transformers' ``AutoModel`` on real sentences (its padded passes; its packed layout,
which the job runs, equal to float rounding), the same subword ids, one clear
refusal for weights that do not cover the model, and transformers for anything else."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch

from xlner.models import plain_encoder
from xlner.models.encoders import WordPairEncoder
from xlner.models.loading import ModelRefused, open_model
from xlner.models.subwords import WindowedWordEncoder

DEV = os.path.join(os.path.dirname(__file__), "..", "data", "bible-dev", "dev.jsonl")
CPU_TOKENS = 1024


def bible(n: int = 12) -> list[list[str]]:
    """English and Greek verses of mixed lengths (every pass has padding rows)."""
    with open(DEV, encoding="utf-8") as f:
        rows = [json.loads(line) for line, _ in zip(f, range(n))]
    return [r["tokens"] for r in rows] + [r["translation_tokens"] for r in rows]


def reference(path: str, layers, dtype: str) -> WordPairEncoder:
    """The encoder as transformers builds it (the path used before the plain encoder)."""
    from transformers import AutoModel

    from xlner.models.devices import resolve_dtype
    from xlner.models.encoders import as_layers

    folder = open_model(path)
    ref = WordPairEncoder.__new__(WordPairEncoder)
    ref._setup(path, folder.tokenizer(), folder.load(
        AutoModel, dtype=resolve_dtype(dtype, "cpu"), unused=("pooler.",)),
        as_layers(layers), "cpu", None)
    return ref


def assert_same_encodings(new: WordPairEncoder, old: WordPairEncoder, sentences):
    assert type(new.net).__module__ == "xlner.models.plain_encoder"
    assert type(old.net).__module__.startswith("transformers.")
    assert new.dtype == old.dtype and new.words.limit == old.words.limit
    # the model's code: padded passes, op for op as transformers, the same bits
    a = [(x.numpy(), w) for x, w in new.words.run(sentences, new._forward)]
    b = old.encode(sentences)
    assert len(a) == len(b) == len(sentences)
    for (x, word_of), y in zip(a, b):
        assert (word_of == y.word_of).all()
        assert x.dtype == y.vectors.dtype
        assert torch.equal(torch.from_numpy(x), torch.from_numpy(y.vectors))
    # what the job runs: the packed layout (other matrix shapes), equal to float rounding
    assert new._packed and not old._packed
    packed = new.encode(sentences)
    tolerance = 1e-5 if new.dtype == torch.float32 else 2e-2
    for (x, word_of), y in zip(a, packed):
        assert (word_of == y.word_of).all() and y.vectors.dtype == np.float32
        torch.testing.assert_close(torch.from_numpy(y.vectors), torch.from_numpy(x),
                                   rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("layers", ["6-11", "8"])
def test_embedded_e5_hidden_states_are_bit_identical_to_transformers(e5_dir, layers, dtype):
    sentences = bible()
    new = WordPairEncoder(e5_dir, layers, device="cpu", dtype=dtype)
    assert isinstance(new.tokenizer, plain_encoder.PlainTokenizer)
    assert_same_encodings(new, reference(e5_dir, layers, dtype), sentences)


# words whose subwords are easy to get wrong: accents (composed and combining), CJK, emoji,
# punctuation, a zero-width character alone (no subword at all), a very long word
ODD = [["Ἀβραάμ", "café", "cafe\u0301", "naïve", "Ωμέγα"], ["東京", "は", "日本", "의", "수도"],
       ["😀", "👩‍👩‍👧", "🇵🇹", "…", "—", "«", "»"], ["\u200b", "a", ".", "", "b"],
       ["x" * 3000, "Pneumonoultramicroscopicsilicovolcanoconiosis" * 20],
       ["\t", "ﬁ", "Ⅻ", "ＡＢＣ", "ǅ", "İstanbul", "straße"],
       [f"w{i}ό" for i in range(700)]]  # longer than the window: several windows


@pytest.fixture(scope="module")
def odd_tokenizers(e5_dir, tiny_bert):
    return [(open_model(p).tokenizer(), plain_encoder.plain_tokenizer(open_model(p)))
            for p in (e5_dir, tiny_bert)]


def test_subword_ids_and_word_of_match_transformers_on_odd_words(odd_tokenizers):
    for hf, plain in odd_tokenizers:
        assert plain is not None
        old, new = WindowedWordEncoder(hf, 512, "cpu"), WindowedWordEncoder(plain, 512, "cpu")
        assert (new.limit, new.cls_id, new.sep_id, new.pad_id) == \
            (old.limit, old.cls_id, old.sep_id, old.pad_id)
        got, want = new.subwords_batch(ODD), old.subwords_batch(ODD)
        assert got == want
        assert [new.windows(w) for _, w in got] == [old.windows(w) for _, w in want]
        assert len(new.windows(got[-1][1])) > 1
        for name in ("cls", "sep", "pad", "unk", "bos", "eos", "mask"):
            assert getattr(plain, f"{name}_token_id") == getattr(hf, f"{name}_token_id"), name
    e5 = odd_tokenizers[0][1]
    assert e5.convert_tokens_to_ids("<mask>") == 250001


def test_packed_layout_holds_each_real_token_once_in_whole_blocks(e5_dir):
    """The packed pass's layout: real tokens end to end, then padding rows up to a whole
    number of blocks (at least one: padding slots point at it); attention passes of the
    canonical shapes, each chunk in the pass of its own width; and odd sentences (a word
    longer than the window, one over several windows, one with no subword) encode as the
    padded passes do."""
    enc = WordPairEncoder(e5_dir, "6-11", device="cpu")
    words = enc.words
    sentences = ODD + [["\u200b"], []] + bible(30)
    _, chunks, owners = words.chunks_of(sentences)
    packed = words.pack(chunks, words.max_tokens)
    real = sum(len(c) for c in chunks)
    assert len(packed.ids) % words.max_tokens == 0 and 1 <= len(packed.ids) - real <= \
        words.max_tokens
    assert (packed.positions[real:] == -1).all() and (packed.ids[real:] == words.pad_id).all()
    seen = []
    for index, keep, n_real in packed.passes:
        rows, width = index.shape
        assert rows == words.rows_of(width) and keep.shape == index.shape
        assert (index[~keep] == real).all() and (index[n_real:] == real).all()
        for row in range(n_real):
            start, length = index[row, 0], int(keep[row].sum())
            chunk = packed.starts.index(start)
            assert length == len(chunks[chunk]) and words.width_of(length) == width
            assert (index[row, :length] == np.arange(start, start + length)).all()
            assert (packed.ids[start:start + length] == chunks[chunk]).all()
            seen.append(chunk)
    assert sorted(seen) == list(range(len(chunks)))
    assert owners.count(len(ODD) - 1) > 1  # several windows
    assert len(ODD) not in owners and len(ODD) + 1 not in owners  # no subword, no word
    padded = words.run(sentences, enc._forward)
    for (want, word_of), got in zip(padded, enc.encode(sentences)):
        assert (word_of == got.word_of).all()
        if want is None:
            assert got.vectors is None
            continue
        torch.testing.assert_close(torch.from_numpy(got.vectors), want, rtol=1e-5, atol=1e-5)


def build_tiny_xlmr(path, hidden_act: str = "gelu"):
    """A 2-layer XLM-R with a head (``roberta.``-prefixed weights, as published ones are),
    every weight random (a bias or norm left at its init would hide a mistake), and an
    XLM-R-style vocabulary (``<pad>`` = 1: positions count from it)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, XLMRobertaConfig, XLMRobertaForMaskedLM

    tok = Tokenizer(models.WordPiece(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok.train_from_iterator([" ".join(s) for s in bible(40)] * 2,
                            trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials))
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>",
                                     unk_token="<unk>", pad_token="<pad>", cls_token="<s>",
                                     sep_token="</s>", mask_token="<mask>", model_max_length=64)
    path.mkdir(parents=True, exist_ok=True)
    hf_tok.save_pretrained(path)
    config = XLMRobertaConfig(vocab_size=len(hf_tok), hidden_size=32, num_hidden_layers=3,
                              num_attention_heads=4, intermediate_size=48,
                              max_position_embeddings=66, hidden_act=hidden_act,
                              layer_norm_eps=1e-5)
    torch.manual_seed(0)
    model = XLMRobertaForMaskedLM(config)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    model.save_pretrained(path, safe_serialization=True)
    return path


@pytest.fixture(scope="module")
def tiny_xlmr(tmp_path_factory):
    return build_tiny_xlmr(tmp_path_factory.mktemp("xlmr") / "model")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("layers", ["1-3", "2"])
def test_tiny_xlm_roberta_is_bit_identical_to_transformers(tiny_xlmr, layers, dtype):
    with open(tiny_xlmr / "model.safetensors", "rb") as f:  # as published: under roberta.
        keys = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    assert "roberta.embeddings.word_embeddings.weight" in keys and "lm_head.bias" in keys
    sentences = bible(20) + [[f"w{i}" for i in range(90)]]  # one sentence over the window
    new = WordPairEncoder(str(tiny_xlmr), layers, device="cpu", dtype=dtype)
    assert_same_encodings(new, reference(str(tiny_xlmr), layers, dtype), sentences)


def test_another_activation_is_bit_identical_too(tmp_path):
    path = build_tiny_xlmr(tmp_path / "m", hidden_act="gelu_new")
    new = WordPairEncoder(str(path), "1-3", device="cpu")
    assert_same_encodings(new, reference(str(path), "1-3", "float32"), bible(6))


def rewrite_weights(src, dst, change):
    from safetensors.torch import load_file, save_file

    shutil.copytree(src, dst)
    state = load_file(str(dst / "model.safetensors"))
    change(state)
    save_file(state, str(dst / "model.safetensors"), metadata={"format": "pt"})
    return str(dst)


@pytest.mark.parametrize("change, said", [
    (lambda s: s.pop("roberta.encoder.layer.1.attention.self.key.bias"),
     "weights do not match its config: 1 missing from the checkpoint: "
     "encoder.layer.1.attention.self.key.bias"),
    (lambda s: s.update({"roberta.encoder.layer.0.output.dense.weight": torch.zeros(32, 40)}),
     "weights do not match its config: 1 of the wrong shape: "
     "roberta.encoder.layer.0.output.dense.weight (32, 40) in the checkpoint, (32, 48) in "
     "the model"),
    (lambda s: s.update({"roberta.encoder.layer.0.extra.weight": torch.zeros(3)}),
     "weights do not match its config: 1 not used by the model: "
     "roberta.encoder.layer.0.extra.weight"),
])
def test_weights_that_do_not_cover_the_model_stop_with_one_line(tiny_xlmr, tmp_path, change,
                                                                 said):
    path = rewrite_weights(tiny_xlmr, tmp_path / "broken", change)
    built = []
    with pytest.raises(ModelRefused) as e:
        built.append(WordPairEncoder(path, "2", device="cpu"))
    assert str(e.value) == f"model {path}: {said}"
    assert "\n" not in str(e.value) and built == []


@pytest.mark.parametrize("change, said", [
    ({"num_attention_heads": 0}, "num_attention_heads is 0, not a positive integer"),
    ({"hidden_size": "32"}, "hidden_size is '32', not a positive integer"),
    ({"num_hidden_layers": True}, "num_hidden_layers is True, not a positive integer"),
    ({"hidden_act": ["gelu"]}, "hidden_act is ['gelu'], not an activation's name"),
    ({"layer_norm_eps": float("nan")}, "layer_norm_eps is nan, not a positive finite number"),
    ({"pad_token_id": -1}, "pad_token_id is -1, not a token id"),
])
def test_a_config_that_cannot_describe_a_model_stops_with_one_line(tiny_xlmr, tmp_path, change,
                                                                   said):
    path = tmp_path / "hostile"
    shutil.copytree(tiny_xlmr, path)
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, **change}))
    with pytest.raises(ModelRefused) as e:
        WordPairEncoder(str(path), "2", device="cpu")
    assert str(e.value) == f"model {path}: its config.json is not usable: {said}"
    from xlner.models.checks import model_problem

    # the launch says it first, in the same words, before any work
    assert model_problem(str(path), "alignment_model") == \
        f"--alignment_model={path}: its config.json is not usable: {said}"


def without_head(state):
    """The base model alone, unprefixed (as ``XLMRobertaModel.save_pretrained`` writes it)."""
    for key in list(state):
        value = state.pop(key)
        if key.startswith("roberta."):
            state[key[len("roberta."):]] = value


def test_a_checkpoint_under_its_base_prefix_or_not_loads_the_same(tiny_xlmr, tmp_path):
    bare = rewrite_weights(tiny_xlmr, tmp_path / "bare", without_head)
    a = WordPairEncoder(bare, "2", device="cpu").encode(bible(3))
    b = WordPairEncoder(str(tiny_xlmr), "2", device="cpu").encode(bible(3))
    assert all((x.vectors == y.vectors).all() for x, y in zip(a, b))


def test_unsupported_folders_load_through_transformers(tiny_nllb, tiny_bert, tmp_path):
    seq2seq = WordPairEncoder(tiny_nllb, "1", device="cpu")
    assert type(seq2seq.net).__module__.startswith("transformers.")
    assert seq2seq.language_codes
    silu = tmp_path / "silu"  # an activation the plain encoder does not reproduce
    shutil.copytree(tiny_bert, silu)
    config = json.loads((silu / "config.json").read_text())
    (silu / "config.json").write_text(json.dumps({**config, "hidden_act": "silu"}))
    assert plain_encoder.plain_spec(open_model(str(silu))) is None
    enc = WordPairEncoder(str(silu), "2", device="cpu")
    assert type(enc.net).__module__.startswith("transformers.")
    assert enc.encode([["Ana", "mora"]])[0].vectors.shape[0] >= 2


def test_a_tokenizer_class_of_its_own_is_left_to_transformers(tiny_bert, tmp_path):
    own = tmp_path / "own"
    shutil.copytree(tiny_bert, own)
    config = json.loads((own / "tokenizer_config.json").read_text())
    (own / "tokenizer_config.json").write_text(
        json.dumps({**config, "tokenizer_class": "BertTokenizer"}))
    assert plain_encoder.plain_tokenizer(open_model(str(own))) is None
    assert plain_encoder.plain_tokenizer(open_model(tiny_bert)) is not None
