"""Throughput of candidate matching with alignments given (no encoder in the loop).

Uses the human word alignments of ``../shared/data/bible-dev`` (real sentence pairs, real
entities) and times each projector over all 566 verses, best of ``--repeat`` passes, in one
process on one core. ``--scale N`` concatenates N verses into one long pair to show how
n-gram candidates grow (O(n²) candidates per sentence).

    python -m benchmarks.matching_throughput [--repeat 3] [--scale 1]
"""

from __future__ import annotations

import argparse
import json
import os
import time

from xlner.bio import tags_to_spans
from xlner.projectors import CandidateProjector, HeuristicProjector
from tests.helpers import make_pair
from xlner.records import AlignedPair

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "bible-dev")


def load_pairs(scale: int) -> list[AlignedPair]:
    with open(os.path.join(DATA, "dev.jsonl"), encoding="utf-8") as f:
        rows = {r["id"]: r for r in map(json.loads, f)}
    with open(os.path.join(DATA, "dev_align.jsonl"), encoding="utf-8") as f:
        links = {r["id"]: r["alignment"] for r in map(json.loads, f)}
    items = [(rows[k], links[k]) for k in rows if k in links]
    pairs = []
    for i in range(0, len(items) - scale + 1, scale):
        src, tgt, tags, al = [], [], [], []
        for row, link in items[i:i + scale]:
            al += [(a + len(src), b + len(tgt)) for a, b in link]
            src += row["tokens"]
            tags += row["ner_tags"]
            tgt += row["translation_tokens"]
        pair = make_pair(str(i), "eng_Latn", "ell_Grek", src, tags_to_spans(tags), tgt)
        pairs.append(AlignedPair(pair, {"gold": tuple(sorted(al))}, "gold"))
    return pairs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=int, default=1)
    args = ap.parse_args(argv)
    pairs = load_pairs(args.scale)
    n_words = sum(len(p.pair.tgt_words) for p in pairs) / len(pairs)
    print(f"{len(pairs)} sentence pairs, {n_words:.1f} target words on average\n")
    print("| projector | pairs/s | ms/pair |")
    print("|---|---|---|")
    for projector in (HeuristicProjector(align_method="gold"),
                      CandidateProjector("ngram", "greedy", align_method="gold"),
                      CandidateProjector("ngram", "ilp", align_method="gold")):
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            for p in pairs:
                projector.project(p.pair, p.alignments)
            best = min(best, time.perf_counter() - start)
        label = projector.name + (f" + {projector.matching}"
                                  if isinstance(projector, CandidateProjector) else "")
        print(f"| {label} | {len(pairs) / best:.0f} | {1000 * best / len(pairs):.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
