"""What a trainer reads: ``python -m pipeline.latest OUTPUT [--lang L] [--verify]``.

Prints the published shards of the run ``OUTPUT/LATEST`` points to (one path per line,
and on stderr the ``datasets.load_dataset("parquet", data_files=...)`` line that loads
them; ``--python`` prints only that line), or the whole manifest, after checking that every listed shard exists with its size (and
with ``--verify`` its sha256). It exits 1 with one line when it cannot serve what was
asked: nothing published, a language the run did not publish, a missing or changed file.
It also re-derives ``OUTPUT/README.md`` when a publisher was killed before it did.

``datasets`` cannot load a remote corpus folder by name, but it reads the listed Parquet
files: the ready ``load_dataset("parquet", data_files=...)`` line goes to stderr beside the
list (stdout stays one path per line for scripts), or alone to stdout with ``--load_line``.
"""

from __future__ import annotations

import argparse
import json
import sys

from xlner.formats.splits import TRAIN, files_by_split
from xlner.storage.guarded_files import OutputRefused, open_root
from xlner.storage.publication import LatestUnavailable, latest_files, read_latest, sync_card


def load_line(files) -> str:
    """The Python line that loads the listed shards (gs:// paths need gcsfs installed):
    the train split alone, or, when the run has more splits (the input's own validation
    and test, ``--validation_fraction``'s hold-out), a DatasetDict of them all, never one
    mixed into another."""
    splits = files_by_split(f for f in files if f.endswith(".parquet"))
    if set(splits) <= {TRAIN}:
        return (f'datasets.load_dataset("parquet", data_files='
                f'{json.dumps(splits.get(TRAIN, []))}, split="train")')
    return f'datasets.load_dataset("parquet", data_files={json.dumps(splits)})'



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", help="the corpus root (the job's --output with --publish)")
    ap.add_argument("--lang", help="only this target language (NLLB code)")
    ap.add_argument("--manifest", action="store_true", help="print the manifest as JSON")
    ap.add_argument("--load_line", action="store_true",
                    help="print only the datasets.load_dataset line that reads the shards")
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
        line = load_line(files)
        if args.manifest:
            print(json.dumps(read_latest(root)[1], indent=2, ensure_ascii=False))
        elif args.load_line:
            print(line)
        else:
            print("\n".join(files))
            print(f"xlner-latest: load with: {line}", file=sys.stderr)
    except (LatestUnavailable, OutputRefused) as e:
        print(f"xlner-latest: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
