"""The Parquet schema of the projected training data (the trainer's contract).

One row per (input sentence, target language), in ``OUTPUT/<tgt_lang>/part-*.parquet``:

==================  =========================================  ==============================
column              type                                       meaning
==================  =========================================  ==============================
id                  string                                     the input record's id, as read
lang                string                                     target language (NLLB code)
tokens              list<string>                               target words
ner_tags            list<string>                               IOB2 tags over ``tokens``
entities            list<struct<start, end: int32, label>>     projected spans, half-open
src_lang            string                                     source language
src_tokens          list<string>                               source words
src_ner_tags        list<string>                               source IOB2 tags (repaired)
translation         string                                     the target sentence text
token_offsets       list<struct<start, end: int32>> (null)     character span of each word in
                                                               ``translation``; null when the
                                                               words came with the input
translation_origin  string                                     given | cache | model
alignment           list<struct<src, tgt: int32>>              word alignment used to project
extra               string (JSON)                              input fields the job does not
                                                               interpret, passed through
provenance          struct<...>                                models, aligner and projection
                                                               settings, package version,
                                                               hash of the options, run id
==================  =========================================  ==============================

``datasets.load_dataset("parquet", data_files=...)`` reads it directly; cast ``ner_tags``
to ``Sequence(ClassLabel(names=summary["label_list"]))`` for training.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

import pyarrow as pa

from xlner.records import Projection

SPAN = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("label", pa.string())])
OFFSET = pa.struct([("start", pa.int32()), ("end", pa.int32())])
LINK = pa.struct([("src", pa.int32()), ("tgt", pa.int32())])
PROVENANCE = pa.struct([
    ("package_version", pa.string()),
    ("run_id", pa.string()),
    ("options_hash", pa.string()),
    ("translation_model", pa.string()),
    ("alignment_model", pa.string()),
    ("align_method", pa.string()),
    ("align_layer", pa.int32()),
    ("projection", pa.string()),
    ("projection_settings", pa.string()),
])

OUTPUT_SCHEMA = pa.schema([
    ("id", pa.string()),
    ("lang", pa.string()),
    ("tokens", pa.list_(pa.string())),
    ("ner_tags", pa.list_(pa.string())),
    ("entities", pa.list_(SPAN)),
    ("src_lang", pa.string()),
    ("src_tokens", pa.list_(pa.string())),
    ("src_ner_tags", pa.list_(pa.string())),
    ("translation", pa.string()),
    ("token_offsets", pa.list_(OFFSET)),
    ("translation_origin", pa.string()),
    ("alignment", pa.list_(LINK)),
    ("extra", pa.string()),
    ("provenance", PROVENANCE),
])


def output_row(p: Projection, provenance: Mapping[str, Any]) -> dict:
    """The Parquet row of one projected translate-train sentence."""
    t = p.pair.translation  # the target sentence, and the record it translates
    src = t.source
    return {
        "id": src.id,
        "lang": t.tgt_lang,
        "tokens": list(p.pair.tgt_words),
        "ner_tags": list(p.tags),
        "entities": [{"start": s.start, "end": s.end, "label": s.label} for s in p.spans],
        "src_lang": src.lang,
        "src_tokens": list(src.tokens),
        "src_ner_tags": list(src.tags),
        "translation": t.text,
        "token_offsets": None if t.offsets is None else
        [{"start": a, "end": b} for a, b in t.offsets],
        "translation_origin": t.origin,
        "alignment": [{"src": s, "tgt": g} for s, g in p.alignment],
        "extra": json.dumps(dict(src.extra), ensure_ascii=False, default=str),
        "provenance": dict(provenance, translation_model=t.model or "given"),
    }
