"""Tiny random Hugging Face models built at test time (no download).

They prove wiring, batching and shapes through the real code paths (AutoTokenizer,
AutoModel..., generate with forced_bos_token_id); their outputs are meaningless, so no
quality is ever measured with them.
"""

from __future__ import annotations

import os
from pathlib import Path

NLLB_CODES = ["eng_Latn", "por_Latn", "ell_Grek", "swh_Latn", "yor_Latn", "deu_Latn",
              "zho_Hans", "hau_Latn"]
CORPUS = [
    "Angela Merkel visited Paris on Monday with John Smith .",
    "The European Union is based in Brussels .",
    "Maria Silva was born in Lisbon and studied at the University of Coimbra .",
    "Angela Merkel visitou Paris na segunda-feira com John Smith .",
    "A União Europeia tem sede em Bruxelas .",
    "O Ngozi alifanya kazi Nairobi na Lagos .",
]


def build_tiny_nllb(path: Path, seed: int = 0) -> Path:
    """An M2M100 (NLLB architecture) seq2seq with an NLLB-style tokenizer (``seed``: other
    weights of the same shapes, e.g. a model replaced at the same path)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=specials + NLLB_CODES + ["<mask>"])
    tok.train_from_iterator(CORPUS * 3, trainer)
    path.mkdir(parents=True, exist_ok=True)
    tok.save(str(path / "tokenizer.json"))
    hf_tok = NllbTokenizerFast(tokenizer_file=str(path / "tokenizer.json"), src_lang="eng_Latn",
                               tgt_lang="por_Latn", additional_special_tokens=NLLB_CODES)
    hf_tok.save_pretrained(path)
    vocab = len(hf_tok)
    config = M2M100Config(vocab_size=vocab, d_model=32, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2,
                          encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=256,
                          pad_token_id=hf_tok.pad_token_id, bos_token_id=hf_tok.bos_token_id,
                          eos_token_id=hf_tok.eos_token_id, decoder_start_token_id=hf_tok.eos_token_id)
    torch.manual_seed(seed)  # the same random model on every machine
    model = M2M100ForConditionalGeneration(config)
    # A random model may stop at once or emit only special/blank pieces, i.e. an empty
    # translation; tests of the wiring need text, so generation must produce some.
    codes = {hf_tok.convert_tokens_to_ids(c) for c in NLLB_CODES}
    blank = {i for i in range(vocab) if not hf_tok.decode([i]).strip()}
    model.generation_config.suppress_tokens = sorted(
        (set(hf_tok.all_special_ids) | blank) - codes - {hf_tok.eos_token_id})
    model.generation_config.min_new_tokens = 5
    model.generation_config.max_new_tokens = 8
    # ... and end: a translation that reaches the length limit without an end-of-sentence
    # token is dead-lettered as truncated. One output dimension is made constant (the
    # final norm's weight 0, bias 1) and only </s> reads it, so </s> wins as soon as
    # min_new_tokens allows: the language code, 4 pieces, </s>.
    with torch.no_grad():
        model.model.decoder.layer_norm.weight[0] = 0.0
        model.model.decoder.layer_norm.bias[0] = 1.0
        model.model.shared.weight[:, 0] = 0.0  # tied: the output projection too
        model.model.shared.weight[hf_tok.eos_token_id, 0] = 50.0
    model.save_pretrained(path)
    return path


def build_trained_tiny_nllb(path: Path, max_length: int = 200) -> Path:
    """A tiny NLLB-architecture model *trained* (2 s, 150 steps, CPU) on a toy task, so
    that greedy decoding is input-dependent, ends with </s> after a natural length, and
    has clear logit margins (a fair token-for-token comparison of two engines): eng_Latn
    -> por_Latn copies the sentence, -> swh_Latn reverses its words. Its generation
    config has only what NLLB-200's has (greedy, ``max_length``)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizerFast

    base = build_tiny_nllb(path.parent / (path.name + "-base"))
    tok = NllbTokenizerFast.from_pretrained(base)
    config = M2M100Config.from_pretrained(base)
    config.update(dict(d_model=64, encoder_ffn_dim=128, decoder_ffn_dim=128,
                       encoder_layers=2, decoder_layers=2, dropout=0.0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic on any machine
    try:
        torch.manual_seed(0)
        model = M2M100ForConditionalGeneration(config)
        batches = []
        for k, lang in enumerate(["por_Latn", "swh_Latn"]):
            tok.src_lang, tok.tgt_lang = "eng_Latn", lang
            targets = [s if k == 0 else " ".join(s.split()[::-1]) for s in CORPUS]
            enc = tok(CORPUS, text_target=targets, return_tensors="pt", padding=True)
            enc["labels"][enc["labels"] == tok.pad_token_id] = -100
            batches.append(enc)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        model.train()
        for step in range(150):
            loss = model(**batches[step % 2]).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    model.generation_config = type(model.generation_config)(
        max_length=max_length, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id, decoder_start_token_id=tok.eos_token_id)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


def build_tiny_bert(path: Path) -> Path:
    """A 2-layer BERT with a WordPiece vocabulary covering the test sentences."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(CORPUS * 3, trainers.WordPieceTrainer(vocab_size=300,
                                                                  special_tokens=specials))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    from tokenizers import decoders
    tok.decoder = decoders.WordPiece()
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                     cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                     model_max_length=64)
    path.mkdir(parents=True, exist_ok=True)
    hf_tok.save_pretrained(path)
    config = BertConfig(vocab_size=len(hf_tok), hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    import torch

    torch.manual_seed(0)  # the same random model on every machine
    BertModel(config).save_pretrained(path)
    return path


TAGGER_LABELS = ["O", "B-LOC", "B-MISC", "B-ORG", "I-LOC", "I-MISC", "I-ORG", "I-PER"]


def build_tiny_tagger(path: Path, favourite: str = "I-PER") -> Path:
    """A tiny BERT token classifier with the XLM-R CoNLL-03 label set (IOB1 style) whose
    classifier always prefers ``favourite``: deterministic output for wiring tests."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForTokenClassification

    base = build_tiny_bert(path.parent / (path.name + "-base"))
    labels = TAGGER_LABELS
    config = BertConfig.from_pretrained(base, num_labels=len(labels),
                                        id2label=dict(enumerate(labels)),
                                        label2id={l: i for i, l in enumerate(labels)})
    model = BertForTokenClassification(config)
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.zero_()
        model.classifier.bias[labels.index(favourite)] = 5.0
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(base).save_pretrained(path)
    return path


def build_tiny_masked_lm(path: Path) -> Path:
    """The tiny BERT as a masked-LM checkpoint (``bert.*`` + the ``cls.*`` head), the way
    multilingual encoders are published (mBERT, XLM-R): loaded as an encoder, its head is
    left out."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    base = build_tiny_bert(path.parent / (path.name + "-base"))
    torch.manual_seed(0)
    BertForMaskedLM(BertConfig.from_pretrained(base)).save_pretrained(path)
    AutoTokenizer.from_pretrained(base).save_pretrained(path)
    return path


def build_tiny_xlmr_tagger(path: Path) -> Path:
    """A tiny XLM-R token classifier whose checkpoint, like the paper's CoNLL-03 tagger
    (``xlm-roberta-large-finetuned-conll03-english``), still holds the pretraining pooler
    (``roberta.pooler.*``), which the token-classification class does not have."""
    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaForTokenClassification

    base = build_tiny_bert(path.parent / (path.name + "-base"))
    tok = AutoTokenizer.from_pretrained(base)
    labels = TAGGER_LABELS
    config = XLMRobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2,
                              num_attention_heads=2, intermediate_size=64,
                              max_position_embeddings=66, pad_token_id=tok.pad_token_id,
                              num_labels=len(labels), id2label=dict(enumerate(labels)),
                              label2id={l: i for i, l in enumerate(labels)})
    torch.manual_seed(0)
    XLMRobertaForTokenClassification(config).save_pretrained(path)
    tok.save_pretrained(path)
    weights = path / "model.safetensors"
    state = load_file(str(weights))
    state["roberta.pooler.dense.weight"] = torch.zeros(32, 32)
    state["roberta.pooler.dense.bias"] = torch.zeros(32)
    save_file(state, str(weights), metadata={"format": "pt"})
    return path
