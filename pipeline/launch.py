"""What both entry points do around their graph: parse the options, check what can be
checked before any work, run, and turn failures into one clear line and an exit code."""

from __future__ import annotations

import logging
import re
import sys
from typing import Callable, Sequence

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline.options import ConfigError, Job, parse_args

LOG = logging.getLogger("xlner")
# Our own errors, as they appear inside a runner's wrapped exception text.
_OUR_ERRORS = re.compile(r"(ModelLoadError|PublishRefused|ConfigError): (.*)")


def beam_options(beam_args: Sequence[str]) -> PipelineOptions:
    """Beam's options; without ``--runner`` the job runs in-process on the FnApiRunner
    (the DirectRunner would first try to download Prism)."""
    options = PipelineOptions(list(beam_args))
    std = options.view_as(StandardOptions)
    if not std.runner:
        std.runner = "FnApiRunner"
    FileSystems.set_options(options)  # gs:// credentials/endpoints for the checks
    return options


def parse(job: Job, argv: Sequence[str]):
    opts, beam_args = parse_args(job, argv)
    return opts, beam_options(beam_args)


def check_patterns(patterns: Sequence[str], what: str) -> None:
    """Fail before building the job when an input pattern matches nothing."""
    for pattern in patterns:
        try:
            found = FileSystems.match([pattern])[0].metadata_list
        except Exception as e:  # noqa: BLE001 - a bad scheme or bucket is the same mistake
            raise ConfigError(f"{what} {pattern!r} cannot be read: {e}") from None
        if not found:
            raise ConfigError(f"{what} {pattern!r} matches no file")


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
        logging.basicConfig(level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(message)s")
        logging.getLogger("apache_beam").setLevel(logging.WARNING)
        argv = sys.argv[1:] if argv is None else list(argv)
        try:
            return run(argv)
        except ConfigError as e:
            print(f"xlner: error: {e}", file=sys.stderr)
            return 2
        except Exception as e:  # noqa: BLE001 - the run failed; say why in one line
            LOG.debug("run failed", exc_info=True)
            print(f"xlner: the run failed: {failure_line(e)}", file=sys.stderr)
            return 1

    return main
