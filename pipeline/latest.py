"""What a trainer reads: ``python -m pipeline.latest OUTPUT [--lang L] [--manifest]``.

Prints the published shards of the run ``OUTPUT/LATEST`` points to (one path per line),
or the whole manifest. Paths are resolved through Beam's filesystems, so ``gs://`` works.
"""

from __future__ import annotations

import argparse
import json
import sys

from transforms.publish import latest_shards, read_latest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", help="the corpus root (the job's --output with --publish)")
    ap.add_argument("--lang", help="only this target language (NLLB code)")
    ap.add_argument("--manifest", action="store_true", help="print the manifest as JSON")
    args = ap.parse_args(argv)
    manifest = read_latest(args.root)
    if manifest is None:
        print(f"nothing published under {args.root}", file=sys.stderr)
        return 1
    if args.manifest:
        print(json.dumps(manifest, indent=2, ensure_ascii=False))
    else:
        print("\n".join(latest_shards(args.root, args.lang)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
