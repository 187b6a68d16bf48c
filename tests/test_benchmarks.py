"""The benchmark harnesses run and report what they claim (tiny sizes: no timing claims):
both sides of a stage timed alike, the competent baselines pick what the reference picks,
FLOPs counted as torch counts them."""

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_module(*args, timeout=600):
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": ROOT, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_benchmark_matching_stage_reports_both_baselines_and_both_configurations():
    out = run_module("benchmarks", "--quick", "--stages", "matching_greedy")
    stage = out["stages"]["matching_greedy"]
    assert stage["identical"] is True and stage["baseline"] == "reference_vectorised"
    assert stage["ratio"] == pytest.approx(stage["ours_per_s"] / stage["baseline_per_s"],
                                           rel=1e-2)
    assert stage["ratio_vs_literal_reference"] > stage["ratio"]  # the literal loops are slower
    assert stage["pairs"] > 100 and stage["ours_config"]["target_words"] == 24
    for key in ("repeats", "warmup", "warmup_items", "statistic"):  # one protocol
        assert stage["ours_config"][key] == stage["baseline_config"][key]
    assert stage["ours_timing"]["repeats"] == stage["baseline_timing"]["repeats"] == 3
    assert stage["ours_config"]["link_weighting"] == "count"  # the reference's Dice


def test_both_sides_get_the_same_warmup_and_repeats_interleaved():
    from benchmarks.timing import Protocol, compare

    calls = []
    sides = {name: (lambda items, name=name: calls.append((name, len(items))) or name)
             for name in ("ours", "baseline")}
    out = compare(sides, list(range(10)), Protocol(repeats=3, warmup=1, warmup_items=2))
    assert calls == [("ours", 2), ("baseline", 2)] + [("ours", 10), ("baseline", 10)] * 3
    assert {name: (len(t.seconds), result) for name, (t, result) in out.items()} == {
        "ours": (3, "ours"), "baseline": (3, "baseline")}


@pytest.mark.parametrize("max_words, n_proj", [(None, 1), (3, 1), (None, 2)])
def test_vectorised_reference_picks_what_the_literal_reference_picks(max_words, n_proj):
    from benchmarks.data import bible_rows
    from benchmarks.reference_matching import reference_project, vectorised_project
    from xlner.text.bio import tags_to_spans

    rows = bible_rows()
    for r in rows:
        spans = tags_to_spans(r["ner_tags"])
        args = (spans, r["translation_tokens"], r["alignment"], len(r["tokens"]), max_words,
                n_proj)
        assert vectorised_project(*args) == reference_project(*args), r["id"]
    # stop words split candidates in both
    words = ["Ana", "!", "mora", "em", "Lisboa", "?"]
    args = ([__import__("xlner.formats.records").formats.records.Span(0, 1, "PER")], words, [(0, 0), (0, 2)],
            1)
    assert vectorised_project(*args) == reference_project(*args) == [(0, 1, "PER")]


