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
import json
import logging

from pipeline.options import ConfigError
from xlner.formats.card import CARD, CARD_MARKER
from xlner.storage.guarded_files import LOCK, Folder, OutputRefused, OutputRoot, open_root, sha256_of
from xlner.storage.leases import holder_record, release, take
from xlner.storage.publication import (ATTEMPT, LATEST, LEASE, MANIFEST, LatestUnavailable,
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
    folders, files = [at(f) for f in folders], [at(f) for f in files] + [LOCK]
    if publishing(cfg):
        folders += ["runs", run_rel(cfg.run_id), base]
        files += [LATEST, CARD, lease_rel(cfg.run_id, True), f"{base}/{ATTEMPT}"]
    else:
        files.append(LEASE)
    return folders, files


def _json_with(key: str):
    def check(data: bytes) -> bool:
        try:
            value = json.loads(data)
        except ValueError:
            return False
        return isinstance(value, dict) and key in value
    return check


# How a file at one of the job's fixed names shows it is ours when no manifest lists it
# (an output folder of an earlier version, or a run killed before its manifest).
LOOKS_OURS = {CARD: lambda data: CARD_MARKER.encode() in data[:4096],
              LATEST: _json_with("manifest"), MANIFEST: _json_with("files"),
              "summary.json": _json_with("accounting_balanced"),
              "metrics.json": _json_with("languages")}
# The report's other files carry no mark of their own: ours when the metrics beside them are.
BESIDE_METRICS = ("examples.json", "report.md", "report.html")


def _check_replaceable(root: OutputRoot, files, base: str) -> None:
    """A file the run will replace must be one a run of ours wrote: listed with its bytes
    in the folder's previous manifest, or recognisably ours by its content."""
    previous = root.read(f"{base}/{MANIFEST}" if base else MANIFEST)
    try:
        listed = {f["path"]: f["sha256"] for f in json.loads(previous or b"{}")["files"]}
    except (ValueError, KeyError, TypeError):
        listed = {}
    for rel in files:
        name = rel.rsplit("/", 1)[-1]
        if name not in LOOKS_OURS and name not in BESIDE_METRICS:
            continue
        data = root.read(rel)
        if data is None or listed.get(rel) == sha256_of(data):
            continue
        if name in BESIDE_METRICS:
            name, data = "metrics.json", root.read(rel[:-len(name)] + "metrics.json") or b""
        if LOOKS_OURS[name](data):
            continue
        if name == CARD:
            raise ConfigError(f"--output {root.url!r} holds a {CARD} that is not an xlner "
                              "dataset card; choose an empty folder or an earlier output")
        raise ConfigError(f"{root.join(rel)} is not a file an xlner run wrote (no manifest "
                          "lists it); move it away or choose another --output")


def check_output(cfg) -> OutputRoot:
    """Everything about the output that can be checked before work (ConfigError)."""
    try:
        root = output_root(cfg)
        root.probe()
        folders, files = places(cfg)
        root.check_places(folders, files)
        base = attempt_rel(cfg.run_id, cfg.attempt) if publishing(cfg) else ""
        _check_replaceable(root, files, base)
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
