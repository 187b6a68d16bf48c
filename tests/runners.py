"""Runner set-ups for tests that run the whole job on more than one worker.

``external_worker_pool`` starts Beam's worker pool (``worker_pool_main``) as its own
process, the way Flink and Spark clusters run Python SDK workers, and gives the flags of a
portable-runner job (embedded job service) whose two SDK workers that pool starts. Beam's
embedded job service runs the job on an FnApiRunner that asks for one worker whatever the
options say (``run_via_runner_api`` ignores ``direct_num_workers``), so the fixture sets
its worker count to ``WORKERS`` for the test's duration; the pool's log then shows two
``Starting worker`` lines. Import the fixture into a test module to use it::

    from tests.runners import external_worker_pool  # noqa: F401
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE_WORKER = ["--runner=FnApiRunner"]
TWO_PROCESSES = ["--runner=FnApiRunner", "--direct_num_workers=2",
                 "--direct_running_mode=multi_processing"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the worker pool exited with {proc.returncode}")
        try:
            with socket.create_connection(("localhost", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"the worker pool did not listen on port {port}")


class PoolFlags(list):
    """The job's runner flags; ``workers_started()`` counts the SDK workers the pool
    started so far (from its log)."""

    def __init__(self, flags, log: str):
        super().__init__(flags)
        self.log = log

    def workers_started(self) -> int:
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read().count("Starting worker with command")


def portable_flags(port: int, workers: int) -> list[str]:
    return ["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=EXTERNAL",
            f"--environment_config=localhost:{port}", f"--sdk_worker_parallelism={workers}"]


WORKERS = 2


def _with_workers(monkeypatch, workers: int) -> None:
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    run = fn_runner.FnApiRunner.run_via_runner_api

    def run_with_workers(self, proto, options):
        self._num_workers = workers  # noqa: SLF001 - see the module docstring
        return run(self, proto, options)

    monkeypatch.setattr(fn_runner.FnApiRunner, "run_via_runner_api", run_with_workers)


@pytest.fixture
def external_worker_pool(monkeypatch, tmp_path_factory):
    """PoolFlags of a portable-runner job served by an external pool of WORKERS SDK
    workers."""
    _with_workers(monkeypatch, WORKERS)
    port = free_port()
    log = str(tmp_path_factory.mktemp("worker-pool") / "pool.log")
    # the pool starts each SDK worker as `python -c ...` from PATH: this interpreter first
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p),
        PATH=os.pathsep.join((os.path.dirname(sys.executable), os.environ.get("PATH", ""))))
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m",
                                 "apache_beam.runners.worker.worker_pool_main",
                                 f"--service_port={port}"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, proc)
        yield PoolFlags(portable_flags(port, WORKERS), log)
    finally:
        try:
            os.killpg(proc.pid, 15)  # the pool and the SDK workers it started
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
