"""The commands the README promises stay runnable.

The MasakhaNER2 reproduction command is taken from README.md verbatim; only the model ids
(which need a hub) are swapped for tiny stand-in models and DATA for small fixtures in the
exact MasakhaNER 2.0 layout. The whole graph is built and run.
"""

import glob
import json
import os
import re
import shlex
import subprocess
import sys

import pyarrow.parquet as pq

from tests.model_loads import counting_env, model_loads
from xlner.projection.methods import PAPER_METHODS

ROOT = os.path.join(os.path.dirname(__file__), "..")


def readme_command(marker: str) -> list[str]:
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(re.escape(marker) + r"\s*```sh\n(.*?)```", text, re.S).group(1)
    return shlex.split(block.replace("\\\n", " "))


def test_masakhaner2_reproduction_command_builds_and_runs(tmp_path, tiny_nllb, tiny_bert,
                                                           tiny_tagger_dir):
    argv = readme_command("<!-- masakhaner2-command -->")
    assert argv[:3] == [".venv/bin/python", "-m", "pipeline.evaluate"]
    swap = {"facebook/nllb-200-3.3B": tiny_nllb, "ychenNLP/nllb-200-3.3B-easyproject": tiny_nllb,
            "FacebookAI/xlm-roberta-large-finetuned-conll03-english": tiny_tagger_dir,
            "bert-base-multilingual-cased": tiny_bert,
            "DATA": os.path.join(ROOT, "tests", "fixtures", "masakhaner2"),
            "out/masakhaner2": str(tmp_path / "out")}
    args = [swap.get(a, a) for a in argv[3:]]
    args[args.index("--align_layers") + 1] = "2"  # the tiny encoder has two layers
    args[args.index("--langs") + 1] = "swa,yor"  # the fixtures hold two languages
    assert set(swap.values()) - {a for a in args} == set()  # every model flag was present
    journal = tmp_path / "model-loads.txt"
    job = subprocess.run([sys.executable, "-m", "pipeline.evaluate", *args,
                          "--max_new_tokens=8"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env=counting_env(journal, dict(os.environ)))
    assert job.returncode == 0, job.stderr[-3000:]
    # Two translation steps (forward, back), three NER steps and the encoder step: with
    # models shared per machine (the default) each distinct model is loaded once, in
    # whichever process loads it (counted in every process of the run).
    loads = model_loads(journal)
    one_each = {tiny_nllb: 1, tiny_tagger_dir: 1, tiny_bert: 1}
    assert dict(loads["build"]) == one_each and dict(loads["load_model"]) == one_each

    with open(tmp_path / "out" / "metrics.json", encoding="utf-8") as f:
        metrics = json.load(f)
    assert set(metrics["languages"]) == {"swa", "yor"}
    swa = metrics["languages"]["swa"]
    assert swa["nllb"] == "swh_Latn" and set(swa["methods"]) == {m.key for m in PAPER_METHODS}
    for block in swa["methods"].values():
        # every gold sentence is scored for every method (failures as "nothing predicted")
        assert block["typed"]["sentences"] == 4
        # DATE is ignored: 2 PER + 2 ORG + 3 LOC gold entities in the fixture
        assert block["typed"]["overall"]["number"] == 7
        assert set(block["typed"]["per_type"]) <= {"PER", "ORG", "LOC"}
        assert block["paper"] is not None  # swa is in the paper's table for every method
    preds = [r for f in glob.glob(str(tmp_path / "out" / "predictions" / "*.parquet"))
             for r in pq.read_table(f).to_pylist()]
    assert len(preds) == (4 + 3) * 13
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "swa" in html and "<svg" in html
