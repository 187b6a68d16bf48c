"""The log a user reads: quiet, a progress line per model step, the load_dataset call."""

import os
import subprocess
import sys

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..")


@pytest.mark.slow
def test_the_demo_log_is_short_and_says_what_was_made(tmp_path, e5_dir):
    res = subprocess.run([sys.executable, "-m", "pipeline.run", f"--output={tmp_path}/out"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [line for line in (res.stdout + res.stderr).splitlines() if line.strip()]
    assert len(lines) <= 20, "\n".join(lines)
    assert not any("proxy" in line.lower() for line in lines)
    assert any("xlner: translate 40/40 texts (100%)" in line for line in lines)
    assert any("xlner: align 40/40 sentence pairs (100%)" in line for line in lines)
    assert any(f'datasets.load_dataset("{tmp_path}/out", "por_Latn", split="train")' in line
               for line in lines)


def test_help_shows_our_options_first():
    res = subprocess.run([sys.executable, "-m", "pipeline.run", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    head = res.stdout.splitlines()[:120]
    assert any(line.strip().startswith("--target_langs") for line in head)
