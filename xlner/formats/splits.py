"""Which split a written row belongs to: ``validation`` when a stable hash of its record id
falls below ``--validation_fraction``, ``train`` otherwise. The hash is SHA-256, not Python's
salted ``hash``, so the same rows are held out on every run, runner and worker count, and a
row never moves between splits when others are added."""

from __future__ import annotations

import hashlib
from typing import Iterable

TRAIN, VALIDATION = "train", "validation"


def in_validation(record_id: str, fraction: float) -> bool:
    if fraction <= 0:
        return False
    digest = hashlib.sha256(("validation:" + record_id).encode("utf-8", "surrogatepass"))
    return int.from_bytes(digest.digest()[:8], "big") / 2 ** 64 < fraction


def split_of_file(name: str) -> str:
    """The split of a shard by its file name (``validation-*`` or ``part-*``)."""
    return VALIDATION if name.rsplit("/", 1)[-1].startswith(VALIDATION + "-") else TRAIN


def files_by_split(names: Iterable[str]) -> dict:
    out: dict = {}
    for name in sorted(names):
        out.setdefault(split_of_file(name), []).append(name)
    return out
