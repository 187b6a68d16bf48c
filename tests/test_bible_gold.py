"""The Bible gold is rebuilt from its source by the rules its README states
(``benchmarks/build_bible_gold.py``): byte for byte for the vendored files, and rule by
rule on a small hand-made source."""

import collections
import json
import os

import pytest

from benchmarks import build_bible_gold as gold
from benchmarks.data import DATA, HELDOUT_DATA


def _installed() -> bool:
    try:
        gold.package_file("data/sources/SBLGNT.tsv")
    except SystemExit:
        return False
    return True


@pytest.mark.skipif(not _installed(), reason="bible-alignments==0.4.2 is not installed "
                    "(make env installs it with --no-deps)")
@pytest.mark.parametrize("split,folder", [("dev", DATA), ("heldout", HELDOUT_DATA)])
def test_the_builder_reproduces_the_vendored_files_byte_for_byte(split, folder):
    files, stats = gold.build(split)
    for name, text in files.items():
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            assert f.read() == text, name
    if split == "dev":
        assert (stats["verses"], stats["entities"]) == (566, 961)


def _greek(verse, n, lemma, text=None):
    return {"id": f"n{verse}{n:03d}", "altId": f"{text or lemma}-1", "text": text or lemma,
            "lemma": lemma}


def _english(verse, n, text, source_verse=""):
    return {"id": f"{verse}{n:03d}", "source_verse": source_verse, "text": text}


def _source():
    """Matthew 1:1 and 1:2 in miniature: 'Mary the Magdalene and Simon' / 'He saw them'."""
    v1, v2 = "40001001", "40001002"
    greek = [_greek(v1, 1, "Μαρία"), _greek(v1, 2, "ὁ", "ἡ"), _greek(v1, 3, "Μαγδαληνή"),
             _greek(v1, 4, "καί"), _greek(v1, 5, "Σίμων"), _greek(v1, 6, "Ἰησοῦς"),
             _greek(v2, 1, "Ἰησοῦς"), _greek(v2, 2, "ὁράω"), _greek(v2, 3, "Πέτρος")]
    english = [_english(v1, i + 1, w) for i, w in
               enumerate(["Mary", "Magdalene", "and", "Simon", "."])]
    english += [_english(v2, i + 1, w) for i, w in enumerate(["He", "saw", "peter", "."])]
    links = collections.defaultdict(set, {
        "n40001001001": {"40001001001"}, "n40001001003": {"40001001002"},
        "n40001001005": {"40001001003", "40001001004"},  # "and Simon": Simon only
        "n40001002001": {"40001002001"},  # only "He": dropped
        "n40001002002": {"40001002002"}, "n40001002003": {"40001002003"}})  # lower-case
    return greek, english, links


def test_names_join_across_the_article_and_drop_by_reason():
    files, stats = gold.build("dev", _source())
    (row,) = [json.loads(line) for line in files["dev.jsonl"].splitlines()]
    assert row["id"] == "MAT 1:1"  # 1:2 has no name left: not kept
    assert row["gold_translation_tags"] == ["B-ENT", "I-ENT", "I-ENT", "O", "B-ENT", "O"]
    assert row["ner_tags"] == ["B-ENT", "I-ENT", "O", "B-ENT", "O"]
    assert stats["names dropped: no English word"] == 1  # Ἰησοῦς in 1:1
    assert stats["names dropped: only words such as He or Lord"] == 1
    assert stats["names dropped: only lower-case words"] == 1
    (test_row,) = [json.loads(line) for line in files["dev-translate-test.jsonl"].splitlines()]
    assert test_row["tokens"] == row["translation_tokens"]
    assert test_row["ner_tags"] == row["gold_translation_tags"]
    (align,) = [json.loads(line) for line in files["dev_align.jsonl"].splitlines()]
    assert align["alignment"] == [[0, 0], [1, 2], [2, 4], [3, 4]]


def test_names_do_not_join_when_their_english_is_apart_or_a_word_sits_between():
    greek, english, links = _source()
    links["n40001001003"] = {"40001001004"}  # Magdalene -> "Simon": not touching "Mary"
    files, _ = gold.build("dev", (greek, english, links))
    row = json.loads(files["dev.jsonl"].splitlines()[0])
    assert row["gold_translation_tags"][:3] == ["B-ENT", "O", "B-ENT"]
    greek[1]["lemma"] = "καί"  # not the article: Mary and Magdalene stay apart
    links["n40001001003"] = {"40001001002"}
    files, _ = gold.build("dev", (greek, english, links))
    row = json.loads(files["dev.jsonl"].splitlines()[0])
    assert row["gold_translation_tags"][:3] == ["B-ENT", "O", "B-ENT"]


def test_verses_joined_by_a_record_or_renumbered_become_one_unit():
    greek, english, links = _source()
    links["n40001002003"] = {"40001001004"}  # a 1:2 name rendered in 1:1's English
    english.append(_english("40001003", 1, "Peter", source_verse="40001002"))
    units = gold.units(greek, english, links, ["MAT"])
    assert [u.verses for u in units] == [["40001001", "40001002"]]
    assert [r["text"] for r in units[0].english][-1] == "Peter"
    assert gold.reference(units[0].verses) == "MAT 1:1-2"
    assert gold.reference(["44013052", "44014001"]) == "ACT 13:52-14:1"


def test_splits_do_not_share_a_book():
    books = [set(b) for _, _, b in gold.SPLITS.values()]
    assert not books[0] & books[1]
    for split, (folder, stem, allowed) in gold.SPLITS.items():
        with open(os.path.join(gold.REPO, folder, f"{stem}.jsonl"), encoding="utf-8") as f:
            assert {json.loads(line)["id"].split()[0] for line in f} == set(allowed)
