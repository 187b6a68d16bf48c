"""Paths and small files read through Beam's filesystems (local, gs://). Writes, renames
and deletes never go through here: they go through ``xlner/storage/guarded_files.py``."""

from __future__ import annotations

import json

from apache_beam.io.filesystems import FileSystems


def join_path(base: str, *parts: str) -> str:
    return FileSystems.join(base.rstrip("/"), *parts)


def read_json(path: str) -> dict:
    """A JSON file the job wrote, from any filesystem Beam knows (local, gs://)."""
    with FileSystems.open(path) as f:
        return json.loads(f.read().decode("utf-8"))
