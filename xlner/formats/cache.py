"""The translation cache: Parquet rows keyed by a hash of everything that fixes the output.

The key covers the translation signature (``xlner.models.runtime``: the weights'
fingerprint, the engine, the device kind and precision used on the worker, the decoding
settings), the language pair and the exact source text, so a cached translation is reused
only where this model, run this way, would have produced it. Each row carries the
signature and text it was keyed by; a row is trusted only when its key recomputes from
them, and a file only when every row does (:func:`valid_entries`). Files are append-only
(one set of shards per run); duplicates across runs are harmless because equal keys carry
equal translations.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Iterator

import pyarrow as pa

CACHE_SCHEMA = pa.schema([
    ("key", pa.string()),
    ("signature", pa.string()),
    ("model", pa.string()),
    ("src_lang", pa.string()),
    ("tgt_lang", pa.string()),
    ("source_text", pa.string()),
    ("translation", pa.string()),
    ("created_unix", pa.int64()),
])


def cache_key(signature: str, src_lang: str, tgt_lang: str, text: str) -> str:
    payload = json.dumps([signature, src_lang, tgt_lang, text], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cache_row(key: str, signature: str, model: str, src_lang: str, tgt_lang: str, text: str,
              translation: str) -> dict:
    return {"key": key, "signature": signature, "model": model, "src_lang": src_lang,
            "tgt_lang": tgt_lang, "source_text": text, "translation": translation,
            "created_unix": int(time.time())}


class InvalidEntry(ValueError):
    """A cache file that is not a valid set of entries (says why)."""


def _check_schema(schema: pa.Schema) -> None:
    own = {f.name: f.type for f in CACHE_SCHEMA}
    found = {f.name: f.type for f in schema}
    if found != own:
        missing = sorted(set(own) - set(found))
        wrong = sorted(n for n in set(own) & set(found) if own[n] != found[n])
        extra = sorted(set(found) - set(own))
        raise InvalidEntry("not a translation cache file of this version ("
                           + "; ".join(p for p in (
                               f"missing {', '.join(missing)}" if missing else "",
                               f"wrong type of {', '.join(wrong)}" if wrong else "",
                               f"unknown {', '.join(extra)}" if extra else "") if p) + ")")


def valid_entries(table: pa.Table) -> Iterator[tuple[str, str]]:
    """``(key, translation)`` of every row, after checking the whole table: the schema is
    ours and every row's key recomputes from its own signature, languages and text (a
    foreign, tampered or other-version row means the file as a whole is not ours)."""
    _check_schema(table.schema)
    rows = table.to_pylist()
    for n, r in enumerate(rows):
        fields = (r["key"], r["signature"], r["src_lang"], r["tgt_lang"], r["source_text"],
                  r["translation"])
        if not all(isinstance(v, str) for v in fields) or not r["translation"]:
            raise InvalidEntry(f"row {n} has an empty field")
        if cache_key(r["signature"], r["src_lang"], r["tgt_lang"], r["source_text"]) != r["key"]:
            raise InvalidEntry(f"row {n}: its key does not match its signature and text")
    for r in rows:
        yield r["key"], r["translation"]


def read_entries(f) -> list[tuple[str, str]]:
    """The valid entries of an open Parquet file; InvalidEntry for anything else."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(f)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InvalidEntry(f"not a readable Parquet file ({type(e).__name__}: "
                           f"{str(e).splitlines()[0] if str(e) else ''})") from None
    return list(valid_entries(table))

