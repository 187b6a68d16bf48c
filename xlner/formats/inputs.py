"""Input formats and validation: raw bytes/lines/rows in, LabeledSentence or a reason out.

Parsers never raise on bad data: a record that cannot be read becomes an
:class:`InvalidRecord` carrying a short reason code, which the job routes to the dead-letter
output, and parsing goes on with the next record. Formats: CoNLL-style columns (token
first, tag last, blank line between sentences, ``-DOCSTART-`` skipped), PAN-X
(``lang:token<TAB>tag``), JSONL and Parquet rows with ``tokens`` and ``ner_tags`` (BIO
strings, or integers with a label list).

Hostile-input rules (issue 9), each with its reason code:

* bytes are decoded as UTF-8 with ``surrogateescape``: a record holding invalid UTF-8 is
  rejected (``invalid_utf8``, the detail gives line and byte offset), never "repaired" into
  U+FFFD; a byte-order mark at the start of a line (the file's first, or one left by
  ``cat``-ing files) is dropped;
* lines end at ``\\n`` only; a line longer than ``max_line_bytes`` is ``line_too_long``;
* CoNLL columns: a line with a tab is split on tabs (tokens may hold spaces, as in PAN-X),
  otherwise on runs of ASCII spaces. Other Unicode spaces (NBSP, U+3000, U+2028) stay
  inside the token. A line with a control character (C0/C1, form feed, a stray ``\\r``)
  rejects its sentence (``invalid_token``): such a character is invisible, tokenizers
  split on it, and keeping or dropping it would change word boundaries under the tags.
  A line of whitespace only (Unicode) separates sentences;
* one JSON line the parser cannot take (bad syntax, 100k-deep arrays, 5,000-digit
  integers, NaN/Infinity, repeated keys) is one ``malformed_line``;
* lone surrogates anywhere in a row (``"\\ud800"`` in JSON: tokens, ids, translations,
  pass-through fields) are ``invalid_text`` (Arrow cannot write them); pass-through values
  nested deeper than MAX_NESTING are ``invalid_record``;
* tokens longer than ``max_token_chars`` are ``token_too_long`` (they reach the models);
* a null or empty ``id`` gets the default id ``<source>:<ordinal>``.

Rows and target languages (``check_target``): a row's ``tgt_lang`` names the language the
row is meant for. A row whose ``tgt_lang`` is not one of the job's target languages is
``tgt_lang_not_a_target`` (the default target must never turn Greek rows into Portuguese
data), and a given translation without ``tgt_lang`` is usable only when the job has exactly
one target language (``translation_language_missing`` otherwise): it would be used, as it
is, for every target.

Files: local inputs are opened by :func:`open_regular`, which refuses FIFOs, devices,
sockets and directories without ever blocking on them.
"""

from __future__ import annotations

import bz2
import fcntl
import io
import json
import lzma
import math
import os
import re
import stat
import zlib
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from xlner.text.bio import InvalidTags, repair_iob2
from xlner.formats.records import GivenTranslation, LabeledSentence

# Row fields the job interprets; everything else is carried along in ``extra``.
KNOWN_FIELDS = ("id", "tokens", "ner_tags", "lang", "src_lang", "tgt_lang", "translation",
                "translation_tokens")
DEFAULT_MAX_WORDS = 256
# The longest real words are ~40-60 characters (the bible-dev data: 18; German and Finnish
# compounds: 60-80); URLs and e-mail addresses in web text reach ~100-150. 200 keeps all of
# them and stops the 10,000-character tokens that slow translation 12x.
DEFAULT_MAX_TOKEN_CHARS = 200
# A line longer than this cannot be a sentence (256 words of 200 characters are ~200 kB
# even as 4-byte UTF-8); reading it whole would only cost memory.
DEFAULT_MAX_LINE_BYTES = 16 << 20
MAX_NESTING = 32  # pass-through (extra) values: deeper ones break JSON/Arrow writers
_PREVIEW = 2000  # characters of a bad line or value kept in its dead letter

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc
_CONTROL_NOT_TAB = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_BOM = "\ufeff"


class InvalidRecord(ValueError):
    """A record that cannot be used; ``reason`` is a short stable code for summaries.

    Every string it carries is made writable (lone surrogates escaped), so the dead-letter
    writer cannot fail on the very record it reports.
    """

    def __init__(self, reason: str, detail: str, record_id: Optional[str] = None,
                 record: Any = None, lang: Optional[str] = None):
        detail = clean_text(detail)
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.record_id = record_id
        self.record = record
        self.lang = None if lang is None else clean_text(lang)  # the language it concerns

    def __setattr__(self, name, value):
        if name == "record_id" and isinstance(value, str):
            value = clean_text(value)
        super().__setattr__(name, value)


