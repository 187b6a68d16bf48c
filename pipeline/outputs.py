"""Where a job writes, checked before any work, and the lease it holds while it runs.

Before the graph is built: the output root (and the translation cache, its own root) is
reached through the guarded layer and written once (a quick probe: gs:// without
credentials or a missing bucket is one line within seconds, not minutes of retries);
every folder and file the job will write is absent or of the right kind (no link, no file
where a folder goes); a README.md there is a card of ours; then the attempt takes its
lease (``runs/<run_id>/LEASE.json`` with ``--publish``, ``LEASE.json`` otherwise). Any of
these is a ConfigError: one line, exit 2, nothing done.
"""

from __future__ import annotations

import dataclasses
import logging

from pipeline.options import ConfigError
from xlner.card import CARD, CARD_MARKER
from xlner.guarded_files import Folder, OutputRefused, OutputRoot, open_root
from xlner.leases import holder_record, release, take
from xlner.publication import (ATTEMPT, LATEST, LEASE, MANIFEST, LatestUnavailable,
                               attempt_rel, lease_rel, run_rel, sync_card)

LOG = logging.getLogger("xlner")
REPORT_FILES = ("metrics.json", "examples.json", "report.md", "report.html")


def publishing(cfg) -> bool:
    return bool(getattr(cfg.opts, "publish", False))


def output_root(cfg) -> OutputRoot:
    return open_root(cfg.opts.output)


def output_folder(cfg) -> Folder:
    """The folder the run writes: OUTPUT, or its attempt folder with --publish."""
    base = attempt_rel(cfg.run_id, cfg.attempt) if publishing(cfg) else ""
    return Folder(output_root(cfg), base)


def places(cfg) -> tuple[list[str], list[str]]:
    """(folders, files) relative to the root that this job writes."""
    base = attempt_rel(cfg.run_id, cfg.attempt) if publishing(cfg) else ""
    at = lambda name: f"{base}/{name}" if base else name  # noqa: E731
    if hasattr(cfg, "target_langs"):
        folders = [*cfg.target_langs, "dead_letter"]
        files = ["summary.json", CARD, MANIFEST]
    else:
        folders, files = ["predictions", "dead_letter"], list(REPORT_FILES) + [MANIFEST]
    folders, files = [at(f) for f in folders], [at(f) for f in files]
    if publishing(cfg):
        folders += ["runs", run_rel(cfg.run_id), base]
        files += [LATEST, CARD, lease_rel(cfg.run_id, True), f"{base}/{ATTEMPT}"]
    else:
        files.append(LEASE)
    return folders, files


def _check_card(root: OutputRoot) -> None:
    """A README.md already at the root must be a card of ours: the run replaces it, and must
    not replace a project's own README (``--output .`` in a checkout)."""
    head = (root.read(CARD) or b"")[:4096].decode("utf-8", "replace")
    if head and CARD_MARKER not in head:
        raise ConfigError(f"--output {root.url!r} holds a {CARD} that is not an xlner "
                          "dataset card; choose an empty folder or an earlier output")


def check_output(cfg) -> OutputRoot:
    """Everything about the output that can be checked before work (ConfigError)."""
    try:
        root = output_root(cfg)
        root.probe()
        folders, files = places(cfg)
        root.check_places(folders, files)
        _check_card(root)
        cache = getattr(cfg.opts, "translation_cache", "")
        if cache:
            open_root(cache, "--translation_cache").probe()
    except OutputRefused as e:
        raise ConfigError(str(e)) from None
    return root


def hold_lease(cfg, wait: bool):
    """Take the attempt's lease (ConfigError if another attempt holds it); with --publish
    also mark the attempt folder as ours and repair the root card after a kill. Returns
    the config carrying the lease record."""
    root = output_root(cfg)
    rel = lease_rel(cfg.run_id, publishing(cfg))
    record = dict(holder_record(cfg.run_id, cfg.attempt, track_pid=wait), lease=rel)
    try:
        take(root, rel, record, getattr(cfg.opts, "take_over_lease", ""))
        if publishing(cfg):
            import json

            root.create(f"{attempt_rel(cfg.run_id, cfg.attempt)}/{ATTEMPT}",
                        json.dumps(record, sort_keys=True).encode())
            try:
                if sync_card(root):
                    LOG.warning("repaired %s: it now describes what %s points at",
                                root.join(CARD), root.join(LATEST))
            except LatestUnavailable as e:  # this run's publication will replace it
                LOG.warning("%s cannot be served now: %s", root.join(LATEST), e)
    except OutputRefused as e:
        release(root, rel, record)
        raise ConfigError(str(e)) from None
    except Exception:
        release(root, rel, record)
        raise
    return dataclasses.replace(cfg, lease=record)


def drop_lease(cfg) -> None:
    """Release the lease when the launcher saw the run end (success or failure)."""
    lease = getattr(cfg, "lease", None)
    if not lease:
        return
    try:
        release(output_root(cfg), lease["lease"], lease)
    except Exception as e:  # noqa: BLE001 - the run's own outcome matters more
        LOG.warning("could not release %s: %s", lease["lease"], e)
