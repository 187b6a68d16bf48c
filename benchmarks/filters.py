"""What each noise filter does on real gold (the vendored data/bible-dev/dev.jsonl).

Runs the translate-train job once with the default settings (no filter) and applies each
filter setting to its written rows with the job's own filter code (``xlner.projection.filters``),
then scores the kept rows against ``gold_translation_tags`` (seqeval default mode): what a
trainer would see — precision and recall of the kept labels, and how many rows and
entities are kept; F1 also on Matthew and on Mark, the two halves of the protocol
(``benchmarks.data``: filters are chosen on Matthew, reported on Mark).

    python -m benchmarks.filters [--output DIR]   # DIR: reuse a finished run's output
"""

from __future__ import annotations

import argparse
import glob
import json
import subprocess
import sys
import tempfile

import pyarrow.parquet as pq

from xlner.projection.filters import Filters
from xlner.evaluation.metrics import Counts, sentence_counts
from xlner.formats.records import ProjectedEntity, Projection, SentencePair
from benchmarks.data import DEV, REPORT, SELECT, book
from xlner.text.bio import tags_to_spans
from xlner.formats.schema import decoded_rows

SETTINGS = [
    ("none", Filters()),
    ("--min_entity_score 0.7", Filters(min_entity_score=0.7)),
    ("--min_entity_score 0.75", Filters(min_entity_score=0.75)),
    ("--min_entity_score 0.8", Filters(min_entity_score=0.8)),
    ("--require_all_entities", Filters(require_all_entities=True)),
    ("--entity_ratio_bounds 0.75,1.34", Filters(entity_ratio=(0.75, 1.34))),
    ("--length_ratio_bounds 0.5,2", Filters(length_ratio=(0.5, 2.0))),
    ("--require_all_entities --entity_ratio_bounds 0.75,1.34",
     Filters(require_all_entities=True, entity_ratio=(0.75, 1.34))),
    ("--require_all_entities --min_entity_score 0.75",
     Filters(min_entity_score=0.75, require_all_entities=True)),
]


def projection_of(row: dict) -> tuple[Projection, list[str]]:
    """The written row as the Projection the filters see, and its gold tags."""
    pair = SentencePair.given(row["id"], row["src_lang"], row["lang"], row["src_tokens"],
                              tags_to_spans(row["src_ner_tags"]), row["tokens"])
    entities = tuple(ProjectedEntity(e["start"], e["end"], e["label"], e["source_index"],
                                     e["score"], e["length_ratio"]) for e in row["entities"])
    gold = json.loads(row["extra"])["gold_translation_tags"]
    return Projection(pair, "default", tuple(row["ner_tags"]), entities), gold


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", default=DEV)
    ap.add_argument("--output", help="a finished run's output folder (default: run now)")
    args = ap.parse_args(argv)
    out = args.output
    if out is None:
        out = tempfile.mkdtemp(prefix="xlner-filters-")
        subprocess.run([sys.executable, "-m", "pipeline.run", f"--input={args.input}",
                        "--target_langs=ell_Grek", f"--output={out}"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows = [r for f in sorted(glob.glob(f"{out}/ell_Grek/*.parquet"))
            for r in decoded_rows(pq.read_table(f))]
    items = [projection_of(r) for r in rows]
    total_entities = sum(len(p.entities) for p, _ in items)
    print("| filter | rows kept | entities kept | P | R | F1 | F1 Matthew | F1 Mark |")
    print("|---|---|---|---|---|---|---|---|")
    for name, filters in SETTINGS:
        counts = {"all": Counts(), "matthew": Counts(), "mark": Counts()}
        kept_rows = kept_entities = 0
        for projection, gold in items:
            kept, _, reason, _ = filters.apply(projection)
            if kept is None:
                continue
            kept_rows += 1
            kept_entities += len(kept.entities)
            sentence = sentence_counts(gold, list(kept.tags))
            counts["all"].add(sentence)
            part = book(projection.pair.id)
            if part in SELECT:
                counts["matthew"].add(sentence)
            elif part in REPORT:
                counts["mark"].add(sentence)
        ov = {k: c.scores()["overall"] for k, c in counts.items()}
        print(f"| {name} | {kept_rows} ({100 * kept_rows / len(items):.1f} %) | "
              f"{kept_entities} ({100 * kept_entities / total_entities:.1f} %) | "
              f"{100 * ov['all']['precision']:.1f} | {100 * ov['all']['recall']:.1f} | "
              f"{100 * ov['all']['f1']:.2f} | {100 * ov['matthew']['f1']:.2f} | "
              f"{100 * ov['mark']['f1']:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
