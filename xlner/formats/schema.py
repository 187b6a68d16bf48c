"""The Parquet schema of the projected training data (the trainer's contract).

One row per (input sentence, target language), in ``OUTPUT/<tgt_lang>/part-*.parquet``:

==================  =========================================  ==============================
column              type                                       meaning
==================  =========================================  ==============================
id                  string                                     the input record's id, as read
lang                string                                     target language (NLLB code)
tokens              list<string>                               target words
ner_tags            list<int64>, ClassLabel(label_list)        IOB2 tags over ``tokens``
entities            list<struct<start, end, label,             projected spans (half-open),
                    source_index, score, length_ratio,         the source entity each came
                    alignment_score, margin, greedy_agrees>>
                                                               from and the method's
                                                               confidence (see below)
src_lang            string                                     source language
src_tokens          list<string>                               source words
src_ner_tags        list<int64>, ClassLabel(label_list)        source IOB2 tags (repaired)
translation         string                                     the target sentence text
token_offsets       list<struct<start, end: int32>> (null)     character span of each word in
                                                               ``translation``; null when the
                                                               words came with the input
translation_origin  string                                     given | cache | model
alignment           list<struct<src, tgt: int32>>              word alignment used to project
extra               string (JSON)                              input fields the job does not
                                                               interpret, passed through
==================  =========================================  ==============================

Tags are stored as integers into ``label_list`` (``O``, then ``B-``/``I-`` per type, the
same list for every language and shard of a run) and each file's schema carries the
Hugging Face features, so ``datasets`` reads ``ner_tags`` as ``Sequence(ClassLabel)`` with
no extra code; pyarrow and pandas read the integers and find the names in the schema
metadata (``label_list``) and in the dataset card. What is the same for the whole run
(models, settings, package version, run id) is in ``summary.json``, the dataset card and
the manifest, not repeated on every row.

Entity confidence: ``score`` is in [0, 1]. For candidate methods it is the calibrated
probability that the span is exactly right (``xlner.projection.confidence``: fitted on
Bible Matthew, measured on Mark), with the raw matching score kept as ``alignment_score``
(Dice-like, above 1 with many-to-many links), ``margin`` (the chosen span's raw score minus
the entity's best other span's) and ``greedy_agrees``; for the other methods it is the
fraction of the source entity's words aligned into the
span for the heuristic, the fuzzy-match ratio for EasyProject, null for model transfer;
``length_ratio`` is the span's length over the source entity's; ``source_index`` the
source entity (0-based, in order), null for model transfer. Both floats are rounded to 6
decimals (``xlner.precision.SCORE_DECIMALS``) before they decide a match or a filter and
before they are stored, so they do not depend on how sentences were batched (float32 keeps
distinct 6-decimal values below 8 apart; Dice scores above 8 need many-to-many links).
"""

from __future__ import annotations

import json
from typing import Iterable, Sequence

import pyarrow as pa

from xlner.text.bio import label_list as label_list_of_types
from xlner.text.bio import tags_to_spans
from xlner.formats.records import Projection

ENTITY = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("label", pa.string()),
                    ("source_index", pa.int32()), ("score", pa.float32()),
                    ("length_ratio", pa.float32()), ("alignment_score", pa.float32()),
                    ("margin", pa.float32()), ("greedy_agrees", pa.bool_())])
OFFSET = pa.struct([("start", pa.int32()), ("end", pa.int32())])
LINK = pa.struct([("src", pa.int32()), ("tgt", pa.int32())])
TAG_COLUMNS = ("ner_tags", "src_ner_tags")

_FIELDS = [
    ("id", pa.string()),
    ("lang", pa.string()),
    ("tokens", pa.list_(pa.string())),
    ("ner_tags", pa.list_(pa.int64())),
    ("entities", pa.list_(ENTITY)),
    ("src_lang", pa.string()),
    ("src_tokens", pa.list_(pa.string())),
    ("src_ner_tags", pa.list_(pa.int64())),
    ("translation", pa.string()),
    ("token_offsets", pa.list_(OFFSET)),
    ("translation_origin", pa.string()),
    ("alignment", pa.list_(LINK)),
    ("extra", pa.string()),
]


