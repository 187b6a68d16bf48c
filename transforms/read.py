"""Read labelled sentences from local paths or ``gs://`` and validate them.

Files are matched and opened through Beam's filesystems (so ``gs://``, compressed files and
globs work everywhere) and parsed whole, which is what gives every sentence a stable id
(file + ordinal) without relying on element order. A reshuffle after parsing spreads the
sentences of one large file over all workers.
"""

from __future__ import annotations

import io
import os
from typing import NamedTuple, Optional, Sequence

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.metrics import Metrics

from transforms.deadletter import DEAD, NAMESPACE, Staged, dead_letter
from xlner.inputs import (DEFAULT_MAX_WORDS, InvalidRecord, Validated, conll_rows,
                          hf_label_names, jsonl_rows, validate)

FORMATS = ("auto", "conll", "panx", "jsonl", "parquet")
_EXTENSIONS = {".conll": "conll", ".conll03": "conll", ".iob": "conll", ".iob2": "conll",
               ".bio": "conll", ".txt": "conll", ".tsv": "conll", ".jsonl": "jsonl",
               ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
               ".panx": "panx"}


def detect_format(path: str) -> str:
    """Format from the file name (compression suffixes ignored); CoNLL when unknown."""
    name = os.path.basename(path.rstrip("/"))
    for suffix in (".gz", ".bz2", ".zst", ".deflate", ".lzma", ".xz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return _EXTENSIONS.get(os.path.splitext(name)[1].lower(), "conll")


def source_name(path: str) -> str:
    """The file's parent folder and name (``swa/test.txt``): the prefix of default ids.

    Data sets ship one folder per language with identical file names, so the name alone
    would give two languages the same ids.
    """
    return "/".join(path.replace("\\", "/").rstrip("/").split("/")[-2:])


class RawRow(NamedTuple):
    """A parsed but unvalidated row, with the label names of its file (for integer tags)."""

    row: dict
    label_names: Optional[list]


class _ParseFile(beam.DoFn):
    """ReadableFile -> raw rows (dicts) and read-stage dead letters."""

    def __init__(self, input_format: str, label_names: Optional[Sequence[str]]):
        self._format = input_format
        self._label_names = list(label_names) if label_names else None
        self._rows = Metrics.counter(NAMESPACE, "records_read")

    def process(self, readable: fileio.ReadableFile):
        path = readable.metadata.path
        fmt = detect_format(path) if self._format == "auto" else self._format
        source = source_name(path)
        try:
            if fmt == "parquet":
                yield from self._parquet(readable, source)
                return
            with readable.open(compression_type=CompressionTypes.AUTO) as raw:
                lines = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
                rows = (jsonl_rows(lines, source) if fmt == "jsonl"
                        else conll_rows(lines, source, lang_prefix=fmt == "panx"))
                for row in rows:
                    yield from self._emit(row, self._label_names)
        except Exception as e:  # noqa: BLE001 - an unreadable file is reported, not fatal
            yield dead_letter("read", "unreadable_file", None, f"{path}: {type(e).__name__}: "
                              f"{e}", record={"path": path})

    def _parquet(self, readable, source):
        import pyarrow.parquet as pq

        with readable.open(compression_type=CompressionTypes.UNCOMPRESSED) as f:
            pf = pq.ParquetFile(f)
            labels = self._label_names or hf_label_names(pf.schema_arrow.metadata)
            n = 0
            for batch in pf.iter_batches(batch_size=1024):
                for row in batch.to_pylist():
                    if row.get("id") is None:
                        row["id"] = f"{source}:{n}"
                    n += 1
                    yield from self._emit(row, labels)

    def _emit(self, row, label_names):
        self._rows.inc()
        if isinstance(row, InvalidRecord):
            yield dead_letter("read", row.reason, row.record_id, row.detail, record=row.record)
        else:
            yield RawRow(row, label_names)


@beam.typehints.with_input_types(RawRow)
@beam.typehints.with_output_types(Validated)
class _Validate(beam.DoFn):
    """Raw row -> LabeledSentence with IOB2 tags (repairs counted), or a dead letter."""

    def __init__(self, default_lang: str, max_words: int, require_tags: bool):
        self._lang = default_lang
        self._max_words = max_words
        self._require_tags = require_tags
        self._repaired = Metrics.counter(NAMESPACE, "sentences_repaired")
        self._valid = Metrics.counter(NAMESPACE, "sentences_valid")

    def process(self, raw: RawRow):
        try:
            v = validate(raw.row, default_lang=self._lang, label_names=raw.label_names,
                         max_words=self._max_words, require_tags=self._require_tags)
        except InvalidRecord as e:
            yield dead_letter("validate", e.reason, e.record_id, e.detail, record=e.record)
            return
        self._valid.inc()
        if v.repairs:
            self._repaired.inc()
        yield v


class ReadLabeledSentences(beam.PTransform):
    """File patterns -> ``Validated`` sentences (a LabeledSentence and its repair count).

    ``patterns`` are local paths, globs or ``gs://`` URLs; ``input_format`` is one of
    FORMATS (``auto`` picks by extension).
    """

    def __init__(self, patterns: Sequence[str], input_format: str = "auto",
                 label_names: Optional[Sequence[str]] = None, default_lang: str = "eng_Latn",
                 max_words: int = DEFAULT_MAX_WORDS, require_tags: bool = True):
        super().__init__()
        self._require_tags = require_tags
        if input_format not in FORMATS:
            raise ValueError(f"input_format must be one of {FORMATS}")
        self._patterns = list(patterns)
        self._format = input_format
        self._labels = label_names
        self._lang = default_lang
        self._max_words = max_words

    def expand(self, pbegin):
        parsed = (
            pbegin
            | "Patterns" >> beam.Create(self._patterns)
            | "Match" >> fileio.MatchAll()
            | "Open" >> fileio.ReadMatches()
            | "Parse" >> beam.ParDo(_ParseFile(self._format, self._labels)).with_outputs(
                DEAD, main="rows"))
        validated = (
            parsed.rows
            | "Spread" >> beam.Reshuffle()
            | "Validate" >> beam.ParDo(_Validate(self._lang, self._max_words, self._require_tags))
            .with_outputs(DEAD, main="ok"))
        dead = (parsed[DEAD], validated[DEAD]) | "ReadDeadLetters" >> beam.Flatten()
        return Staged(validated.ok, dead)

