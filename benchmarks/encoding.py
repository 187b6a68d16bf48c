"""Our alignment encoder as the benchmarks drive it, and the encoder's limit on this
machine (shared by ``benchmarks`` and ``gpu.py``)."""

from __future__ import annotations

import numpy as np

from benchmarks.flops import layers_run, matmul_gflops, record_encoder, stop_recording

# The library path's batching: pairs per encoder call and padded-token budget.
PAIR_BATCH, PAIR_TOKENS = 64, 16384


def similarities_in_batches(encoder, pairs) -> list:
    """``encoder.similarities`` over length-sorted batches of pairs, in input order."""
    from xlner.models.batching import sort_and_batch

    out = [None] * len(pairs)
    index = list(range(len(pairs)))
    for batch in sort_and_batch(index, lambda k: 3 * max(map(len, pairs[k])) + 4,
                                PAIR_BATCH, PAIR_TOKENS):
        for k, sim in zip(batch, encoder.similarities([pairs[k] for k in batch])):
            out[k] = sim
    return out


def align_ours(encoder, pairs, method: str = "argmax"):
    """Our alignment in one call: the batched encoder pass, then CPU extraction."""
    from xlner.projection import alignment

    return [alignment.extract(sim, method) for sim in similarities_in_batches(encoder, pairs)]


class ReplayForward:
    """The plain forward pass of the encoder's own network on exactly the inputs our pass
    fed it (captured once: padded tensors, or packed layouts): the model's share of our
    time."""

    def __init__(self, encoder, pairs):
        self.packed = getattr(encoder, "_packed", False)
        name = "_forward_packed" if self.packed else "_forward"
        captured = []
        original = getattr(encoder, name)

        def capture(*args):
            captured.append(args)
            return original(*args)

        setattr(encoder, name, capture)
        try:
            similarities_in_batches(encoder, pairs)
        finally:
            setattr(encoder, name, original)
        self.encoder, self.batches = encoder, captured

    def __call__(self, _pairs=None):
        import torch

        with torch.inference_mode():
            if self.packed:
                return [self.encoder.net.forward_packed(layout, self.encoder.layers)
                        for (layout,) in self.batches]
            return [self.encoder._forward(ids, mask) for ids, mask in self.batches]


def encoder_limit(encoder, pairs, seconds: float, device: str) -> dict:
    """Achieved GFLOP/s of our pass over ``pairs`` (taking ``seconds``) against torch
    matmul at the same shapes, dtype and device."""
    recorder = record_encoder(encoder)
    try:
        similarities_in_batches(encoder, pairs)
    finally:
        stop_recording(encoder, recorder)
    flops = recorder.flops(encoder.net.config, layers_run(encoder))
    hidden_ffn = (getattr(encoder.net.config, "hidden_size", None)
                  or encoder.net.config.d_model,
                  getattr(encoder.net.config, "intermediate_size", None)
                  or encoder.net.config.encoder_ffn_dim)
    mm = matmul_gflops(recorder.typical_rows(), *hidden_ffn, encoder.dtype, device)
    achieved = flops / seconds / 1e9
    return {"gflop_per_pass": round(flops / 1e9, 3), "ours_gflops": round(achieved, 2),
            "matmul": mm, "fraction_of_matmul_peak": round(achieved / mm["peak_gflops"], 3),
            "forward_calls": len(recorder.rows), "layers_run": layers_run(encoder),
            "packed": recorder.packed, "position_wise_rows": sum(recorder.rows),
            "attention_slots": sum(b * t for b, t in recorder.shapes)}


def same_dot_products(encoder, net, tokenizer, pairs, sims, atol=1e-3) -> bool:
    """Our subword dot products equal those of a plain HF forward of each sentence alone
    (the chosen layers' hidden states, concatenated)."""
    import torch

    for (src, tgt), sim in zip(pairs, sims):
        vecs = []
        for words in (src, tgt):
            enc = tokenizer(list(words), is_split_into_words=True, return_tensors="pt")
            with torch.inference_mode():
                out = net(**enc.to(net.device), output_hidden_states=True)
            hidden = torch.cat([out.hidden_states[k] for k in encoder.layers], dim=-1)
            vecs.append(hidden[0, 1:-1].float().cpu().numpy())
        if vecs[0].shape[0] != sim.dot.shape[0] or vecs[1].shape[0] != sim.dot.shape[1]:
            return False
        if not np.allclose(vecs[0] @ vecs[1].T, sim.dot, atol=atol, rtol=1e-4):
            return False
    return True
