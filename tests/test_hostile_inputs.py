"""Issue 9, record level: hostile input never crashes a reader, loses a neighbour, or
slips through silently. Every input record ends up valid or dead-lettered exactly once."""

import bz2
import gzip
import io
import json
import lzma
import os
import re
import zlib
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlner.text.bio import InvalidTags, is_iob2, repair_iob2
from xlner.formats.inputs import (DEFAULT_MAX_TOKEN_CHARS, MAX_NESTING, InvalidRecord, OverlongLine,
                          conll_rows, open_binary, record_id, safe_view, source_names,
                          text_lines, validate)

HOSTILE = os.path.join(os.path.dirname(__file__), "fixtures", "hostile")


def lines_of(data: bytes, **kw):
    return list(text_lines(io.BytesIO(data), **kw))


def conll(data: bytes, source="swa/test.txt", **kw):
    return list(conll_rows(lines_of(data), source, **kw))


def jsonl(data: bytes, source="d.jsonl"):
    from xlner.formats.inputs import jsonl_rows

    return list(jsonl_rows(lines_of(data), source))


def reasons(rows):
    return [r.reason if isinstance(r, InvalidRecord) else "ok" for r in rows]


def writable(record) -> bytes:
    """What the dead-letter writer does with a record: must not raise."""
    return json.dumps(record, ensure_ascii=False, allow_nan=False).encode("utf-8")


# ----------------------------------------------------------------------------- JSONL lines
@pytest.mark.parametrize("bad", [b"[" * 100000 + b"]" * 100000,
                                 b'{"id": "x", "n": ' + b"9" * 5000 + b"}",
                                 b'{"id": "x", "tokens": ["a"], "ner_tags": ["O"], "s": NaN}',
                                 b'{"id": "x", "s": -Infinity}',
                                 b'{"id": "x", "tokens": ["a"], "tokens": ["b"]}',
                                 b'{"id": "x", "tokens": ["a\tb"]}',  # raw control in a string
                                 b"{oops", b"[1, 2]", b"42"])
def test_one_bad_json_line_is_one_dead_letter_and_parsing_goes_on(bad):
    good = b'{"id": "after", "tokens": ["a"], "ner_tags": ["O"]}'
    rows = jsonl(good.replace(b"after", b"before") + b"\n" + bad + b"\n" + good + b"\n")
    assert reasons(rows) == ["ok", "malformed_line", "ok"]
    assert rows[1].record_id == "d.jsonl:2" and "line 2" in rows[1].detail
    assert rows[2]["id"] == "after"
    writable(rows[1].record)


def test_bom_is_stripped_from_jsonl_and_conll():
    bom = b"\xef\xbb\xbf"
    rows = jsonl(bom + b'{"tokens": ["a"], "ner_tags": ["O"]}\n')
    assert reasons(rows) == ["ok"] and rows[0]["id"] == "d.jsonl:1"
    rows = conll(bom + b"-DOCSTART- -X- O\n\nNairobi B-LOC\n\n" + bom + b"-DOCSTART- O\n\nni O\n")
    assert [(r["id"], r["tokens"]) for r in rows] == [("swa/test.txt:0", ["Nairobi"]),
                                                      ("swa/test.txt:1", ["ni"])]


def test_invalid_utf8_is_reported_with_its_place_not_replaced():
    rows = conll(b"Nairobi B-LOC\n\nKisu\xc3mu B-LOC\nni O\n\nni O\n")
    assert reasons(rows) == ["ok", "invalid_utf8", "ok"]
    assert rows[1].record_id == "swa/test.txt:1"
    assert "line 3, byte 4" in rows[1].detail and "0xC3" in rows[1].detail
    writable(rows[1].record)
    rows = jsonl(b'{"id": "a", "tokens": ["caf\xe9"], "ner_tags": ["O"]}\n'
                 b'{"id": "b", "tokens": ["\xed\xa0\x80"], "ner_tags": ["O"]}\n'  # UTF-8 surrogate
                 b'{"id": "c", "tokens": ["ok"], "ner_tags": ["O"]}\n')
    assert reasons(rows) == ["invalid_utf8", "invalid_utf8", "ok"]
    assert "U+FFFD" not in json.dumps(rows[2])


