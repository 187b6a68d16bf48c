"""Outputs: Parquet shards per target language, dead letters, and the run summary."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Mapping, NamedTuple, Optional, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.combiners import SumOf
from transforms.deadletter import NAMESPACE, dead_letter_json
from transforms.files import join_path, relative
from transforms.shards import RemoveStale, WriteShards
from xlner.card import CARD, dataset_card
from xlner.schema import entity_types, output_row, run_label_list, to_table
from xlner.summary import Tally

LOG = logging.getLogger(__name__)


class Written(NamedTuple):
    rows: beam.PCollection  # the output rows (dicts, tags as strings)
    files: beam.PCollection  # (lang, path) of every finalised shard
    label_list: beam.PCollection  # the one label list of the run (singleton)


class _LabelList(beam.CombineFn):
    """The run's one label list, from the entity types of every written row."""

    def create_accumulator(self):
        return set()

    def add_input(self, acc, row):
        return acc | entity_types(row)

    def merge_accumulators(self, accs):
        return set().union(*accs)

    def extract_output(self, acc):
        return run_label_list(acc)


class WriteProjections(beam.PTransform):
    """Projection -> ``OUTPUT/<lang>/part-SSSSS-of-NNNNN-<digest>.parquet`` per target language,
    deterministic whatever the runner (``transforms/shards.py``), tags as indices into the
    run's label list with the Hugging Face features in each file's schema."""

    def __init__(self, output: str, target_langs: Sequence[str], rows_per_shard: int = 50_000):
        super().__init__()
        self._output = output
        self._langs = list(target_langs)
        self._rows_per_shard = rows_per_shard

    def expand(self, projections):
        rows = projections | "ToRows" >> beam.Map(output_row)
        labels = rows | "LabelList" >> beam.CombineGlobally(_LabelList())
        written = (rows | "ByLanguage" >> beam.Map(lambda r: (r["lang"], r))
                   | "Shards" >> WriteShards(self._output, self._langs, to_table, labels,
                                             self._rows_per_shard))
        return Written(rows, written.files, labels)


class WriteDeadLetters(beam.PTransform):
    """DeadLetter -> JSON lines under ``OUTPUT/dead_letter/``."""

    def __init__(self, output: str):
        super().__init__()
        self._output = output

    def expand(self, dead):
        files = (dead
                 | "DeadLetterJson" >> beam.Map(dead_letter_json)
                 | "WriteDeadLetters" >> beam.io.WriteToText(
                     join_path(self._output, "dead_letter", "dead_letter"),
                     file_name_suffix=".jsonl"))
        _ = dead.pipeline | "RemoveStaleDeadLetters" >> RemoveStale(
            [join_path(self._output, "dead_letter", "dead_letter-*.jsonl")], files)
        return files


class _WriteSummary(beam.DoFn):
    def __init__(self, path: str, target_langs, static: Mapping[str, Any], allow_empty: bool,
                 filters: Sequence[dict], allow_partial: bool = False):
        self._allow_partial = allow_partial
        self._path = path
        self._langs = list(target_langs)
        self._static = dict(static)
        self._allow_empty = allow_empty
        self._filters = list(filters)

    def process(self, tally: Tally):
        report = tally.report(self._langs, self._allow_empty, self._filters,
                              self._allow_partial)
        summary = {**self._static, **report, "finished_unix": int(time.time())}
        with FileSystems.create(self._path, mime_type="application/json") as f:
            f.write(json.dumps(summary, indent=2, ensure_ascii=False, sort_keys=False)
                    .encode("utf-8"))
        if not report["accounting_balanced"]:
            LOG.error("summary does not balance: %s", json.dumps(report["languages"]))
        Metrics.counter(NAMESPACE, "summary_written").inc()
        yield summary


class WriteSummary(beam.PTransform):
    """Tallies -> ``OUTPUT/summary.json`` (counts, entities per class, proj_ratio, options)."""

    def __init__(self, output: str, target_langs: Sequence[str], static: Mapping[str, Any],
                 allow_empty: bool = False, filters: Sequence[dict] = (),
                 filename: str = "summary.json", allow_partial: bool = False):
        super().__init__()
        self.path = join_path(output, filename)
        self._fn = _WriteSummary(self.path, target_langs, static, allow_empty, filters,
                                 allow_partial)

    def expand(self, tallies):
        return (tallies
                | "CombineTallies" >> beam.CombineGlobally(SumOf(Tally))
                | "WriteSummary" >> beam.ParDo(self._fn))


def tally_written(p, gold_field: Optional[str]):
    """The summary contribution of one written projection."""
    t = p.pair.translation
    gold = None
    if gold_field and t.origin == "given":
        g = t.source.extra.get(gold_field)
        if isinstance(g, (list, tuple)) and len(g) == len(p.tags):
            gold = [str(x) for x in g]
    return Tally.of_written(t.tgt_lang, t.source.tags, p.tags, t.origin, gold, p.filtered)


def shard_bytes(files) -> dict:
    """Bytes of the shards per language, from (lang, path) pairs."""
    out: dict = {}
    for lang, path in files:
        size = FileSystems.match([path])[0].metadata_list[0].size_in_bytes
        out[lang] = out.get(lang, 0) + size
    return out


class _WriteCard(beam.DoFn):
    def __init__(self, output: str, target_langs: Sequence[str]):
        self._output = output
        self._langs = list(target_langs)

    def process(self, summary: dict, files):
        names: dict = {}
        for lang, path in files:
            names.setdefault(lang, []).append(relative(self._output, path))
        text = dataset_card(summary, self._langs, root_hint=self._output,
                            shard_bytes=shard_bytes(files), shard_files=names)
        with FileSystems.create(join_path(self._output, CARD), mime_type="text/markdown") as f:
            f.write(text.encode("utf-8"))
        yield summary


class WriteCard(beam.PTransform):
    """summary -> ``OUTPUT/README.md``, the dataset card (one config per language), once
    every shard (``files``: (lang, path)) exists; passes the summary on, so a later stage
    runs after the card exists."""

    def __init__(self, output: str, target_langs: Sequence[str], files: beam.PCollection):
        super().__init__()
        self.path = join_path(output, CARD)
        self._fn = _WriteCard(output, target_langs)
        self._files = files

    def expand(self, summary):
        return summary | "WriteCard" >> beam.ParDo(self._fn, beam.pvalue.AsList(self._files))
