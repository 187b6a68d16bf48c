"""Read labelled sentences from local paths or ``gs://``, validate them, make ids unique.

Files are matched and opened through Beam's filesystems (so ``gs://`` and globs work
everywhere), decompressed by suffix (``.gz``, ``.bz2``, ``.xz``, ``.zst``, ``.deflate``;
a truncated stream is an error, not a short file) and parsed whole, which is what gives
every sentence a stable id (file + ordinal) without relying on element order.

Nothing is lost silently: a pattern that matches no file (``no_match``), a file with no
records (``empty_file``), a file that cannot be read to its end (``unreadable_file``: not
a regular file, cannot be opened, a read error or a truncated compressed stream mid-file;
its record says how many records were read before the error) each become one read-stage
dead letter with ``record_id`` None, and an unreadable file fails the run unless the
operator accepts partial input (``xlner.formats.summary``); every bad record is its own dead
letter. Local files are opened by ``xlner.formats.inputs.open_regular``, so a FIFO or a device
reached here fails at once instead of blocking the worker. Ids are unique per run:
default ids use the shortest unique path suffix of each file (``source_names``), and of
several valid records with one id the first by (file path, ordinal in file) is kept, the
others are dead-lettered ``duplicate_id``. Grouping by id also spreads the sentences of
one large file over all workers (it replaces a reshuffle).

Splits (``xlner.formats.splits``): when the input's file names carry at least two splits
(``train.conll``/``dev.conll``/``test.conll``, a ``datasets`` export), each record's id
becomes ``<split>/<id>``, and the run's path -> split map is a singleton beside the
sentences (``Read.splits``), from which later stages read a record's split off its id. A
``datasets`` ``save_to_disk`` folder given as an input is read as the Arrow files of its
splits (``export_patterns``), and the ClassLabel names its files (or a Parquet export's)
carry in their metadata come out beside the sentences too (``Read.label_names``), so the
run keeps the input's label order.
"""

from __future__ import annotations

import json
import logging
import os
import re
from typing import NamedTuple, Optional, Sequence

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.localfilesystem import LocalFileSystem
from apache_beam.metrics import Metrics

from transforms.deadletter import DEAD, NAMESPACE, dead_letter
from xlner.formats.inputs import (DEFAULT_MAX_LINE_BYTES, DEFAULT_MAX_TOKEN_CHARS, DEFAULT_MAX_WORDS,
                          InvalidRecord, Validated, clean_text, conll_rows, hf_label_names,
                          is_blank_id, jsonl_rows, open_binary, open_regular, record_id,
                          source_names, text_lines, validate)
from xlner.formats.splits import TRAIN, file_splits

LABELS = "labels"  # the side output of the ClassLabel names found in the input files

FORMATS = ("auto", "conll", "panx", "jsonl", "parquet", "arrow")
_EXTENSIONS = {".conll": "conll", ".conll03": "conll", ".iob": "conll", ".iob2": "conll",
               ".bio": "conll", ".txt": "conll", ".tsv": "conll", ".jsonl": "jsonl",
               ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
               ".panx": "panx", ".arrow": "arrow"}
DATASET_DICT = "dataset_dict.json"  # what datasets' DatasetDict.save_to_disk writes
DATASET_STATE = "state.json"  # ... and Dataset.save_to_disk