def test_lines_end_at_newline_only_and_overlong_lines_are_reported():
    assert lines_of(b"a\x0cb O\n\x1c\r\nx\xe2\x80\xa8") == [
        "a\x0cb O\n", "\x1c\r\n", "x\u2028"]
    got = lines_of(b"short O\n" + b"y" * 100 + b"\nnext O\n", max_line_bytes=50)
    assert got[0] == "short O\n" and isinstance(got[1], OverlongLine) and got[1].size == 101
    assert got[2] == "next O\n"
    rows = list(conll_rows(got, "f"))
    assert reasons(rows) == ["line_too_long"]  # one block: all three lines
    exact = lines_of(b"y" * 50 + b"\n" + b"z" * 51, max_line_bytes=50)
    assert exact[0] == "y" * 50 + "\n" and isinstance(exact[1], OverlongLine)


# ----------------------------------------------------------------------------- CoNLL columns
def test_conll_columns_tabs_spaces_and_unicode_spaces():
    rows = conll("Dar es Salaam\tB-LOC\nni\tO\n\n"      # tabs: spaces stay in the token
                 "10\u00a0000   O\nwatu O \n\n"           # ASCII spaces; NBSP stays
                 "東京\u3000都 B-LOC\n\n"                  # ideographic space stays
                 "EU\tNNP\tB-NP\tB-ORG\n".encode())       # CoNLL-2003 with tabs
    assert [r["tokens"] for r in rows] == [["Dar es Salaam", "ni"], ["10\u00a0000", "watu"],
                                           ["東京\u3000都"], ["EU"]]
    assert rows[3]["ner_tags"] == ["B-ORG"]


@pytest.mark.parametrize("line, char", [(b"Mom\x0cbasa B-LOC", "U+000C"),
                                        (b"a O\rb B-PER", "U+000D"),   # old Mac line end
                                        (b"a\x00 O", "U+0000"),
                                        ("a\u0085b O".encode(), "U+0085"),  # C1 NEL
                                        (b"a B-PER\x0b", "U+000B")])
def test_conll_control_characters_reject_the_sentence_never_cut_it(line, char):
    rows = conll(b"before O\n\n" + line + b"\nni O\n\nafter O\n")
    assert reasons(rows) == ["ok", "invalid_token", "ok"]
    assert char in rows[1].detail and rows[1].record_id == "swa/test.txt:1"


def test_whitespace_only_lines_separate_sentences():
    rows = conll("a O\n\x0c\nb O\n \t \n\u3000\nc O\n".encode())
    assert [r["tokens"] for r in rows] == [["a"], ["b"], ["c"]]


# ----------------------------------------------------------------------------- validation
def row(**kw):
    return {"id": "r", "tokens": ["a"], "ner_tags": ["O"], **kw}


@pytest.mark.parametrize("bad, where", [
    (row(tokens=["\ud800x"]), "tokens[0]"),
    (row(id="\udfffid"), "id"),
    (row(meta={"deep": [["ok", "\udc80"]]}), "meta.deep[0][1]"),
    (row(**{"k\ud800": 1}), "the field name k"),
    (row(translation_tokens=["\ud83d"], tgt_lang="por_Latn"), "translation_tokens[0]"),
    (row(translation="x\ud800"), "translation"),
    (row(tgt_lang="por\udc00"), "tgt_lang"),
    (row(ner_tags=["B-P\ud800"]), "ner_tags[0]"),
])
def test_lone_surrogates_are_invalid_text_wherever_they_are(bad, where):
    with pytest.raises(InvalidRecord) as e:
        validate(bad, default_lang="eng_Latn")
    assert e.value.reason == "invalid_text" and where in e.value.detail
    writable(e.value.record)
    writable(e.value.record_id)
    writable(e.value.detail)


def test_a_surrogate_pair_is_fine():
    v = validate(row(tokens=["\U0001F600"]), default_lang="eng_Latn")
    assert v.sentence.tokens == ("\U0001F600",)


def test_token_length_cap():
    assert DEFAULT_MAX_TOKEN_CHARS == 200
    validate(row(tokens=["x" * 200]), default_lang="eng_Latn")
    for bad in (row(tokens=["x" * 201]), row(translation_tokens=["y" * 201])):
        with pytest.raises(InvalidRecord) as e:
            validate(bad, default_lang="eng_Latn")
        assert e.value.reason == "token_too_long" and "201 characters" in e.value.detail
        assert len(writable(e.value.record)) < 3000
    with pytest.raises(InvalidRecord, match="token_too_long"):
        validate(row(tokens=["abcdef"]), default_lang="eng_Latn", max_token_chars=5)


