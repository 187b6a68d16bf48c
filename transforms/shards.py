"""Deterministic Parquet shards: the same rows give byte-identical files on any runner.

Beam's file sinks assign rows to shards by bundle, so two runs with different worker
counts write the same rows into different files. Here the number of shards follows from
the row count of each language (``rows_per_shard``), a row's shard from a stable hash of
its id, and the rows of a shard are sorted by id; each shard is written whole under a
temporary name and renamed into place (one object on GCS), so a retried bundle rewrites
the same bytes. Once every shard exists, files of an earlier run left in the same folders
(``part-*.parquet`` that this run did not write) are removed: a reused output folder holds
exactly this run's rows. A shard's name ends with a digest of its bytes. Nothing outside ``OUTPUT/<lang>/`` is touched.
"""

from __future__ import annotations

import hashlib
import io
import logging
import uuid
from typing import Any, Callable, NamedTuple, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from transforms.files import join_path

LOG = logging.getLogger(__name__)
# The content digest in the name: the same rows give the same name, other rows another,
# so the dataset card's file list (and datasets' cache of it) changes with the data.
PART = "part-{shard:05d}-of-{shards:05d}-{digest}.parquet"


def shard_of(record_id: str, shards: int) -> int:
    """A stable shard for an id (not Python's salted ``hash``)."""
    digest = hashlib.sha256(record_id.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % shards


def shard_count(rows: int, rows_per_shard: int) -> int:
    return max(1, -(-rows // rows_per_shard))


class Written(NamedTuple):
    files: beam.PCollection  # (lang, path) of every shard written


def _assign(element, counts, rows_per_shard):
    lang, row = element
    shards = shard_count(counts[lang], rows_per_shard)
    return (lang, shard_of(row["id"], shards), shards), row


class _WriteShard(beam.DoFn):
    def __init__(self, output: str, to_table: Callable[[list, Any], Any]):
        self._output = output
        self._to_table = to_table

    def process(self, element, table_arg):
        import pyarrow.parquet as pq

        (lang, shard, shards), rows = element
        rows = sorted(rows, key=lambda r: r["id"])
        buf = io.BytesIO()
        pq.write_table(self._to_table(rows, table_arg), buf)
        digest = hashlib.sha256(buf.getvalue()).hexdigest()[:12]
        path = join_path(self._output, lang, PART.format(shard=shard, shards=shards,
                                                          digest=digest))
        tmp = join_path(self._output, lang, f".tmp-{uuid.uuid4().hex}-{shard:05d}.parquet")
        with FileSystems.create(tmp) as f:
            f.write(buf.getvalue())
        if FileSystems.exists(path):
            FileSystems.delete([path])
        FileSystems.rename([tmp], [path])
        yield lang, path


class _RemoveStale(beam.DoFn):
    """Once all files exist: delete files of earlier runs that match our own patterns."""

    def __init__(self, patterns: Sequence[str]):
        self._patterns = list(patterns)

    def process(self, _, written):
        keep = {w[1] if isinstance(w, tuple) else w for w in written}
        for pattern in self._patterns:
            stale = [m.path for m in FileSystems.match([pattern])[0].metadata_list
                     if m.path not in keep]
            if stale:
                LOG.info("removing %d file(s) of an earlier run matching %s", len(stale),
                         pattern)
                FileSystems.delete(stale)
        yield len(keep)


class RemoveStale(beam.PTransform):
    """After ``written`` (paths, or (key, path) pairs) exist, remove every other file
    matching ``patterns``: a reused output folder then holds exactly this run's files."""

    def __init__(self, patterns: Sequence[str], written: beam.PCollection):
        super().__init__()
        self._fn = _RemoveStale(patterns)
        self._written = written

    def expand(self, pbegin):
        return (pbegin | "AfterWrites" >> beam.Create([None])
                | "RemoveStale" >> beam.ParDo(self._fn, beam.pvalue.AsList(self._written)))


class WriteShards(beam.PTransform):
    """(lang, row dict with "id") -> ``OUTPUT/<lang>/part-SSSSS-of-NNNNN-<digest>.parquet``.

    ``to_table(rows, table_arg)`` makes the Arrow table of one shard; ``table_arg`` is a
    singleton PCollection known only once the data is read (e.g. the run's label list).
    """

    def __init__(self, output: str, langs: Sequence[str], to_table: Callable,
                 table_arg: beam.PCollection, rows_per_shard: int = 50_000):
        super().__init__()
        self._output = output
        self._langs = list(langs)
        self._write = _WriteShard(output, to_table)
        self._table_arg = table_arg
        self._rows_per_shard = rows_per_shard

    def expand(self, keyed_rows):
        p = keyed_rows.pipeline
        counts = keyed_rows | "CountPerLanguage" >> beam.combiners.Count.PerKey()
        files = (keyed_rows
                 | "AssignShard" >> beam.Map(_assign, beam.pvalue.AsDict(counts),
                                             self._rows_per_shard)
                 | "GroupShard" >> beam.GroupByKey()
                 | "WriteShard" >> beam.ParDo(self._write,
                                              beam.pvalue.AsSingleton(self._table_arg)))
        _ = p | "RemoveStale" >> RemoveStale(
            [join_path(self._output, lang, "part-*.parquet") for lang in self._langs], files)
        return Written(files)
