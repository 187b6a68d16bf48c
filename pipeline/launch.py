"""What both entry points do around their graph: parse the options, check what can be
checked before any work, run, and turn failures into one clear line and an exit code."""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
from typing import Callable, Sequence

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import (DirectOptions, PipelineOptions,
                                                  PortableOptions, StandardOptions)

from pipeline.options import ConfigError, Job, parse_args
from pipeline.outputs import check_output, drop_lease, hold_lease
from pipeline.preflight import (check_held_out, check_input_languages, check_segmenters,
                                matched_files)
from xlner.models.checks import model_problem
from xlner.models.encoders import EMBEDDED_ENCODER
from xlner.models.ner import EMBEDDED_NER
from xlner.models.translators import EMBEDDED_TRANSLATOR
from xlner.storage.publication import checkpoint

LOG = logging.getLogger("xlner")
# Our own errors, as they appear inside a runner's wrapped exception text.
_OUR_ERRORS = re.compile(r"(ModelRefused|ModelLoadError|PublishRefused|ConfigError|OutputRefused|"
                         r"LeaseHeld|LatestUnavailable): (.*)")
# Operator mistakes found only once the run started (a model folder whose weights do not
# cover its config is found when it loads): exit 2 like those found before any work.
_MISTAKES = ("ModelRefused:",)


def beam_options(beam_args: Sequence[str]) -> PipelineOptions:
    """Beam's options; without ``--runner`` the job runs in-process on the FnApiRunner
    (the DirectRunner would first try to download Prism). ``--runner=DaskRunner`` is
    refused (docs/RUNNERS.md says why)."""
    options = PipelineOptions(list(beam_args))
    std = options.view_as(StandardOptions)
    if not std.runner:
        std.runner = "FnApiRunner"
    if isinstance(std.runner, str) and std.runner.split(".")[-1] == "DaskRunner":
        raise ConfigError("--runner=DaskRunner is not supported: Beam 2.77's Dask runner sends "
                          "every element to every tagged output and drops finish_bundle "
                          "output (docs/RUNNERS.md)")
    std.runner = _fn_api_runner_on_external_workers(options) or std.runner
    FileSystems.set_options(options)  # gs:// credentials/endpoints for the checks
    return options


def _fn_api_runner_on_external_workers(options: PipelineOptions):
    """The FnApiRunner ignores ``--environment_type``; with ``EXTERNAL`` it is given that
    environment, so ``--direct_num_workers=N`` runs bundles on N SDK workers of the
    external worker pool (how a Flink task manager runs Python workers)."""
    runner = options.view_as(StandardOptions).runner
    portable = options.view_as(PortableOptions)
    if runner != "FnApiRunner" or (portable.environment_type or "").upper() != "EXTERNAL":
        return None
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.transforms.environments import Environment

    return FnApiRunner(default_environment=Environment.from_options(portable))


def runs_in_one_process(options: PipelineOptions) -> bool:
    """Whether every bundle runs in the launching process (the FnApiRunner, in memory or
    on threads). There a model has no other process to be shared with, and
    ``--share_models`` would only send every batch through the sharing proxy's socket
    (measured: ~7 % of a default run on 566 Bible pairs), so models load in-process."""
    runner = options.view_as(StandardOptions).runner
    mode = options.view_as(DirectOptions).direct_running_mode
    return runner == "FnApiRunner" and mode != "multi_processing"


class _QuietBeam(logging.Filter):
    """Hide Beam's chatter below WARNING: the model-sharing proxy's start-up lines and
    the like say nothing a user can act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return not (record.name.startswith("apache_beam") or record.module in (
            "multi_process_shared", "fn_runner", "portable_runner", "worker_pool_main"))


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, _QuietBeam) for f in handler.filters):
            handler.addFilter(_QuietBeam())
    root.setLevel(level)
    logging.getLogger("apache_beam").setLevel(max(logging.WARNING, root.level))


def parse(job: Job, argv: Sequence[str]):
    opts, beam_args = parse_args(job, argv)
    setup_logging(opts.log_level)
    return opts, beam_options(beam_args)


def start(job: Job, argv: Sequence[str], config_of: Callable, build: Callable,
          wait: bool = True):
    """Parse, derive the job's config, check what can be checked before any work (inputs:
    regular files, rows meant for the run's languages; output; models), take the attempt's
    lease, build the graph and run it. A language whose word segmenter is not installed
    stops it first. Returns (result, config); the lease is released
    when the launcher saw the run end."""
    import apache_beam as beam

    opts, options = parse(job, argv)
    cfg = config_of(opts)
    if runs_in_one_process(options):
        cfg = dataclasses.replace(cfg, in_process=True)
    check_segmenters(cfg.segmented_langs())
    what, patterns = cfg.input_patterns()
    files = matched_files(patterns, what)
    if cfg.input_targets():
        check_input_languages(files, opts.input_format, cfg.input_targets())
    check_held_out(files, getattr(opts, "validation_fraction", 0.0))
    check_output(cfg)
    check_models(cfg.models_in_use(), options, opts.allow_pickle_weights)
    cfg = hold_lease(cfg, wait)
    checkpoint("lease")
    try:
        pipeline = beam.Pipeline(options=options)
        build(pipeline, cfg)
        result = pipeline.run()
        if wait:
            result.wait_until_finish()
    finally:
        if wait:
            drop_lease(cfg)
    return result, cfg


EMBEDDED = (EMBEDDED_TRANSLATOR, EMBEDDED_ENCODER, EMBEDDED_NER)
# Runners whose workers run elsewhere (a model path may exist only in the worker image).
_REMOTE_RUNNERS = ("DataflowRunner", "FlinkRunner", "SparkRunner", "PrismRunner")


def runs_here(options: PipelineOptions) -> bool:
    """True when the workers run on this machine, so local paths can be checked."""
    runner = options.view_as(StandardOptions).runner or ""
    env = (options.view_as(PortableOptions).environment_type or "").upper()
    name = runner if isinstance(runner, str) else type(runner).__name__
    return name not in _REMOTE_RUNNERS and env in ("", "LOOPBACK", "BEAM_PYTHON_SDK_HARNESS")


def check_models(models: Sequence[tuple[str, str]], options: PipelineOptions,
                 allow_pickle: bool) -> None:
    """Every model the graph can load exists and holds safetensors weights (local runs)."""
    if not runs_here(options):
        return
    for option, value in models:
        problem = model_problem(value, option, EMBEDDED, allow_pickle)
        if problem:
            raise ConfigError(problem)


def failure_line(e: BaseException) -> str:
    """The one line that says why a run failed (our own error if the runner wrapped it)."""
    found = _OUR_ERRORS.findall(str(e))
    if found:
        kind, message = found[-1]
        return f"{kind}: {message.strip()}"
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[-1] if text else ''}"


def main_of(run: Callable[[Sequence[str]], int]) -> Callable:
    """An entry point: logging set up, operator mistakes exit 2, failed runs exit 1."""

    def main(argv=None) -> int:
        setup_logging()
        argv = sys.argv[1:] if argv is None else list(argv)
        try:
            return run(argv)
        except ConfigError as e:
            print(f"xlner: error: {e}", file=sys.stderr)
            return 2
        except Exception as e:  # noqa: BLE001 - the run failed; say why in one line
            LOG.debug("run failed", exc_info=True)
            line = failure_line(e)
            if line.startswith(_MISTAKES):
                print(f"xlner: error: {line}", file=sys.stderr)
                return 2
            print(f"xlner: the run failed: {line}", file=sys.stderr)
            return 1

    return main
