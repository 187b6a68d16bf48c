"""What runs on Dataflow and Flink, checked here as far as real tools allow: the Flex
template metadata, the Dockerfile (linted, every copied path present), the scripts, the
schedule, the Dataflow job built offline (dry run), and Beam's external worker pool (how a
Flink task manager runs Python workers) through the job API and with two workers. A real
Flink cluster: tests/test_flink.py (opt-in)."""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest
import yaml

import apache_beam as beam

from pipeline.config import RunConfig
from pipeline.graph import build_translate_train
from pipeline.launch import beam_options
from pipeline.options import JOBS, flex_metadata, parse_args, specs
from tests.helpers import read_outputs, run_job
from tests.model_loads import counting_env

ROOT = os.path.join(os.path.dirname(__file__), "..")
IMAGE = "us-central1-docker.pkg.dev/my-proj/xlner/xlner:1.0"
GPU = "type:nvidia-l4;count:1;install-nvidia-driver"


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


# ------------------------------------------------------------------ Flex template metadata
@pytest.mark.parametrize("job", sorted(JOBS))
def test_template_metadata_parameters_are_exactly_the_jobs_options(job):
    metadata = json.loads(read(f"templates/{JOBS[job].template}.metadata.json"))
    assert metadata == flex_metadata(JOBS[job]), \
        "regenerate: python -m pipeline.options --templates templates"
    params = {p["name"]: p for p in metadata["parameters"]}
    declared = {s.name: s for s in specs(JOBS[job].options)}
    assert set(params) == set(declared)  # both ways
    for name, spec in declared.items():
        assert params[name]["helpText"] == spec.help
        assert params[name].get("regexes", [None])[0] == spec.template_regex
        # the defaults the job uses pass the template's own validation
        if params[name].get("regexes"):
            assert re.fullmatch(params[name]["regexes"][0], spec.default_text), name


def test_the_two_templates_differ_by_the_job_only_options():
    run, evaluate = ({p["name"] for p in json.loads(read(f"templates/{t}.metadata.json"))[
        "parameters"]} for t in ("translate_train", "evaluate"))
    assert {"publish", "target_langs", "projection"} <= run - evaluate
    assert {"methods", "dataset", "langs"} <= evaluate - run


# ------------------------------------------------------------------ Dockerfile and scripts
def dockerfile_instructions():
    text = read("Dockerfile").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def tool(name):
    """A command-line tool from this environment (its bin/ may not be on PATH)."""
    return shutil.which(name, path=os.pathsep.join([os.path.dirname(sys.executable),
                                                    os.environ.get("PATH", "")]))


