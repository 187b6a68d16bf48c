"""What a run wrote, and publication: the manifest, the clean-up it allows, ``LATEST``.

Every run (both jobs, with or without ``--publish``) ends by writing ``manifest.json`` in
the folder it wrote (``OUTPUT``, or its attempt folder ``OUTPUT/runs/<run_id>/<attempt>``)
listing each file with its sha256. That record is the only licence to delete: the next
run in the same folder removes the files the previous manifest lists that it did not write
again, and only while their bytes still match; anything else there is foreign, left in
place and reported. Before deleting, the new manifest is written with the files still to
remove (``pending_removal``), so a kill at any point leaves every file of ours listed.

Publication (``--publish``), all through :mod:`xlner.storage.guarded_files`:

1. before any work the attempt holds the lease ``runs/<run_id>/LEASE.json``
   (:mod:`xlner.storage.leases`) and writes ``ATTEMPT.json`` into its own folder;
2. the run writes its files and its manifest into the attempt folder;
3. the summary checks pass, every listed file is read back and matches its sha256;
4. ``LATEST`` moves to the manifest by compare-and-swap (a lock and compare locally, a
   generation precondition on gs://), and never to an attempt that started before the one
   it points at;
5. the root dataset card is derived from what ``LATEST`` points at (again by
   compare-and-swap, re-checking ``LATEST``): a kill between 4 and 5 leaves the old card,
   which the next publication or reader (``pipeline.latest``) re-derives;
6. the attempts of the same run id that ``ATTEMPT.json`` proves ours are removed (never
   the one ``LATEST`` points at), then the lease is released.

``XLNER_PAUSE_AT=<step>`` with ``XLNER_PAUSE_DIR`` makes a run wait at a named step (a test
hook for races and kills; see :func:`checkpoint`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from typing import Optional, Sequence

from xlner.formats.card import CARD, CARD_MARKER, dataset_card
from xlner.storage.guarded_files import Conflict, OutputRefused, OutputRoot, check_rel, sha256_of
from xlner.storage.leases import holds, release

LOG = logging.getLogger(__name__)
LATEST = "LATEST"
MANIFEST = "manifest.json"
LEASE = "LEASE.json"
ATTEMPT = "ATTEMPT.json"
REFUSED = "PUBLISH_REFUSED.json"
MANIFEST_FORMAT = 2
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class PublishRefused(RuntimeError):
    """The run finished but is not published: its checks failed, its files do not match
    its manifest, it lost its lease, or a run that started later is already published."""


class UnsafePath(ValueError):
    """A run id or attempt that is not one safe path component."""


class LatestUnavailable(RuntimeError):
    """``LATEST`` cannot serve what was asked (nothing published, a file missing, ...)."""


def check_run_id(run_id: str, what: str = "--run_id") -> None:
    """Raise UnsafePath (one line) unless ``run_id`` is one safe path component.

    1-128 characters of letters, digits, ``_``, ``.`` and ``-``, starting with a letter or
    digit, and no ``..`` anywhere: ``..``, ``.``, ``a/b``, ``../..`` and ``.hidden`` fail.
    """
    if not isinstance(run_id, str) or not RUN_ID_RE.fullmatch(run_id) or ".." in run_id:
        raise UnsafePath(f"{what}={run_id!r} is not a safe run id: use 1-128 letters, "
                         "digits, '_', '.', '-', starting with a letter or digit, without "
                         "'..' (e.g. 2026-11-16)")


def new_attempt() -> str:
    return time.strftime("a%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


def run_rel(run_id: str) -> str:
    check_run_id(run_id)
    return f"runs/{run_id}"


def attempt_rel(run_id: str, attempt: str) -> str:
    check_run_id(attempt, "attempt")
    return f"{run_rel(run_id)}/{attempt}"


def lease_rel(run_id: str, publish: bool) -> str:
    return f"{run_rel(run_id)}/{LEASE}" if publish else LEASE


def join_rel(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def checkpoint(step: str) -> None:
    """Test hook: with ``XLNER_PAUSE_AT=step[,step...]``, announce ``<dir>/<step>.reached``
    and wait for ``<dir>/<step>.go`` (at most 10 minutes). Costs one environment lookup
    otherwise."""
    if step not in os.environ.get("XLNER_PAUSE_AT", "").split(","):
        return
    folder = os.environ["XLNER_PAUSE_DIR"]
    with open(os.path.join(folder, f"{step}.reached"), "w") as f:
        f.write(str(os.getpid()))
    deadline = time.time() + 600
    while not os.path.exists(os.path.join(folder, f"{step}.go")) and time.time() < deadline:
        time.sleep(0.05)


def _json(data: Optional[bytes]) -> Optional[dict]:
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _dump(value: dict) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


# ====================================================================== a run's record
def _candidates(old: Optional[dict], base: str, new_paths: set) -> list[dict]:
    """Files the previous manifest in this folder lists (or had still to remove) that this
    run did not write again: the only ones the clean-up may delete."""
    if not old:
        return []
    prefix = base + "/" if base else ""
    seen, out = set(), []
    for f in list(old.get("files") or []) + list(old.get("pending_removal") or []):
        path = f.get("path") if isinstance(f, dict) else None
        if not isinstance(path, str) or path in new_paths or path in seen:
            continue
        try:
            check_rel(path)
        except OutputRefused:
            continue
        if path.startswith(prefix) and isinstance(f.get("sha256"), str):
            seen.add(path)
            out.append({"path": path, "sha256": f["sha256"], "kind": f.get("kind")})
    return out


def record_run(root: OutputRoot, base: str, manifest: dict,
               data_folders: Sequence[str]) -> dict:
    """Write ``<base>/manifest.json`` for the files this run wrote and remove what the
    previous manifest there lists and this run did not rewrite (bytes matching only).
    Files in ``data_folders`` that no manifest lists are reported as foreign, never
    touched. Returns the final manifest."""
    rel = join_rel(base, MANIFEST)
    new_paths = {f["path"] for f in manifest["files"]}
    stale = _candidates(_json(root.read(rel)), base, new_paths)
    manifest = dict(manifest, format=MANIFEST_FORMAT, pending_removal=stale)
    root.write(rel, _dump(manifest))
    checkpoint("pending")
    removed, kept = [], []
    for f in stale:
        status = root.delete_matching(f["path"], f["sha256"])
        (removed if status in ("removed", "missing") else kept).append((f["path"], status))
        if status == "removed" and "/" in f["path"]:
            root.remove_empty_folders(f["path"].rsplit("/", 1)[0])
    checkpoint("removed")
    listed = new_paths | {p for p, _ in kept}
    foreign = sorted({p for folder in data_folders
                      for p in root.list_files(join_rel(base, folder))} - listed)
    if removed:
        LOG.info("removed %d file(s) the previous run in %s wrote", len(removed), root.url)
    for path, status in kept:
        LOG.warning("kept %s: the previous run wrote it, but it is %s now", root.join(path),
                    status)
    if foreign:
        LOG.warning("%d file(s) in %s were not written by this run or the previous one; "
                    "left in place: %s", len(foreign), root.url, ", ".join(foreign[:5])
                    + (" ..." if len(foreign) > 5 else ""))
    manifest.pop("pending_removal")
    manifest["foreign"] = foreign
    root.write(rel, _dump(manifest))
    return manifest


# ====================================================================== publication
def check_summary(summary: dict, target_langs: Sequence[str], min_rows: int) -> list[str]:
    """Why this run must not be published (empty list: publish): the run's own problems
    (unbalanced books, empty languages or inputs) and languages below ``min_rows``."""
    problems = list(summary.get("problems", []))
    if not summary.get("accounting_balanced") and not problems:
        problems.append("the summary does not account for every input record")
    for lang in target_langs:
        written = summary.get("languages", {}).get(lang, {}).get("written", 0)
        if written < min_rows:
            problems.append(f"{lang}: {written} rows written, fewer than {min_rows}")
    return problems


def verify_files(root: OutputRoot, manifest: dict, kinds=None) -> None:
    """Every file the manifest lists (of ``kinds``) exists with its sha256, or
    LatestUnavailable naming the first that does not."""
    for f in manifest.get("files", []):
        if kinds is not None and f.get("kind") not in kinds:
            continue
        data = root.read(f["path"])
        if data is None:
            raise LatestUnavailable(f"{root.join(f['path'])} is listed in the manifest of "
                                    f"run {manifest.get('run_id')} but is missing")
        if sha256_of(data) != f["sha256"]:
            raise LatestUnavailable(f"{root.join(f['path'])} does not match the sha256 in "
                                    f"the manifest of run {manifest.get('run_id')}")


def _order(pointer: dict) -> tuple:
    return (float(pointer.get("started_unix") or 0), str(pointer.get("run_id")),
            str(pointer.get("attempt")))


def move_latest(root: OutputRoot, pointer: dict) -> None:
    """Compare-and-swap ``LATEST`` to ``pointer``; PublishRefused if it points at an attempt
    that started later (LATEST never moves backwards)."""
    while True:
        data, token = root.read_versioned(LATEST)
        current = _json(data)
        if current and current.get("attempt") == pointer["attempt"]:
            return
        if current and _order(current) > _order(pointer):
            raise PublishRefused(
                f"not published: {root.join(LATEST)} points at run {current.get('run_id')} "
                f"(attempt {current.get('attempt')}), which started after this one")
        checkpoint("cas")
        try:
            root.write_if(LATEST, json.dumps(pointer, sort_keys=True).encode(), token)
            return
        except Conflict:
            continue  # another publisher moved it: compare again


def read_latest(root: OutputRoot) -> tuple[Optional[dict], Optional[dict]]:
    """(pointer, manifest) of what LATEST points at; (None, None) before the first
    publication. A manifest that is missing or does not match the pointer's sha256 is
    LatestUnavailable."""
    data = root.read(LATEST)
    pointer = _json(data)
    if data is None:
        return None, None
    if pointer is None or not isinstance(pointer.get("manifest"), str):
        raise LatestUnavailable(f"{root.join(LATEST)} is not a pointer written by xlner")
    raw = root.read(pointer["manifest"])
    if raw is None:
        raise LatestUnavailable(f"{root.join(LATEST)} points at {pointer['manifest']}, "
                                "which is missing")
    if pointer.get("manifest_sha256") not in (None, sha256_of(raw)):
        raise LatestUnavailable(f"{root.join(pointer['manifest'])} does not match the "
                                f"sha256 {root.join(LATEST)} records")
    manifest = _json(raw)
    if manifest is None:
        raise LatestUnavailable(f"{root.join(pointer['manifest'])} is not a manifest")
    return pointer, manifest


def root_card(root: OutputRoot, manifest: dict) -> bytes:
    """The root's dataset card for a published manifest: a pure function of the manifest
    and the summary it lists, so every publisher and reader derives the same bytes."""
    summary_file = next((f for f in manifest["files"] if f.get("kind") == "summary"), None)
    summary = _json(root.read(summary_file["path"])) if summary_file else None
    if summary is None:
        raise LatestUnavailable(f"the summary of run {manifest.get('run_id')} is missing")
    sizes: dict = {}
    names: dict = {}
    stats: dict = {}
    for f in manifest["files"]:
        if f.get("kind") == "shard":
            sizes[f["lang"]] = sizes.get(f["lang"], 0) + f["bytes"]
            names.setdefault(f["lang"], []).append(f["path"])
            stats[f["path"]] = (f.get("rows") or 0, f["bytes"])
    langs = manifest.get("target_langs") or sorted(names)  # (format 1 had no list)
    return dataset_card(summary, langs, root_hint=manifest.get("root") or root.url,
                        shard_bytes=sizes, shard_files=names,
                        file_stats=stats).encode("utf-8")


def sync_card(root: OutputRoot) -> bool:
    """Make ``OUTPUT/README.md`` the card of what LATEST points at (True if it changed).

    The card is written by compare-and-swap and LATEST read again afterwards; if it moved
    meanwhile the card is derived again, so the last writer always leaves the card of the
    last LATEST. A README.md that is not a card of ours is never replaced."""
    changed = False
    for _ in range(50):
        latest, token = root.read_versioned(LATEST)
        if latest is None:
            return changed
        _, manifest = read_latest(root)
        want = root_card(root, manifest)
        have, card_token = root.read_versioned(CARD)
        if have is not None and CARD_MARKER.encode() not in have[:4096]:
            raise OutputRefused(f"{root.join(CARD)} is not an xlner dataset card; it is "
                                "never replaced")
        if have != want:
            try:
                root.write_if(CARD, want, card_token)
            except Conflict:
                continue
            changed = True
        if root.read_versioned(LATEST)[1] == token:
            return changed
    raise Conflict(root.join(CARD))


def delete_other_attempts(root: OutputRoot, run_id: str, attempt: str) -> tuple[int, list]:
    """Remove this run id's other attempt folders that ``ATTEMPT.json`` proves ours, never
    the one LATEST points at; returns (folders removed, paths left in place)."""
    base = run_rel(run_id)
    check_run_id(attempt, "attempt")
    try:
        pointed = (_json(root.read(LATEST)) or {}).get("attempt")
    except OutputRefused:
        pointed = None
    removed, left = 0, []
    for name, kind in root.list_dir(base):
        if name in (attempt, LEASE, MANIFEST) or name == pointed:
            continue
        try:
            record = _json(root.read(f"{base}/{name}/{ATTEMPT}")) if kind == "dir" else None
        except OutputRefused:
            record = None
        if not record or record.get("attempt") != name or record.get("run_id") != run_id:
            left.append(f"{base}/{name}")
            continue
        left += root.remove_folder(f"{base}/{name}")
        removed += 1
    if left:
        LOG.warning("left in place under %s (not provably an attempt of this run): %s",
                    root.join(base), ", ".join(left[:5]))
    return removed, left


def publish(root: OutputRoot, manifest: dict, summary: dict, lease: dict,
            target_langs: Sequence[str], min_rows: int) -> dict:
    """Steps 3-6 of the protocol for the attempt whose ``manifest`` is given."""
    run_id, attempt = manifest["run_id"], manifest["attempt"]
    base = attempt_rel(run_id, attempt)
    manifest_rel = f"{base}/{MANIFEST}"
    current = _json(root.read(LATEST)) or {}
    if current.get("attempt") == attempt:
        return manifest  # a retried stage: already published
    lease_at = lease_rel(run_id, True)
    if not holds(root, lease_at, lease):
        raise PublishRefused(f"not published: {root.join(lease_at)} is no longer held by "
                             f"attempt {attempt}")
    problems = check_summary(summary, target_langs, min_rows)
    if problems:
        root.write(f"{base}/{REFUSED}", _dump({"problems": problems}))
        raise PublishRefused("; ".join(problems))
    try:
        verify_files(root, manifest)
    except LatestUnavailable as e:
        raise PublishRefused(f"not published: {e}") from None
    raw = root.read(manifest_rel)
    pointer = {"run_id": run_id, "attempt": attempt, "manifest": manifest_rel,
               "manifest_sha256": sha256_of(raw or b""),
               "started_unix": lease["started_unix"], "published_unix": time.time()}
    checkpoint("verified")
    move_latest(root, pointer)
    checkpoint("latest")
    # Published: what follows repairs itself (the next publisher or reader re-derives the
    # card; the next attempt of this id cleans), so a failure here is a warning, not exit 1.
    removed = 0
    try:
        sync_card(root)
        checkpoint("card")
        removed, _ = delete_other_attempts(root, run_id, attempt)
    except (OutputRefused, Conflict, LatestUnavailable) as e:
        LOG.warning("published run %s, but: %s", run_id, e)
    checkpoint("cleanup")
    release(root, lease_at, lease)
    LOG.info("published run %s (attempt %s, %d files; %d earlier attempt(s) removed)",
             run_id, attempt, len(manifest["files"]), removed)
    return manifest


def latest_files(root: OutputRoot, lang: Optional[str] = None, verify: bool = False
                 ) -> list[str]:
    """URLs of the published shards (of ``lang``), each checked to exist (and with
    ``verify`` to match its sha256); LatestUnavailable when they cannot be served."""
    pointer, manifest = read_latest(root)
    if manifest is None:
        raise LatestUnavailable(f"nothing is published under {root.url} (no {LATEST})")
    shards = [f for f in manifest.get("files", []) if f.get("kind") == "shard"
              and (lang is None or f.get("lang") == lang)]
    if not shards:
        langs = sorted({f.get("lang") for f in manifest.get("files", [])
                        if f.get("kind") == "shard"})
        raise LatestUnavailable(f"run {pointer.get('run_id')} published no rows for "
                                f"{lang or 'any language'} (it has: {', '.join(langs) or 'none'})")
    for f in shards:
        if verify:
            data = root.read(f["path"])
            found = None if data is None else (len(data), sha256_of(data))
            want = (f["bytes"], f["sha256"])
        else:
            size = root.size(f["path"])
            found, want = (None if size is None else (size,)), (f["bytes"],)
        if found is None:
            raise LatestUnavailable(f"{root.join(f['path'])} is listed by run "
                                    f"{pointer.get('run_id')} but is missing")
        if found != want:
            raise LatestUnavailable(f"{root.join(f['path'])} does not match its size or "
                                    f"sha256 in the manifest of run {pointer.get('run_id')}")
    return [root.join(f["path"]) for f in shards]
