"""Real inputs for the benchmarks and quality tests: the Bible dev split vendored in
``data/bible-dev`` and the held-out books in ``data/bible-heldout`` (attribution and
licence in their READMEs; both rebuilt by ``benchmarks/build_bible_gold.py``).

The protocol: settings are chosen on Matthew (:data:`SELECT`) and reported on Mark
(:data:`REPORT`); the held-out books (Luke, John, Acts) are scored for reporting only and
never used to choose anything."""

from __future__ import annotations

import json
import os
from typing import Optional

from xlner.text.bio import tags_to_spans
from xlner.formats.records import AlignedPair, SentencePair

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data", "bible-dev")
DEV = os.path.join(DATA, "dev.jsonl")  # translate-train direction
DEV_TRANSLATE_TEST = os.path.join(DATA, "dev-translate-test.jsonl")
DEV_ALIGN = os.path.join(DATA, "dev_align.jsonl")
HELDOUT_DATA = os.path.join(ROOT, "data", "bible-heldout")
HELDOUT = os.path.join(HELDOUT_DATA, "heldout.jsonl")  # reporting only
HELDOUT_TRANSLATE_TEST = os.path.join(HELDOUT_DATA, "heldout-translate-test.jsonl")
SELECT, REPORT = ("MAT",), ("MRK",)  # choose settings on Matthew, report on Mark
HELDOUT_BOOKS = ("LUK", "JHN", "ACT")


def book(record_id: str) -> str:
    """The book of a verse id (``MRK 1:1`` -> ``MRK``)."""
    return record_id.split(" ", 1)[0]


def alignment_path(input_path: str) -> str:
    """The gold alignment beside a gold file: ``dev.jsonl`` -> ``dev_align.jsonl``."""
    folder, name = os.path.split(os.path.abspath(input_path))
    return os.path.join(folder, name.split(".")[0].split("-")[0] + "_align.jsonl")


def bible_rows() -> list[dict]:
    """dev.jsonl rows in file order, each with its gold alignment under ``"alignment"``."""
    with open(DEV_ALIGN, encoding="utf-8") as f:
        links = {r["id"]: [tuple(a) for a in r["alignment"]] for r in map(json.loads, f)}
    with open(DEV, encoding="utf-8") as f:
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
