"""GPU benchmark, one script with a deadline: translation and the alignment encoder at
production size, each comparison at ONE precision, sorting measured apart from precision.

    python -m benchmarks.gpu --out gpu.json [--timeout 540] [--batch_sizes 16,32,64,128]
    python -m benchmarks.gpu --tiny --out tiny.json   # tiny dims on the CPU: a smoke test
    python -m benchmarks.gpu --cpu --model 600M --skip encoder --out cpu.json  # CPU rates

Translation, on NLLB-200-3.3B's architecture with random weights from its published config
(d_model 2048, 24+24 layers, 16 heads, ffn 8192, vocabulary 256,206; ``--model 600M``:
NLLB-200-distilled-600M's, d_model 1024, 12+12 layers, ffn 4096), ``--sentences``
random sentences with the lengths of Bible verses. ``--cpu`` runs the same on the CPU
(``generate`` float32, CTranslate2 float32 and int8 by default): the CPU rates of the
capacity plan. Each run is named
``<engine>_<precision>_<order>_b<batch>``:

* engines: ``generate`` (transformers) in each of ``--precisions`` (bf16, fp16) and
  CTranslate2 in each of ``--ct2_compute_types`` (float16, int8_float16), the checkpoint
  saved in float16 and converted once;
* order: ``sorted`` (length-sorted batches, ``xlner.models.batching.sort_and_batch``) or
  ``unsorted`` (input order), batches of exactly ``b`` sentences (no token budget);
* output length: every row decodes exactly ``--output_tokens`` tokens, so engines compare
  like for like; and ``generate_<precision>_<order>_b<batch>_srclen``, each row forced
  to its source length, where sorting also saves decoding steps.

Each run reports sentences/s, tokens/s, peak GPU memory (device-wide, sampled every 20 ms,
so CTranslate2's allocator counts too; also torch's own peak for generate) and the
fraction of outputs equal to its like-for-like partner. ``comparisons`` holds the ratios:
``sorting[...]`` (sorted / unsorted, one engine and precision) and ``engine[...]``
(CTranslate2 float16 / generate fp16, one order and batch).

Encoder, on bert-base-multilingual-cased's architecture (random weights, vocabulary
119,547, 12 layers, hidden 768), layer 8: our batched encoder vs simalign's
``SentenceAligner`` (one pair per call), both float32; ours in bfloat16 beside it; and
each pass's GFLOP/s against a torch matmul of the same shapes and dtype on the device.

Every section fails soft (an error is recorded and the next section runs: e.g.
CTranslate2 without the CUDA libraries it was built for). The JSON result is rewritten to
``--out`` after every measurement and printed as the last line of stdout; when the
deadline passes, what was measured is written and the script exits with status 124.
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
import traceback

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.timing import Protocol, compare  # noqa: E402

RESULTS: dict = {"translation": {}, "comparisons": {}, "encoder": {}, "errors": {}}
OUT = {"path": None}
TORCH_DTYPES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
# CTranslate2 compute types with a generate run of the same precision (int8 types have none:
# their outputs are compared with the generate run of their activations' precision).
SAME_PRECISION = {"float16": "fp16", "bfloat16": "bf16", "float32": "fp32"}
ACTIVATIONS = {**SAME_PRECISION, "int8_float16": "fp16", "int8_bfloat16": "bf16",
               "int8": "fp32", "int8_float32": "fp32"}


def save() -> None:
    if OUT["path"]:
        tmp = OUT["path"] + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(RESULTS, f, indent=1)
        os.replace(tmp, OUT["path"])


def emit(section: str, name: str, value) -> None:
    RESULTS[section][name] = value
    print(f"{section}.{name}: {json.dumps(value)}", flush=True)
    save()


def soft(section: str, fn, *args) -> None:
    """Run one section or measurement; an exception is recorded under ``errors``."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001 - record and go on
        traceback.print_exc(file=sys.stderr)
        emit("errors", section, f"{type(e).__name__}: {str(e)[:1500]}")


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
            self._base = self._peak = self._used()
            self._stop = threading.Event()
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


def _sync(device):
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def _free(device):
    import gc

    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