def _value(arrow_type) -> dict:
    return {"dtype": {pa.int32(): "int32", pa.int64(): "int64", pa.float32(): "float32",
                      pa.string(): "string", pa.bool_(): "bool"}[arrow_type],
            "_type": "Value"}


def features(label_list: Sequence[str]) -> dict:
    """The Hugging Face ``datasets`` features of the schema (``Features.to_dict`` form;
    ``Sequence`` and ``[{...}]`` are read by old and new ``datasets`` versions alike)."""
    def feature(name, arrow_type):
        if name in TAG_COLUMNS:
            return {"feature": {"names": list(label_list), "_type": "ClassLabel"},
                    "_type": "Sequence"}
        if pa.types.is_list(arrow_type):
            inner = arrow_type.value_type
            if pa.types.is_struct(inner):
                return [{f.name: _value(f.type) for f in inner}]
            return {"feature": _value(inner), "_type": "Sequence"}
        return _value(arrow_type)

    return {name: feature(name, t) for name, t in _FIELDS}


def output_schema(label_list: Sequence[str]) -> pa.Schema:
    """The shard schema, with the features and the label list in its metadata."""
    meta = {"huggingface": json.dumps({"info": {"features": features(label_list)}}),
            "label_list": json.dumps(list(label_list))}
    return pa.schema(_FIELDS, metadata=meta)


def run_label_list(types: Iterable[str], given=None) -> list[str]:
    """The one label list of a run: the input's own (``given``) when it covers every type,
    else O, then B-/I- per entity type, types sorted."""
    return label_list_of_types(types, given)


def entity_types(row: dict) -> set[str]:
    """The entity types a (string-tagged) output row uses, source and target."""
    return {s.label for col in TAG_COLUMNS for s in tags_to_spans(row[col])}


def output_row(p: Projection) -> dict:
    """The row of one projected translate-train sentence, tags still as strings."""
    t = p.pair.translation  # the target sentence, and the record it translates
    src = t.source
    return {
        "id": src.id,
        "lang": t.tgt_lang,
        "tokens": list(p.pair.tgt_words),
        "ner_tags": list(p.tags),
        "entities": [{"start": e.start, "end": e.end, "label": e.label,
                      "source_index": e.source_index, "score": e.score,
                      "length_ratio": e.length_ratio, "alignment_score": e.alignment_score,
                      "margin": e.margin, "greedy_agrees": e.greedy_agrees}
                     for e in p.entities],
        "src_lang": src.lang,
        "src_tokens": list(src.tokens),
        "src_ner_tags": list(src.tags),
        "translation": t.text,
        "token_offsets": None if t.offsets is None else
        [{"start": a, "end": b} for a, b in t.offsets],
        "translation_origin": t.origin,
        "alignment": [{"src": s, "tgt": g} for s, g in p.alignment],
        "extra": json.dumps(dict(src.extra), ensure_ascii=False, default=str),
    }


def to_table(rows: Sequence[dict], label_list: Sequence[str]) -> pa.Table:
    """String-tagged rows -> the typed table (tags as indices into ``label_list``)."""
    index = {name: i for i, name in enumerate(label_list)}
    encoded = [dict(r, **{col: [index[t] for t in r[col]] for col in TAG_COLUMNS})
               for r in rows]
    return pa.Table.from_pylist(encoded, schema=output_schema(label_list))


def label_list_of(schema: pa.Schema) -> list[str]:
    """The label list a shard's schema carries (its ``ner_tags`` are indices into it)."""
    return json.loads((schema.metadata or {})[b"label_list"])


def decoded_rows(table: pa.Table) -> list[dict]:
    """A shard's rows with ``ner_tags`` / ``src_ner_tags`` as tag strings again."""
    names = label_list_of(table.schema)
    return [dict(r, **{col: [names[i] for i in r[col]] for col in TAG_COLUMNS})
            for r in table.to_pylist()]
