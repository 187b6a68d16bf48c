"""The last stages of a run: record what it wrote (``manifest.json``, and the clean-up of
what the previous run in the same folder wrote), then, with ``--publish``, publish it.

The protocol itself (lease, manifest, LATEST, root card, clean-up of other attempts) is
plain code in :mod:`xlner.storage.publication`; these stages only call it once every file exists:
the written files arrive as side inputs, so the stages wait for all of them.

Layout under the corpus root ``OUTPUT`` with ``--publish``::

    OUTPUT/LATEST                              {"run_id", "attempt", "manifest", ...}
    OUTPUT/README.md                           the card of what LATEST points at
    OUTPUT/runs/<run_id>/LEASE.json            held by the one running attempt
    OUTPUT/runs/<run_id>/<attempt>/            ATTEMPT.json, <lang>/part-*.parquet,
                                               dead_letter/, summary.json, README.md,
                                               manifest.json
"""

from __future__ import annotations

import time
from typing import Callable, Mapping, Optional, Sequence

import apache_beam as beam

from xlner.storage.guarded_files import Folder, OutputRoot, open_root, sha256_of
from xlner.storage.leases import release
from xlner.storage.publication import (PublishRefused, latest_files, publish,
                               read_latest, record_run)
from xlner.formats.schema import output_schema


def file_entry(kind: str, record) -> dict:
    """A manifest line for a FileRecord."""
    return {"path": record.path, "kind": kind,
            "lang": record.group if kind == "shard" else None, "bytes": record.bytes,
            "sha256": record.sha256, "rows": record.rows}


def own_entry(folder: Folder, kind: str, name: str) -> dict:
    """A manifest line for a small file the run wrote itself (read back through the
    layer, so the sha256 is of the bytes on disk)."""
    data = folder.read(name)
    if data is None:
        raise PublishRefused(f"{folder.url(name)} was written by this run but is missing")
    return {"path": folder.rel(name), "kind": kind, "lang": None, "bytes": len(data),
            "sha256": sha256_of(data), "rows": None}


def translate_train_facts(summary: dict, files: list) -> dict:
    """What a trainer reads from a translate-train manifest besides the files."""
    rows_by_lang: dict = {}
    for f in files:
        if f["kind"] == "shard":
            rows_by_lang[f["lang"]] = rows_by_lang.get(f["lang"], 0) + f["rows"]
    return {
        "rows_by_lang": rows_by_lang,
        "schema": output_schema(summary.get("label_list") or ["O"]).to_string(
            show_schema_metadata=False),
        "label_list": summary.get("label_list"),
        "options": summary.get("options"),
        "models": summary.get("provenance"),
        "summary": {k: summary.get(k) for k in ("records_read", "records_rejected",
                                                "dead_lettered", "accounting_balanced")},
    }


class _RecordRunFn(beam.DoFn):
    def __init__(self, folder: Folder, header: Mapping, own: Sequence[tuple[str, str]],
                 kinds: Sequence[str], data_folders: Sequence[str],
                 facts: Optional[Callable], lease: Optional[dict], release_lease: bool):
        self._folder = folder
        self._header = dict(header)
        self._own = list(own)
        self._kinds = list(kinds)
        self._data_folders = list(data_folders)
        self._facts = facts
        self._lease = lease
        self._release = release_lease

    def process(self, summary, *records):
        files = [file_entry(kind, r) for kind, rs in zip(self._kinds, records)
                 for r in sorted(rs, key=lambda r: r.path)]
        files += [own_entry(self._folder, kind, name) for kind, name in self._own]
        manifest = {**self._header, "created_unix": int(time.time()),
                    "started_unix": (self._lease or {}).get("started_unix"), "files": files}
        if self._facts is not None:
            manifest.update(self._facts(summary, files))
        manifest = record_run(self._folder.root, self._folder.base, manifest,
                              self._data_folders)
        if self._release and self._lease:
            release(self._folder.root, self._lease["lease"], self._lease)
        yield summary, manifest


class RecordRun(beam.PTransform):
    """summary (one element) -> (summary, manifest) once every file exists.

    ``files`` maps a kind ("shard", "dead_letter", ...) to a PCollection of FileRecords;
    ``own`` lists (kind, name) of the small files the run wrote in ``folder``;
    ``data_folders`` are the folders whose unlisted files are reported as foreign.
    Without publication this is the last stage and releases the lease.
    """

    def __init__(self, folder: Folder, header: Mapping, files: Mapping[str, beam.PCollection],
                 own: Sequence[tuple[str, str]], data_folders: Sequence[str],
                 facts: Optional[Callable] = None, lease: Optional[dict] = None,
                 release_lease: bool = True):
        super().__init__()
        self._files = dict(files)
        self._fn = _RecordRunFn(folder, header, own, list(self._files), data_folders, facts,
                                lease, release_lease)

    def expand(self, summary):
        sides = [beam.pvalue.AsList(p) for p in self._files.values()]
        return summary | "RecordRun" >> beam.ParDo(self._fn, *sides)


class _PublishFn(beam.DoFn):
    def __init__(self, root: OutputRoot, lease: dict, target_langs, min_rows):
        self._root = root
        self._lease = lease
        self._langs = list(target_langs)
        self._min_rows = min_rows

    def process(self, recorded):
        summary, manifest = recorded
        yield publish(self._root, manifest, summary, self._lease, self._langs, self._min_rows)


class Publish(beam.PTransform):
    """(summary, manifest) -> the published manifest: LATEST moves to it (see
    :func:`xlner.storage.publication.publish`)."""

    def __init__(self, root: OutputRoot, lease: dict, target_langs: Sequence[str],
                 min_rows: int):
        super().__init__()
        self._fn = _PublishFn(root, lease, target_langs, min_rows)

    def expand(self, recorded):
        return recorded | "PublishRun" >> beam.ParDo(self._fn)


def latest_manifest(root: str) -> Optional[dict]:
    """The manifest ``root``/LATEST points at (None before the first publication)."""
    return read_latest(open_root(root, "root"))[1]


def latest_shards(root: str, lang: Optional[str] = None, verify: bool = False) -> list[str]:
    """URLs of the published shards (of ``lang``), each checked to exist; raises
    LatestUnavailable (one line) when they cannot be served."""
    return latest_files(open_root(root, "root"), lang, verify)