@dataclass(frozen=True)
class Validated:
    sentence: LabeledSentence
    repairs: int


def clean_text(s: str) -> str:
    """``s`` with lone surrogates written as ``\\udXXX`` (encodable, still visibly wrong)."""
    if not _SURROGATE.search(s):
        return s
    return s.encode("utf-8", "backslashreplace").decode("utf-8")


# --------------------------------------------------------------------------- bytes -> lines
class OverlongLine(str):
    """A line longer than the limit: only its start is kept (for the dead letter)."""

    def __new__(cls, preview: str, size: int):
        obj = super().__new__(cls, preview)
        obj.size = size
        return obj


class _Plain(io.RawIOBase):
    """Any object with ``read(n)`` (Beam's file handles) as a raw stream."""

    def __init__(self, f):
        self._f = f

    def readable(self):
        return True

    def readinto(self, b):
        data = self._f.read(len(b))
        b[:len(data)] = data
        return len(data)


class _Decompressing(io.RawIOBase):
    """A compressed stream decompressed on the fly, concatenated members included.

    Unlike Beam's CompressedFile (which returns a truncated gzip's first half and a
    truncated bzip2 as empty, with no error), a stream that ends before its end-of-stream
    marker raises EOFError.
    """

    _CHUNK = 1 << 16

    def __init__(self, f, factory: Callable[[], Any], name: str):
        self._f = f
        self._factory = factory
        self._d = factory()
        self._name = name
        self._fed = False
        self._pending = memoryview(b"")
        self._done = False

    def readable(self):
        return True

    def readinto(self, b):
        while not len(self._pending):
            if self._done:
                return 0
            self._fill()
        n = min(len(b), len(self._pending))
        b[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _fill(self):
        if self._d.eof:  # a member ended: another may follow
            chunk = self._d.unused_data or self._f.read(self._CHUNK)
            if not chunk:
                self._done = True
                return
            self._d = self._factory()
        else:
            chunk = self._f.read(self._CHUNK)
            if not chunk:
                if self._fed:
                    raise EOFError(f"{self._name}: the compressed data ends before its "
                                   "end-of-stream marker (truncated file)")
                self._done = True  # a zero-byte file: empty, reported as such
                return
        self._fed = True
        self._pending = memoryview(self._d.decompress(chunk))


def _zstd():
    import zstandard

    return zstandard.ZstdDecompressor(max_window_size=2 ** 31).decompressobj()


DECOMPRESSORS: dict[str, Callable[[], Any]] = {
    ".gz": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    ".bz2": bz2.BZ2Decompressor,
    ".xz": lzma.LZMADecompressor,
    ".lzma": lzma.LZMADecompressor,
    ".deflate": zlib.decompressobj,  # Beam's DEFLATE: zlib-wrapped
    ".zst": _zstd,
}


def compression_of(path: str) -> Optional[str]:
    """The compression suffix of ``path`` (``.gz``...), None when not compressed."""
    name = path.rstrip("/").lower()
    for suffix in DECOMPRESSORS:
        if name.endswith(suffix):
            return suffix
    return None


class NotRegularFile(OSError):
    """An input path that is not a regular file (FIFO, device, socket, directory)."""


def file_kind(mode: int) -> Optional[str]:
    """What a non-regular file is, in words; None for a regular file."""
    for test, kind in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def open_regular(path: str) -> BinaryIO:
    """A local input file opened for reading; anything but a regular file is refused.

    Opened with ``O_NONBLOCK`` and checked with ``fstat`` on the open descriptor, so a FIFO
    without a writer or a device (``/dev/zero`` never ends) fails at once, whatever was at
    the path when it was checked before.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        kind = file_kind(os.fstat(fd).st_mode)
        if kind:
            raise NotRegularFile(f"{path} is {kind}, not a regular file")
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def open_binary(f, path: str) -> io.BufferedReader:
    """A buffered byte stream of an opened (undecoded, possibly compressed) file."""
    suffix = compression_of(path)
    raw = _Plain(f) if suffix is None else _Decompressing(f, DECOMPRESSORS[suffix], path)
    return io.BufferedReader(raw, buffer_size=1 << 20)


def text_lines(stream: BinaryIO, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
               ) -> Iterator[str]:
    """Lines of a byte stream, split at ``\\n`` only, decoded with ``surrogateescape``.

    Invalid bytes become U+DC80..U+DCFF, which the parsers report as ``invalid_utf8``;
    a line over ``max_line_bytes`` is yielded as an :class:`OverlongLine` preview.
    """
    while True:
        line = stream.readline(max_line_bytes + 1)
        if not line:
            return
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            size = len(line)
            while True:  # skip the rest of it without holding it
                more = stream.readline(1 << 20)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield OverlongLine(line[:_PREVIEW].decode("utf-8", "replace"), size)
            continue
        yield line.decode("utf-8", "surrogateescape")


def _line_problem(line: str, lineno: int, allow_tab: bool) -> Optional[tuple[str, str]]:
    """(reason, detail) when a decoded line cannot be used as it is."""
    if isinstance(line, OverlongLine):
        return "line_too_long", f"line {lineno}: {line.size} bytes"
    m = _SURROGATE.search(line)
    if m:
        c = ord(m.group())
        if 0xDC80 <= c <= 0xDCFF:
            offset = len(line[:m.start()].encode("utf-8", "surrogateescape"))
            return "invalid_utf8", (f"line {lineno}, byte {offset} of the line: byte "
                                    f"0x{c - 0xDC00:02X} is not valid UTF-8")
        return "invalid_text", f"line {lineno}: lone surrogate U+{c:04X}"
    m = (_CONTROL_NOT_TAB if allow_tab else _CONTROL).search(line)
    if m:
        return "invalid_token", (f"line {lineno}, column {m.start() + 1}: control character "
                                 f"U+{ord(m.group()):04X}")
    return None


def _strip_line(raw: str) -> str:
    if isinstance(raw, OverlongLine):
        return raw
    line = raw[:-1] if raw.endswith("\n") else raw
    line = line[:-1] if line.endswith("\r") else line
    return line[1:] if line.startswith(_BOM) else line


def _columns(line: str) -> list[str]:
    """CoNLL columns: tab-separated when the line has a tab, else ASCII-space-separated."""
    s = line.strip(" \t")
    if "\t" in s:
        return [c.strip(" ") for c in s.split("\t")]
    return [c for c in s.split(" ") if c]


def _preview(line: str) -> str:
    return clean_text(line[:_PREVIEW])


# --------------------------------------------------------------------------- CoNLL / PAN-X
def conll_rows(lines: Iterable[str], source: str,
               lang_prefix: bool = False) -> Iterator[dict | InvalidRecord]:
    """Sentences of a CoNLL-style file as ``{"id", "tokens", "ner_tags"}`` rows.

    The token is the first column and the tag the last (CoNLL-2003 and MasakhaNER
    ``token tag``); see the module docstring for how columns are split. With
    ``lang_prefix`` the token column is PAN-X style ``lang:token``. The id is
    ``<source>:<n>`` with n the sentence's ordinal in the file, stable across runs.
    """
    block: list[tuple[int, str]] = []
    ordinal = 0

    def flush():
        nonlocal ordinal
        rid = f"{source}:{ordinal}"
        ordinal += 1
        record = {"source": source, "lines": [_preview(l) for _, l in block]}
        tokens, tags = [], []
        for lineno, line in block:
            problem = _line_problem(line, lineno, allow_tab=True)
            if problem:
                return InvalidRecord(*problem, rid, record)
            cols = _columns(line)
            if lang_prefix and len(cols) >= 2 and ":" in cols[0]:
                cols[0] = cols[0].split(":", 1)[1]
            if len(cols) < 2:
                return InvalidRecord("malformed_line", f"line {lineno}: expected token and tag "
                                     f"columns, got {_preview(line)!r}", rid, record)
            tokens.append(cols[0])
            tags.append(cols[-1].strip())
        return {"id": rid, "tokens": tokens, "ner_tags": tags}

    for lineno, raw in enumerate(lines, start=1):
        line = _strip_line(raw)
        if not isinstance(line, OverlongLine):
            if not line.strip():
                if block:
                    yield flush()
                    block = []
                continue
            cols = _columns(line)
            if cols and cols[0] == "-DOCSTART-":
                if block:
                    yield flush()
                    block = []
                continue
        block.append((lineno, line))
    if block:
        yield flush()


# --------------------------------------------------------------------------- JSONL
def _reject_constant(name: str):
    raise ValueError(f"{name} is not standard JSON")


def _unique_keys(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"repeated key {k!r}")
        out[k] = v
    return out


def jsonl_rows(lines: Iterable[str], source: str) -> Iterator[dict | InvalidRecord]:
    """Rows of a JSON-lines file; a line's default id is ``<source>:<line number>``."""
    for lineno, raw in enumerate(lines, start=1):
        line = _strip_line(raw)
        if not isinstance(line, OverlongLine) and not line.strip():
            continue
        rid = f"{source}:{lineno}"
        bad = {"source": source, "line": _preview(line)}
        problem = _line_problem(line, lineno, allow_tab=True)
        if problem and problem[0] != "invalid_token":  # JSON itself rejects raw controls
            yield InvalidRecord(*problem, rid, bad)
            continue
        try:
            row = json.loads(line, parse_constant=_reject_constant,
                             object_pairs_hook=_unique_keys)
        except (ValueError, RecursionError) as e:
            msg = e.msg if isinstance(e, json.JSONDecodeError) else f"{type(e).__name__}: {e}"
            yield InvalidRecord("malformed_line", f"line {lineno}: invalid JSON ({msg[:300]})",
                                rid, bad)
            continue
        if not isinstance(row, dict):
            yield InvalidRecord("malformed_line", f"line {lineno}: not a JSON object", rid, bad)
            continue
        if is_blank_id(row.get("id")):
            row["id"] = rid
        yield row


# --------------------------------------------------------------------------- ids
def is_blank_id(value: Any) -> bool:
    """Null, empty or whitespace-only ids: the record gets its default id."""
    return value is None or (isinstance(value, str) and not value.strip())


def record_id(value: Any) -> str:
    """The id of a row as a string: strings as they are, integers in decimal."""
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRecord("invalid_utf8", "the id is not valid UTF-8") from None
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return str(value)
        except ValueError:  # beyond Python's integer-to-string digit limit
            raise InvalidRecord("invalid_record", "the id is an integer too long to "
                                "write") from None
    raise InvalidRecord("invalid_record", f"id must be a non-empty string or an integer, "
                        f"not {type(value).__name__}")


def source_names(paths: Iterable[str]) -> dict[str, str]:
    """The default-id prefix of every input file: its shortest unique path suffix.

    At least the parent folder and the name (``swa/test.txt``, the form data sets with one
    folder per language need), longer when two matched files share it
    (``a/data/x.conll``, ``b/data/x.conll``), so two files never give the same default ids.
    """
    parts = {p: p.split("/") for p in set(paths)}
    out = {}
    for p, comps in parts.items():
        k = min(2, len(comps))
        while k < len(comps) and any(q != p and qc[-k:] == comps[-k:]
                                     for q, qc in parts.items()):
            k += 1
        out[p] = "/".join(comps[-k:])  # k == len(comps): the whole path, unique
    return out


# --------------------------------------------------------------------------- validation
def _as_list(value: Any, name: str, rid: str) -> list:
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy arrays from Parquet readers
    if not isinstance(value, (list, tuple)):
        raise InvalidRecord("invalid_record", f"{name} must be a list", rid)
    return list(value)


def _values_ok(row: Mapping[str, Any]) -> bool:
    """Fast pass: no lone surrogate and no over-deep value (iterative, no paths built)."""
    stack: list[tuple[Any, int]] = [(row, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                return False
        elif isinstance(value, (list, tuple, Mapping)):
            if depth >= MAX_NESTING:
                return False
            if isinstance(value, Mapping):
                stack.append((tuple(value.keys()), depth))
                value = tuple(value.values())
            try:  # a list of strings (tokens, tags): one check
                joined = "".join(value)
            except TypeError:
                stack.extend((v, depth + 1) for v in value)
            else:
                if not joined.isascii() and _SURROGATE.search(joined):
                    return False
    return True


def _check_values(row: Mapping[str, Any], rid: str) -> None:
    """Reject lone surrogates anywhere in the row, and over-deep pass-through values.

    Iterative, so a deep value cannot exhaust the stack here; the slow pass that names
    the place runs only for a bad row.
    """
    if _values_ok(row):
        return
    stack: list[tuple[Any, str, int]] = [(row, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            m = _SURROGATE.search(value)
            if m:
                raise InvalidRecord("invalid_text", f"{where} holds a lone "
                                    f"surrogate U+{ord(m.group()):04X} (not Unicode text)",
                                    rid)
            continue
        if isinstance(value, (list, tuple, Mapping)) and depth >= MAX_NESTING:
            raise InvalidRecord("invalid_record", f"{where} is nested more than "
                                f"{MAX_NESTING - 1} levels deep", rid)
        if isinstance(value, Mapping):
            for k, v in value.items():
                sub = f"{where}.{k}" if where else str(k)
                stack.append((k, f"the field name {sub}", depth + 1))
                stack.append((v, sub, depth + 1))
        elif isinstance(value, (list, tuple)):
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value))


def _check_words(words: list, what: str, rid: str, max_chars: int) -> None:
    try:  # fast pass for the common case: all strings, none empty, long or odd
        if (words and not _CONTROL.search("".join(words))
                and max(map(len, words)) <= max_chars and all(map(str.strip, words))):
            return
    except TypeError:
        pass
    for i, tok in enumerate(words):
        if not isinstance(tok, str) or not tok.strip():
            raise InvalidRecord("invalid_token", f"{what} {i} is empty or not a string", rid)
        m = _CONTROL.search(tok)
        if m:
            raise InvalidRecord("invalid_token", f"{what} {i} holds control character "
                                f"U+{ord(m.group()):04X}", rid)
        if len(tok) > max_chars:
            raise InvalidRecord("token_too_long", f"{what} {i} has {len(tok)} characters > "
                                f"--max_token_chars={max_chars}", rid)


def _decode_tags(raw_tags: list, label_names: Optional[Sequence[str]], rid: str) -> list[str]:
    if all(isinstance(t, str) for t in raw_tags):
        return raw_tags
    if all(isinstance(t, int) and not isinstance(t, bool) for t in raw_tags):
        if not label_names:
            raise InvalidRecord("invalid_tag", "integer ner_tags need a label list "
                                "(--label_list, or Hugging Face metadata in the Parquet file)",
                                rid)
        out = []
        for t in raw_tags:
            if not 0 <= t < len(label_names):
                raise InvalidRecord("invalid_tag", f"tag id {t if abs(t) < 10**30 else '(huge)'}"
                                    f" outside the label list of {len(label_names)} labels",
                                    rid)
            out.append(label_names[t])
        return out
    raise InvalidRecord("invalid_tag", "ner_tags mix types or are neither strings nor ints", rid)


NOT_A_TARGET = "tgt_lang_not_a_target"
LANGUAGE_MISSING = "translation_language_missing"


def row_target(row: Mapping[str, Any]) -> Optional[str]:
    """The language a row says it is meant for (its ``tgt_lang``); None when it names none."""
    tgt = row.get("tgt_lang")
    if tgt is None or tgt == "":
        return None
    if not isinstance(tgt, str):
        raise InvalidRecord("invalid_record", f"tgt_lang must be a string, not "
                            f"{type(tgt).__name__}")
    return tgt


def has_translation(row: Mapping[str, Any]) -> bool:
    return row.get("translation") is not None or row.get("translation_tokens") is not None


def check_target(tgt: Optional[str], translated: bool, targets: Sequence[str]) -> None:
    """Refuse a row whose ``tgt_lang`` (``tgt``) disagrees with the job's target languages,
    or whose given translation (``translated``) names no language when there are several."""
    if tgt is not None and tgt not in targets:
        raise InvalidRecord(NOT_A_TARGET, f"the row is meant for {tgt} (its tgt_lang), which "
                            f"is not one of --target_langs={','.join(targets)}", lang=tgt)
    if tgt is None and translated and len(targets) != 1:
        raise InvalidRecord(LANGUAGE_MISSING, "the row carries a translation without "
                            "tgt_lang, and --target_langs names "
                            f"{len(targets)} languages ({','.join(targets)})")


def validate(row: Mapping[str, Any], *, default_lang: str,
             label_names: Optional[Sequence[str]] = None,
             max_words: int = DEFAULT_MAX_WORDS, require_tags: bool = True,
             max_token_chars: int = DEFAULT_MAX_TOKEN_CHARS,
             target_langs: Optional[Sequence[str]] = None) -> Validated:
    """Turn a parsed row into a LabeledSentence with IOB2 tags, or raise InvalidRecord.

    With ``require_tags=False`` (the source will be labelled by NER) rows need only
    ``tokens``; their tags start as all ``O``. With ``target_langs`` the row's ``tgt_lang``
    must agree with them (``check_target``). Raises nothing but InvalidRecord, whatever
    the row holds.
    """
    rid = None
    try:
        if "id" not in row or is_blank_id(row["id"]):
            raise InvalidRecord("invalid_record", "row has no id")
        rid = record_id(row["id"])
        _check_values(row, rid)
        needed = ("tokens", "ner_tags") if require_tags else ("tokens",)
        missing = [k for k in needed if k not in row]
        if missing:
            raise InvalidRecord("invalid_record", f"missing field(s) {missing}", rid)
        tokens = _as_list(row["tokens"], "tokens", rid)
        raw_tags = (_as_list(row["ner_tags"], "ner_tags", rid) if require_tags
                    else ["O"] * len(tokens))
        if not tokens:
            raise InvalidRecord("empty_sentence", "the sentence has no tokens", rid)
        if len(tokens) != len(raw_tags):
            raise InvalidRecord("length_mismatch",
                                f"{len(tokens)} tokens but {len(raw_tags)} tags", rid)
        if len(tokens) > max_words:
            raise InvalidRecord("sentence_too_long",
                                f"{len(tokens)} words > --max_sentence_words={max_words}", rid)
        _check_words(tokens, "token", rid, max_token_chars)
        tags = _decode_tags(raw_tags, label_names, rid)
        try:
            repaired = repair_iob2(tags)
        except InvalidTags as e:
            raise InvalidRecord(e.reason, e.detail, rid) from None
        given = _given_translations(row, rid, max_token_chars)
        if target_langs is not None:
            check_target(row_target(row), bool(given), target_langs)
        lang = str(row.get("src_lang") or row.get("lang") or default_lang)
    except InvalidRecord as e:
        e.record_id = rid
        e.record = safe_view(row)
        raise
    extra = {k: v for k, v in row.items() if k not in KNOWN_FIELDS}
    sentence = LabeledSentence(id=rid, tokens=tuple(tokens), tags=repaired.tags, lang=lang,
                               given=given, extra=extra)
    return Validated(sentence, repaired.repairs)


def _given_translations(row: Mapping[str, Any], rid: str,
                        max_token_chars: int) -> tuple[GivenTranslation, ...]:
    text = row.get("translation")
    tokens = row.get("translation_tokens")
    if text is None and tokens is None:
        return ()
    if text is not None and not isinstance(text, str):
        raise InvalidRecord("invalid_record", "translation must be a string", rid)
    if tokens is not None:
        tokens = _as_list(tokens, "translation_tokens", rid)
        if not tokens:
            raise InvalidRecord("invalid_record", "translation_tokens is empty", rid)
        _check_words(tokens, "translation token", rid, max_token_chars)
        tokens = tuple(tokens)
    return (GivenTranslation(lang=row_target(row), text=text, tokens=tokens),)


def safe_view(value: Any, depth: int = 0) -> Any:
    """A JSON-safe, writable view of a row for the dead-letter output.

    Lone surrogates are escaped, long strings clipped, nesting cut at MAX_NESTING, and
    values JSON cannot hold (NaN, huge integers, numpy/pyarrow scalars, bytes) described.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        s = clean_text(value[:_PREVIEW])
        return s if len(value) <= _PREVIEW else s + f"... ({len(value)} characters)"
    if isinstance(value, int):
        return value if value.bit_length() < 3000 else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= MAX_NESTING:
        return f"<nested deeper than {MAX_NESTING} levels>"
    if isinstance(value, Mapping):
        return {str(safe_view(k, depth + 1)): safe_view(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [safe_view(v, depth + 1) for v in value]
    if isinstance(value, bytes):
        return clean_text(value[:_PREVIEW].decode("utf-8", "backslashreplace"))
    if hasattr(value, "tolist"):
        return safe_view(value.tolist(), depth + 1)
    return clean_text(repr(value)[:_PREVIEW])


def hf_label_names(arrow_metadata: Optional[Mapping[bytes, bytes]],
                   column: str = "ner_tags") -> Optional[list[str]]:
    """Label names of a Hugging Face ``datasets`` Parquet export, from its schema metadata."""
    if not arrow_metadata or b"huggingface" not in arrow_metadata:
        return None
    try:
        info = json.loads(arrow_metadata[b"huggingface"])
        feature = info["info"]["features"][column]
    except (ValueError, KeyError, TypeError):
        return None
    # Sequence(ClassLabel) is stored as {"feature": {"names": [...]}} or a one-element list.
    inner = feature.get("feature") if isinstance(feature, dict) else None
    if inner is None and isinstance(feature, list) and feature:
        inner = feature[0]
    if isinstance(inner, dict) and isinstance(inner.get("names"), list):
        return [str(n) for n in inner["names"]]
    return None
