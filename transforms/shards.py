"""Deterministic files: the same items give byte-identical files on any runner.

Beam's file sinks assign items to files by bundle and write through temporary files they
create and delete themselves, so two runs with different worker counts write different
files, and the deletes are out of our hands. Here the number of files of a group (a
language, the dead letters, the predictions) follows from its item count
(``rows_per_shard``), an item's file from a stable hash of its id, the items of a file are
sorted by id, and each file is written whole through the guarded file layer
(:mod:`xlner.storage.guarded_files`): a temporary name, then a rename (one object on GCS), so a
retried bundle rewrites the same bytes. A file's name ends with a digest of its bytes.
What a reused folder held before is cleaned up by the run's manifest
(:func:`xlner.storage.publication.record_run`), never by a pattern.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any, Callable, NamedTuple, Optional

import apache_beam as beam

from xlner.storage.guarded_files import Folder

PART = "{name}-{shard:05d}-of-{shards:05d}-{digest}.{ext}"


class FileRecord(NamedTuple):
    """One file a run wrote: what the manifest lists."""

    group: str  # the language, "dead_letter", "predictions", ...
    path: str  # relative to the output root
    url: str
    bytes: int
    sha256: str
    rows: int


def shard_of(record_id: str, shards: int) -> int:
    """A stable shard for an id (not Python's salted ``hash``)."""
    digest = hashlib.sha256(record_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def shard_count(rows: int, rows_per_shard: int) -> int:
    return max(1, -(-rows // rows_per_shard))


def parquet_bytes(table) -> bytes:
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def json_lines(lines: list, _arg=None) -> bytes:
    return "".join(line + "\n" for line in lines).encode("utf-8")


def _identity(item):
    return item


class _Assign:
    def __init__(self, id_of: Callable, rows_per_shard: int):
        self._id_of = id_of
        self._rows_per_shard = rows_per_shard

    def __call__(self, element, counts):
        group, item = element
        shards = shard_count(counts[group], self._rows_per_shard)
        return (group, shard_of(self._id_of(item), shards), shards), item


class _WriteShard(beam.DoFn):
    def __init__(self, folder: Folder, encode: Callable, id_of: Callable, name: str,
                 ext: str):
        self._folder = folder
        self._encode = encode
        self._id_of = id_of
        self._name, self._ext = name, ext

    def process(self, element, arg=None):
        (group, shard, shards), items = element
        items = sorted(items, key=self._id_of)
        data = self._encode(items, arg)
        sha = hashlib.sha256(data).hexdigest()
        name = PART.format(name=self._name, shard=shard, shards=shards, digest=sha[:12],
                           ext=self._ext)
        rel = f"{group}/{name}" if group else name
        self._folder.write(rel, data)
        yield FileRecord(group, self._folder.rel(rel), self._folder.url(rel), len(data), sha,
                         len(items))


class WriteShards(beam.PTransform):
    """(group, item) -> ``<folder>/<group>/<name>-SSSSS-of-NNNNN-<digest>.<ext>``, one
    FileRecord per file (group "" writes into the folder itself).

    ``encode(items, arg)`` makes a file's bytes; ``arg`` is the singleton PCollection
    ``encode_arg`` (e.g. the run's label list) or None. ``id_of(item)`` places and sorts.
    """

    def __init__(self, folder: Folder, encode: Callable[[list, Any], bytes],
                 id_of: Callable[[Any], str] = _identity, name: str = "part",
                 ext: str = "parquet", encode_arg: Optional[beam.PCollection] = None,
                 rows_per_shard: int = 50_000):
        super().__init__()
        self._write = _WriteShard(folder, encode, id_of, name, ext)
        self._assign = _Assign(id_of, rows_per_shard)
        self._arg = encode_arg

    def expand(self, keyed):
        counts = keyed | "CountPerGroup" >> beam.combiners.Count.PerKey()
        grouped = (keyed
                   | "AssignShard" >> beam.Map(self._assign, beam.pvalue.AsDict(counts))
                   | "GroupShard" >> beam.GroupByKey())
        if self._arg is None:
            return grouped | "WriteShard" >> beam.ParDo(self._write)
        return grouped | "WriteShard" >> beam.ParDo(self._write,
                                                     beam.pvalue.AsSingleton(self._arg))
