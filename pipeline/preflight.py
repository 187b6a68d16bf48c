"""What the launcher checks in the input before any work: every pattern matches regular
files, and the rows' ``tgt_lang`` agree with ``--target_langs``.

The language scan reads only what it needs: JSON-lines files line by line, parsing only
lines that mention ``tgt_lang`` or a translation (up to ``SCAN_BYTES`` in all; beyond
that the job's own guard, the same rule in ``xlner.formats.inputs.check_target``, sees every row),
Parquet files only their ``tgt_lang`` column (and the translation columns only when a
missing ``tgt_lang`` matters; Arrow IPC files are read batch by batch for the same). A file it cannot read is left to the job, which reports it
with the file's name. CoNLL-style files carry no ``tgt_lang``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections import Counter
from typing import Optional, Sequence

from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems

from pipeline.options import ConfigError
from transforms.read import detect_format, input_patterns, is_local, open_arrow, open_input
from xlner.formats.splits import VALIDATION, file_splits
from xlner.text.segmenters import missing_segmenters
from xlner.formats.inputs import (LANGUAGE_MISSING, NOT_A_TARGET, InvalidRecord, check_target,
                          file_kind, has_translation, open_binary, row_target, text_lines)

LOG = logging.getLogger("xlner")
SCAN_BYTES = 1 << 30  # input bytes the language scan reads at most, over all files


def matched_files(patterns: Sequence[str], what: str) -> list[tuple[str, int]]:
    """(path, size) of every file the patterns match; a pattern that matches nothing, or
    a local match that is not a regular file (FIFO, device, socket, directory, a link to
    nothing), stops the job with one line naming it: reading one would hang or never end,
    and Beam's own listing would skip a directory or a dangling link without a word. A
    ``datasets`` export folder stands for the Arrow files of its splits
    (``transforms.read.export_patterns``)."""
    out = []
    for pattern in input_patterns(patterns):
        try:
            found = FileSystems.match([pattern])[0].metadata_list
        except Exception as e:  # noqa: BLE001 - a bad scheme or bucket is the same mistake
            raise ConfigError(f"{what} {pattern!r} cannot be read: {e}") from None
        skipped = next(_skipped_matches(pattern), None)
        if skipped:
            raise ConfigError(f"{what} {pattern!r} matches {skipped[0]!r}, {skipped[1]}, not "
                              "a regular file")
        if not found:
            raise ConfigError(f"{what} {pattern!r} matches no file")
        for m in found:
            if is_local(m.path):
                try:
                    kind = file_kind(os.stat(m.path).st_mode)
                except OSError as e:
                    raise ConfigError(f"{what} {m.path!r} cannot be read: "
                                      f"{e.strerror or e}") from None
                if kind:
                    raise ConfigError(f"{what} {m.path!r} is {kind}, not a regular file")
            out.append((m.path, m.size_in_bytes))
    return out


def _skipped_matches(pattern: str):
    """(path, kind) of local entries a glob matches that are not regular files: Beam lists
    regular files only. A directory under a ``**`` pattern is what ``**`` walks into."""
    if pattern.endswith("/"):
        pattern += "*"  # as Beam reads a folder
    if not is_local(pattern) or not re.search(r"[*?\[]", pattern):
        return
    fs = FileSystems.get_filesystem(pattern)
    prefix = re.match(r"^[^[*?]*", pattern).group(0)
    root = prefix if prefix.endswith("/") else os.path.dirname(prefix)
    if not root:
        return  # Beam lists nothing for a pattern without a folder: "matches no file"
    for base, dirs, files in os.walk(root):
        entries = [os.path.join(base, name) for name in dirs + files]
        for m in fs.match_files([FileMetadata(e, 0) for e in entries], pattern):
            try:
                kind = file_kind(os.stat(m.path).st_mode)
            except OSError:
                kind = "a link to nothing" if os.path.islink(m.path) else "unreadable"
            if kind and not (kind == "a directory" and "**" in pattern):
                yield m.path, kind


class _Findings:
    """Rows that disagree with the target languages: per reason and language, with the
    first example."""

    def __init__(self):
        self.count: Counter = Counter()
        self.example: dict = {}

    def add(self, e: InvalidRecord, where: str) -> None:
        key = (e.reason, e.lang)
        self.count[key] += 1
        self.example.setdefault(key, where)

    def line(self, targets: Sequence[str]) -> Optional[str]:
        """The one line that stops the job, or None when every row agrees."""
        outside = sorted({lang for reason, lang in self.count if reason == NOT_A_TARGET})
        if outside:
            n = sum(c for (r, _), c in self.count.items() if r == NOT_A_TARGET)
            example = self.example[(NOT_A_TARGET, outside[0])]
            return (f"{n} input row(s) are meant for {','.join(outside)} (their tgt_lang, "
                    f"e.g. {example}), which --target_langs={','.join(targets)} does not "
                    f"include: give --target_langs={','.join(outside)} (or "
                    f"{','.join(list(targets) + outside)})")
        n = self.count[(LANGUAGE_MISSING, None)]
        if n:
            return (f"{n} input row(s) carry a translation without tgt_lang (e.g. "
                    f"{self.example[(LANGUAGE_MISSING, None)]}) while --target_langs names "
                    f"{len(targets)} languages: give each such row its tgt_lang, or run one "
                    "target language at a time")
        return None


def check_input_languages(files: Sequence[tuple[str, int]], input_format: str,
                          targets: Sequence[str]) -> None:
    """Stop the job before any work when rows are meant for a language outside
    ``targets``, or carry a translation without a language while there are several."""
    found, budget = _Findings(), SCAN_BYTES
    for path, size in files:
        fmt = detect_format(path) if input_format == "auto" else input_format
        if fmt not in ("jsonl", "parquet", "arrow"):
            continue
        if budget <= 0:
            LOG.info("xlner: the pre-flight language scan stopped after %d bytes; the job "
                     "checks the remaining rows itself", SCAN_BYTES)
            break
        budget -= size
        try:
            if fmt == "jsonl":
                _scan_jsonl(path, targets, found)
            else:
                _scan_table(path, fmt, targets, found)
        except Exception:  # noqa: BLE001 - unreadable here: the job reports it by name
            LOG.debug("pre-flight scan of %s stopped", path, exc_info=True)
    line = found.line(targets)
    if line:
        raise ConfigError(line)


def _check_row(row: dict, targets, found: _Findings, where: str,
               translated: Optional[bool] = None) -> None:
    try:
        check_target(row_target(row), has_translation(row) if translated is None
                     else translated, targets)
    except InvalidRecord as e:
        if e.reason in (NOT_A_TARGET, LANGUAGE_MISSING):
            found.add(e, where)


def _scan_jsonl(path: str, targets, found: _Findings) -> None:
    with open_input(path) as raw:
        for lineno, line in enumerate(text_lines(open_binary(raw, path)), start=1):
            if "tgt_lang" not in line and '"translation' not in line:
                continue
            try:
                row = json.loads(line)
            except ValueError:
                continue  # the job dead-letters it
            if isinstance(row, dict):
                _check_row(row, targets, found, f"line {lineno} of {path}")


def _table_reader(f, path: str, fmt: str):
    """(column names, batches(columns)) of a Parquet file (only those columns are read) or
    an Arrow IPC stream or file (``datasets``' save_to_disk; every batch is read)."""
    import pyarrow.parquet as pq

    if fmt == "parquet":
        pf = pq.ParquetFile(f)
        return pf.schema_arrow.names, lambda cols: pf.iter_batches(batch_size=65536,
                                                                     columns=cols)
    schema, batches = open_arrow(f, path)
    return schema.names, lambda cols: (b.select(cols) for b in batches)


def _scan_table(path: str, fmt: str, targets, found: _Findings) -> None:
    """Only the ``tgt_lang`` column, and whether the translation columns are null (only
    when a missing ``tgt_lang`` matters: several targets)."""
    import pyarrow.compute as pc

    with open_input(path) as f:
        names, batches_of = _table_reader(f, path, fmt)
        translation = sorted(set(names) & {"translation", "translation_tokens"})
        wanted = ["tgt_lang"] if "tgt_lang" in names else []
        if len(targets) > 1:
            wanted += translation
        if not wanted:
            return
        batches = batches_of(wanted)
        offset = 0
        for batch in batches:
            tgt = (batch.column("tgt_lang").to_pylist() if "tgt_lang" in wanted
                   else [None] * batch.num_rows)
            given = [False] * batch.num_rows
            for name in translation if len(targets) > 1 else ():
                given = pc.or_(given, batch.column(name).is_valid())
            given = given.to_pylist() if hasattr(given, "to_pylist") else given
            for i in range(batch.num_rows):
                _check_row({"tgt_lang": tgt[i]}, targets, found, f"row {offset + i} of {path}",
                           translated=given[i])
            offset += batch.num_rows


def check_held_out(files: Sequence[tuple[str, int]], validation_fraction: float) -> None:
    """``--validation_fraction`` holds out train rows; an input with its own validation
    split (``xlner.formats.splits.file_splits``) already has one: stop before any work."""
    if not validation_fraction:
        return
    own = sorted(p for p, s in file_splits(p for p, _ in files).items() if s == VALIDATION)
    if own:
        more = f" and {len(own) - 1} more" if len(own) > 1 else ""
        raise ConfigError(f"--validation_fraction={validation_fraction} holds out train rows "
                          f"as validation, but the input has its own validation split "
                          f"({own[0]}{more}): drop --validation_fraction, or leave the "
                          "validation files out")


def check_segmenters(langs: Sequence[str]) -> None:
    """Stop before any work when a language of the run (a translation's, or the gold's in
    the evaluation) needs a word segmenter that is not installed; the one line names the
    pip extra that installs it (and the extra with all of them when several are missing)."""
    missing = missing_segmenters(langs)
    if len(missing) > 1:
        raise ConfigError(f"{missing[0]} ({len(missing) - 1} more language(s) need a word "
                          "segmenter: pip install 'xlner-beam[segmenters]' installs all)")
    if missing:
        raise ConfigError(missing[0])
