"""The translation cache: Parquet rows keyed by a hash of everything that fixes the output.

The key covers the model id, the decoding settings, the language pair and the exact source
text, so a cached translation is reused only where the model would have produced the same
one. Files are append-only (one set of shards per run); duplicates across runs are
harmless because equal keys carry equal translations.
"""

from __future__ import annotations

import hashlib
import json
import time

import pyarrow as pa

CACHE_SCHEMA = pa.schema([
    ("key", pa.string()),
    ("model", pa.string()),
    ("src_lang", pa.string()),
    ("tgt_lang", pa.string()),
    ("source_text", pa.string()),
    ("translation", pa.string()),
    ("created_unix", pa.int64()),
])


def model_signature(model: str, generation_description: str, engine: str = "hf") -> str:
    """What identifies a translation model run: the id, its decoding settings and the
    engine (CTranslate2 with a compute type other than float32 translates differently)."""
    base = f"{model}|{generation_description}"
    return base if engine == "hf" else f"{base}|{engine}"


def cache_key(signature: str, src_lang: str, tgt_lang: str, text: str) -> str:
    payload = json.dumps([signature, src_lang, tgt_lang, text], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cache_row(key: str, model: str, src_lang: str, tgt_lang: str, text: str,
              translation: str) -> dict:
    return {"key": key, "model": model, "src_lang": src_lang, "tgt_lang": tgt_lang,
            "source_text": text, "translation": translation,
            "created_unix": int(time.time())}
