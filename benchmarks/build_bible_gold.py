"""Rebuild the Bible names gold (``data/bible-dev``, ``data/bible-heldout``) from its source.

The source is the PyPI package ``bible-alignments==0.4.2`` (Clear Bible / Biblica, CC BY
4.0; install it with ``pip install --no-deps bible-alignments==0.4.2``): the SBLGNT Greek
words with their lemmas, the BSB English words, and the manual word alignment between them.
This script applies the construction rules of ``data/bible-dev/README.md`` and writes, per
split, the translate-train file, the translate-test file and the gold alignment.

It reproduces the vendored development files byte for byte (``--check``, and
``tests/test_bible_gold.py``): that is the evidence that the rules written in the README
are the rules the files were made with. The held-out books are built by the same rules and
are for reporting only: no setting of this project is chosen on them.

    python -m benchmarks.build_bible_gold            # write both splits into data/
    python -m benchmarks.build_bible_gold --check    # compare with the vendored files
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Iterable, Optional

PACKAGE, VERSION = "bible-alignments", "0.4.2"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BOOKS = {"40": "MAT", "41": "MRK", "42": "LUK", "43": "JHN", "44": "ACT"}
# split name -> (folder, file stem, books); dev is where settings are chosen (Matthew) and
# reported (Mark); heldout is never looked at to choose anything.
SPLITS = {"dev": ("data/bible-dev", "dev", ("MAT", "MRK")),
          "heldout": ("data/bible-heldout", "heldout", ("LUK", "JHN", "ACT"))}
# Capitalised English words that carry no name even when the alignment links them to a
# Greek name: pronouns (the BSB capitalises those referring to Jesus), sentence-initial
# function words, and the divine titles the data set does not count as names.
NOT_NAMES = frozenset("""I You He Him His Himself It They We She Her A The To For But When
After While Since So Why Is Was Did Have Some O Lord God Son""".split())
ARTICLE = "ὁ"  # the Greek article's lemma: "Mary the Magdalene" is one name


@dataclass
class Unit:
    """One record of the gold: a Greek verse (or verses joined by the alignment) with the
    English words that render it and the alignment links between them."""

    verses: list[str]
    greek: list[dict] = field(default_factory=list)
    english: list[dict] = field(default_factory=list)


@dataclass
class Entity:
    greek: tuple[int, int]  # half-open word span on the Greek side
    english: tuple[int, int]  # ... and on the English side


def package_file(relative: str) -> str:
    """A data file of the installed package (it installs its ``data/`` at the top level)."""
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        raise SystemExit(f"{PACKAGE} is not installed: pip install --no-deps "
                         f"{PACKAGE}=={VERSION}") from None
    if dist.version != VERSION:
        raise SystemExit(f"{PACKAGE} {dist.version} is installed; the gold is built from "
                         f"{VERSION}")
    return str(dist.locate_file(relative))


def read_tsv(path: str) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def load_source():
    """(Greek rows, English rows, Greek word id -> English word ids) of the New Testament."""
    greek = read_tsv(package_file("data/sources/SBLGNT.tsv"))
    english = read_tsv(package_file("data/eng/targets/BSB/nt_BSB.tsv"))
    with open(package_file("data/eng/alignments/BSB/SBLGNT-BSB-manual.json"),
              encoding="utf-8") as f:
        records = json.load(f)["records"]
    links = collections.defaultdict(set)
    for record in records:
        for g in record["source"]:
            links[g].update(record["target"])
    return greek, english, links


def units(greek: list[dict], english: list[dict], links, books: Iterable[str]) -> list[Unit]:
    """The verses of ``books``: each Greek verse with the English words the BSB assigns to
    it (``source_verse``: where the two texts number verses differently); verses that one
    alignment record joins are merged into one unit."""
    codes = {code for code, name in BOOKS.items() if name in books}
    by_verse: dict[str, Unit] = {}
    for row in greek:
        verse = row["id"][1:9]
        if verse[:2] in codes:
            by_verse.setdefault(verse, Unit([verse])).greek.append(row)
    english_verse = {}
    for row in english:
        verse = row["source_verse"] or row["id"][:8]
        english_verse[row["id"]] = verse
        if verse in by_verse:
            by_verse[verse].english.append(row)
    parent = {v: v for v in by_verse}

    def root(v):
        while parent[v] != v:
            v = parent[v]
        return v

    for verse, unit in by_verse.items():
        for row in unit.greek:
            for target in links[row["id"]]:
                other = english_verse.get(target)
                if other in parent and root(other) != root(verse):
                    parent[max(root(other), root(verse))] = min(root(other), root(verse))
    merged: dict[str, Unit] = {}
    for verse in sorted(by_verse):
        unit = merged.setdefault(root(verse), Unit([]))
        unit.verses.append(verse)
        unit.greek += by_verse[verse].greek
        unit.english += by_verse[verse].english
    for unit in merged.values():
        unit.english.sort(key=lambda r: r["id"])
    return [merged[v] for v in sorted(merged)]


def reference(verses: list[str]) -> str:
    """``MAT 1:1``; merged verses ``ACT 24:18-19`` (``LUK 7:35-8:1`` across chapters)."""
    first, last = verses[0], verses[-1]
    ref = f"{BOOKS[first[:2]]} {int(first[2:5])}:{int(first[5:8])}"
    if last == first:
        return ref
    if last[2:5] == first[2:5]:
        return f"{ref}-{int(last[5:8])}"
    return f"{ref}-{int(last[2:5])}:{int(last[5:8])}"


def name_words(unit: Unit, links, dropped: collections.Counter) -> list[Entity]:
    """One entity per Greek name (a word whose lemma is capitalised) with an English
    rendering: the first to the last capitalised English word linked to it, words in
    NOT_NAMES left out. Names without one are counted in ``dropped`` by reason."""
    position = {row["id"]: i for i, row in enumerate(unit.english)}
    out = []
    for g, row in enumerate(unit.greek):
        if not row["lemma"][:1].isupper():
            continue
        linked = sorted(position[t] for t in links[row["id"]] if t in position)
        capital = [e for e in linked if unit.english[e]["text"][:1].isupper()]
        named = [e for e in capital if unit.english[e]["text"] not in NOT_NAMES]
        if named:
            out.append(Entity((g, g + 1), (named[0], named[-1] + 1)))
        else:
            dropped["no English word" if not linked else "only lower-case words"
                    if not capital else "only words such as He or Lord"] += 1
    return out


def join_names(unit: Unit, names: list[Entity]) -> list[Entity]:
    """Neighbouring names (adjacent, or with only the article between them) are one entity
    when their English renderings touch: "Simon Peter", "Mary the Magdalene"."""
    out: list[Entity] = []
    for name in names:
        if out:
            prev = out[-1]
            gap = name.greek[0] - prev.greek[1]
            near = gap == 0 or (gap == 1 and unit.greek[name.greek[0] - 1]["lemma"] == ARTICLE)
            touch = prev.english[1] == name.english[0] or name.english[1] == prev.english[0]
            if near and touch:
                out[-1] = Entity((prev.greek[0], name.greek[1]),
                                 (min(prev.english[0], name.english[0]),
                                  max(prev.english[1], name.english[1])))
                continue
        out.append(name)
    return out


def bio(n: int, spans: Iterable[tuple[int, int]]) -> list[str]:
    """BIO tags of ``n`` words; a later span overwrites an earlier one where they overlap."""
    tags = ["O"] * n
    for start, end in spans:
        tags[start] = "B-ENT"
        tags[start + 1:end] = ["I-ENT"] * (end - start - 1)
    return tags


def unit_records(unit: Unit, links, dropped) -> Optional[tuple[dict, dict, dict]]:
    """(translate-train row, translate-test row, alignment row) of a unit with a name."""
    entities = join_names(unit, name_words(unit, links, dropped))
    if not entities:
        return None
    ref = reference(unit.verses)
    english = [row["text"] for row in unit.english]
    greek = [row["altId"].rsplit("-", 1)[0] for row in unit.greek]  # elision marks kept
    eng_tags = bio(len(english), (e.english for e in entities))
    greek_tags = bio(len(greek), (e.greek for e in entities))
    position = {row["id"]: i for i, row in enumerate(unit.english)}
    pairs = sorted({(position[t], g) for g, row in enumerate(unit.greek)
                    for t in links[row["id"]] if t in position})
    train = {"id": ref, "tokens": english, "ner_tags": eng_tags, "translation_tokens": greek,
             "gold_translation_tags": greek_tags, "src_lang": "eng_Latn",
             "tgt_lang": "ell_Grek"}
    test = {"id": ref, "tokens": greek, "ner_tags": greek_tags, "translation_tokens": english,
            "src_lang": "ell_Grek", "tgt_lang": "eng_Latn"}
    return train, test, {"id": ref, "alignment": [list(p) for p in pairs]}


def build(split: str, source=None) -> tuple[dict[str, str], dict]:
    """{file name: its text} of one split, and counts for its README."""
    greek, english, links = source or load_source()
    _, stem, books = SPLITS[split]
    dropped: collections.Counter = collections.Counter()
    lines: dict[str, list[str]] = {f"{stem}.jsonl": [], f"{stem}-translate-test.jsonl": [],
                                   f"{stem}_align.jsonl": []}
    stats = collections.Counter()
    for unit in units(greek, english, links, books):
        records = unit_records(unit, links, dropped)
        stats["merged units"] += len(unit.verses) > 1
        if records is None:
            continue
        stats["verses"] += 1
        stats["entities"] += sum(t.startswith("B-") for t in records[0]["ner_tags"])
        for name, record in zip(lines, records):
            lines[name].append(json.dumps(record, ensure_ascii=False) + "\n")
    stats.update({f"names dropped: {k}": v for k, v in dropped.items()})
    return {name: "".join(text) for name, text in lines.items()}, dict(stats)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="compare with the vendored files instead of writing them")
    ap.add_argument("--splits", default="dev,heldout")
    args = ap.parse_args(argv)
    source = load_source()
    status = 0
    for split in args.splits.split(","):
        files, stats = build(split, source)
        folder = os.path.join(REPO, SPLITS[split][0])
        print(f"{split}: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))
        for name, text in files.items():
            path = os.path.join(folder, name)
            if args.check:
                with open(path, encoding="utf-8") as f:
                    same = f.read() == text
                print(f"  {name}: {'identical' if same else 'DIFFERS'}")
                status |= not same
            else:
                os.makedirs(folder, exist_ok=True)
                with open(path, "w", encoding="utf-8", newline="\n") as f:
                    f.write(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