def test_encoder_flops_are_the_matrix_products_torch_counts(tiny_bert):
    """Our FLOP count of the encoder's padded forward passes (from the config and the
    padded shapes our pass ran) equals torch's FlopCounterMode on the same tensors,
    attention products included (eager attention, whose products torch counts)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from transformers import AutoModel

    from benchmarks.encoding import ReplayForward
    from benchmarks.flops import layers_run, record_encoder
    from xlner.models.encoders import WordPairEncoder

    encoder = WordPairEncoder(tiny_bert, 2, device="cpu", dtype="float32")
    encoder._packed = False  # the padded passes (transformers' models run them)
    pairs = [(["Ana", "mora", "em", "Lisboa"], ["Paris"]), (["a"] * 30, ["b", "c"])]
    tensors = ReplayForward(encoder, pairs).batches
    assert len(tensors) == 2  # two canonical widths
    recorder = record_encoder(encoder)
    encoder.similarities(pairs)
    assert recorder.shapes == [tuple(ids.shape) for ids, _ in tensors]
    net = AutoModel.from_pretrained(tiny_bert, attn_implementation="eager").eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.inference_mode():
        for ids, mask in tensors:
            net(input_ids=ids, attention_mask=mask)
    counted = sum(counter.get_flop_counts()["BertModel.encoder"].values())
    assert layers_run(encoder) == net.config.num_hidden_layers == 2
    assert recorder.flops(net.config, layers_run(encoder)) == counted


def test_packed_encoder_flops_are_the_products_torch_counts(tiny_bert):
    """The packed pass (the job's, for the plain encoder): its position-wise products are
    torch's count of its own forward, its attention products torch's count of the score and
    context products at the attention passes it ran."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.encoding import ReplayForward
    from benchmarks.flops import attention_flops, layers_run, position_wise_flops, record_encoder
    from xlner.models.encoders import WordPairEncoder

    encoder = WordPairEncoder(tiny_bert, 2, device="cpu", dtype="float32")
    assert encoder._packed
    pairs = [(["Ana", "mora", "em", "Lisboa"], ["Paris"]), (["a"] * 30, ["b", "c"])]
    layouts = [layout for (layout,) in ReplayForward(encoder, pairs).batches]
    assert len(layouts) == 1 and len(layouts[0].passes) == 2
    recorder = record_encoder(encoder)
    encoder.similarities(pairs)
    assert recorder.rows == [len(layouts[0].ids)] == [encoder.words.max_tokens]
    config, layers = encoder.net.config, layers_run(encoder)
    counter = FlopCounterMode(display=False)
    with counter:
        encoder.net.forward_packed(layouts[0], encoder.layers)
    assert counter.get_total_flops() == layers * position_wise_flops(
        sum(recorder.rows), config.hidden_size, config.intermediate_size)
    heads = config.num_attention_heads
    size = config.hidden_size // heads
    attention = FlopCounterMode(display=False)
    with attention:
        for rows, slots in recorder.shapes:
            q = torch.zeros(rows, heads, slots, size)
            torch.matmul(torch.matmul(q, q.transpose(-1, -2)), q)
    assert attention.get_total_flops() == sum(
        attention_flops(b, t, config.hidden_size) for b, t in recorder.shapes)
    assert recorder.flops(config, layers) == counter.get_total_flops() + layers * \
        attention.get_total_flops()


@pytest.mark.slow
def test_gpu_script_runs_tiny_on_the_cpu(tmp_path):
    path = tmp_path / "gpu.json"
    out = run_module("benchmarks.gpu", "--tiny", "--timeout", "500", "--out", str(path))
    assert json.loads(path.read_text()) == out and out["errors"] == {}
    tr = out["translation"]
    for precision in ("fp32", "bf16"):
        for name in (f"generate_{precision}_unsorted_b4", f"generate_{precision}_sorted_b8",
                     f"generate_{precision}_sorted_b4_srclen"):
            assert tr[name]["sentences_per_s"] > 0 and tr[name]["tokens_per_s"] > 0
    # fp32 engines agree token for token; sorting does not change outputs at one precision
    assert tr["ct2_float32_sorted_b8"]["same_as"] == {"generate_fp32_sorted_b8": 1.0}
    assert tr["generate_bf16_sorted_b4"]["same_as"] == {"generate_bf16_unsorted_b4": 1.0}
    assert "engine[ct2_float32_sorted_b4 vs generate_fp32_sorted_b4]" in out["comparisons"]
    assert "sorting[generate_bf16_sorted_b8_srclen]" in out["comparisons"]
    enc = out["encoder"]
    assert enc["ours_float32"]["same_as_simalign"] == 1.0
    assert 0 < enc["ours_float32"]["fraction_of_matmul_peak"]
    assert enc["ours_float32"]["repeats"] == enc["simalign_float32"]["repeats"]


def test_gpu_script_fails_soft_and_keeps_going():
    """A section that raises is recorded under errors and the next one still runs."""
    from benchmarks import gpu

    gpu.RESULTS["errors"].clear()
    ran = []
    gpu.soft("first", lambda: 1 / 0)
    gpu.soft("second", lambda: ran.append(True))
    assert gpu.RESULTS["errors"] == {"first": "ZeroDivisionError: division by zero"} and ran
    gpu.RESULTS["errors"].clear()


def test_gpu_script_measures_production_sizes_on_the_cpu_when_asked(tmp_path):
    """``--cpu`` keeps the production architecture (the capacity plan's CPU rates) with
    CPU precisions; without it and without a GPU the script refuses (exit 2)."""
    from benchmarks import gpu
    from benchmarks.models import NLLB_600M, NLLB_SIZES

    args = gpu.parse(["--cpu", "--model", "600M", "--out", "x.json"])
    assert (args.precisions, args.ct2_compute_types) == ("fp32", "float32,int8")
    assert NLLB_SIZES[args.model] == NLLB_600M and NLLB_600M.layers == 12
    assert gpu.translation_plan(args) == [("generate", "fp32", "fixed"), ("ct2", "float32"),
                                          ("generate", "fp32", "srclen"), ("ct2", "int8")]
    gpu_args = gpu.parse(["--out", "x.json"])
    assert (gpu_args.precisions, gpu_args.ct2_compute_types) == ("bf16,fp16",
                                                                 "float16,int8_float16")
    import torch

    if not torch.cuda.is_available():
        assert gpu.main(["--out", str(tmp_path / "g.json")]) == 2
        assert not (tmp_path / "g.json").exists()
