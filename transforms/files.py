"""Paths and small files through Beam's filesystems (local, gs://), for every stage."""

from __future__ import annotations

import json

from apache_beam.io.filesystems import FileSystems


def join_path(base: str, *parts: str) -> str:
    return FileSystems.join(base.rstrip("/"), *parts)


def read_json(path: str) -> dict:
    """A JSON file the job wrote, from any filesystem Beam knows (local, gs://)."""
    with FileSystems.open(path) as f:
        return json.loads(f.read().decode("utf-8"))


def relative(root: str, path: str) -> str:
    """``path`` relative to ``root`` (unchanged when it is not under it)."""
    root = root.rstrip("/") + "/"
    return path[len(root):] if path.startswith(root) else path