class Bench:
    """What every measurement shares: the texts, the device, one timing protocol."""

    def __init__(self, args, tmp: str, device: str):
        from benchmarks.models import NLLB_SIZES, TINY, random_sentences
        from benchmarks.translation import bible_lengths

        self.args, self.tmp, self.device = args, tmp, device
        self.dims = TINY if args.tiny else NLLB_SIZES[args.model]
        self.texts = random_sentences(args.sentences, bible_lengths(args.sentences),
                                      self.dims.vocab)
        self.protocol = Protocol(repeats=args.repeats, warmup=1, warmup_items=2)
        self.outputs: dict = {}

    def batches(self, items, order: str, size: int):
        from xlner.models.batching import approx_tokens, sort_and_batch

        if order == "sorted":
            return list(sort_and_batch(items, approx_tokens, size, 10 ** 9))
        return [items[i:i + size] for i in range(0, len(items), size)]

    def measure(self, name: str, translate, order: str, size: int, partner: str = ""):
        """Time ``translate(batch) -> ids`` over the texts in ``order`` batches of
        ``size``; record the run and its agreement with ``partner``'s outputs."""
        import torch

        def run(items):
            return {t: ids for b in self.batches(items, order, size)
                    for t, ids in zip(b, translate(b))}

        if self.device.startswith("cuda"):
            torch.cuda.reset_peak_memory_stats()
        with PeakGpuMemory(self.device) as mem:
            (timing, out), = compare({name: run}, self.texts, self.protocol,
                                     lambda: _sync(self.device)).values()
        value = {"sentences_per_s": round(timing.per_s(), 3),
                 "tokens_per_s": round(sum(map(len, out.values())) / timing.median, 1),
                 "peak_gpu_used_mb": round(mem.peak_used_mb, 1),
                 "peak_gpu_above_start_mb": round(mem.peak_mb, 1),
                 "batches": len(self.batches(self.texts, order, size)), **timing.report()}
        if self.device.startswith("cuda"):
            value["torch_peak_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        if partner in self.outputs:
            other = self.outputs[partner]
            value["same_as"] = {partner: round(sum(out[t] == other[t] for t in out)
                                               / len(out), 3)}
        self.outputs[name] = out
        emit("translation", name, value)


def _sizes(args) -> list[int]:
    return [int(b) for b in args.batch_sizes.split(",") if b]


def at_source_length(hf, batch, target) -> list:
    from benchmarks.translation import generate_at_source_length

    out = generate_at_source_length(hf, [batch], target)
    return [out[t] for t in batch]


def translation_generate(bench: Bench, path: str, precision: str, regime: str) -> None:
    """``generate`` in one precision, sorted and unsorted at each batch size: every row
    ``fixed`` at the output length, or each forced to its source length (``srclen``)."""
    from benchmarks.translation import hf_generate
    from xlner.models.translators import HFSeq2SeqTranslator

    length = bench.args.output_tokens
    fixed = {"min_new_tokens": length, "max_new_tokens": length}
    target = {t: min(len(t.split()), length) for t in bench.texts}
    suffix = "_srclen" if regime == "srclen" else ""
    hf = HFSeq2SeqTranslator(path, device=bench.device, dtype=TORCH_DTYPES[precision])
    try:
        for size in _sizes(bench.args):
            for order in ("unsorted", "sorted"):
                name = f"generate_{precision}_{order}_b{size}{suffix}"
                translate = ((lambda b: at_source_length(hf, b, target)) if suffix else
                             (lambda b: hf_generate(hf, b, "por_Latn", **fixed)))
                soft(name, bench.measure, name, translate, order, size,
                     f"generate_{precision}_unsorted_b{size}{suffix}")
    finally:
        del hf
        _free(bench.device)


def translation_ct2(bench: Bench, path: str, compute_type: str) -> None:
    """CTranslate2 in one compute type, sorted and unsorted at each batch size, fixed
    output length (converted once from the float16 checkpoint)."""
    from benchmarks.translation import ct2_generate
    from xlner.models.ct2 import CTranslate2Translator

    length = bench.args.output_tokens
    partner = ACTIVATIONS.get(compute_type, "")
    start = time.perf_counter()
    c = CTranslate2Translator(path, device=bench.device, compute_type=compute_type,
                              cache_dir=os.path.join(bench.tmp, "ct2"))
    RESULTS["translation"].setdefault("ct2_convert_and_load_s",
                                      round(time.perf_counter() - start, 1))
    try:
        for size in _sizes(bench.args):
            for order in ("unsorted", "sorted"):
                name = f"ct2_{compute_type}_{order}_b{size}"
                soft(name, bench.measure, name, lambda b: ct2_generate(c, b, "por_Latn", length),
                     order, size, f"generate_{partner}_{order}_b{size}")
    finally:
        del c
        _free(bench.device)


def translation_plan(args) -> list[tuple]:
    """The runs in order of importance, so a deadline cuts the least useful ones: fp16
    generate and CTranslate2 float16 (the engine comparison), the other precisions, the
    source-length regime (the sorting comparison), the other CTranslate2 types."""
    precisions = sorted(args.precisions.split(","), key=lambda p: p != "fp16")
    ct2 = args.ct2_compute_types.split(",")
    plan = [("generate", precisions[0], "fixed"), ("ct2", ct2[0])]
    plan += [("generate", p, "fixed") for p in precisions[1:]]
    plan += [("generate", p, "srclen") for p in sorted(precisions, key=lambda p: p != "bf16")]
    return plan + [("ct2", t) for t in ct2[1:]]


def comparisons(bench: Bench) -> None:
    """Ratios of like-for-like runs: sorting within one engine and precision; engine
    within one precision (e.g. CTranslate2 float16 vs generate fp16), order and batch."""
    runs = RESULTS["translation"]

    def ratio(a, b):
        if isinstance(runs.get(a), dict) and isinstance(runs.get(b), dict):
            return round(runs[a]["sentences_per_s"] / runs[b]["sentences_per_s"], 3)
        return None

    out = {}
    for name in list(runs):
        if "_sorted_" in name:
            out[f"sorting[{name}]"] = ratio(name, name.replace("_sorted_", "_unsorted_"))
        for compute_type, precision in SAME_PRECISION.items():
            if name.startswith(f"ct2_{compute_type}_"):
                other = name.replace(f"ct2_{compute_type}_", f"generate_{precision}_")
                out[f"engine[{name} vs {other}]"] = ratio(name, other)
    RESULTS["comparisons"] = {k: v for k, v in out.items() if v is not None}
    save()


def translation(bench: Bench) -> None:
    import torch

    from benchmarks.models import build_random_nllb

    dims = bench.dims
    start = time.perf_counter()
    path = str(build_random_nllb(os.path.join(bench.tmp, "nllb"), dims, device=bench.device,
                                 save_dtype=torch.float16))
    _free(bench.device)
    RESULTS["translation"]["model"] = (f"random M2M100 {dims.layers}+{dims.layers} layers "
                                       f"d={dims.d_model} ffn {dims.ffn} vocab {dims.vocab}, "
                                       "saved in float16")
    RESULTS["translation"]["build_s"] = round(time.perf_counter() - start, 1)
    RESULTS["translation"]["settings"] = {
        "sentences": len(bench.texts), "output_tokens": bench.args.output_tokens,
        "decoding": "greedy", **bench.protocol.describe()}
    for step in translation_plan(bench.args):
        if step[0] == "generate":
            soft(f"generate_{step[1]}_{step[2]}", translation_generate, bench, path, *step[1:])
        else:
            soft(f"ct2_{step[1]}", translation_ct2, bench, path, step[1])
        comparisons(bench)


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


def _random_pairs(n: int, tiny: bool):
    import random

    from benchmarks.translation import bible_lengths

    rng = random.Random(0)
    top = 1995 if tiny else 119500
    return [([f"w{rng.randrange(top)}" for _ in range(k)],
             [f"w{rng.randrange(top)}" for _ in range(max(1, int(k * 0.8)))])
            for k in bible_lengths(n)]


def encoder(bench: Bench) -> None:
    """simalign (one pair per call) vs our batched encoder, both float32, the same pairs,
    layer 8, argmax; ours in bfloat16 beside it; GFLOP/s of each pass vs torch matmul."""
    import logging

    from simalign import SentenceAligner

    from benchmarks.encoding import PAIR_BATCH, PAIR_TOKENS, align_ours, encoder_limit
    from xlner.models.encoders import WordPairEncoder

    logging.getLogger("simalign").setLevel(logging.WARNING)
    path = build_random_bert(os.path.join(bench.tmp, "mbert"), bench.args.tiny)
    pairs = _random_pairs(bench.args.pairs, bench.args.tiny)
    reference = SentenceAligner(model=path, token_type="bpe", matching_methods="a", layer=8,
                                device=bench.device)
    ours32 = WordPairEncoder(path, 8, device=bench.device, dtype="float32")
    timings = compare({
        "ours_float32": lambda items: align_ours(ours32, items),
        "simalign_float32": lambda items: [tuple(map(tuple, reference.get_word_aligns(
            s, t)["inter"])) for s, t in items]}, pairs, bench.protocol,
        lambda: _sync(bench.device))
    ours_t, ref_t = timings["ours_float32"][0], timings["simalign_float32"][0]
    same = sum(a == b for a, b in zip(timings["ours_float32"][1],
                                      timings["simalign_float32"][1])) / len(pairs)
    config = {"model": "random BERT, bert-base-multilingual-cased's config"
              if not bench.args.tiny else "tiny random BERT", "layer": 8, "method": "argmax",
              "pairs": len(pairs), **bench.protocol.describe()}
    emit("encoder", "simalign_float32", {"pairs_per_s": round(ref_t.per_s(), 3),
                                         "batch": "one pair per call", **ref_t.report()})
    emit("encoder", "ours_float32", {
        "pairs_per_s": round(ours_t.per_s(), 3), "ratio_vs_simalign_float32":
        round(ours_t.per_s() / ref_t.per_s(), 3), "same_as_simalign": round(same, 3),
        "batch": f"length-sorted, {PAIR_BATCH} pairs, {PAIR_TOKENS} padded tokens",
        **ours_t.report(), **encoder_limit(ours32, pairs, ours_t.median, bench.device)})
    RESULTS["encoder"]["config"] = config
    del ours32
    _free(bench.device)
    soft("encoder_bf16", encoder_bf16, bench, path, pairs, ref_t.per_s())


def encoder_bf16(bench: Bench, path: str, pairs, simalign_per_s: float) -> None:
    from benchmarks.encoding import align_ours, encoder_limit
    from xlner.models.encoders import WordPairEncoder

    ours16 = WordPairEncoder(path, 8, device=bench.device, dtype="bfloat16")
    (timing, _), = compare({"ours_bfloat16": lambda items: align_ours(ours16, items)}, pairs,
                           bench.protocol, lambda: _sync(bench.device)).values()
    emit("encoder", "ours_bfloat16", {
        "pairs_per_s": round(timing.per_s(), 3),
        "ratio_vs_simalign_float32": round(timing.per_s() / simalign_per_s, 3),
        "ratio_note": "different precisions: not like for like", **timing.report(),
        **encoder_limit(ours16, pairs, timing.median, bench.device)})


def _cpu_name() -> str:
    """The CPU's model name (Linux), or "cpu"."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return "cpu: " + line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "cpu"


def environment(device: str) -> None:
    import torch
    import transformers

    env = {"device": torch.cuda.get_device_name() if device == "cuda" else _cpu_name(),
           "torch": torch.__version__, "cuda": torch.version.cuda,
           "transformers": transformers.__version__,
           "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    try:
        import ctranslate2

        env["ctranslate2"] = ctranslate2.__version__
        env["ctranslate2_cuda_devices"] = ctranslate2.get_cuda_device_count()
    except Exception as e:  # noqa: BLE001 - recorded; the CTranslate2 runs will fail soft
        env["ctranslate2"] = f"unavailable: {type(e).__name__}: {e}"
    RESULTS["environment"] = env
    save()


def parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="the JSON result file (rewritten as it goes)")
    ap.add_argument("--tiny", action="store_true", help="tiny dims, CPU: a smoke test")
    ap.add_argument("--cpu", action="store_true",
                    help="production dims on the CPU (the capacity plan's CPU rates)")
    ap.add_argument("--model", choices=("3.3B", "600M"), default="3.3B",
                    help="which NLLB-200 architecture (random weights)")
    ap.add_argument("--timeout", type=int, default=540, help="seconds for the whole script")
    ap.add_argument("--sentences", type=int, default=128)
    ap.add_argument("--output_tokens", type=int, default=64)
    ap.add_argument("--batch_sizes", default="16,32,64,128")
    ap.add_argument("--precisions", default=None,
                    help="generate's: bf16, fp16, fp32 (default bf16,fp16; fp32 with --cpu)")
    ap.add_argument("--ct2_compute_types", default=None,
                    help="default float16,int8_float16 (GPU), float32,int8 (--tiny, --cpu)")
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=1, help="timed repeats of every run")
    ap.add_argument("--skip", default="", help="translation and/or encoder")
    args = ap.parse_args(argv)
    if args.tiny:  # CTranslate2 float32 on the CPU: its like-for-like partner is fp32
        args.sentences, args.output_tokens = min(args.sentences, 8), min(args.output_tokens, 6)
        args.pairs, args.batch_sizes, args.precisions = min(args.pairs, 6), "4,8", "fp32,bf16"
    on_cpu = args.tiny or args.cpu
    if args.precisions is None:
        args.precisions = "fp32" if on_cpu else "bf16,fp16"
    if args.ct2_compute_types is None:
        args.ct2_compute_types = "float32,int8" if on_cpu else "float16,int8_float16"
    return args


def main(argv=None) -> int:
    args = parse(argv)
    import torch

    OUT["path"] = args.out
    device = "cpu" if args.tiny or args.cpu else ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu" and not (args.tiny or args.cpu):
        print("no GPU visible: --cpu measures on the CPU, --tiny is a smoke run", file=sys.stderr)
        return 2
    RESULTS["arguments"] = vars(args)

    def deadline(*_):
        RESULTS["timed_out"] = True
        save()
        print(json.dumps(RESULTS), flush=True)
        os._exit(124)

    signal.signal(signal.SIGALRM, deadline)
    signal.alarm(args.timeout)
    soft("environment", environment, device)
    with tempfile.TemporaryDirectory(prefix="xlner-gpu-bench-") as tmp:
        bench = Bench(args, tmp, device)
        for name, fn in (("encoder", encoder), ("translation", translation)):
            if name not in args.skip.split(","):
                soft(name, fn, bench)
    signal.alarm(0)
    save()
    print(json.dumps(RESULTS), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
