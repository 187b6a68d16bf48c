"""Input formats and validation: raw lines/rows in, LabeledSentence or a reason out.

Parsers never raise on bad data: a sentence that cannot be read becomes an
:class:`InvalidRecord` carrying a short reason code, which the job routes to the dead-letter
output. Formats: CoNLL-style columns (token first, tag last, blank line between sentences,
``-DOCSTART-`` skipped), PAN-X (``lang:token<TAB>tag``), JSONL and Parquet rows with
``tokens`` and ``ner_tags`` (BIO strings, or integers with a label list).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from xlner.bio import InvalidTags, repair_iob2
from xlner.records import GivenTranslation, LabeledSentence

# Row fields the job interprets; everything else is carried along in ``extra``.
KNOWN_FIELDS = ("id", "tokens", "ner_tags", "lang", "src_lang", "tgt_lang", "translation",
                "translation_tokens")
DEFAULT_MAX_WORDS = 256


class InvalidRecord(ValueError):
    """A record that cannot be used; ``reason`` is a short stable code for summaries."""

    def __init__(self, reason: str, detail: str, record_id: Optional[str] = None,
                 record: Any = None):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.record_id = record_id
        self.record = record


@dataclass(frozen=True)
class Validated:
    sentence: LabeledSentence
    repairs: int


# --------------------------------------------------------------------------- CoNLL / PAN-X
def conll_rows(lines: Iterable[str], source: str,
               lang_prefix: bool = False) -> Iterator[dict | InvalidRecord]:
    """Sentences of a CoNLL-style file as ``{"id", "tokens", "ner_tags"}`` rows.

    Columns are whitespace-separated; the token is the first column and the tag the last
    (CoNLL-2003 and MasakhaNER ``token tag``). With ``lang_prefix`` the token column is
    PAN-X style ``lang:token`` and tab-separated, so tokens may contain spaces. The id is
    ``<source>:<n>`` with n the sentence's ordinal in the file, stable across runs.
    """
    block: list[tuple[int, str]] = []
    ordinal = 0

    def flush():
        nonlocal ordinal
        rid = f"{source}:{ordinal}"
        ordinal += 1
        tokens, tags = [], []
        for lineno, line in block:
            if lang_prefix:
                cols = line.split("\t")
                if len(cols) >= 2 and ":" in cols[0]:
                    cols[0] = cols[0].split(":", 1)[1]
            else:
                cols = line.split()
            if len(cols) < 2:
                return InvalidRecord("malformed_line", f"line {lineno}: expected token and tag "
                                     f"columns, got {line!r}", rid,
                                     {"source": source, "lines": [l for _, l in block]})
            tokens.append(cols[0])
            tags.append(cols[-1].strip())
        return {"id": rid, "tokens": tokens, "ner_tags": tags}

    for lineno, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            if block:
                yield flush()
                block = []
            continue
        if line.split()[0] == "-DOCSTART-":
            if block:
                yield flush()
                block = []
            continue
        block.append((lineno, line))
    if block:
        yield flush()


# --------------------------------------------------------------------------- JSONL
def jsonl_rows(lines: Iterable[str], source: str) -> Iterator[dict | InvalidRecord]:
    """Rows of a JSON-lines file; a line's default id is ``<source>:<line number>``."""
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        rid = f"{source}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            yield InvalidRecord("malformed_line", f"line {lineno}: invalid JSON ({e.msg})", rid,
                                {"source": source, "line": line[:2000]})
            continue
        if not isinstance(row, dict):
            yield InvalidRecord("malformed_line", f"line {lineno}: not a JSON object", rid,
                                {"source": source, "line": line[:2000]})
            continue
        row.setdefault("id", rid)
        yield row


