"""Random models of real architectures and sizes, built at run time (nothing downloaded),
for speed measurements only: their outputs are meaningless, but the work per token (the
layers, the width, the vocabulary projection) is that of the real model."""

from __future__ import annotations

import json
import os
import pathlib
import random
from dataclasses import dataclass
from typing import Optional, Sequence

NLLB_CODES = ["eng_Latn", "por_Latn", "ell_Grek", "swh_Latn", "yor_Latn", "deu_Latn"]


@dataclass(frozen=True)
class Seq2SeqDims:
    d_model: int
    layers: int  # encoder and decoder each
    heads: int
    ffn: int
    vocab: int
    max_positions: int = 1024


# A 6+6-layer d=512 M2M100 (the "base" Transformer) with NLLB-200's vocabulary size.
BASE_NLLB_VOCAB = Seq2SeqDims(d_model=512, layers=6, heads=8, ffn=2048, vocab=256206)
# facebook/nllb-200-3.3B's published config.
NLLB_3B = Seq2SeqDims(d_model=2048, layers=24, heads=16, ffn=8192, vocab=256206)
# facebook/nllb-200-distilled-600M's published config: the size a CPU worker would run.
NLLB_600M = Seq2SeqDims(d_model=1024, layers=12, heads=16, ffn=4096, vocab=256206)
NLLB_SIZES = {"3.3B": NLLB_3B, "600M": NLLB_600M}
TINY = Seq2SeqDims(d_model=32, layers=1, heads=2, ffn=64, vocab=2000, max_positions=256)


def _piece(i: int) -> str:
    return f"w{i}"


def build_random_nllb(path: pathlib.Path, dims: Seq2SeqDims, seed: int = 0,
                      device: Optional[str] = None, save_dtype=None) -> pathlib.Path:
    """An M2M100ForConditionalGeneration with random weights and a word-level NLLB-style
    tokenizer of ``dims.vocab`` entries (pieces ``w0``, ``w1``, ...), saved to ``path``
    (initialised on ``device``, saved as ``save_dtype``: float16 halves a 3.3B model's
    disk and load time; loading it as float32 gives exact float32 values)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizerFast

    path = pathlib.Path(path)
    if (path / "config.json").is_file() and (path / "tokenizer.json").is_file():
        return path
    path.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    fixed = specials + NLLB_CODES + ["<mask>"]
    vocab = {tok: i for i, tok in enumerate(fixed)}
    for i in range(dims.vocab - len(fixed)):
        vocab[_piece(i)] = len(vocab)
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(path / "tokenizer.json"))
    hf_tok = NllbTokenizerFast(tokenizer_file=str(path / "tokenizer.json"), src_lang="eng_Latn",
                               tgt_lang="por_Latn", additional_special_tokens=NLLB_CODES)
    hf_tok.save_pretrained(path)
    config = M2M100Config(
        vocab_size=len(hf_tok), d_model=dims.d_model, encoder_layers=dims.layers,
        decoder_layers=dims.layers, encoder_attention_heads=dims.heads,
        decoder_attention_heads=dims.heads, encoder_ffn_dim=dims.ffn,
        decoder_ffn_dim=dims.ffn, max_position_embeddings=dims.max_positions,
        scale_embedding=True, pad_token_id=hf_tok.pad_token_id,
        bos_token_id=hf_tok.bos_token_id, eos_token_id=hf_tok.eos_token_id,
        decoder_start_token_id=hf_tok.eos_token_id, dropout=0.0)
    torch.manual_seed(seed)
    if device:
        with torch.device(device):
            model = M2M100ForConditionalGeneration(config)
    else:
        model = M2M100ForConditionalGeneration(config)
    model.generation_config.max_length = 200  # NLLB-200's
    if save_dtype is not None:
        model.to(save_dtype)
    model.save_pretrained(path)
    del model
    return path


def random_sentences(n: int, lengths: Sequence[int], vocab: int, seed: int = 0) -> list[str]:
    """``n`` texts of random pieces, the i-th ``lengths[i % len(lengths)]`` words long."""
    rng = random.Random(seed)
    top = vocab - len(NLLB_CODES) - 5
    return [" ".join(_piece(rng.randrange(top)) for _ in range(lengths[i % len(lengths)]))
            for i in range(n)]


def save_json(path, obj) -> None:
    pathlib.Path(path).write_text(json.dumps(obj, indent=2))
