"""Digests of the shards the job writes on the vendored Bible dev, for several
configurations: run it before and after a change that must not change outputs (a code
move, a refactor) and compare the two JSON files.

    python -m benchmarks.shard_digest --out before.json
    python -m benchmarks.shard_digest --out after.json --compare before.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

from benchmarks.data import DEV

CONFIGS = {
    "default": [],
    "heuristic": ["--projection=heuristic"],
    "greedy": ["--matching=greedy"],
    "paper_defaults": ["--paper_defaults"],
}


def digests(folder: str) -> dict:
    """relative path -> sha256 of every Parquet shard under ``folder``."""
    out = {}
    for base, _, files in os.walk(folder):
        for name in files:
            if name.endswith(".parquet"):
                path = os.path.join(base, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return dict(sorted(out.items()))


def run(config: list, out: str) -> dict:
    cmd = [sys.executable, "-m", "pipeline.run", f"--input={DEV}", "--target_langs=ell_Grek",
           f"--output={out}", "--run_id=digest", "--runner=FnApiRunner", *config]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return digests(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--compare", help="an earlier --out file; exit 1 if any shard differs")
    ap.add_argument("--configs", default=",".join(CONFIGS))
    args = ap.parse_args(argv)
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs.split(","):
            result[name] = run(CONFIGS[name], os.path.join(tmp, name))
            print(name, len(result[name]), "shards", flush=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    if args.compare:
        with open(args.compare) as f:
            before = json.load(f)
        same = {k: before.get(k) == v for k, v in result.items()}
        print(json.dumps(same))
        return 0 if all(same.values()) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
