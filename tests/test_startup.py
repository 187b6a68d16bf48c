"""Start-up: ``--help`` and operator mistakes never import an ML framework (torch alone is
~2 s of imports, pulled in by Beam's RunInference); the options and configs are read
without them, and the graph's modules are imported only once the options are good."""

from __future__ import annotations

import subprocess
import sys

import pytest

FRAMEWORKS = ("torch", "transformers", "ctranslate2", "apache_beam.ml.inference.base")
PROBE = """
import runpy, sys
sys.argv = ["job", *sys.argv[2:]]
try:
    runpy.run_module({module!r}, run_name="__main__")
except SystemExit as e:
    code = e.code
print("LOADED", ",".join(m for m in {frameworks!r} if m in sys.modules), file=sys.stderr)
sys.exit(code)
"""


def probe(module: str, *args: str):
    code = PROBE.format(module=module, frameworks=FRAMEWORKS)
    done = subprocess.run([sys.executable, "-c", code, "x", *args], capture_output=True,
                          text=True, timeout=120)
    loaded = [line for line in done.stderr.splitlines() if line.startswith("LOADED")][-1]
    return done.returncode, loaded.removeprefix("LOADED").strip(), done.stderr


@pytest.mark.parametrize("module", ["pipeline.run", "pipeline.evaluate"])
def test_help_imports_no_ml_framework(module):
    code, loaded, _ = probe(module, "--help")
    assert code == 0 and loaded == ""


@pytest.mark.parametrize("args", [["--align_layers=nan"], ["--target_langs=xx_Yyyy"],
                                  ["--input=/nonexistent/x.jsonl"],
                                  ["--min_entity_score=-1"]])
def test_operator_mistakes_stop_before_any_ml_framework_is_imported(args):
    code, loaded, err = probe("pipeline.run", *args)
    assert code == 2 and loaded == "", err
    assert err.count("xlner: error:") == 1


def test_the_probe_sees_a_framework_when_one_is_imported():
    code, loaded, _ = probe("transforms.handlers")
    assert "torch" in loaded.split(",")