def test_dockerfile_passes_hadolint():
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is installed with the test extras")
    res = subprocess.run([hadolint, "--no-color", "Dockerfile"], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_path_the_dockerfile_copies_exists_and_versions_agree():
    lines = dockerfile_instructions()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", "\n".join(lines), re.M))
    for line in lines:
        if not line.startswith("COPY") or "--from=" in line:
            continue
        *sources, _ = line.split()[1:]
        for src in sources:
            src = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], src)
            assert os.path.exists(os.path.join(ROOT, src)), f"COPY source {src} is missing"
    import apache_beam

    assert args["BEAM_VERSION"] == apache_beam.__version__
    assert f'apache-beam[gcp]=={args["BEAM_VERSION"]}' in read("setup.py")
    assert args["PYTHON_VERSION"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    launcher = re.search(r"FLEX_TEMPLATE_PYTHON_PY_FILE=/opt/xlner/(\S+)", read("Dockerfile"))
    assert os.path.exists(os.path.join(ROOT, launcher.group(1)))
    for target in re.findall(r"FLEX_TEMPLATE_PYTHON_PY_FILE=/opt/xlner/(\S+)",
                             read("templates/flex.sh")):
        assert os.path.exists(os.path.join(ROOT, target))
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in lines
    assert any("TOKENIZERS_PARALLELISM=false" in line for line in lines)


def test_scripts_pass_shellcheck():
    shellcheck = tool("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is installed with the test extras")
    res = subprocess.run([shellcheck, "templates/flex.sh", "templates/schedule/scheduler.sh",
                          ".ci/run"], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout


def test_scheduled_workflow_launches_the_template_with_a_dated_run_id():
    wf = yaml.safe_load(read("templates/schedule/workflow.yaml"))
    steps = {list(s)[0]: list(s.values())[0] for s in wf["main"]["steps"]}
    assigned = {list(a)[0]: list(a.values())[0] for a in steps["init"]["assign"]}
    assert "time.format(sys.now())" in assigned["run_id"]
    launch = steps["launch"]
    assert launch["call"].endswith("flexTemplates.launch")
    body = launch["args"]["body"]["launchParameter"]
    assert "translate_train.json" in body["containerSpecGcsPath"]
    params = body["parameters"]
    ours = {s.name for s in specs(JOBS["run"].options)}
    beam_flags = {"sdk_container_image", "dataflow_service_options"}
    assert set(params) <= ours | beam_flags
    assert params["publish"] == "true" and params["run_id"] == "${run_id}"


# ------------------------------------------------------------------ Dataflow, built offline
def dataflow_options(*extra):
    return parse_args(JOBS["run"], [
        "--runner=DataflowRunner", "--dry_run=True", "--project=my-proj",
        "--region=us-central1", "--temp_location=gs://my-bucket/tmp",
        "--staging_location=gs://my-bucket/staging", f"--sdk_container_image={IMAGE}",
        "--machine_type=g2-standard-8", f"--dataflow_service_options=worker_accelerator={GPU}",
        "--experiments=use_runner_v2", "--no_auth", "--output=gs://my-bucket/corpus",
        f"--accelerator={GPU}", "--inference_min_ram=32GB", "--publish",
        "--run_id=2026-11-23", *extra])


def test_dataflow_job_puts_gpus_on_inference_steps_only_and_uses_the_container(monkeypatch):
    from apache_beam.runners.dataflow.internal import apiclient

    monkeypatch.setenv("NO_GCE_CHECK", "true")
    opts, beam_args = dataflow_options("--projection=ner", "--label_source")
    options = beam_options(beam_args)
    pipeline = beam.Pipeline(options=options)
    build_translate_train(pipeline, RunConfig.from_options(opts))
    job = pipeline.run().job
    proto = job.proto_pipeline
    envs = proto.components.environments
    hinted = {t.unique_name for t in proto.components.transforms.values()
              if t.environment_id and envs[t.environment_id].resource_hints}
    assert hinted == {"LabelSource/Tag/Tag/RunInference/BeamML_RunInference",
                      "Translate/TranslateTexts/Translate/RunInference/BeamML_RunInference",
                      "TagTargets/Tag/Tag/RunInference/BeamML_RunInference",
                      "Project/Align/Encode/RunInference/BeamML_RunInference",
                      "Project/Align/EncodeRepeated/RunInference/BeamML_RunInference"}
    for t in proto.components.transforms.values():
        if t.unique_name in hinted:
            hints = envs[t.environment_id].resource_hints
            assert hints["beam:resources:accelerator:v1"] == GPU.encode()
            assert hints["beam:resources:min_ram_bytes:v1"] == b"32000000000"
    # every environment (hinted or not) runs our image
    for env in envs.values():
        assert IMAGE.encode() in env.payload
    # the worker pool Dataflow would create: our container, the GPU service option
    environment = apiclient.Environment([], options, "8", "gs://my-bucket/staging/p.pb",
                                        proto)
    pool = environment.proto.worker_pools[0]
    # one harness per environment (plain and GPU-hinted steps), all of them our image
    assert {c.container_image for c in pool.sdk_harness_container_images} == {IMAGE}
    assert pool.machine_type == "g2-standard-8"
    assert f"worker_accelerator={GPU}" in list(environment.proto.service_options)



def test_with_a_cache_the_keys_are_made_on_the_model_steps_kind_of_worker(monkeypatch):
    """The cache key holds the precision the model runs at (CTranslate2 ``auto``: int8 on a
    CPU, float16 on a GPU); it is resolved on a worker that has the model step's GPU."""
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    opts, beam_args = dataflow_options("--translation_cache=gs://my-bucket/cache")
    pipeline = beam.Pipeline(options=beam_options(beam_args))
    build_translate_train(pipeline, RunConfig.from_options(opts))
    proto = pipeline.run().job.proto_pipeline
    envs = proto.components.environments
    hints = {t.unique_name: envs[t.environment_id].resource_hints
             for t in proto.components.transforms.values() if t.environment_id}
    key = hints["Translate/TranslateTexts/Key"]
    assert key == hints["Translate/TranslateTexts/Translate/RunInference/BeamML_RunInference"]
    assert key["beam:resources:accelerator:v1"] == GPU.encode()

# ------------------------------------------------------------------ Flink: portable runner
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def worker_pool(tmp_path_factory):
    """Beam's external worker pool (``worker_pool_main``, as a Flink task manager runs it):
    it starts one SDK worker process per worker the runner asks for. Yields (port,
    model-load journal, pool log)."""
    tmp = tmp_path_factory.mktemp("pool")
    journal, log = tmp / "model-loads.txt", tmp / "pool.log"
    # The pool starts SDK workers with `python` from PATH (this environment's python);
    # they inherit its environment, so their model loads are counted in the journal.
    env = counting_env(journal, dict(
        os.environ, PYTHONPATH=ROOT,
        PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])))
    port = free_port()
    with open(log, "w") as out:
        pool = subprocess.Popen([sys.executable, "-m",
                                 "apache_beam.runners.worker.worker_pool_main",
                                 f"--service_port={port}"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield port, journal, log
    finally:
        os.killpg(pool.pid, 9)
        pool.wait()


def shard_bytes(output):
    found = {}
    for path in sorted(glob.glob(os.path.join(output, "*", "*.parquet"))):
        with open(path, "rb") as f:
            found[os.path.relpath(path, output)] = f.read()
    return found


# Two ways onto the pool: Beam's job API (the embedded job service, as a Flink job server
# is reached; it drives one SDK worker) and the FnApiRunner given the pool's environment
# with --direct_num_workers (bundles split over that many SDK worker processes).
JOB_API = ["--runner=PortableRunner", "--job_endpoint=embed"]


def two_workers(n=2):
    return ["--runner=FnApiRunner", f"--direct_num_workers={n}"]


def run_on_pool(port, output, args, runner_args):
    """``pipeline.run`` on SDK workers of the pool, in a subprocess with a deadline (a
    portable job whose workers die waits forever)."""
    job = subprocess.run(
        [sys.executable, "-m", "pipeline.run", f"--output={output}", *runner_args,
         "--environment_type=EXTERNAL", f"--environment_config=localhost:{port}", *args],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True,
        timeout=600)
    assert job.returncode == 0, job.stderr[-3000:]


def test_external_workers_write_the_shards_of_the_in_process_run(tmp_path, tiny_bert,
                                                                 worker_pool):
    """The sample (40 records, the embedded translator, the default projection) through
    the job API on one pool worker and on two pool workers with bundles split between
    them: the same shard bytes and dead letters as the in-process run; each of the two
    workers loaded the encoder itself."""
    port, journal, log = worker_pool
    args = [f"--alignment_model={tiny_bert}", "--align_layers=2", "--share_models=false"]
    run_job(str(tmp_path / "local"), *args)
    run_on_pool(port, tmp_path / "job_api", args, JOB_API)
    before = {line.split()[0] for line in journal.read_text().splitlines()}
    run_on_pool(port, tmp_path / "two", args, two_workers())
    started = re.findall(r'worker_id="(worker_\d+)"', log.read_text())
    assert len(started) == 3, started  # one for the job API run, two for the other
    loads = {line.split()[0] for line in journal.read_text().splitlines()
             if line.endswith(f"build {tiny_bert}")} - before
    assert len(loads) == 2  # two worker processes, each with its own encoder
    local = shard_bytes(str(tmp_path / "local"))
    assert local and shard_bytes(str(tmp_path / "job_api")) == local
    assert shard_bytes(str(tmp_path / "two")) == local
    _, _, dead_local = read_outputs(str(tmp_path / "local"))
    for name in ("job_api", "two"):
        summary, rows, dead = read_outputs(str(tmp_path / name))
        assert dead == dead_local and summary["accounting_balanced"]
        assert len(rows["por_Latn"]) == 40


def test_two_external_workers_on_more_pairs_than_one_encoder_batch(tmp_path, tiny_bert,
                                                                   worker_pool):
    """150 Bible verses with their Greek, encoder batches of 8: the workers batch other
    sentences together than the in-process run, and every row, tag, alignment and
    entity span is the same. (Entity scores may differ in the last float32 bits with
    the encoder's padding, so shard bytes can differ here: issue 15's deterministic
    scores make them equal.)"""
    from benchmarks.data import DEV

    port, _, _ = worker_pool
    data = tmp_path / "bible150.jsonl"
    with open(DEV, encoding="utf-8") as f:
        data.write_text("".join(f.readlines()[:150]), encoding="utf-8")
    args = [f"--input={data}", "--target_langs=ell_Grek", f"--alignment_model={tiny_bert}",
            "--align_layers=2", "--align_batch_size=8"]
    run_job(str(tmp_path / "local"), *args)
    run_on_pool(port, tmp_path / "pool", args, two_workers())

    def view(output):
        summary, rows, dead = read_outputs(output)
        return dead, {r["id"]: (r["tokens"], r["ner_tags"], r["alignment"],
                                [(e["start"], e["end"], e["label"]) for e in r["entities"]],
                                [e["score"] for e in r["entities"]])
                      for r in rows["ell_Grek"]}

    (dead_local, local), (dead_pool, pool) = view(str(tmp_path / "local")), view(
        str(tmp_path / "pool"))
    assert dead_pool == dead_local and len(local) == 150 and pool.keys() == local.keys()
    for key, row in local.items():
        assert pool[key][:4] == row[:4], key
        assert pool[key][4] == pytest.approx(row[4], abs=1e-5), key
