"""What a trainer reads: ``python -m pipeline.latest OUTPUT [--lang L] [--verify]``.

Prints the published shards of the run ``OUTPUT/LATEST`` points to (one path per line,
and on stderr the ``datasets.load_dataset("parquet", data_files=...)`` line that loads
them; ``--python`` prints only that line), or the whole manifest, after checking that every listed shard exists with its size (and
with ``--verify`` its sha256). It exits 1 with one line when it cannot serve what was
asked: nothing published, a language the run did not publish, a missing or changed file.
It also re-derives ``OUTPUT/README.md`` when a publisher was killed before it did.
"""

from __future__ import annotations

import argparse
import json
import sys

from xlner.storage.guarded_files import OutputRefused, open_root
from xlner.storage.publication import LatestUnavailable, latest_files, read_latest, sync_card


def load_files_line(files: list[str]) -> str:
    """A ready ``datasets`` line for the listed shards: a remote folder cannot be loaded by
    name (``load_dataset("gs://...", lang)`` finds no card there), its files can
    (``gs://`` needs ``gcsfs`` installed)."""
    return ("datasets.load_dataset(\"parquet\", data_files={\"train\": "
            + json.dumps(files, ensure_ascii=False) + '}, split="train")')


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", help="the corpus root (the job's --output with --publish)")
    ap.add_argument("--lang", help="only this target language (NLLB code)")
    ap.add_argument("--manifest", action="store_true", help="print the manifest as JSON")
    ap.add_argument("--python", action="store_true",
                    help="print only the datasets line that loads the listed shards")
    ap.add_argument("--verify", action="store_true",
                    help="also check each listed shard's sha256 (reads every byte)")
    args = ap.parse_args(argv)
    try:
        root = open_root(args.root, "root")
        files = latest_files(root, args.lang, args.verify)
        try:
            if sync_card(root):
                print(f"xlner-latest: repaired {root.join('README.md')}: it now describes "
                      "what LATEST points at", file=sys.stderr)
        except (OutputRefused, OSError) as e:  # a read-only reader still gets its files
            print(f"xlner-latest: warning: the root card cannot be checked: {e}",
                  file=sys.stderr)
        if args.manifest:
            print(json.dumps(read_latest(root)[1], indent=2, ensure_ascii=False))
        elif args.python:
            print(load_files_line(files))
        else:
            print("\n".join(files))
            print(f"# load: {load_files_line(files)}", file=sys.stderr)
    except (LatestUnavailable, OutputRefused) as e:
        print(f"xlner-latest: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
