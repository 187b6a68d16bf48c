"""One attempt at a time: a lease on a run id (or on a plain output folder), taken before
any work by an exclusive create (local: a hard link of a complete file; gs://:
``if_generation_match=0``).

A second attempt finds the lease and stops with one line (:class:`LeaseHeld`). A lease left
by a killed run is recovered in two ways only: its holder was a process on this machine
(same host name and boot id) that is gone (no such pid, or the pid now belongs to a process
that started at another time), or the operator names the attempt to take over
(``--take_over_lease=ATTEMPT``). Either way the takeover is a compare-and-swap on the lease
file, so two attempts recovering one lease cannot both win.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from typing import Optional

from xlner.storage.guarded_files import Conflict, OutputRefused, OutputRoot

LOG = logging.getLogger(__name__)
TAKE_OVER_FLAG = "--take_over_lease"


class LeaseHeld(OutputRefused):
    """Another attempt holds the lease: this one stops before any work."""


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def _process_start(pid: int) -> Optional[str]:
    """The start time of ``pid`` in clock ticks since boot (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def holder_record(run_id: str, attempt: str, track_pid: bool = True) -> dict:
    """Who holds a lease: written into it, and into the attempt's own folder."""
    pid = os.getpid() if track_pid else None
    return {"run_id": run_id, "attempt": attempt, "host": socket.gethostname(),
            "boot_id": _boot_id(), "pid": pid,
            "pid_start": _process_start(pid) if pid else None,
            "started_unix": time.time()}


def holder_is_dead(holder: dict) -> bool:
    """True only when the holder provably ran here and is gone."""
    if holder.get("host") != socket.gethostname() or not holder.get("pid"):
        return False
    if holder.get("boot_id") and holder.get("boot_id") != _boot_id():
        return True  # this machine rebooted since
    pid = int(holder["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    start = _process_start(pid)
    return start is not None and holder.get("pid_start") not in (None, start)


def describe(holder: dict) -> str:
    when = holder.get("started_unix")
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)) if when else "?"
    return (f"attempt {holder.get('attempt', '?')} (pid {holder.get('pid')} on "
            f"{holder.get('host', '?')}, since {since})")


def take(root: OutputRoot, rel: str, record: dict, take_over: str = "") -> dict:
    """Hold the lease ``rel`` for ``record`` or raise LeaseHeld; returns the record."""
    data = json.dumps(record, sort_keys=True).encode()
    for _ in range(5):
        if root.create(rel, data):
            return record
        current, token = root.read_versioned(rel)
        if current is None:
            continue  # released in between: try again
        try:
            holder = json.loads(current)
            assert isinstance(holder, dict)
        except (ValueError, AssertionError):
            holder = {"attempt": "<unreadable lease>"}
        named = bool(take_over) and take_over == holder.get("attempt")
        if not (named or holder_is_dead(holder)):
            raise LeaseHeld(
                f"{root.join(rel)} is held by {describe(holder)}: one attempt at a time; if "
                f"that run is dead, pass {TAKE_OVER_FLAG}={holder.get('attempt')}")
        try:
            root.write_if(rel, data, token)
        except Conflict:
            continue  # somebody else took it over first: read again
        LOG.warning("took over %s from %s (%s)", root.join(rel), describe(holder),
                    "named by the operator" if named else "its process is gone")
        return record
    raise LeaseHeld(f"{root.join(rel)} keeps changing: another attempt is starting")


def holds(root: OutputRoot, rel: str, record: dict) -> bool:
    current = root.read(rel)
    try:
        return current is not None and json.loads(current).get("attempt") == record["attempt"]
    except ValueError:
        return False


def release(root: OutputRoot, rel: str, record: dict) -> bool:
    """Drop the lease if it is still ours (a compare-and-swap delete); never another's."""
    current, token = root.read_versioned(rel)
    if current is None:
        return False
    try:
        if json.loads(current).get("attempt") != record["attempt"]:
            return False
    except ValueError:
        return False
    try:
        return root.delete_if(rel, token)
    except Conflict:
        return False
