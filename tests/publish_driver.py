"""One publishing attempt without Beam, for the race and kill tests: the same protocol
functions, in the same order, as ``pipeline.run --publish`` (lease before work, files and
manifest in the attempt folder, then publish). Run as
``python -m tests.publish_driver ROOT RUN_ID [ROWS] [TAKE_OVER]``; exit 2 when another
attempt holds the run id, 1 when publication is refused, 0 when published."""

from __future__ import annotations

import io
import json
import sys

from xlner.storage.guarded_files import Folder, OutputRefused, open_root, sha256_of
from xlner.storage.leases import holder_record, take
from xlner.storage.publication import (ATTEMPT, PublishRefused, attempt_rel, checkpoint, lease_rel,
                               new_attempt, publish, record_run, sync_card)

LANG = "por_Latn"


def shard_bytes(run_id: str, rows: int) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(pa.table({"id": [f"{run_id}-{i}" for i in range(rows)]}), buf)
    return buf.getvalue()


def attempt_files(folder: Folder, run_id: str, rows: int) -> list[dict]:
    """The attempt's shard and summary, written through the layer; their manifest lines."""
    summary = {"run_id": run_id, "accounting_balanced": True, "problems": [],
               "languages": {LANG: {"written": rows}}, "label_list": ["O"]}
    files = []
    for kind, name, data in (
            ("shard", f"{LANG}/part-00000-of-00001-{run_id}.parquet",
             shard_bytes(run_id, rows)),
            ("summary", "summary.json", json.dumps(summary).encode())):
        folder.write(name, data)
        files.append({"path": folder.rel(name), "kind": kind,
                      "lang": LANG if kind == "shard" else None, "bytes": len(data),
                      "sha256": sha256_of(data), "rows": rows if kind == "shard" else None})
    return summary, files


def main(argv) -> int:
    root_url, run_id = argv[0], argv[1]
    rows = int(argv[2]) if len(argv) > 2 else 3
    take_over = argv[3] if len(argv) > 3 else ""
    root = open_root(root_url)
    attempt = new_attempt()
    rel = lease_rel(run_id, True)
    lease = dict(holder_record(run_id, attempt), lease=rel)
    try:
        take(root, rel, lease, take_over)
    except OutputRefused as e:
        print(f"xlner: error: {e}", file=sys.stderr)
        return 2
    base = attempt_rel(run_id, attempt)
    root.create(f"{base}/{ATTEMPT}", json.dumps(lease).encode())
    sync_card(root)
    checkpoint("lease")
    folder = Folder(root, base)
    summary, files = attempt_files(folder, run_id, rows)
    manifest = {"job": "translate-train", "run_id": run_id, "attempt": attempt,
                "root": root.url, "base": base, "target_langs": [LANG],
                "started_unix": lease["started_unix"], "files": files}
    manifest = record_run(root, base, manifest, [LANG])
    try:
        publish(root, manifest, summary, lease, [LANG], 1)
    except PublishRefused as e:
        print(f"xlner: the run failed: PublishRefused: {e}", file=sys.stderr)
        return 1
    print(attempt)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
