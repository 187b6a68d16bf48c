"""The commands the README and docs/ promise stay runnable, and the README's example rows are
what the job writes.

The README's own-data command is run as written (from a folder holding ``my-data/``), on the
shipped sample, and its row for the README's example input must equal the README's example
output row; the input block must be that sentence of the sample. The Dataflow and Flink
commands cannot run here: the shell expands them and every ``$VAR`` must reach the job
(a single-quoted ``'gs://$BUCKET/...'`` never would). The MasakhaNER2 reproduction command is
taken from docs/USAGE.md verbatim; only the model ids (which need a hub) are swapped for tiny
stand-in models and DATA for small fixtures in the exact MasakhaNER 2.0 layout. The whole
graph is built and run.
"""

import glob
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from tests.model_loads import counting_env, model_loads
from xlner.formats.schema import decoded_rows, output_schema
from xlner.projection.methods import PAPER_METHODS

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
SAMPLE = os.path.join(ROOT, "xlner", "data", "sample_en.conll")


def block(marker: str, name: str = "README.md") -> str:
    """The fenced block that follows ``marker`` in ``name``."""
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        text = f.read()
    found = re.search(re.escape(marker) + r"\s*```[a-z]*\n(.*?)```", text, re.S)
    assert found, f"{name} has no block after {marker}"
    return found.group(1)


def readme_command(marker: str, name: str = "README.md") -> list[str]:
    return shlex.split(block(marker, name).replace("\\\n", " "))


def example_output() -> dict:
    return json.loads(block("<!-- example-output -->"))


def same(expected, actual, path="row"):
    """Equal, floats to the 6 decimals the README shows."""
    if isinstance(expected, float) or isinstance(actual, float):
        assert math.isclose(expected, actual, abs_tol=1e-6), (path, expected, actual)
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and set(expected) == set(actual), (path, expected, actual)
        for k in expected:
            same(expected[k], actual[k], f"{path}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(expected) == len(actual), (path, expected, actual)
        for i, (e, a) in enumerate(zip(expected, actual)):
            same(e, a, f"{path}[{i}]")
    else:
        assert expected == actual, (path, expected, actual)


def test_the_example_input_is_the_first_sentence_of_the_shipped_sample():
    shown = [line.split() for line in block("<!-- example-input -->").splitlines() if line]
    with open(SAMPLE, encoding="utf-8") as f:
        sentences = f.read().split("\n\n")
    first = [line.split() for line in sentences[1].splitlines() if line]  # after -DOCSTART-
    assert shown == first
    row = example_output()
    assert row["src_tokens"] == [w for w, _ in shown]
    assert row["src_ner_tags"] == [t for _, t in shown]


def test_the_example_output_row_has_exactly_the_output_schema():
    row = example_output()
    schema = output_schema(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"])
    assert list(row) == schema.names
    entity = schema.field("entities").type.value_type
    for e in row["entities"]:
        assert list(e) == [entity.field(i).name for i in range(entity.num_fields)]
    assert len(row["tokens"]) == len(row["ner_tags"]) == len(row["token_offsets"])


def test_make_demo_runs_the_job_on_the_shipped_sample():
    """The demo the README opens with is the job with no input flag, whose default input
    is the sample the own-data test below runs as a file."""
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        makefile = f.read()
    assert re.search(r"^demo: env\n\t\$\(BIN\)/python -m pipeline\.run --output out/demo$",
                     makefile, re.M)
    from pipeline.options import sample_input_path
    assert os.path.samefile(sample_input_path(), SAMPLE)
    assert re.search(r"^test: ", makefile, re.M)
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        assert f.read().rstrip().endswith("\nmake test")  # the CI runs the README's command
    assert "make test" in block("## Set up\n") and "make demo" in block("## Set up\n")


def test_the_own_data_command_runs_as_written_and_writes_the_example_row(tmp_path):
    argv = readme_command("<!-- own-data-command -->")
    assert argv[0] == ".venv/bin/xlner-run"
    inputs = argv[argv.index("--input") + 1]
    folder = inputs.split("/")[0]
    (tmp_path / folder).mkdir()
    shutil.copy(SAMPLE, tmp_path / folder / "sample_en.conll")
    env = dict(os.environ, PYTHONPATH=ROOT, HF_HUB_OFFLINE="1")
    job = subprocess.run([sys.executable, "-m", "pipeline.run", *argv[1:],
                          "--runner=FnApiRunner"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600, env=env)
    assert job.returncode == 0, job.stderr[-3000:]
    output = tmp_path / argv[argv.index("--output") + 1]
    lang = argv[argv.index("--target_langs") + 1]
    assert f'load_dataset("{argv[argv.index("--output") + 1]}", "{lang}"' in block(
        "The job ends with the `load_dataset` line for what it wrote:")
    rows = [r for f in sorted(glob.glob(str(output / lang / "*.parquet")))
            for r in decoded_rows(pq.read_table(f))]
    assert len(rows) == 40
    expected = example_output()
    shard_row = next(r for r in rows if r["id"] == f"{folder}/sample_en.conll:0")
    assert expected["id"] == "data/sample_en.conll:0"  # make demo reads the package's copy
    same({**expected, "id": shard_row["id"]}, shard_row)


@pytest.mark.parametrize("marker", ["<!-- dataflow-command -->", "<!-- flink-command -->"])
def test_cloud_commands_expand_every_variable(marker):
    """Each $VAR of the Dataflow and Flink commands reaches the job expanded."""
    text = block(marker)
    command = text.strip().splitlines()
    job = "\n".join(command[command.index(next(c for c in command if "pipeline.run" in c)):])
    env = {"PATH": os.environ["PATH"], "PROJECT": "p-1", "REGION": "r-1", "BUCKET": "b-1",
           "IMAGE": "i-1"}
    words = subprocess.run(["bash", "-c", 'set -- ' + job.replace("python -m", "", 1)
                            + '\nprintf "%s\\n" "$@"'], env=env, capture_output=True,
                           text=True, check=True).stdout.splitlines()
    assert not [w for w in words if "$" in w]
    assert "--input=gs://b-1/data/conll/*.conll" in words
    assert "--output=gs://b-1/corpus" in words


def test_no_command_in_the_docs_single_quotes_a_variable():
    for name in ["README.md", *sorted(glob.glob("docs/*.md", root_dir=ROOT))]:
        with open(os.path.join(ROOT, name), encoding="utf-8") as f:
            text = f.read()
        for code in re.findall(r"```sh\n(.*?)```", text, re.S):
            quoted = [q for q in re.findall(r"'[^'\n]*'", code) if "$" in q]
            assert quoted == [], (name, quoted)


def test_masakhaner2_reproduction_command_builds_and_runs(tmp_path, tiny_nllb, tiny_bert,
                                                           tiny_tagger_dir):
    argv = readme_command("<!-- masakhaner2-command -->", "docs/USAGE.md")
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


def test_the_schedule_the_readme_states_is_the_one_deployed():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert "every Monday at 03:00 UTC" in f.read()
    with open(os.path.join(ROOT, "templates", "schedule", "scheduler.sh"), encoding="utf-8") as f:
        script = f.read()
    assert '--schedule "0 3 * * 1" --time-zone "Etc/UTC"' in script
