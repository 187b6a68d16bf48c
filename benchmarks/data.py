"""Real inputs for the benchmarks and quality tests: the Bible dev split vendored in
``data/bible-dev`` (attribution and licence in its README)."""

from __future__ import annotations

import json
import os
from typing import Optional

from xlner.bio import tags_to_spans
from xlner.records import AlignedPair, SentencePair

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                    "bible-dev")
DEV = os.path.join(DATA, "dev.jsonl")  # translate-train direction
DEV_TRANSLATE_TEST = os.path.join(DATA, "dev-translate-test.jsonl")
DEV_ALIGN = os.path.join(DATA, "dev_align.jsonl")


def bible_rows() -> list[dict]:
    """dev.jsonl rows in file order, each with its gold alignment under ``"alignment"``."""
    with open(os.path.join(DATA, "dev_align.jsonl"), encoding="utf-8") as f:
        links = {r["id"]: [tuple(a) for a in r["alignment"]] for r in map(json.loads, f)}
    with open(os.path.join(DATA, "dev.jsonl"), encoding="utf-8") as f:
        rows = [r for r in map(json.loads, f) if r["id"] in links]
    for r in rows:
        r["alignment"] = links[r["id"]]
    return rows


def fixed_length_pairs(target_words: int = 24, limit: Optional[int] = None
                       ) -> list[AlignedPair]:
    """Consecutive verses joined until the Greek side has ``target_words`` words, then cut
    to exactly that many (links to cut words dropped): real sentences, real entities and
    the human alignment, at one controlled target length (n-gram work grows as n²)."""
    pairs, src, tags, tgt, al = [], [], [], [], []
    for row in bible_rows():
        al += [(a + len(src), b + len(tgt)) for a, b in row["alignment"]]
        src += row["tokens"]
        tags += row["ner_tags"]
        tgt += row["translation_tokens"]
        if len(tgt) < target_words:
            continue
        links = tuple(sorted((a, b) for a, b in al if b < target_words))
        pair = SentencePair.given(f"join{len(pairs)}", "eng_Latn", "ell_Grek", tuple(src),
                            tags_to_spans(tags), tuple(tgt[:target_words]))
        pairs.append(AlignedPair(pair, {"gold": links}, "gold"))
        src, tags, tgt, al = [], [], [], []
        if limit and len(pairs) >= limit:
            break
    return pairs
