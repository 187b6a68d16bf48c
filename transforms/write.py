"""Outputs: Parquet shards per target language, dead letters, and the run summary."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Mapping, NamedTuple, Optional, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from transforms.combiners import SumOf
from transforms.deadletter import NAMESPACE, dead_letter_json
from xlner.formats.splits import SHARD_NAMES, SPLITS, has_splits, split_of_id, written_split
from transforms.shards import WriteShards, json_lines, parquet_bytes
from xlner.formats.card import CARD, dataset_card
from xlner.storage.guarded_files import Folder
from xlner.formats.schema import entity_types, output_row, run_label_list, to_table
from xlner.formats.summary import Tally

LOG = logging.getLogger(__name__)


class Written(NamedTuple):
    rows: beam.PCollection  # the output rows (dicts, tags as strings)
    files: beam.PCollection  # a FileRecord per finalised shard (group = language)
    label_list: beam.PCollection  # the one label list of the run (singleton)


def shard_parquet(rows: list, label_list) -> bytes:
    return parquet_bytes(to_table(rows, label_list))


def row_id(row: dict) -> str:
    return row["id"]


class _EntityTypes(beam.CombineFn):
    """The entity types of every written row."""

    def create_accumulator(self):
        return set()

    def add_input(self, acc, row):
        return acc | entity_types(row)

    def merge_accumulators(self, accs):
        return set().union(*accs)

    def extract_output(self, acc):
        return acc


def _label_list(types, given, input_labels=None):
    """The run's one label list: the input's own order (``--label_list``, else the
    ClassLabel names of a ``datasets`` export) when it covers every type written."""
    return run_label_list(types, given or input_labels)


_STEP = {"train": "Shards", "validation": "ValidationShards", "test": "TestShards"}


def _split_index(kv, _n, splits, fraction):
    """The output split of a (lang, row), as an index into SPLITS."""
    return SPLITS.index(written_split(kv[1]["id"], has_splits(splits), fraction))


class WriteProjections(beam.PTransform):
    """Projection -> ``<folder>/<lang>/<name>-SSSSS-of-NNNNN-<digest>.parquet`` per target
    language and split (name ``part`` for train, ``validation``, ``test``: the input's own
    splits, ``splits`` the read stage's path -> split map, and the rows
    ``--validation_fraction`` holds out of train), deterministic whatever the runner
    (``transforms/shards.py``), tags as indices into the run's label list with the Hugging
    Face features in each file's schema. ``input_labels``: the input's ClassLabel names
    (a singleton PCollection), kept as the label order when ``label_names`` is not given."""

    def __init__(self, folder: Folder, rows_per_shard: int = 50_000, label_names=None,
                 validation_fraction: float = 0.0, splits: Optional[beam.PCollection] = None,
                 input_labels: Optional[beam.PCollection] = None):
        super().__init__()
        self._label_names = tuple(label_names) if label_names else None
        self._validation = validation_fraction
        self._folder = folder
        self._rows_per_shard = rows_per_shard
        self._splits = splits
        self._input_labels = input_labels

    def expand(self, projections):
        rows = projections | "ToRows" >> beam.Map(output_row)
        types = rows | "EntityTypes" >> beam.CombineGlobally(_EntityTypes())
        if self._input_labels is None:
            labels = types | "LabelList" >> beam.Map(_label_list, self._label_names)
        else:
            labels = types | "LabelList" >> beam.Map(
                _label_list, self._label_names, beam.pvalue.AsSingleton(self._input_labels))
        keyed = rows | "ByLanguage" >> beam.Map(lambda r: (r["lang"], r))
        splits = (beam.pvalue.AsSingleton(self._splits) if self._splits is not None
                  else None)
        parts = keyed | "Split" >> beam.Partition(_split_index, len(SPLITS), splits,
                                                  self._validation)
        files = (tuple(parts[i] | _STEP[split] >> WriteShards(
                    self._folder, shard_parquet, row_id, name=SHARD_NAMES[split],
                    encode_arg=labels, rows_per_shard=self._rows_per_shard)
                       for i, split in enumerate(SPLITS))
                 | "AllShards" >> beam.Flatten())
        return Written(rows, files, labels)


class WriteDeadLetters(beam.PTransform):
    """DeadLetter -> JSON lines in ``<folder>/dead_letter/dead_letter-*.jsonl``, written
    like the shards (deterministic, through the guarded layer); no dead letter, no file.
    Returns a FileRecord per file."""

    def __init__(self, folder: Folder, rows_per_file: int = 100_000):
        super().__init__()
        self._folder = folder
        self._rows_per_file = rows_per_file

    def expand(self, dead):
        return (dead
                | "DeadLetterJson" >> beam.Map(lambda d: ("dead_letter", dead_letter_json(d)))
                | "WriteDeadLetters" >> WriteShards(self._folder, json_lines,
                                                    name="dead_letter", ext="jsonl",
                                                    rows_per_shard=self._rows_per_file))


class _WriteSummary(beam.DoFn):
    def __init__(self, folder: Folder, name: str, target_langs, static: Mapping[str, Any],
                 allow_empty: bool, filters: Sequence[dict], allow_partial: bool = False,
                 label_names=None):
        self._folder, self._name = folder, name
        self._label_names = tuple(label_names) if label_names else None
        self._allow_partial = allow_partial
        self._langs = list(target_langs)
        self._static = dict(static)
        self._allow_empty = allow_empty
        self._filters = list(filters)

    def process(self, tally: Tally):
        report = tally.report(self._langs, self._allow_empty, self._filters,
                              self._allow_partial, self._label_names)
        summary = {**self._static, **report, "finished_unix": int(time.time())}
        self._folder.write(self._name, json.dumps(summary, indent=2, ensure_ascii=False)
                           .encode("utf-8"))
        if not report["accounting_balanced"]:
            LOG.error("summary does not balance: %s", json.dumps(report["languages"]))
        Metrics.counter(NAMESPACE, "summary_written").inc()
        yield summary


class WriteSummary(beam.PTransform):
    """Tallies -> ``<folder>/summary.json`` (counts, entities per class, proj_ratio,
    options)."""

    def __init__(self, folder: Folder, target_langs: Sequence[str], static: Mapping[str, Any],
                 allow_empty: bool = False, filters: Sequence[dict] = (),
                 filename: str = "summary.json", allow_partial: bool = False,
                 label_names=None):
        super().__init__()
        self.name = filename
        self._fn = _WriteSummary(folder, filename, target_langs, static, allow_empty, filters,
                                 allow_partial, label_names)

    def expand(self, tallies):
        return (tallies
                | "CombineTallies" >> beam.CombineGlobally(SumOf(Tally))
                | "WriteSummary" >> beam.ParDo(self._fn))


def tally_written(p, gold_field: Optional[str], splits=None, fraction: float = 0.0):
    """The summary contribution of one written projection, in its output split and the
    input split it was read in (``splits``: the read stage's path -> split map)."""
    t = p.pair.translation
    gold = None
    if gold_field and t.origin == "given":
        g = t.source.extra.get(gold_field)
        if isinstance(g, (list, tuple)) and len(g) == len(p.tags):
            gold = [str(x) for x in g]
    split_input = has_splits(splits)
    return Tally.of_written(t.tgt_lang, t.source.tags, p.tags, t.origin, gold, p.filtered,
                            written_split(t.source.id, split_input, fraction),
                            split_of_id(t.source.id, split_input))


def shard_bytes(files) -> dict:
    """Bytes of the shards per language, from FileRecords."""
    out: dict = {}
    for f in files:
        out[f.group] = out.get(f.group, 0) + f.bytes
    return out


class _WriteCard(beam.DoFn):
    def __init__(self, folder: Folder, target_langs: Sequence[str]):
        self._folder = folder
        self._langs = list(target_langs)

    def process(self, summary: dict, files):
        names: dict = {}
        stats: dict = {}
        prefix = self._folder.rel() + "/" if self._folder.rel() else ""
        for f in files:
            names.setdefault(f.group, []).append(f.path[len(prefix):])
            stats[f.path[len(prefix):]] = (f.rows, f.bytes)
        text = dataset_card(summary, self._langs, root_hint=self._folder.url(),
                            shard_bytes=shard_bytes(files), shard_files=names,
                            file_stats=stats)
        self._folder.write(CARD, text.encode("utf-8"))
        yield summary


class WriteCard(beam.PTransform):
    """summary -> ``<folder>/README.md``, the dataset card (one config per language), once
    every shard (``files``: FileRecords) exists; passes the summary on, so a later stage
    runs after the card exists."""

    def __init__(self, folder: Folder, target_langs: Sequence[str], files: beam.PCollection):
        super().__init__()
        self.name = CARD
        self._fn = _WriteCard(folder, target_langs)
        self._files = files

    def expand(self, summary):
        return summary | "WriteCard" >> beam.ParDo(self._fn, beam.pvalue.AsList(self._files))
