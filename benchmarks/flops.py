"""The encoder's limit on this machine: the floating-point work of our encoder pass (from
the model's config and the shapes it actually ran: padded passes, or packed rows and the
attention passes) per second, against a
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


def position_wise_flops(rows: int, hidden: int, ffn: int) -> int:
    """Matrix-product FLOPs of one layer's projections and feed-forward on ``rows`` tokens."""
    return rows * (8 * hidden * hidden + 4 * hidden * ffn)


def attention_flops(batch: int, tokens: int, hidden: int) -> int:
    """FLOPs of one layer's attention scores and context on a [batch, tokens] pass."""
    return batch * tokens * 4 * tokens * hidden


def layer_flops(batch: int, tokens: int, hidden: int, ffn: int) -> int:
    """Matrix-product FLOPs of one layer on a [batch, tokens] padded input."""
    return position_wise_flops(batch * tokens, hidden, ffn) + attention_flops(batch, tokens,
                                                                              hidden)


class ShapeRecorder:
    """Wraps an encoder's forward and records the shapes it ran: a padded
    ``forward(input_ids, attention_mask)``'s (batch, tokens), or a packed forward's rows
    (``Packed``: the position-wise layers' rows, and each attention pass's shape)."""

    def __init__(self, forward: Callable, packed: bool = False, block: int = 1,
                 attribute: str = "_forward"):
        self._forward = forward
        self.packed, self.block, self.attribute = packed, block, attribute
        self.shapes: list[tuple[int, int]] = []  # padded passes, or packed attention passes
        self.rows: list[int] = []  # rows of each call's position-wise layers

    def __call__(self, *args):
        if self.packed:
            (layout,) = args
            self.rows.append(len(layout.ids))
            self.shapes.extend(tuple(keep.shape) for _, keep, _ in layout.passes)
        else:
            self.shapes.append(tuple(args[0].shape))
            self.rows.append(args[0].shape[0] * args[0].shape[1])
        return self._forward(*args)

    def flops(self, config, layers_run: int) -> int:
        hidden, ffn = encoder_dims(config)
        return layers_run * (position_wise_flops(sum(self.rows), hidden, ffn)
                             + sum(attention_flops(b, t, hidden) for b, t in self.shapes))

    def typical_rows(self) -> int:
        """The median number of token rows of one matrix product of the encoder."""
        if self.packed:
            return self.block
        return int(statistics.median(b * t for b, t in self.shapes)) if self.shapes else 1


def record_encoder(encoder) -> ShapeRecorder:
    """Record the shapes of a ``WordPairEncoder``'s forward passes from now on (its packed
    forward where it runs one)."""
    packed = getattr(encoder, "_packed", False)
    name = "_forward_packed" if packed else "_forward"
    recorder = ShapeRecorder(getattr(encoder, name), packed, encoder.words.max_tokens, name)
    setattr(encoder, name, recorder)
    return recorder


def stop_recording(encoder, recorder: ShapeRecorder) -> None:
    setattr(encoder, recorder.attribute, recorder._forward)


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
