"""Evaluation onto differently tokenised gold: spans over the segmenter's words carried onto
the gold tokens through character offsets (xlner/text/retokenize.py, pipeline/evaluation.py),
and the evaluation job's segmenter pre-flight."""

import glob
import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from xlner.text import segmenters
from xlner.text.bio import Span
from xlner.text.retokenize import (gold_words, join_tokens, locate, spans_onto_tokens,
                                   tags_onto_tokens)

FIXTURES = Path(__file__).parent / "fixtures"
ENTITY_CASES = json.loads((FIXTURES / "nospace_entities.json").read_text("utf-8"))
_MODULES = {"khm_Khmr": "khmernltk", "jpn_Jpan": "sudachipy", "zho_Hans": "jieba"}


def test_per_character_chinese_gold_gets_the_expected_tags():
    pytest.importorskip("jieba")
    # PAN-X style gold: one token per character
    tokens = list("张伟昨天去了北京。")
    gold = ["B-PER", "I-PER", "O", "O", "O", "O", "B-LOC", "I-LOC", "O"]
    words, word_offsets, token_offsets = gold_words(tokens, "zho_Hans")
    assert words == ["张", "伟", "昨天", "去", "了", "北京", "。"]
    # a projection onto the words: 张伟 as one PER (two words), 北京 as LOC
    word_tags = ["B-PER", "I-PER", "O", "O", "O", "B-LOC", "O"]
    assert list(tags_onto_tokens(word_tags, word_offsets, token_offsets)) == gold
    # a span on 昨天 covers both of its characters
    assert list(tags_onto_tokens(["O", "O", "B-LOC", "O", "O", "O", "O"], word_offsets,
                                 token_offsets)) == ["O", "O", "B-LOC", "I-LOC"] + ["O"] * 5


@pytest.mark.parametrize("case", ENTITY_CASES, ids=lambda c: f"{c['lang']}:{c['text'][:8]}")
def test_entities_projected_on_words_land_on_per_character_gold(case):
    """Each fixture sentence as per-character gold: the entities projected onto the
    segmenter's words (the words holding each entity) give exactly the gold tags."""
    pytest.importorskip(_MODULES[case["lang"]])
    from xlner.text.words import split_words

    text = case["text"]
    tokens = split_words(text)[0]  # one grapheme per token, as PAN-X
    token_offsets = locate(text, tokens)
    assert join_tokens(tokens) == (text, token_offsets)
    gold, pos = ["O"] * len(tokens), 0
    words, word_offsets, _ = gold_words(tokens, case["lang"])
    word_tags = ["O"] * len(words)
    for name, label in case["entities"]:
        start = text.index(name, pos)
        end = pos = start + len(name)
        inside = [i for i, (a, b) in enumerate(token_offsets) if a >= start and b <= end]
        gold[inside[0]] = f"B-{label}"
        for i in inside[1:]:
            gold[i] = f"I-{label}"
        held = [i for i, (a, b) in enumerate(word_offsets) if a < end and b > start]
        word_tags[held[0]] = f"B-{label}"
        for i in held[1:]:
            word_tags[i] = f"I-{label}"
    assert list(tags_onto_tokens(word_tags, word_offsets, token_offsets)) == gold


def test_partial_overlap_takes_a_gold_token_only_when_most_of_it_is_inside():
    # gold tokens longer than the segmenter's words: 北京市 / 是 / 首都 / 。
    token_offsets = locate("北京市是首都。", ["北京市", "是", "首都", "。"])
    word_offsets = locate("北京市是首都。", ["北京", "市", "是", "首", "都", "。"])
    # 北京 holds 2 of 北京市's 3 characters: the span takes the whole token
    assert spans_onto_tokens([Span(0, 1, "LOC")], word_offsets, token_offsets) == (
        Span(0, 1, "LOC"),)
    # 市 holds 1 of 3: the span keeps no token and is dropped
    assert spans_onto_tokens([Span(1, 2, "LOC")], word_offsets, token_offsets) == ()
    # 首 holds exactly half of 首都: not more than half, so not taken
    assert spans_onto_tokens([Span(3, 4, "LOC")], word_offsets, token_offsets) == ()
    assert spans_onto_tokens([Span(3, 5, "LOC")], word_offsets, token_offsets) == (
        Span(2, 3, "LOC"),)


def test_adjacent_spans_stay_apart():
    token_offsets = locate("ペテロヨハネ", list("ペテロヨハネ"))
    word_offsets = locate("ペテロヨハネ", ["ペテロ", "ヨハネ"])
    assert tags_onto_tokens(["B-PER", "B-PER"], word_offsets, token_offsets) == (
        "B-PER", "I-PER", "I-PER", "B-PER", "I-PER", "I-PER")


def test_join_tokens_spaces_only_between_spaced_scripts():
    text, offsets = join_tokens(["我", "用", "iPhone", "X", "拍", "照", "2019", "年"])
    assert text == "我用iPhone X拍照2019年"
    assert [text[a:b] for a, b in offsets] == ["我", "用", "iPhone", "X", "拍", "照", "2019",
                                               "年"]
    assert join_tokens(["Jesus", "wept", "."]) == ("Jesus wept .", [(0, 5), (6, 10),
                                                                    (11, 12)])


