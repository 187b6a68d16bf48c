"""Start-up: ``--help`` and operator mistakes never import an ML framework (torch alone is
~2 s of imports, pulled in by Beam's RunInference); the options and configs are read
without them, and the graph's modules are imported only once the options are good."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FRAMEWORKS = ("torch", "transformers", "ctranslate2", "apache_beam.ml.inference.base",
              "torch._dynamo")
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
    code, loaded, _ = probe("apache_beam.ml.inference.model_manager")
    assert "torch" in loaded.split(",")


GRAPH_IMPORT = """
import resource, sys, time
start = time.perf_counter()
import pipeline.graph, pipeline.config, transforms.handlers
base = sys.modules["apache_beam.ml.inference.base"]
print("FRAMEWORKS", ",".join(m for m in ("torch", "transformers", "ctranslate2")
                             if m in sys.modules))
print("FALLBACK", base.ModelManager is None, base.resource is resource)
from apache_beam.ml.inference.model_manager import ModelManager  # Beam's lazy path
print("LAZY", ModelManager.__module__, "torch" in sys.modules)
"""


def test_the_graph_modules_import_no_ml_framework_and_beams_lazy_path_still_works():
    """A launcher builds its graph (RunInference included) without torch: Beam's eager
    optional import of its model manager is refused once (transforms.inference_import);
    Beam's own fallback holds and its lazy import of the model manager still works."""
    done = subprocess.run([sys.executable, "-c", GRAPH_IMPORT], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert lines["FRAMEWORKS"] == ""
    assert lines["FALLBACK"] == "True True"
    assert lines["LAZY"] == "apache_beam.ml.inference.model_manager True"


def test_only_inference_import_imports_beams_runinference_module():
    """Any other import of apache_beam.ml.inference.base would load torch again before it."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    found = [str(p.relative_to(root)) for d in ("pipeline", "transforms", "xlner")
             for p in (root / d).rglob("*.py")
             if "apache_beam.ml.inference" in p.read_text(encoding="utf-8")
             and p.name != "inference_import.py"]
    assert found == []


def test_the_default_job_never_imports_transformers(e5_dir, tmp_path):
    """The default aligner (the embedded e5, converted by the fixture as on first use)
    runs on the plain-torch encoder: importing transformers costs ~3 s of every job, and
    torch's compiler (``torch._dynamo``, which initialising a tensor on the meta device
    would import) ~1.4 s."""
    from tests.helpers import write_jsonl

    import pathlib

    dev = pathlib.Path(__file__).resolve().parent.parent / "data" / "bible-dev" / "dev.jsonl"
    with open(dev, encoding="utf-8") as f:
        data = write_jsonl(tmp_path / "in.jsonl", [next(f).strip() for _ in range(3)])
    code, loaded, err = probe("pipeline.run", f"--input={data}", f"--output={tmp_path / 'out'}",
                              "--target_langs=ell_Grek", "--runner=FnApiRunner")
    assert code == 0, err
    assert "torch" in loaded.split(",") and "transformers" not in loaded.split(","), loaded
    assert "torch._dynamo" not in loaded.split(","), loaded
    with open(tmp_path / "out" / "summary.json", encoding="utf-8") as f:
        align = [s for s in json.load(f)["stages"] if s["stage"] == "align"]
    assert align[0]["records_out"] == 3 and align[0]["dead_lettered"] == 0
