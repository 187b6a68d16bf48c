"""Splits: the input's own (``train``/``validation``/``test``, from its file names) and the
``--validation_fraction`` hold-out.

An input carries splits when its files name at least two distinct splits: a file's name
holds one split word (``train``; ``dev``, ``valid``, ``validation``; ``test``) among its
words (``train.conll``, ``en-dev.jsonl``, ``train-00000-of-00001.parquet``), or, when the
name holds none, its folder is named exactly so (a ``datasets`` ``save_to_disk`` folder's
``train/data-00000-of-00001.arrow``, the Hub's ``default/test/0000.parquet``). A name with
two different split words (``dev-translate-test.jsonl``) names none. One split alone is no
split: the run is train, as it always was. In a split input, a file that names no split is
train, and every record id becomes ``<split>/<id>`` (ids stay unique across splits, and a
record's split can be read back from its id anywhere in the job).

A train row is held out as ``validation`` when a stable hash of its record id falls below
``--validation_fraction``. The hash is SHA-256, not Python's salted ``hash``, so the same
rows are held out on every run, runner and worker count, and a row never moves between
splits when others are added.
"""

from __future__ import annotations

import hashlib
import re
from typing import Iterable, Mapping, Optional

TRAIN, VALIDATION, TEST = "train", "validation", "test"
SPLITS = (TRAIN, VALIDATION, TEST)  # the output's splits, in the card's order
# Words of a file name that name a split, and the split they name.
SPLIT_WORDS = {"train": TRAIN, "dev": VALIDATION, "valid": VALIDATION,
               "validation": VALIDATION, "test": TEST}
# A shard's name prefix per split: train keeps the name it always had.
SHARD_NAMES = {TRAIN: "part", VALIDATION: VALIDATION, TEST: TEST}
_WORD = re.compile(r"[a-z0-9]+")


def in_validation(record_id: str, fraction: float) -> bool:
    if fraction <= 0:
        return False
    digest = hashlib.sha256(("validation:" + record_id).encode("utf-8", "surrogatepass"))
    return int.from_bytes(digest.digest()[:8], "big") / 2 ** 64 < fraction


def _named(name: str) -> Optional[str]:
    found = {SPLIT_WORDS[w] for w in _WORD.findall(name.lower()) if w in SPLIT_WORDS}
    return found.pop() if len(found) == 1 else None


def named_split(path: str) -> Optional[str]:
    """The split a file's name (or else its folder's exact name) gives; None for none."""
    parts = path.rstrip("/").split("/")
    split = _named(parts[-1])
    if split is None and len(parts) > 1:
        split = SPLIT_WORDS.get(parts[-2].lower())
    return split


def file_splits(paths: Iterable[str]) -> dict:
    """path -> split of every input file; all None when the input carries no splits
    (fewer than two distinct splits named), else the named split or train."""
    named = {p: named_split(p) for p in set(paths)}
    if len({s for s in named.values() if s}) < 2:
        return {p: None for p in named}
    return {p: s or TRAIN for p, s in named.items()}


def has_splits(splits: Optional[Mapping[str, Optional[str]]]) -> bool:
    return bool(splits) and any(splits.values())


def split_of_id(record_id: Optional[str], split_input: bool) -> str:
    """The input split of a record by its id (``<split>/<id>`` in a split input)."""
    if split_input and record_id:
        head = record_id.split("/", 1)[0]
        if head in SPLITS:
            return head
    return TRAIN


def written_split(record_id: str, split_input: bool, fraction: float) -> str:
    """The output split of a row: its input split, with train rows held out as
    validation by ``--validation_fraction``."""
    split = split_of_id(record_id, split_input)
    if split == TRAIN and in_validation(record_id, fraction):
        return VALIDATION
    return split


def split_of_file(name: str) -> str:
    """The split of a shard by its file name (``validation-*``, ``test-*`` or ``part-*``)."""
    base = name.rsplit("/", 1)[-1]
    for split in (VALIDATION, TEST):
        if base.startswith(SHARD_NAMES[split] + "-"):
            return split
    return TRAIN


def files_by_split(names: Iterable[str]) -> dict:
    """split -> its shard names, splits in the order train, validation, test."""
    found: dict = {}
    for name in sorted(names):
        found.setdefault(split_of_file(name), []).append(name)
    return {s: found[s] for s in SPLITS if s in found}
