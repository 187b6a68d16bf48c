"""Translation engines as the benchmarks drive them: ``generate`` and CTranslate2 on one
batch, output lengths fixed or forced per row (shared by ``benchmarks`` and ``gpu.py``)."""

from __future__ import annotations

from benchmarks.data import bible_rows


def bible_lengths(n: int) -> list[int]:
    """Word counts of the first ``n`` Bible dev verses (real sentence lengths)."""
    return [len(r["tokens"]) for r in bible_rows()[:n]]


def hf_generate(hf, batch_texts, tgt, **kwargs) -> list[list[int]]:
    """``generate`` on one batch; new tokens after the decoder start, padding removed."""
    import torch

    tok = hf.tokenizer
    tok.src_lang = "eng_Latn"
    enc = tok(batch_texts, return_tensors="pt", padding=True).to(hf.model.device)
    with torch.inference_mode():
        out = hf.model.generate(**enc, forced_bos_token_id=tok.convert_tokens_to_ids(tgt),
                                num_beams=1, do_sample=False, **kwargs)
    return [[i for i in row[1:] if i != tok.pad_token_id] for row in out.tolist()]


def ct2_generate(c, batch_texts, tgt, length: int) -> list[list[int]]:
    """CTranslate2 greedy on one batch, exactly ``length`` tokens per row."""
    tok = c.tokenizer
    tok.src_lang = "eng_Latn"
    source = [tok.convert_ids_to_tokens(ids) for ids in tok(batch_texts).input_ids]
    res = c.translator.translate_batch(source, target_prefix=[[tgt]] * len(source),
                                       beam_size=1, min_decoding_length=length,
                                       max_decoding_length=length, return_end_token=True,
                                       max_input_length=0)
    return [tok.convert_tokens_to_ids(r.hypotheses[0]) for r in res]


class ForceLengths:
    """A logits processor giving row r exactly ``lengths[r]`` tokens after the language
    code, then </s>: a random model that "translates" at the length of its source, so a
    batch decodes as long as its longest member (what length-sorting saves)."""

    def __init__(self, lengths, eos: int):
        self.lengths, self.eos = lengths, eos

    def __call__(self, input_ids, scores):
        step = input_ids.shape[1] - 1  # tokens generated so far, the language code included
        if step < 1:
            return scores
        for r, n in enumerate(self.lengths):
            if step - 1 < n:
                scores[r, self.eos] = -float("inf")
            else:
                scores[r, :] = -float("inf")
                scores[r, self.eos] = 0.0
        return scores


def generate_at_source_length(hf, batches, target: dict, tgt: str = "por_Latn") -> dict:
    """{text: ids} with each text's output forced to ``target[text]`` tokens."""
    from transformers import LogitsProcessorList

    eos = hf.tokenizer.eos_token_id
    longest = max(target.values()) + 2
    out = {}
    for b in batches:
        procs = LogitsProcessorList([ForceLengths([target[t] for t in b], eos)])
        for t, ids in zip(b, hf_generate(hf, b, tgt, logits_processor=procs,
                                         max_new_tokens=longest)):
            out[t] = ids
    return out
