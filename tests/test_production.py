"""What runs on Dataflow and Flink, checked here as far as real tools allow: the Flex
template metadata, the Dockerfile (linted, every copied path present), the scripts, the
schedule, the Dataflow job built offline (dry run), and the portable runner with an
external worker pool (what Flink executes)."""

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
from tests.helpers import read_outputs

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
                      "Project/Align/Encode/RunInference/BeamML_RunInference"}
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


def test_portable_runner_with_an_external_worker_pool(tmp_path, tiny_bert):
    # The pool starts SDK workers with `python` from PATH: this environment's python.
    env = dict(os.environ, PYTHONPATH=ROOT,
               PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]))
    port = free_port()
    pool = subprocess.Popen([sys.executable, "-m",
                             "apache_beam.runners.worker.worker_pool_main",
                             f"--service_port={port}"], cwd=ROOT, env=env,
                            start_new_session=True)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        out = tmp_path / "out"
        # In a subprocess with a deadline: a portable job whose workers die waits forever.
        job = subprocess.run(
            [sys.executable, "-m", "pipeline.run", f"--output={out}", "--runner=PortableRunner",
             "--job_endpoint=embed", "--environment_type=EXTERNAL",
             f"--environment_config=localhost:{port}", f"--alignment_model={tiny_bert}",
             "--align_layers=2", "--projection=ngram"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert job.returncode == 0, job.stderr[-3000:]
    finally:
        os.killpg(pool.pid, 9)
        pool.wait()
    summary, rows, dead = read_outputs(str(out))
    assert summary["accounting_balanced"] and len(rows["por_Latn"]) == 40
