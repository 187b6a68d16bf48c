"""The whole-job baseline: a fresh process that aligns Bible pairs with simalign's
``SentenceAligner`` (each distinct pair once) and writes the alignments, as a user of
simalign would script it.

    python -m benchmarks.simalign_run --pairs in.jsonl --model PATH --layer 8 --out out.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", required=True, help="JSONL with id, tokens, translation_tokens")
    ap.add_argument("--model", required=True)
    ap.add_argument("--layer", type=int, default=8)
    ap.add_argument("--method", default="a", help="simalign's matching method letter")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    from simalign import SentenceAligner

    logging.getLogger("simalign").setLevel(logging.WARNING)
    aligner = SentenceAligner(model=args.model, token_type="bpe",
                              matching_methods=args.method, layer=args.layer)
    key = {"a": "inter", "m": "mwmf", "i": "itermax"}[args.method]
    done: dict = {}
    with open(args.pairs, encoding="utf-8") as f, open(args.out, "w", encoding="utf-8") as out:
        for row in map(json.loads, f):
            pair = (tuple(row["tokens"]), tuple(row["translation_tokens"]))
            if pair not in done:
                done[pair] = [list(a) for a in aligner.get_word_aligns(*pair)[key]]
            out.write(json.dumps({"id": row["id"], "alignment": done[pair]}) + "\n")


if __name__ == "__main__":
    main()