@pytest.mark.parametrize("bad, reason", [
    (row(tokens=["a\x0cb"]), "invalid_token"),
    (row(tokens=["a\tb"]), "invalid_token"),
    (row(translation_tokens=["a\nb"]), "invalid_token"),
    (row(ner_tags=["B-PER\x00"]), "invalid_tag"),
    (row(tokens={"a": 1}, ner_tags={"O": 1}), "invalid_record"),
    (row(id=[1]), "invalid_record"),
    (row(id=True), "invalid_record"),
    (row(id=1.5), "invalid_record"),
    (row(translation_tokens=[]), "invalid_record"),
    (row(meta=json.loads("[" * 40 + "1" + "]" * 40)), "invalid_record"),
])
def test_other_hostile_values(bad, reason):
    with pytest.raises(InvalidRecord) as e:
        validate(bad, default_lang="eng_Latn")
    assert e.value.reason == reason
    writable(e.value.record)


def test_nesting_limit_and_safe_view_of_unwritable_values():
    ok = 1
    for _ in range(MAX_NESTING - 2):
        ok = [ok]
    validate(row(meta=ok), default_lang="eng_Latn")  # extra nested to the limit is kept
    deep = 1
    for _ in range(990):  # as deep as json.loads gets
        deep = [deep]
    view = safe_view({"deep": deep, "nan": float("nan"), "big": 10 ** 4000,
                      "s": "\ud800" + "x" * 5000, b"k": b"\xff"})
    text = writable(view).decode()
    assert "nested deeper" in text and "nan" in text and "integer of" in text
    assert "\\\\ud800" in text and "5001 characters" in text


def test_ids_null_empty_int():
    assert record_id(7) == "7" and record_id("a") == "a"
    rows = jsonl(b'{"id": null, "tokens": ["a"], "ner_tags": ["O"]}\n'
                 b'{"id": "", "tokens": ["a"], "ner_tags": ["O"]}\n'
                 b'{"id": "  ", "tokens": ["a"], "ner_tags": ["O"]}\n'
                 b'{"id": 0, "tokens": ["a"], "ner_tags": ["O"]}\n')
    assert [r["id"] for r in rows] == ["d.jsonl:1", "d.jsonl:2", "d.jsonl:3", 0]
    assert validate(rows[3], default_lang="x").sentence.id == "0"  # not "None", not ""


# ----------------------------------------------------------------------------- default ids
def test_source_names_are_the_shortest_unique_suffix():
    names = source_names(["/d/masakhaner/swa/test.txt", "/d/masakhaner/yor/test.txt",
                          "gs://b/run1/data/a.conll", "gs://b/run2/data/a.conll",
                          "/x/only.jsonl", "rel.conll"])
    assert names == {"/d/masakhaner/swa/test.txt": "swa/test.txt",
                     "/d/masakhaner/yor/test.txt": "yor/test.txt",
                     "gs://b/run1/data/a.conll": "run1/data/a.conll",
                     "gs://b/run2/data/a.conll": "run2/data/a.conll",
                     "/x/only.jsonl": "x/only.jsonl", "rel.conll": "rel.conll"}
    # a path that is a suffix of another still gets its own name
    names = source_names(["a/b.conll", "/x/a/b.conll"])
    assert len(set(names.values())) == 2


@given(st.lists(st.lists(st.sampled_from(["a", "b", "c", "", "gs:"]), min_size=1, max_size=5)
                .map("/".join), min_size=1, max_size=12, unique=True))
def test_source_names_never_collide(paths):
    names = source_names(paths)
    assert set(names) == set(paths)
    assert len(set(names.values())) == len(paths)
    for p, n in names.items():
        assert p.endswith(n)


# ----------------------------------------------------------------------------- compression
SAMPLE_CONLL = b"Accra B-LOC\nni O\n\n" * 3000
SAMPLE_JSONL = b"".join(json.dumps({"id": f"r{i}", "tokens": ["Accra"], "ner_tags": ["B-LOC"]})
                        .encode() + b"\n" for i in range(3000))


def _zstd(data):
    import zstandard

    return zstandard.ZstdCompressor().compress(data)


COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress,
            ".zst": _zstd, ".deflate": zlib.compress}


