"""Atomic publication of a finished run, for scheduled regeneration.

Layout under the corpus root ``OUTPUT``::

    OUTPUT/LATEST                              {"run_id", "manifest", "published_unix"}
    OUTPUT/runs/<run_id>/manifest.json         files, row counts, checksums, schema, ...
    OUTPUT/runs/<run_id>/<attempt>/<lang>/part-*.parquet, dead_letter/, summary.json

A run writes into its own attempt folder. The publish step is the last stage of the graph:
it runs only after every shard is finalised and the summary is written, checks the
summary (counts reconcile, every language has rows), writes the manifest, then replaces
``LATEST`` in one atomic write (a rename locally; a single object write on GCS, which
readers see whole or not at all). A failed or killed run never reaches it, so ``LATEST``
keeps pointing at the previous run. Re-running a run id writes a new attempt folder and,
once published, deletes that run id's other attempts — nothing of other runs.

Run ids and attempts become path components, so they are checked (``check_run_id``: no
``..``, ``/`` or leading dot), and the clean-up refuses to delete anything that does not
resolve strictly inside ``OUTPUT/runs/<run_id>/`` (``check_inside``); a run id such as
``..`` once made it delete ``LATEST`` and every published run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import posixpath
import re
import time
import uuid
from typing import Iterable, Optional, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.files import join_path, read_json, relative
from xlner.card import CARD, dataset_card
from xlner.schema import output_schema

LOG = logging.getLogger(__name__)
LATEST = "LATEST"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


class PublishRefused(RuntimeError):
    """The run finished but its summary checks failed: nothing is published."""


class UnsafePath(ValueError):
    """A run id, attempt or output path that would leave the output root."""


RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_run_id(run_id: str, what: str = "--run_id") -> None:
    """Raise UnsafePath (one line) unless ``run_id`` is one safe path component.

    1-128 characters of letters, digits, ``_``, ``.`` and ``-``, starting with a letter or
    digit, and no ``..`` anywhere: ``..``, ``.``, ``a/b``, ``../..`` and ``.hidden`` fail.
    """
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id) or ".." in run_id:
        raise UnsafePath(f"{what}={run_id!r} is not a safe run id: use 1-128 letters, "
                         "digits, '_', '.', '-', starting with a letter or digit, without "
                         "'..' (e.g. 2026-11-16)")


def _split_url(path: str) -> tuple[str, str]:
    """('gs://', '/bucket/a/b') or ('', '/abs/local/path'), normalised, no filesystem use."""
    if "://" in path:
        scheme, rest = path.split("://", 1)
        return scheme.lower() + "://", posixpath.normpath("/" + rest)
    return "", os.path.normpath(os.path.abspath(path))


def check_inside(root: str, path: str, what: str = "output path") -> str:
    """``path`` normalised, if it lies strictly inside ``root``; else raise UnsafePath.

    Both are read as the filesystem would (relative local paths from the current
    directory), so pass ``join_path(root, part)``. ``..`` and ``.`` are resolved by name
    (symlinks are not followed); the root itself is not inside. Works for local paths and
    ``gs://`` alike; a path on another scheme or bucket is outside.
    """
    r_scheme, r_path = _split_url(root)
    p_scheme, p_path = _split_url(path)
    prefix = r_path.rstrip("/") + "/"
    if r_scheme != p_scheme or not p_path.startswith(prefix) or p_path == r_path:
        raise UnsafePath(f"{what} {path!r} is not inside {root!r}")
    return p_scheme + p_path.lstrip("/") if p_scheme else p_path


def run_root(root: str, run_id: str) -> str:
    check_run_id(run_id)
    return join_path(root, "runs", run_id)


def attempt_dir(root: str, run_id: str, attempt: str) -> str:
    check_run_id(attempt, "attempt")
    return join_path(run_root(root, run_id), attempt)


def new_attempt() -> str:
    return time.strftime("a%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def atomic_write(path: str, data: bytes) -> None:
    """Replace ``path`` so readers see the old or the new content, never a mix."""
    if "://" not in path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return
    with FileSystems.create(path) as f:  # one object upload: atomic on GCS
        f.write(data)


def file_facts(path: str, kind: str) -> dict:
    """Size, sha256 and row count of one output file (streamed, any filesystem)."""
    h = hashlib.sha256()
    size = 0
    lines = 0
    with FileSystems.open(path) as f:
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
            size += len(chunk)
            lines += chunk.count(b"\n")
    rows = lines if kind == "dead_letter" else None  # JSON lines: one record per line
    if kind == "shard":
        import pyarrow.parquet as pq

        with FileSystems.open(path) as f:
            rows = pq.ParquetFile(f).metadata.num_rows
    return {"bytes": size, "sha256": h.hexdigest(), "rows": rows}


def check_summary(summary: dict, target_langs: Sequence[str], min_rows: int) -> list[str]:
    """Why this run must not be published (empty list: publish): the run's own problems
    (unbalanced books, empty languages or inputs) and languages below ``min_rows``."""
    problems = list(summary.get("problems", []))
    if not summary.get("accounting_balanced") and not problems:
        problems.append("the summary does not account for every input record")
    for lang in target_langs:
        written = summary.get("languages", {}).get(lang, {}).get("written", 0)
        if written < min_rows:
            problems.append(f"{lang}: {written} rows written, fewer than {min_rows}")
    return problems


def build_manifest(root: str, run_id: str, attempt: str, summary: dict,
                   shards: Iterable[tuple[str, str]], others: Iterable[tuple[str, str]]
                   ) -> dict:
    files = []
    rows_by_lang: dict = {}
    for lang, path in sorted(shards):
        facts = file_facts(path, "shard")
        rows_by_lang[lang] = rows_by_lang.get(lang, 0) + facts["rows"]
        files.append({"path": relative(root, path), "kind": "shard", "lang": lang, **facts})
    for kind, path in sorted(others):
        files.append({"path": relative(root, path), "kind": kind, "lang": None,
                      **file_facts(path, kind)})
    return {
        "format": MANIFEST_FORMAT,
        "run_id": run_id,
        "attempt": attempt,
        "created_unix": int(time.time()),
        "files": files,
        "rows_by_lang": rows_by_lang,
        "schema": output_schema(summary.get("label_list") or ["O"]).to_string(
            show_schema_metadata=False),
        "label_list": summary.get("label_list"),
        "options": summary.get("options"),
        "models": summary.get("provenance"),
        "summary": {k: summary.get(k) for k in ("records_read", "records_rejected",
                                                "dead_lettered", "accounting_balanced")},
    }


def delete_other_attempts(root: str, run_id: str, attempt: str) -> int:
    """Remove this run id's files from other attempts (never anything else).

    Every path is checked to lie strictly inside ``OUTPUT/runs/<run_id>/`` before the
    first one is deleted (locally also after resolving symlinks); otherwise UnsafePath.
    """
    check_run_id(run_id)
    check_run_id(attempt, "attempt")
    base = check_inside(join_path(root, "runs"), run_root(root, run_id), "run folder")
    matched = FileSystems.match([join_path(base, "**")])[0].metadata_list
    stale = [m.path for m in matched
             if relative(base, m.path).split("/", 1)[0] not in (attempt, MANIFEST)]
    folders = []
    if "://" not in base:  # local: also drop the emptied attempt folders
        folders = [os.path.join(base, n) for n in os.listdir(base)
                   if n != attempt and os.path.isdir(os.path.join(base, n))]
    for path in stale + folders:
        check_inside(base, path, "stale attempt file")
        if "://" not in path:  # a symlink must not lead the deletion elsewhere
            check_inside(os.path.realpath(base), os.path.realpath(path), "stale attempt file")
    if stale:
        FileSystems.delete(stale)
    import shutil

    for full in folders:
        shutil.rmtree(full, ignore_errors=True)
    return len(stale)


def publish(root: str, run_id: str, attempt: str, summary: dict,
            shards: Sequence[tuple[str, str]], others: Sequence[tuple[str, str]],
            target_langs: Sequence[str], min_rows: int) -> dict:
    """Check, write the manifest, move LATEST and the root's dataset card, clean this run
    id's other attempts."""
    check_run_id(run_id)
    check_run_id(attempt, "attempt")
    problems = check_summary(summary, target_langs, min_rows)
    if problems:
        atomic_write(join_path(attempt_dir(root, run_id, attempt), "PUBLISH_REFUSED.json"),
                     json.dumps({"problems": problems}, indent=2).encode())
        raise PublishRefused("; ".join(problems))
    manifest = build_manifest(root, run_id, attempt, summary, shards, others)
    manifest_path = join_path(run_root(root, run_id), MANIFEST)
    atomic_write(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False).encode())
    pointer = {"run_id": run_id, "manifest": relative(root, manifest_path),
               "published_unix": int(time.time())}
    atomic_write(join_path(root, LATEST), json.dumps(pointer).encode())
    # The root's card points at the published shards: load_dataset(root, lang) reads them.
    sizes: dict = {}
    names: dict = {}
    for f in manifest["files"]:
        if f["kind"] == "shard":
            sizes[f["lang"]] = sizes.get(f["lang"], 0) + f["bytes"]
            names.setdefault(f["lang"], []).append(f["path"])  # relative to the root
    card = dataset_card(summary, target_langs, root_hint=root, shard_bytes=sizes,
                        shard_files=names)
    atomic_write(join_path(root, CARD), card.encode("utf-8"))
    removed = delete_other_attempts(root, run_id, attempt)
    LOG.info("published run %s (attempt %s, %d files; %d stale files removed)", run_id,
             attempt, len(manifest["files"]), removed)
    return manifest