def test_gold_tokens_kept_without_a_segmenter_or_when_they_are_the_words():
    assert gold_words(["Jesus", "ging", "nach", "Galiläa"], "deu_Latn") is None
    pytest.importorskip("jieba")
    assert gold_words(["北京", "很大", "。"], "zho_Hans") is None  # the same words


def test_projection_on_words_scored_on_gold_tokens(monkeypatch):
    """The graph's two steps: english_pair projects onto the segmenter's words, gold_tags
    carries the projected tags back onto the gold tokens (untouched when they are the
    words)."""
    pytest.importorskip("jieba")
    from pipeline.evaluation import english_pair, gold_tags
    from xlner.formats.records import LabeledSentence, Projection, Translation

    gold = LabeledSentence("s1", tuple("张伟昨天去了北京。"),
                           ("B-PER", "I-PER", "O", "O", "O", "O", "B-LOC", "I-LOC", "O"),
                           "zho_Hans")
    en = Translation(gold, "eng_Latn", "Zhang Wei went to Beijing yesterday .", "given", "",
                     words=("Zhang", "Wei", "went", "to", "Beijing", "yesterday", "."))
    pair = english_pair(en, [Span(0, 2, "PER"), Span(4, 5, "LOC")])
    assert pair.tgt_words == ("张", "伟", "昨天", "去", "了", "北京", "。")
    projected = Projection(pair, "m", ("B-PER", "I-PER", "O", "O", "O", "B-LOC", "O"), ())
    assert gold_tags(projected) == gold.tags
    latin = LabeledSentence("s2", ("Jesus", "wept"), ("B-PER", "O"), "deu_Latn")
    pair = english_pair(Translation(latin, "eng_Latn", "Jesus wept", "given", "",
                                    words=("Jesus", "wept")), [Span(0, 1, "PER")])
    assert pair.tgt_words == latin.tokens
    assert gold_tags(Projection(pair, "m", ("B-PER", "O"), ())) == ("B-PER", "O")


def test_evaluation_job_scores_word_projections_on_per_character_gold(
        tmp_path, tiny_nllb, tiny_bert):
    """End to end on PAN-X-style per-character Chinese gold: model transfer with a tagger
    that tags every word B-LOC puts one LOC on each of jieba's words, and the predictions
    written are those entities on the gold characters (a 2-character word is B-LOC I-LOC;
    tagging the characters directly would give B-LOC on every character)."""
    pytest.importorskip("jieba")
    from pipeline.evaluate import run
    from tests.tiny_models import build_tiny_tagger

    tagger = build_tiny_tagger(tmp_path / "tagger", favourite="B-LOC")
    out = tmp_path / "out"
    run([f"--output={out}", "--runner=FnApiRunner", "--dataset=panx",
         f"--data_dir={FIXTURES}/panx", "--langs=zh", "--methods=MT",
         f"--translation_model={tiny_nllb}", f"--alignment_model={tiny_bert}",
         "--align_layers=2", f"--ner_model={tagger}", "--max_new_tokens=8"])
    preds = {"".join(r["tokens"]): r["pred"]
             for f in glob.glob(os.path.join(out, "predictions", "*.parquet"))
             for r in pq.read_table(f).to_pylist()}
    B, I = "B-LOC", "I-LOC"
    assert preds == {"张伟昨天去了北京。": [B, B, B, I, B, B, B, I, B],  # 张 伟 昨天 去 了 北京 。
                     "上海很大。": [B, I, B, I, B]}  # 上海 很大 。
    metrics = json.loads((out / "metrics.json").read_text("utf-8"))
    # scored on the gold characters: of the 3 gold entities, 北京 and 上海 are found
    span = metrics["languages"]["zh"]["methods"]["MT"]["span"]["overall"]
    assert span["number"] == 3 and round(span["recall"], 4) == round(2 / 3, 4)


def test_evaluation_stops_before_any_work_when_the_gold_needs_a_missing_segmenter(
        tmp_path, monkeypatch, capsys):
    from pipeline.evaluate import main

    real = segmenters.importlib.util.find_spec
    monkeypatch.setattr(segmenters.importlib.util, "find_spec",
                        lambda name: None if name == "jieba" else real(name))
    out = tmp_path / "out"
    status = main([f"--output={out}", "--runner=FnApiRunner", "--dataset=panx",
                   f"--data_dir={FIXTURES}/panx", "--langs=sw,zh", "--methods=MT"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip().splitlines() == [
        "xlner: error: zho_Hans needs the jieba word segmenter: pip install "
        "'xlner-beam[chinese]'"]
    assert not out.exists()  # nothing was read, loaded or written
    # several missing: still one line, naming the extra with all of them
    monkeypatch.setattr(segmenters.importlib.util, "find_spec", lambda name: None)
    assert main([f"--output={out}", "--dataset=panx", f"--data_dir={FIXTURES}/panx",
                 "--langs=ja,th,sw", "--methods=MT"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["xlner: error: jpn_Jpan needs the sudachipy word segmenter: pip install "
                   "'xlner-beam[japanese]' (1 more language(s) need a word segmenter: pip "
                   "install 'xlner-beam[segmenters]' installs all)"]