@pytest.mark.parametrize("suffix", sorted(COMPRESS))
@pytest.mark.parametrize("fmt, data", [("conll", SAMPLE_CONLL), ("jsonl", SAMPLE_JSONL)])
def test_compressed_files_read_whole_and_truncation_is_an_error(suffix, fmt, data):
    packed = COMPRESS[suffix](data)
    assert open_binary(io.BytesIO(packed), "f" + suffix).read() == data
    twice = open_binary(io.BytesIO(packed + packed), "f" + suffix).read()
    assert twice == data + data  # concatenated members (cat a.gz b.gz)
    with pytest.raises((EOFError, OSError, zlib.error, lzma.LZMAError)):
        open_binary(io.BytesIO(packed[: len(packed) // 2]), "f" + suffix).read()
    assert open_binary(io.BytesIO(b""), "f" + suffix).read() == b""
    assert open_binary(io.BytesIO(data), "f." + fmt).read() == data


# ----------------------------------------------------------------------------- properties
def _unbom(line):
    return line[1:] if line.startswith("\ufeff") else line  # one mark, as a file has one


def _blocks(lines):
    """Independent count of CoNLL sentences: runs of lines that are not blank (Unicode
    whitespace only) or -DOCSTART- (first column split on ASCII space/tab)."""
    n, inside = 0, False
    for line in lines:
        text = _unbom(line.removesuffix("\n").removesuffix("\r"))
        sep = (not isinstance(line, OverlongLine)
               and (not text.strip()
                    or re.split("[ \t]+", text.strip(" \t"))[0] == "-DOCSTART-"))
        if sep:
            inside = False
        elif not inside:
            n, inside = n + 1, True
    return n


def _nonblank(lines):
    return sum(1 for line in lines
               if isinstance(line, OverlongLine) or _unbom(line).strip())


def _check_accounted(rows, label_names=None):
    """Each parsed record validates or raises InvalidRecord; dead letters are writable."""
    valid = dead = 0
    for r in rows:
        if isinstance(r, InvalidRecord):
            dead += 1
            writable(r.record), writable(r.detail), writable(r.record_id)
            continue
        try:
            v = validate(r, default_lang="eng_Latn", label_names=label_names)
        except InvalidRecord as e:
            dead += 1
            writable(e.record), writable(e.detail), writable(e.record_id)
        else:
            valid += 1
            json.dumps(v.sentence.tokens, ensure_ascii=False).encode("utf-8")
            assert is_iob2(v.sentence.tags)
    assert valid + dead == len(rows)


LINE_PARTS = st.sampled_from(["a", "B-PER", "I-LOC", "O", " ", "\t", "\x0c", "\r", "\u00a0",
                              "-DOCSTART-", "\ufeff", "\ud800", "\udcff", "é", ":", "x" * 250,
                              '"', "{", "}", "[", "]", ",", "0", '"tokens"', '"ner_tags"'])
LINES = st.lists(st.lists(LINE_PARTS, max_size=8).map("".join)
                 .map(lambda s: s + "\n"), max_size=25)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(LINES, st.booleans())
def test_conll_parser_accounts_for_every_sentence(lines, panx):
    rows = list(conll_rows(lines, "f", lang_prefix=panx))
    assert len(rows) == _blocks(lines)
    assert len({r["id"] if isinstance(r, dict) else r.record_id for r in rows}) == len(rows)
    _check_accounted(rows)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["conll", "jsonl"]))
def test_arbitrary_bytes_never_raise_and_every_record_is_accounted(data, fmt):
    from xlner.formats.inputs import jsonl_rows

    lines = lines_of(data, max_line_bytes=64)
    pieces = data.split(b"\n")
    if data.endswith(b"\n") or not data:
        pieces.pop()
    assert len(lines) == len(pieces)  # lines end at \n only
    for piece, line in zip(pieces, lines):
        assert isinstance(line, OverlongLine) == (len(piece) > 64)
    rows = list(jsonl_rows(lines, "f") if fmt == "jsonl" else conll_rows(lines, "f"))
    assert len(rows) == (_nonblank(lines) if fmt == "jsonl" else _blocks(lines))
    _check_accounted(rows)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["O", "B-PER", "I-PER", "B-", "S-LOC", "\ud800", "a\x0cb", "x" * 300]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=4),
    max_leaves=20)
ROWS = st.fixed_dictionaries(
    {}, optional={"id": JSON_VALUES, "tokens": JSON_VALUES, "ner_tags": JSON_VALUES,
                  "translation": JSON_VALUES, "translation_tokens": JSON_VALUES,
                  "tgt_lang": JSON_VALUES, "lang": JSON_VALUES, "extra": JSON_VALUES})


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(ROWS, st.sampled_from([None, ["O", "B-PER", "I-PER"]]))
def test_validate_raises_only_invalid_record_for_any_row(r, labels):
    _check_accounted([r], labels)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.text(max_size=6) | st.sampled_from(
    ["O", "B-PER", "I-PER", "I-LOC", "S-ORG", "E-ORG", "B-", "X-PER", "B-PER "]), max_size=12))
