"""The encoder's limit on this machine: the floating-point work of our encoder pass (from
the model's config and the padded batch shapes it actually ran) per second, against a
torch matrix-multiply microbenchmark of the same shapes, dtype and device in the same
process.

Counted: the matrix products of each transformer layer that ran (Q, K, V, output
projections; the two feed-forward products; attention scores and context), 2 FLOPs per
multiply-add. Not counted: embeddings, softmax, layer norms, activations (a few percent),
so the achieved fraction is a slight underestimate.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable


def encoder_dims(config) -> tuple[int, int]:
    """(hidden, feed-forward) width of an encoder-only or seq2seq model's encoder."""
    hidden = getattr(config, "hidden_size", None) or config.d_model
    ffn = getattr(config, "intermediate_size", None) or config.encoder_ffn_dim
    return int(hidden), int(ffn)


def layer_flops(batch: int, tokens: int, hidden: int, ffn: int) -> int:
    """Matrix-product FLOPs of one layer on a [batch, tokens] padded input."""
    per_token = 8 * hidden * hidden + 4 * hidden * ffn + 4 * tokens * hidden
    return batch * tokens * per_token


class ShapeRecorder:
    """Wraps a forward(input_ids, attention_mask) and records each padded (batch, tokens)."""

    def __init__(self, forward: Callable):
        self._forward = forward
        self.shapes: list[tuple[int, int]] = []

    def __call__(self, input_ids, attention_mask):
        self.shapes.append(tuple(input_ids.shape))
        return self._forward(input_ids, attention_mask)

    def flops(self, config, layers_run: int) -> int:
        hidden, ffn = encoder_dims(config)
        return layers_run * sum(layer_flops(b, t, hidden, ffn) for b, t in self.shapes)

    def typical_rows(self) -> int:
        """The median number of token rows (batch x tokens) of a forward call."""
        return int(statistics.median(b * t for b, t in self.shapes)) if self.shapes else 1


def record_encoder(encoder) -> ShapeRecorder:
    """Record the shapes of a ``WordPairEncoder``'s forward passes from now on."""
    recorder = ShapeRecorder(encoder._forward)
    encoder._forward = recorder
    return recorder


def layers_run(encoder) -> int:
    """How many transformer blocks a ``WordPairEncoder`` runs per forward pass."""
    blocks = getattr(getattr(encoder.net, "encoder", None), "layer", None)
    if blocks is None:
        blocks = getattr(encoder.net, "layers", None)
    return len(blocks) if blocks is not None else max(encoder.layers)


def matmul_gflops(rows: int, hidden: int, ffn: int, dtype, device: str,
                  repeats: int = 10) -> dict:
    """GFLOP/s of torch matmul at the feed-forward shapes [rows, hidden] x [hidden, ffn]
    and [rows, ffn] x [ffn, hidden] (median of ``repeats`` after a warm-up); ``peak`` is
    the faster of the two."""
    import torch

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    out = {}
    for name, (m, k, n) in {"up": (rows, hidden, ffn), "down": (rows, ffn, hidden)}.items():
        a = torch.randn(m, k, dtype=dtype, device=device)
        b = torch.randn(k, n, dtype=dtype, device=device)
        with torch.inference_mode():
            torch.matmul(a, b)
            times = []
            for _ in range(repeats):
                sync()
                start = time.perf_counter()
                torch.matmul(a, b)
                sync()
                times.append(time.perf_counter() - start)
        out[f"{name}_gflops"] = round(2 * m * k * n / statistics.median(times) / 1e9, 2)
    out["peak_gflops"] = max(out["up_gflops"], out["down_gflops"])
    out["shapes"] = f"[{rows},{hidden}]x[{hidden},{ffn}] and [{rows},{ffn}]x[{ffn},{hidden}]"
    return out