# --------------------------------------------------------------------------- validation
def _as_str_list(value: Any, name: str, rid: str) -> list:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InvalidRecord("invalid_record", f"{name} must be a list", rid)
    return list(value)


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
                raise InvalidRecord("invalid_tag", f"tag id {t} outside the label list of "
                                    f"{len(label_names)} labels", rid)
            out.append(label_names[t])
        return out
    raise InvalidRecord("invalid_tag", "ner_tags mix types or are neither strings nor ints", rid)


def validate(row: Mapping[str, Any], *, default_lang: str,
             label_names: Optional[Sequence[str]] = None,
             max_words: int = DEFAULT_MAX_WORDS, require_tags: bool = True) -> Validated:
    """Turn a parsed row into a LabeledSentence with IOB2 tags, or raise InvalidRecord.

    With ``require_tags=False`` (the source will be labelled by NER) rows need only
    ``tokens``; their tags start as all ``O``.
    """
    rid = str(row.get("id", ""))
    if not rid:
        raise InvalidRecord("invalid_record", "row has no id", None, _jsonable(row))
    try:
        needed = ("tokens", "ner_tags") if require_tags else ("tokens",)
        missing = [k for k in needed if k not in row]
        if missing:
            raise InvalidRecord("invalid_record", f"missing field(s) {missing}", rid)
        tokens = _as_str_list(row["tokens"], "tokens", rid)
        raw_tags = (_as_str_list(row["ner_tags"], "ner_tags", rid) if require_tags
                    else ["O"] * len(tokens))
        if not tokens:
            raise InvalidRecord("empty_sentence", "the sentence has no tokens", rid)
        if len(tokens) != len(raw_tags):
            raise InvalidRecord("length_mismatch",
                                f"{len(tokens)} tokens but {len(raw_tags)} tags", rid)
        if len(tokens) > max_words:
            raise InvalidRecord("sentence_too_long",
                                f"{len(tokens)} words > --max_sentence_words={max_words}", rid)
        for i, tok in enumerate(tokens):
            if not isinstance(tok, str) or not tok.strip():
                raise InvalidRecord("invalid_token", f"token {i} is empty or not a string", rid)
        tags = _decode_tags(raw_tags, label_names, rid)
        try:
            repaired = repair_iob2(tags)
        except InvalidTags as e:
            raise InvalidRecord(e.reason, e.detail, rid) from None
        given = _given_translations(row, rid)
        lang = str(row.get("src_lang") or row.get("lang") or default_lang)
    except InvalidRecord as e:
        e.record_id = rid
        e.record = _jsonable(row)
        raise
    extra = {k: v for k, v in row.items() if k not in KNOWN_FIELDS}
    sentence = LabeledSentence(id=rid, tokens=tuple(tokens), tags=repaired.tags, lang=lang,
                               given=given, extra=extra)
    return Validated(sentence, repaired.repairs)


def _given_translations(row: Mapping[str, Any], rid: str) -> tuple[GivenTranslation, ...]:
    text = row.get("translation")
    tokens = row.get("translation_tokens")
    if text is None and tokens is None:
        return ()
    if text is not None and not isinstance(text, str):
        raise InvalidRecord("invalid_record", "translation must be a string", rid)
    if tokens is not None:
        tokens = _as_str_list(tokens, "translation_tokens", rid)
        if not all(isinstance(t, str) and t.strip() for t in tokens):
            raise InvalidRecord("invalid_record", "translation_tokens must be non-empty "
                                "strings", rid)
        tokens = tuple(tokens)
    tgt = row.get("tgt_lang")
    return (GivenTranslation(lang=str(tgt) if tgt else None, text=text, tokens=tokens),)


def _jsonable(value: Any) -> Any:
    """A JSON-safe view of a row for the dead-letter output (numpy/pyarrow values too)."""
    try:
        return json.loads(json.dumps(value, default=_default))
    except (TypeError, ValueError):
        return repr(value)[:2000]


def _default(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    if isinstance(obj, bytes):
        return obj.decode("utf-8", "replace")
    return repr(obj)


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
