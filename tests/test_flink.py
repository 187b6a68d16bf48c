"""Opt-in: the job on a real Flink cluster, shards byte-identical to the in-process run.

Runs only when all of these are present (docs/RUNNERS.md has the recipe), and is skipped
otherwise with the reason:

* ``java`` on PATH (Beam starts the Flink job server with it);
* ``XLNER_FLINK_JOB_SERVER_JAR``: Beam's Flink job server for Beam 2.77.0 and the
  cluster's Flink minor version (``beam-runners-flink-1.20-job-server-2.77.0.jar`` from
  Maven Central; Beam 2.77 publishes 1.19, 1.20, 2.0, 2.1 and 2.2);
* ``FLINK_HOME``: a Flink distribution of that version (the ``apache-flink`` wheel's
  ``pyflink`` folder is one), which the test starts with ``bin/start-cluster.sh`` (two
  task slots, its own configuration copy and log folder) and stops afterwards; or
  ``XLNER_FLINK_MASTER=host:port`` of a cluster already running (then nothing is started).

The Python SDK workers run in the test's job process (``--environment_type=LOOPBACK``),
so the cluster must be on this machine.
"""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.helpers import read_outputs, run_job

ROOT = os.path.join(os.path.dirname(__file__), "..")
JAR = os.environ.get("XLNER_FLINK_JOB_SERVER_JAR", "")
FLINK_HOME = os.environ.get("FLINK_HOME", "")
MASTER = os.environ.get("XLNER_FLINK_MASTER", "")


def missing() -> str:
    """Why the test cannot run here ("" when it can)."""
    if not shutil.which("java"):
        return "no java on PATH"
    if not JAR:
        return "XLNER_FLINK_JOB_SERVER_JAR is not set (docs/RUNNERS.md)"
    if not os.path.isfile(JAR):
        return f"XLNER_FLINK_JOB_SERVER_JAR={JAR} is not a file"
    if not MASTER and not os.path.isfile(os.path.join(FLINK_HOME, "bin", "start-cluster.sh")):
        return "neither FLINK_HOME (with bin/start-cluster.sh) nor XLNER_FLINK_MASTER is set"
    return ""


pytestmark = pytest.mark.skipif(bool(missing()), reason=missing() or "runs")


def flink_version(home: str) -> str:
    found = glob.glob(os.path.join(home, "lib", "flink-dist*-[0-9]*.jar"))
    match = re.search(r"flink-dist[^-]*-(\d+\.\d+)", os.path.basename(found[0])) if found else None
    return match.group(1) if match else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_slots(rest: str, slots: int, seconds: float = 120) -> dict:
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"http://{rest}/overview", timeout=5) as r:
                overview = json.load(r)
            if overview["slots-total"] >= slots:
                return overview
        except OSError:
            pass
        if time.time() > deadline:
            raise AssertionError(f"no Flink cluster with {slots} slots at {rest} after "
                                 f"{seconds:.0f} s")
        time.sleep(1)


@pytest.fixture(scope="module")
def flink_master(tmp_path_factory):
    """host:port of the cluster's REST endpoint: the running one, or one started here."""
    if MASTER:
        yield MASTER
        return
    version = flink_version(FLINK_HOME)
    jar_version = re.search(r"flink-(\d+\.\d+)-job-server", os.path.basename(JAR))
    assert not jar_version or jar_version.group(1) == version, (
        f"the job server is for Flink {jar_version.group(1)}, FLINK_HOME is Flink {version}")
    conf = tmp_path_factory.mktemp("flink-conf")
    for name in os.listdir(os.path.join(FLINK_HOME, "conf")):
        shutil.copy(os.path.join(FLINK_HOME, "conf", name), conf)
    port = free_port()
    # Flink 1.20+ reads config.yaml; 1.19 distributions may ship only flink-conf.yaml
    name = "config.yaml" if (conf / "config.yaml").exists() else "flink-conf.yaml"
    with open(conf / name, "a", encoding="utf-8") as f:
        f.write(f"\ntaskmanager.numberOfTaskSlots: 2\nrest.port: {port}\n")
    env = dict(os.environ, FLINK_CONF_DIR=str(conf),
               FLINK_LOG_DIR=str(tmp_path_factory.mktemp("flink-log")))
    bin_dir = os.path.join(FLINK_HOME, "bin")
    subprocess.run([os.path.join(bin_dir, "start-cluster.sh")], env=env, check=True,
                   timeout=300)
    try:
        wait_for_slots(f"localhost:{port}", 2)
        yield f"localhost:{port}"
    finally:
        subprocess.run([os.path.join(bin_dir, "stop-cluster.sh")], env=env, timeout=300)


def test_the_job_on_a_flink_cluster_writes_the_in_process_shards(tmp_path, tiny_bert,
                                                                 flink_master):
    args = [f"--alignment_model={tiny_bert}", "--align_layers=2"]
    run_job(str(tmp_path / "local"), *args)
    flink = tmp_path / "flink"
    job = subprocess.run(
        [sys.executable, "-m", "pipeline.run", f"--output={flink}", "--runner=FlinkRunner",
         f"--flink_master={flink_master}", f"--flink_job_server_jar={JAR}",
         "--environment_type=LOOPBACK", "--parallelism=2", *args],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True,
        timeout=1200)
    assert job.returncode == 0, job.stderr[-3000:]

    def shards(output):
        return {os.path.relpath(p, output): open(p, "rb").read()
                for p in sorted(glob.glob(os.path.join(output, "*", "*.parquet")))}

    local = shards(str(tmp_path / "local"))
    assert local and shards(str(flink)) == local
    summary, rows, dead = read_outputs(str(flink))
    assert summary["accounting_balanced"] and len(rows["por_Latn"]) == 40
    assert dead == read_outputs(str(tmp_path / "local"))[2]