def read_latest(root: str) -> Optional[dict]:
    """The manifest the corpus root currently points to (None before the first publish)."""
    try:
        pointer = read_json(join_path(root, LATEST))
    except Exception:  # noqa: BLE001 - no LATEST yet
        return None
    return read_json(join_path(root, pointer["manifest"]))


def latest_shards(root: str, lang: Optional[str] = None) -> list[str]:
    """Absolute paths of the published shards (of one language), for a trainer."""
    manifest = read_latest(root)
    if manifest is None:
        return []
    return [join_path(root, f["path"]) for f in manifest["files"]
            if f["kind"] == "shard" and (lang is None or f["lang"] == lang)]


# ------------------------------------------------------------------ the graph's last stage
class _PublishFn(beam.DoFn):
    def __init__(self, root, run_id, attempt, target_langs, min_rows, files):
        self._args = (root, run_id, attempt)
        self._langs = list(target_langs)
        self._min_rows = min_rows
        self._files = list(files)

    def process(self, summary, shards, dead_files):
        root, run_id, attempt = self._args
        others = self._files + [("dead_letter", p) for p in dead_files]
        yield publish(root, run_id, attempt, summary, list(shards), others, self._langs,
                      self._min_rows)


class Publish(beam.PTransform):
    """summary (one element) -> manifest, once every written file exists.

    ``files`` are the run's other files as (kind, path) (summary, card); ``shards``
    ((lang, path) pairs) and ``dead_files`` (paths) are the outputs of the writes; taking
    them as side inputs makes publication wait for every file.
    """

    def __init__(self, root: str, run_id: str, attempt: str, target_langs: Sequence[str],
                 min_rows: int, files: Sequence[tuple[str, str]], shards, dead_files):
        super().__init__()
        self._fn = _PublishFn(root, run_id, attempt, target_langs, min_rows, files)
        self._shards = shards
        self._dead_files = dead_files

    def expand(self, summary):
        return summary | "PublishRun" >> beam.ParDo(
            self._fn, beam.pvalue.AsList(self._shards), beam.pvalue.AsList(self._dead_files))
