import json

import pyarrow as pa
import pytest

from xlner.formats.inputs import InvalidRecord, conll_rows, hf_label_names, jsonl_rows, validate


def test_conll_sentences_docstart_and_columns():
    lines = ["-DOCSTART- -X- -X- O", "", "EU NNP B-NP B-ORG", "rejects VBZ B-VP O", "",
             "", "Peter NNP B-NP B-PER", "Blackburn NNP I-NP I-PER"]
    rows = list(conll_rows(lines, "en/train.txt"))
    assert [r["id"] for r in rows] == ["en/train.txt:0", "en/train.txt:1"]
    assert rows[0]["tokens"] == ["EU", "rejects"] and rows[0]["ner_tags"] == ["B-ORG", "O"]
    assert rows[1]["ner_tags"] == ["B-PER", "I-PER"]


def test_conll_malformed_line_rejects_only_its_sentence():
    rows = list(conll_rows(["a O", "broken", "", "b B-PER"], "x.conll"))
    assert isinstance(rows[0], InvalidRecord) and rows[0].reason == "malformed_line"
    assert "line 2" in rows[0].detail
    assert rows[1]["tokens"] == ["b"]


def test_panx_lines_strip_language_prefix_and_keep_spaces():
    rows = list(conll_rows(["sw:Dar es Salaam\tB-LOC", "sw:ni\tO"], "sw/test", lang_prefix=True))
    assert rows[0]["tokens"] == ["Dar es Salaam", "ni"]


def test_jsonl_bad_lines_become_invalid_records():
    lines = ['{"tokens": ["a"], "ner_tags": ["O"]}', "{oops", "[1, 2]", ""]
    rows = list(jsonl_rows(lines, "d.jsonl"))
    assert rows[0]["id"] == "d.jsonl:1"
    assert [r.reason for r in rows[1:]] == ["malformed_line", "malformed_line"]


@pytest.mark.parametrize("row, reason", [
    ({"id": "1", "tokens": [], "ner_tags": []}, "empty_sentence"),
    ({"id": "1", "tokens": ["a", "b"], "ner_tags": ["O"]}, "length_mismatch"),
    ({"id": "1", "tokens": ["a"], "ner_tags": ["PER"]}, "invalid_tag"),
    ({"id": "1", "tokens": ["a", " "], "ner_tags": ["O", "O"]}, "invalid_token"),
    ({"id": "1", "tokens": ["a"] * 300, "ner_tags": ["O"] * 300}, "sentence_too_long"),
    ({"id": "1", "tokens": ["a"], "ner_tags": [7]}, "invalid_tag"),
    ({"id": "1", "tokens": "a b", "ner_tags": ["O"]}, "invalid_record"),
    ({"id": "1", "tokens": ["a"]}, "invalid_record"),
])
def test_validation_reasons(row, reason):
    with pytest.raises(InvalidRecord) as e:
        validate(row, default_lang="eng_Latn")
    assert e.value.reason == reason and e.value.record_id == "1"
    json.dumps(e.value.record)  # the dead-letter view is JSON-safe


def test_validation_repairs_and_keeps_given_translation_and_extras():
    row = {"id": "MAT 1:1", "tokens": ["Jesus", "Christ"], "ner_tags": ["I-ENT", "I-ENT"],
           "translation_tokens": ["Ἰησοῦ", "χριστοῦ"], "tgt_lang": "ell_Grek",
           "gold_translation_tags": ["B-ENT", "I-ENT"], "src_lang": "eng_Latn"}
    v = validate(row, default_lang="eng_Latn")
    assert v.repairs == 1 and v.sentence.tags == ("B-ENT", "I-ENT")
    given = v.sentence.given_for("ell_Grek")
    assert given.tokens == ("Ἰησοῦ", "χριστοῦ") and v.sentence.given_for("por_Latn") is None
    assert v.sentence.extra == {"gold_translation_tags": ["B-ENT", "I-ENT"]}


def test_integer_tags_with_label_names():
    v = validate({"id": "x", "tokens": ["Lagos"], "ner_tags": [5]}, default_lang="yor_Latn",
                 label_names=["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"])
    assert v.sentence.tags == ("B-LOC",)


def test_hugging_face_parquet_metadata_label_names():
    import datasets

    feats = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                               "ner_tags": datasets.Sequence(datasets.ClassLabel(
                                   names=["O", "B-PER", "I-PER"]))})
    ds = datasets.Dataset.from_dict({"tokens": [["a"]], "ner_tags": [[1]]}, features=feats)
    meta = ds.data.table.schema.metadata
    assert hf_label_names(meta) == ["O", "B-PER", "I-PER"]
    assert hf_label_names(pa.schema([]).metadata) is None