def detect_format(path: str) -> str:
    """Format from the file name (compression suffixes ignored); CoNLL when unknown."""
    name = os.path.basename(path.rstrip("/"))
    for suffix in (".gz", ".bz2", ".zst", ".deflate", ".lzma", ".xz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return _EXTENSIONS.get(os.path.splitext(name)[1].lower(), "conll")


class RawRow(NamedTuple):
    """A parsed but unvalidated row, with the label names of its file (for integer tags),
    where it came from: (path, ordinal of the record in that file), and its file's split
    (None when the input carries no splits)."""

    row: dict
    label_names: Optional[list]
    path: str = ""
    index: int = 0
    split: Optional[str] = None


class Read(NamedTuple):
    """What ``ReadLabeledSentences`` gives: the valid sentences, the dead letters, the
    singleton path -> split map of the input files (``xlner.formats.splits.file_splits``)
    and the singleton ClassLabel names the input files carry (None when none or when
    they disagree)."""

    ok: beam.PCollection
    dead: beam.PCollection
    splits: beam.PCollection
    label_names: beam.PCollection


def is_local(path: str) -> bool:
    """True for a path on this machine's filesystem (no ``gs://``-style scheme)."""
    return isinstance(FileSystems.get_filesystem(path), LocalFileSystem)


def open_input(path: str):
    """An input file's undecoded bytes: local files through ``open_regular`` (regular
    files only, never blocking), others (``gs://``) through Beam's filesystems."""
    if is_local(path):
        return open_regular(path)
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def open_arrow(f, path: str):
    """(schema, record batches) of an opened Arrow IPC stream (what ``datasets``'
    ``save_to_disk`` writes) or IPC file, decompressed by its suffix like the text formats."""
    import pyarrow as pa

    stream = open_binary(f, path)
    if stream.peek(6)[:6] == b"ARROW1":  # the IPC file format (random access)
        reader = pa.ipc.open_file(pa.BufferReader(stream.read()))
        return reader.schema, (reader.get_batch(i) for i in range(reader.num_record_batches))
    reader = pa.ipc.open_stream(stream)
    return reader.schema, iter(reader)


def _dead(reason: str, path: str, detail: str, split: Optional[str] = None, **record):
    return dead_letter("read", reason, None, clean_text(f"{path}: {detail}"),
                       record={"path": clean_text(path), **record}, split=split)


def _has_glob(pattern: str) -> bool:
    return bool(re.search(r"[*?\[]", pattern))


def _read_json(path: str):
    with open_input(path) as f:
        return json.loads(f.read())


def export_patterns(pattern: str) -> Optional[list[str]]:
    """The file patterns of a ``datasets`` ``save_to_disk`` folder (``pattern`` names the
    folder): ``<folder>/<split>/*.arrow`` per split its ``dataset_dict.json`` lists, or
    ``<folder>/*.arrow`` for a single saved Dataset; None when ``pattern`` is not one. The
    split of each file is its folder's name (``xlner.formats.splits.named_split``)."""
    if _has_glob(pattern):
        return None
    root = pattern.rstrip("/")
    try:
        if FileSystems.exists(f"{root}/{DATASET_DICT}"):
            splits = _read_json(f"{root}/{DATASET_DICT}")["splits"]
            if isinstance(splits, list) and all(isinstance(x, str) and x for x in splits):
                return [f"{root}/{split}/*.arrow" for split in splits]
            return None
        if FileSystems.exists(f"{root}/{DATASET_STATE}"):
            return [f"{root}/*.arrow"]
    except Exception:  # noqa: BLE001 - not an export we can read: matched as given
        return None
    return None


def input_patterns(patterns: Sequence[str]) -> list[str]:
    """``patterns`` with every ``datasets`` export folder replaced by its file patterns."""
    out = []
    for pattern in patterns:
        out += export_patterns(pattern) or [pattern]
    return out


class _MatchPattern(beam.DoFn):
    """pattern -> matched file paths, or a dead letter when it matches nothing."""

    def process(self, pattern: str):
        matched = FileSystems.match([pattern])[0].metadata_list
        if not matched:
            yield _dead("no_match", pattern, "the input pattern matches no file")
        for m in matched:
            yield m.path, m.size_in_bytes


class _ParseFile(beam.DoFn):
    """ReadableFile -> raw rows (dicts), read-stage dead letters, and (side output
    ``labels``) the ClassLabel names a Hugging Face export file carries."""

    def __init__(self, input_format: str, label_names: Optional[Sequence[str]],
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES):
        self._format = input_format
        self._label_names = list(label_names) if label_names else None
        self._max_line_bytes = max_line_bytes
        self._rows = Metrics.counter(NAMESPACE, "records_read")

    def process(self, readable: fileio.ReadableFile, sources, splits):
        path = readable.metadata.path
        fmt = detect_format(path) if self._format == "auto" else self._format
        source = sources.get(path) or source_names([path])[path]
        split = splits.get(path)
        n, found = 0, None
        try:
            if fmt in ("parquet", "arrow"):
                records = self._tables(readable, source, fmt)
            else:
                records = self._text(readable, source, fmt)
            for row, labels in records:
                if found is None and labels and not self._label_names:
                    found = tuple(labels)
                    yield beam.pvalue.TaggedOutput(LABELS, found)
                yield from self._emit(row, labels, path, n, split)
                n += 1
        except Exception as e:  # noqa: BLE001 - an unreadable file is reported, not fatal
            yield _dead("unreadable_file", path, f"{type(e).__name__}: {e} (after {n} "
                        "records)", split or TRAIN, records_read=n)
            return
        if n == 0:
            yield _dead("empty_file", path, f"no records in {readable.metadata.size_in_bytes} "
                        "bytes", split or TRAIN)

    def _text(self, readable, source, fmt):
        with open_input(readable.metadata.path) as raw:
            lines = text_lines(open_binary(raw, readable.metadata.path), self._max_line_bytes)
            rows = (jsonl_rows(lines, source) if fmt == "jsonl"
                    else conll_rows(lines, source, lang_prefix=fmt == "panx"))
            for row in rows:
                yield row, self._label_names

    def _tables(self, readable, source, fmt):
        """Rows of a Parquet file, or of an Arrow IPC file or stream (what ``datasets``
        writes with ``save_to_disk``), with the label names of their schema."""
        import pyarrow.parquet as pq

        path = readable.metadata.path
        with open_input(path) as f:
            if fmt == "parquet":
                pf = pq.ParquetFile(f)
                schema, batches = pf.schema_arrow, pf.iter_batches(batch_size=1024)
            else:
                schema, batches = open_arrow(f, path)
            labels = self._label_names or hf_label_names(schema.metadata)
            n = 0
            for batch in batches:
                for row in batch.to_pylist():
                    if is_blank_id(row.get("id")):
                        row["id"] = f"{source}:{n}"
                    n += 1
                    yield row, labels

    def _emit(self, row, label_names, path, index, split):
        self._rows.inc()
        if isinstance(row, InvalidRecord):
            rid = f"{split}/{row.record_id}" if split and row.record_id else row.record_id
            yield dead_letter("read", row.reason, rid, row.detail, record=row.record,
                              split=split or TRAIN)
        else:
            if split:  # ids stay unique across splits: <split>/<id>
                try:
                    row["id"] = f"{split}/{record_id(row.get('id'))}"
                except InvalidRecord:
                    pass  # validation reports the id
            yield RawRow(row, label_names, path, index, split)


def id_key(raw: RawRow) -> bytes:
    """The grouping key of a row: its id, or (when the id is unusable) its origin.

    Bytes, because a lone surrogate in an id would make a str key unencodable.
    """
    try:
        return b"i" + record_id(raw.row.get("id")).encode("utf-8", "surrogatepass")
    except InvalidRecord:
        return b"r" + repr((raw.path, raw.index)).encode("utf-8", "backslashreplace")


@beam.typehints.with_output_types(Validated)
class _ValidateUnique(beam.DoFn):
    """(id, raw rows with that id) -> the first valid one, dead letters for the others.

    "First" is by (file path, ordinal in file), so the choice never depends on bundling.
    Two passes over the group keep memory flat even when every row repeats one id.
    """

    def __init__(self, default_lang: str, max_words: int, require_tags: bool,
                 max_token_chars: int, target_langs: Optional[Sequence[str]] = None):
        self._targets = None if target_langs is None else tuple(target_langs)
        self._lang = default_lang
        self._max_words = max_words
        self._require_tags = require_tags
        self._max_token_chars = max_token_chars
        self._repaired = Metrics.counter(NAMESPACE, "sentences_repaired")
        self._valid = Metrics.counter(NAMESPACE, "sentences_valid")
        self._duplicates = Metrics.counter(NAMESPACE, "duplicate_ids")

    def _validate(self, raw: RawRow) -> Validated:
        return validate(raw.row, default_lang=self._lang, label_names=raw.label_names,
                        max_words=self._max_words, require_tags=self._require_tags,
                        max_token_chars=self._max_token_chars, target_langs=self._targets)

    def process(self, keyed):
        _, raws = keyed
        best, best_at, n_valid = None, None, 0
        for raw in raws:
            try:
                v = self._validate(raw)
            except InvalidRecord as e:
                yield dead_letter("validate", e.reason, e.record_id, e.detail, e.lang,
                                  record=e.record, split=raw.split or TRAIN)
                continue
            n_valid += 1
            if best is None or (raw.path, raw.index) < best_at:
                best, best_at = v, (raw.path, raw.index)
        if best is None:
            return
        if n_valid > 1:
            for raw in raws:
                if (raw.path, raw.index) == best_at:
                    continue
                try:
                    v = self._validate(raw)
                except InvalidRecord:
                    continue  # reported in the first pass
                self._duplicates.inc()
                yield dead_letter(
                    "validate", "duplicate_id", v.sentence.id,
                    clean_text(f"id {v.sentence.id!r} of {raw.path} record #{raw.index} "
                               f"was already taken by {best_at[0]} record #{best_at[1]} "
                               "(records counted from 0 in file order; the first is kept)"),
                    record={"path": clean_text(raw.path), "index": raw.index,
                            "kept": {"path": clean_text(best_at[0]), "index": best_at[1]}},
                    split=raw.split or TRAIN)
        self._valid.inc()
        if best.repairs:
            self._repaired.inc()
        yield best


class ReadLabeledSentences(beam.PTransform):
    """File patterns -> ``Read``: ``Validated`` sentences (a LabeledSentence and its repair
    count), dead letters, the input's splits and its ClassLabel names.

    ``patterns`` are local paths, globs, ``gs://`` URLs or ``datasets`` export folders;
    ``input_format`` is one of FORMATS (``auto`` picks by extension). A file matched by two
    patterns is read once. With ``target_langs`` every row's ``tgt_lang`` must agree with
    them (``xlner.formats.inputs.check_target``; the launcher checks the same rule before
    any work). ``keep_splits=False`` reads a split input as one (ids unchanged).
    """

    def __init__(self, patterns: Sequence[str], input_format: str = "auto",
                 label_names: Optional[Sequence[str]] = None, default_lang: str = "eng_Latn",
                 max_words: int = DEFAULT_MAX_WORDS, require_tags: bool = True,
                 max_token_chars: int = DEFAULT_MAX_TOKEN_CHARS,
                 target_langs: Optional[Sequence[str]] = None, keep_splits: bool = True):
        super().__init__()
        self._keep_splits = keep_splits
        self._targets = target_langs
        self._require_tags = require_tags
        if input_format not in FORMATS:
            raise ValueError(f"input_format must be one of {FORMATS}")
        self._patterns = input_patterns(patterns)
        self._format = input_format
        self._labels = label_names
        self._lang = default_lang
        self._max_words = max_words
        self._max_token_chars = max_token_chars

    def expand(self, pbegin):
        matched = (pbegin
                   | "Patterns" >> beam.Create(self._patterns)
                   | "Match" >> beam.ParDo(_MatchPattern()).with_outputs(DEAD, main="paths"))
        files = matched.paths | "DistinctPaths" >> beam.Distinct()
        # Every file's default-id prefix depends on all matched paths: one side input.
        paths = files | "AllPaths" >> beam.combiners.ToList()
        sources = paths | "SourceNames" >> beam.Map(lambda fs: source_names(p for p, _ in fs))
        splits = paths | "Splits" >> beam.Map(_splits_of, self._keep_splits)
        parsed = (
            files
            | "Metadata" >> beam.MapTuple(FileMetadata)
            | "Open" >> fileio.ReadMatches()
            | "Parse" >> beam.ParDo(_ParseFile(self._format, self._labels),
                                    beam.pvalue.AsSingleton(sources),
                                    beam.pvalue.AsSingleton(splits))
            .with_outputs(DEAD, LABELS, main="rows"))
        labels = (parsed[LABELS]
                  | "DistinctLabels" >> beam.Distinct()
                  | "AllLabels" >> beam.combiners.ToList()
                  | "InputLabels" >> beam.Map(_one_label_list))
        validated = (
            parsed.rows
            | "KeyById" >> beam.Map(lambda raw: (id_key(raw), raw))
            | "GroupById" >> beam.GroupByKey()
            | "Validate" >> beam.ParDo(_ValidateUnique(
                self._lang, self._max_words, self._require_tags, self._max_token_chars,
                self._targets))
            .with_outputs(DEAD, main="ok"))
        dead = ((matched[DEAD], parsed[DEAD], validated[DEAD])
                | "ReadDeadLetters" >> beam.Flatten())
        return Read(validated.ok, dead, splits, labels)


def _splits_of(files, keep: bool) -> dict:
    paths = [p for p, _ in files]
    return file_splits(paths) if keep else {p: None for p in paths}


def _one_label_list(found: list) -> Optional[tuple]:
    """The input's label names when its files agree on one list; None otherwise (each
    file's tags are still decoded with its own names; only the output order is ours)."""
    lists = set(map(tuple, found))
    if len(lists) > 1:
        logging.getLogger(__name__).warning(
            "xlner: the input files carry %d different ClassLabel lists; the output uses O "
            "then B-/I- per type, sorted (give --label_list to choose the order)", len(lists))
    return tuple(found[0]) if len(lists) == 1 else None