def test_bio_repair_returns_iob2_or_raises_invalid_tags(tags):
    try:
        out = repair_iob2(tags)
    except InvalidTags as e:
        assert e.reason == "invalid_tag"
        return
    assert len(out.tags) == len(tags) and is_iob2(out.tags)
    assert repair_iob2(out.tags).tags == out.tags  # idempotent
    assert out.repairs == sum(a != b for a, b in zip(tags, out.tags))


# ----------------------------------------------------------------------------- Beam level
def _expected():
    with open(os.path.join(HOSTILE, "expected.json"), encoding="utf-8") as f:
        return json.load(f)


def _read(patterns):
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from transforms.read import ReadLabeledSentences

    exp = _expected()
    with TestPipeline(runner="FnApiRunner") as p:
        read = p | ReadLabeledSentences(patterns)
        ok = read.ok | "Ok" >> beam.Map(lambda v: (v.sentence.id, list(v.sentence.tokens)))
        dead = read.dead | "Dead" >> beam.Map(lambda d: [d.stage, d.reason, d.record_id])
        # every dead letter must be writable by the real writer
        _ = read.dead | "Json" >> beam.Map(
            lambda d: __import__("transforms.deadletter").deadletter.dead_letter_json(d)
            .encode("utf-8"))
        assert_that(ok, equal_to(sorted(exp["ok"].items())), label="valid")
        assert_that(dead, equal_to(exp["dead"]), label="dead")


def test_read_labeled_sentences_over_the_hostile_set():
    exp = _expected()
    assert sum(exp["records"].values()) == len(exp["ok"]) + len(exp["dead"])  # read = ok+dead
    _read([os.path.join(HOSTILE, "data", "**")])


def test_the_kept_duplicate_does_not_depend_on_pattern_order_or_repeats():
    data = os.path.join(HOSTILE, "data")
    files = sorted(os.path.relpath(os.path.join(b, f), data)
                   for b, _, fs in os.walk(data) for f in fs)
    patterns = [os.path.join(data, f) for f in reversed(files)]
    _read(patterns + [os.path.join(data, "**")])  # every file matched twice: read once


def test_hostile_fixture_is_what_the_generator_writes(tmp_path):
    """The committed bytes are the generator's (so the fixture documents itself)."""
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "hostile"
    shutil.copytree(HOSTILE, copy, ignore=shutil.ignore_patterns("data", "__pycache__"))
    subprocess.run([sys.executable, str(copy / "make_hostile.py")], check=True)
    for base, _, fs in os.walk(copy / "data"):
        for f in fs:
            rel = os.path.relpath(os.path.join(base, f), copy)
            if f.endswith(".parquet"):
                continue  # writer metadata (version strings) may differ
            with open(os.path.join(base, f), "rb") as a, open(os.path.join(HOSTILE, rel),
                                                              "rb") as b:
                assert a.read() == b.read(), rel
    assert json.loads((copy / "expected.json").read_text()) == _expected()
    counts = Counter(tuple(d[:2]) for d in _expected()["dead"])
    assert counts[("read", "empty_file")] == 2 and counts[("validate", "duplicate_id")] == 4


def test_compressed_and_hostile_files_read_from_gcs():
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from tests.gcs import storage_emulator
    from transforms.read import ReadLabeledSentences

    exp = _expected()
    with storage_emulator("xlner-hostile") as client:
        bucket = client.bucket("xlner-hostile")
        for rel in ("compressed/a.conll.gz", "compressed/b.jsonl.bz2",
                    "compressed/truncated.conll.gz", "swa/test.txt"):
            bucket.blob(f"data/{rel}").upload_from_filename(os.path.join(HOSTILE, "data", rel))
        with TestPipeline(runner="FnApiRunner") as p:
            read = p | ReadLabeledSentences(["gs://xlner-hostile/data/**"])
            ok = read.ok | "Ok" >> beam.Map(lambda v: v.sentence.id)
            dead = read.dead | "Dead" >> beam.Map(lambda d: (d.stage, d.reason))
            assert_that(ok, equal_to(
                [i.replace("data/swa", "swa") for i in exp["ok"]
                 if i.startswith(("compressed/", "data/swa/")) or i == "bz"]), label="ok")
            assert_that(dead, equal_to(
                [("read", "invalid_token")] * 2 + [("read", "invalid_utf8"),
                 ("validate", "token_too_long"), ("read", "malformed_line"),
                 ("read", "unreadable_file")]), label="dead")
