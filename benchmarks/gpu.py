"""GPU benchmark, one script with a deadline: translation and alignment at production size.

    python -m benchmarks.gpu [--timeout 540] [--sentences 64] [--output_tokens 64]
    python -m benchmarks.gpu --tiny     # tiny dims on the CPU: checks the script runs

Translation, on NLLB-200-3.3B's architecture with random weights from its published config
(d_model 2048, 24+24 layers, 16 heads, ffn 8192, vocabulary 256,206), the output length
fixed (``--output_tokens``; every engine decodes exactly that many tokens):

* ``generate_fp32_unsorted`` — the reference: ``generate`` in float32, batches of 32 in
  input order;
* ``generate_bf16_sorted`` — ours with ``generate``: bfloat16, length-sorted
  token-budgeted batches (``xlner.batching.sort_and_batch``, 32 / 8192);
* ``ct2_float16``, ``ct2_int8_float16`` — ours with CTranslate2 (the checkpoint saved in
  float16 and converted), the same sorted batches;

each with sentences/s, generated tokens/s, peak GPU memory (device-wide, sampled, so it
counts CTranslate2's allocator too: in use in all, and above what was in use before the
run, i.e. beyond the weights) and the fraction of outputs equal to the reference's. The
random model is saved in float16 (half the disk and load time of a 3.3B model); the
float32 reference loads it as exact float32 values.

Alignment, on bert-base-multilingual-cased's architecture (random ``BertModel``, vocabulary
119,547, 12 layers, hidden 768), layer 8: simalign's ``SentenceAligner`` (one pair per call)
vs our batched encoder + argmax extraction, pairs/s and agreement.

Each result is printed as it finishes; the last line of stdout is one JSON object
``{"device": ..., "translation": {...}, "alignment": {...}}``. When the deadline passes the
script prints what it has and exits with status 124.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RESULTS: dict = {"translation": {}, "alignment": {}}


class PeakGpuMemory:
    """Peak device memory in use (total - free) above what was in use at entry, sampled
    every 20 ms: sees torch's and CTranslate2's allocations alike. 0 on the CPU."""

    def __init__(self, device: str):
        self.device, self.peak_mb, self.peak_used_mb = device, 0.0, 0.0

    def _used(self) -> int:
        import torch

        free, total = torch.cuda.mem_get_info()
        return total - free

    def __enter__(self):
        if self.device.startswith("cuda"):
            self._base = self._used()
            self._stop = threading.Event()
            self._peak = self._base
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def _poll(self):
        while not self._stop.wait(0.02):
            self._peak = max(self._peak, self._used())

    def __exit__(self, *exc):
        if self.device.startswith("cuda"):
            self._stop.set()
            self._thread.join()
            self._peak = max(self._peak, self._used())
            self.peak_mb = (self._peak - self._base) / 2**20
            self.peak_used_mb = self._peak / 2**20


def _free(device):
    import gc

    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def _sync(device):
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _emit(section: str, name: str, value: dict) -> None:
    RESULTS[section][name] = value
    print(f"{section}.{name}: {json.dumps(value)}", flush=True)


def translation(args, tmp: str, device: str) -> None:
    import torch

    from benchmarks.__main__ import _bible_lengths, ct2_generate, hf_generate
    from benchmarks.models import NLLB_3B, TINY, build_random_nllb, random_sentences
    from xlner.batching import approx_tokens
    from xlner.batching import sort_and_batch
    from xlner.models.ct2 import CTranslate2Translator
    from xlner.models.translators import HFSeq2SeqTranslator

    dims = TINY if args.tiny else NLLB_3B
    n, length = args.sentences, args.output_tokens
    texts = random_sentences(n, _bible_lengths(n), dims.vocab)
    unsorted = [texts[i:i + 32] for i in range(0, n, 32)]
    ours = list(sort_and_batch(texts, approx_tokens, 32, 8192))
    fixed = {"min_new_tokens": length, "max_new_tokens": length}
    start = time.perf_counter()
    path = build_random_nllb(os.path.join(tmp, "nllb"), dims, device=device,
                             save_dtype=torch.float16)
    _free(device)
    build_s = time.perf_counter() - start

    def measure(name, fn, batches, reference=None):
        fn(batches[0][:2])  # warm-up
        _sync(device)
        with PeakGpuMemory(device) as mem:
            start = time.perf_counter()
            out = {t: ids for b in batches for t, ids in zip(b, fn(b))}
            _sync(device)
            wall = time.perf_counter() - start
        value = {"sentences_per_s": round(n / wall, 3),
                 "tokens_per_s": round(sum(len(v) for v in out.values()) / wall, 1),
                 "peak_gpu_used_mb": round(mem.peak_used_mb, 1),
                 "peak_gpu_above_weights_mb": round(mem.peak_mb, 1), "wall_s": round(wall, 2),
                 "batches": len(batches)}
        if reference is not None:
            value["same_as_reference"] = round(
                sum(out[t] == reference[t] for t in texts) / n, 3)
            value["ratio_vs_reference"] = round(
                RESULTS["translation"]["generate_fp32_unsorted"]["wall_s"] / wall, 3)
        _emit("translation", name, value)
        return out

    hf = HFSeq2SeqTranslator(path, device=device, dtype="float32")
    ref = measure("generate_fp32_unsorted",
                  lambda b: hf_generate(hf, b, "por_Latn", **fixed), unsorted)
    hf.model.to(torch.bfloat16)
    _free(device)
    measure("generate_bf16_sorted", lambda b: hf_generate(hf, b, "por_Latn", **fixed), ours,
            ref)
    del hf
    _free(device)
    start = time.perf_counter()
    for compute_type in args.ct2_compute_types.split(","):
        # converted once (float16 weights, as saved), loaded with each compute type
        c = CTranslate2Translator(str(path), device=device, compute_type=compute_type,
                                  cache_dir=os.path.join(tmp, "ct2"))
        if "convert_s" not in RESULTS["translation"]:
            RESULTS["translation"]["convert_s"] = round(time.perf_counter() - start, 1)
        measure(f"ct2_{compute_type}", lambda b: ct2_generate(c, b, "por_Latn", length), ours,
                ref)
        del c
        _free(device)
    RESULTS["translation"]["build_s"] = round(build_s, 1)
    RESULTS["translation"]["model"] = (f"random M2M100 {dims.layers}+{dims.layers} layers "
                                       f"d={dims.d_model} ffn {dims.ffn} vocab {dims.vocab}")
    RESULTS["translation"]["output_tokens"] = length


def build_random_bert(path: str, tiny: bool) -> str:
    """bert-base-multilingual-cased's architecture, random weights, a WordPiece vocabulary
    of its size (pieces ``w0``, ``w1``, ...)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    os.makedirs(path, exist_ok=True)
    size = 2000 if tiny else 119547
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    with open(os.path.join(path, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(specials + [f"w{i}" for i in range(size - len(specials))]) + "\n")
    BertTokenizerFast(os.path.join(path, "vocab.txt"), do_lower_case=False).save_pretrained(path)
    config = (BertConfig(vocab_size=size, hidden_size=32, num_hidden_layers=8,
                         num_attention_heads=2, intermediate_size=64)
              if tiny else BertConfig(vocab_size=size))  # BertConfig's defaults = mBERT's
    torch.manual_seed(0)
    BertModel(config).save_pretrained(path)
    return path


def alignment(args, tmp: str, device: str) -> None:
    import logging
    import random

    from simalign import SentenceAligner

    from benchmarks.__main__ import align_ours
    from xlner.models.encoders import WordPairEncoder

    logging.getLogger("simalign").setLevel(logging.WARNING)
    path = build_random_bert(os.path.join(tmp, "mbert"), args.tiny)
    rng = random.Random(0)
    from benchmarks.__main__ import _bible_lengths

    lengths = _bible_lengths(args.pairs)
    top = 1995 if args.tiny else 119500
    pairs = [([f"w{rng.randrange(top)}" for _ in range(n)],
              [f"w{rng.randrange(top)}" for _ in range(max(1, int(n * 0.8)))])
             for n in lengths]
    reference = SentenceAligner(model=path, token_type="bpe", matching_methods="a", layer=8,
                                device=device)
    encoder = WordPairEncoder(path, 8, device=device)
    reference.get_word_aligns(*pairs[0])
    align_ours(encoder, pairs[:2])
    _sync(device)
    start = time.perf_counter()
    ref = [tuple(map(tuple, reference.get_word_aligns(s, t)["inter"])) for s, t in pairs]
    _sync(device)
    ref_t = time.perf_counter() - start
    start = time.perf_counter()
    ours = align_ours(encoder, pairs)
    _sync(device)
    ours_t = time.perf_counter() - start
    _emit("alignment", "simalign_one_pair_per_call",
          {"pairs_per_s": round(len(pairs) / ref_t, 3)})
    _emit("alignment", "ours_batched", {
        "pairs_per_s": round(len(pairs) / ours_t, 3), "ratio": round(ref_t / ours_t, 3),
        "dtype": str(encoder.dtype).replace("torch.", ""),
        "same_as_simalign": round(sum(a == b for a, b in zip(ours, ref)) / len(pairs), 3)})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiny", action="store_true", help="tiny dims, CPU: a smoke test")
    ap.add_argument("--timeout", type=int, default=540, help="seconds for the whole script")
    ap.add_argument("--sentences", type=int, default=64)
    ap.add_argument("--output_tokens", type=int, default=64)
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--ct2_compute_types", default=None,
                    help="default float16,int8_float16 (GPU), float32,int8 (--tiny)")
    ap.add_argument("--skip", default="", help="translation and/or alignment")
    args = ap.parse_args(argv)
    if args.tiny:
        args.sentences, args.output_tokens = min(args.sentences, 8), min(args.output_tokens, 6)
        args.pairs = min(args.pairs, 6)
    import torch

    device = "cpu" if args.tiny else ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu" and not args.tiny:
        print("no GPU visible: use --tiny for a CPU smoke run", file=sys.stderr)
        return 2
    if args.ct2_compute_types is None:
        args.ct2_compute_types = "float32,int8" if args.tiny else "float16,int8_float16"
    RESULTS["device"] = torch.cuda.get_device_name() if device == "cuda" else "cpu"

    def deadline(*_):
        RESULTS["timed_out"] = True
        print(json.dumps(RESULTS), flush=True)
        os._exit(124)

    signal.signal(signal.SIGALRM, deadline)
    signal.alarm(args.timeout)
    with tempfile.TemporaryDirectory(prefix="xlner-gpu-bench-") as tmp:
        for name, fn in (("translation", translation), ("alignment", alignment)):
            if name in args.skip.split(","):
                continue
            try:
                fn(args, tmp, device)
            except Exception as e:  # noqa: BLE001 - report and go on to the next part
                import traceback

                traceback.print_exc(file=sys.stderr)
                RESULTS[name]["error"] = f"{type(e).__name__}: {e}"
    signal.alarm(0)
    print(json.dumps(RESULTS), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
