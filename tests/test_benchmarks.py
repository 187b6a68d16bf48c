"""The benchmark harnesses run and report what they claim (tiny sizes: no timing claims)."""

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


def test_benchmark_matching_stage_reports_identical_selections_and_a_ratio():
    out = run_module("benchmarks", "--quick", "--stages", "matching_greedy")
    stage = out["stages"]["matching_greedy"]
    assert stage["identical"] is True and stage["baseline"] == "reference_dense"
    assert stage["ratio"] == pytest.approx(stage["ours_per_s"] / stage["baseline_per_s"],
                                           rel=1e-2)
    assert stage["pairs"] > 100 and stage["target_words"] == 24


@pytest.mark.slow
def test_gpu_script_runs_tiny_on_the_cpu():
    out = run_module("benchmarks.gpu", "--tiny", "--timeout", "500")
    tr, al = out["translation"], out["alignment"]
    assert set(tr) >= {"generate_fp32_unsorted", "generate_bf16_sorted", "ct2_float32",
                       "ct2_int8"}
    assert tr["ct2_float32"]["same_as_reference"] == 1.0  # fp32 engines agree token for token
    for name in ("generate_fp32_unsorted", "ct2_int8"):
        assert tr[name]["sentences_per_s"] > 0 and tr[name]["tokens_per_s"] > 0
    assert al["ours_batched"]["same_as_simalign"] == 1.0 and "error" not in al
