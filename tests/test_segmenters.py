import json
from pathlib import Path

import pytest

from xlner.text import segmenters
from xlner.text.segmenters import missing_segmenters, segment

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "nospace_sentences.json").read_text("utf-8"))


def _name_words(lang):
    case = FIXTURES[lang]
    text, name = case["text"], case["name"]
    start = text.index(name)
    end = start + len(name)
    words, offsets = segment(text, lang)
    for w, (a, b) in zip(words, offsets):
        assert text[a:b] == w
    inside = [i for i, (a, b) in enumerate(offsets) if a < end and b > start]
    return text, start, end, words, offsets, inside


def _check_name_is_contiguous_run(lang):
    text, start, end, words, offsets, inside = _name_words(lang)
    assert inside == list(range(inside[0], inside[-1] + 1))
    # A span projected onto those words lines up exactly with the name's characters.
    assert offsets[inside[0]][0] == start and offsets[inside[-1]][1] == end
    assert "".join(words[i] for i in inside) == FIXTURES[lang]["name"]
    return words


def test_burmese_syllables_and_name():
    words = _check_name_is_contiguous_run("mya_Mymr")
    assert words == ["ရန်", "ကုန်", "မြို့", "သို့", "သွား", "သည်", "။"]


def test_burmese_stacked_consonant_stays_in_syllable():
    # မန္တလေး (Mandalay): the stacked တ (after virama U+1039) does not start a syllable.
    words, _ = segment("မန္တလေး", "mya_Mymr")
    assert words == ["မန္တ", "လေး"]


def test_thai_name_is_one_word():
    pytest.importorskip("pythainlp")
    words = _check_name_is_contiguous_run("tha_Thai")
    assert "เชียงใหม่" in words


def test_segmentation_is_deterministic():
    for lang, case in FIXTURES.items():
        if segmenters.segmenter_for(lang).extra and missing_segmenters([lang]):
            continue
        assert segment(case["text"], lang) == segment(case["text"], lang)


def test_missing_segmenter_names_the_extra(monkeypatch):
    monkeypatch.setattr(segmenters.importlib.util, "find_spec", lambda name: None)
    lines = missing_segmenters(["tha_Thai", "mya_Mymr", "deu_Latn"])
    assert lines == ["tha_Thai needs the pythainlp word segmenter: pip install 'xlner-beam[thai]'"]


def test_unregistered_language_falls_back_to_split_words():
    from xlner.text.words import split_words

    assert segment("Jesus ging nach Galiläa.", "deu_Latn") == split_words("Jesus ging nach Galiläa.")


def test_preflight_stops_with_the_extra(monkeypatch):
    from pipeline.options import ConfigError
    from pipeline.preflight import check_segmenters

    monkeypatch.setattr(segmenters.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pip install 'xlner-beam\[thai\]'"):
        check_segmenters(["deu_Latn", "tha_Thai"])
    check_segmenters(["deu_Latn", "mya_Mymr"])  # nothing to install


def test_thai_segmenter_writes_nothing_in_home(tmp_path):
    pytest.importorskip("pythainlp")
    import subprocess
    import sys

    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("PYTHAINLP")}
    env["HOME"] = str(tmp_path)
    code = ("from xlner.text.segmenters import segment; "
            "print(segment('สมชายไปเชียงใหม่', 'tha_Thai')[0])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "['สม', 'ชาย', 'ไป', 'เชียงใหม่']"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("lang,module", [("lao_Laoo", "laonlp"), ("zho_Hans", "jieba")])
def test_name_is_contiguous_run(lang, module):
    pytest.importorskip(module)
    words = _check_name_is_contiguous_run(lang)
    assert FIXTURES[lang]["name"] in words


def test_chinese_is_quiet(capfd):
    pytest.importorskip("jieba")
    segment("张伟昨天去了北京。", "zho_Hans")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


ENTITY_CASES = json.loads((Path(__file__).parent / "fixtures" / "nospace_entities.json")
                          .read_text("utf-8"))
_MODULES = {"khm_Khmr": "khmernltk", "jpn_Jpan": "sudachipy", "zho_Hans": "jieba"}


def _entity_runs(case):
    """Per entity of the fixture: the indices of the words that hold its characters."""
    text = case["text"]
    words, offsets = segment(text, case["lang"])
    assert [text[a:b] for a, b in offsets] == words
    runs, pos = [], 0
    for name, _ in case["entities"]:
        start = text.index(name, pos)
        end = pos = start + len(name)
        runs.append([i for i, (a, b) in enumerate(offsets) if a < end and b > start])
    return words, offsets, runs


@pytest.mark.parametrize("case", ENTITY_CASES, ids=lambda c: f"{c['lang']}:{c['text'][:8]}")
def test_entity_words_as_a_reader_expects(case):
    pytest.importorskip(_MODULES[case["lang"]])
    words, offsets, runs = _entity_runs(case)
    if "words" in case:
        assert words == case["words"]
    for (name, _), run in zip(case["entities"], runs):
        # the entity is a contiguous run of whole words: a span projected onto exactly
        # those words covers the entity's characters and nothing else
        assert run == list(range(run[0], run[-1] + 1)), name
        assert case["text"][offsets[run[0]][0]:offsets[run[-1]][1]] == name
        assert "".join(words[i] for i in run) == name


def test_khmer_and_japanese_names_are_single_words():
    pytest.importorskip("khmernltk")
    pytest.importorskip("sudachipy")
    assert "ភ្នំពេញ" in segment("ខ្ញុំរស់នៅភ្នំពេញ។", "khm_Khmr")[0]  # Phnom Penh
    assert "愛知県" in segment("トヨタ自動車は愛知県に本社がある。", "jpn_Jpan")[0]


def test_khmer_spaces_and_zero_width_spaces_stay_out_of_words():
    pytest.importorskip("khmernltk")
    # khmer-nltk's clean-up drops zero-width spaces and rewrites some spaced phrases;
    # every word is still an exact slice of the text, the separators are not words
    text = "លោក ហ៊ុន សែន\u200bបានទៅ\u200bភ្នំពេញ។"
    words, offsets = segment(text, "khm_Khmr")
    assert words == ["លោក", "ហ៊ុន", "សែន", "បាន", "ទៅ", "ភ្នំពេញ", "។"]
    assert [text[a:b] for a, b in offsets] == words
    # a phrase its correction table rewrites across a space (ត្រេន ដីង -> ត្រេនដីង)
    assert segment("ត្រេន ដីង", "khm_Khmr")[0] == ["ត្រេន", "ដីង"]


def test_khmer_and_japanese_are_quiet(capfd):
    pytest.importorskip("khmernltk")
    pytest.importorskip("sudachipy")
    import subprocess
    import sys

    # a fresh interpreter: khmer-nltk logs "Loaded model from ..." when it loads its CRF
    code = ("import logging; logging.basicConfig(level=logging.DEBUG); "
            "from xlner.text.segmenters import segment; "
            "print(segment('ខ្ញុំរស់នៅភ្នំពេញ', 'khm_Khmr')[0], segment('東京へ行く', 'jpn_Jpan')[0]); "
            "print(logging.getLogger().level, logging.getLogger('khmer-nltk').level)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent.parent)
    assert out.stdout.splitlines() == ["['ខ្ញុំ', 'រស់នៅ', 'ភ្នំពេញ'] ['東京', 'へ', '行く']",
                                       "10 10"]  # nobody's log level was changed
    assert "Loaded model" not in out.stderr and "khmer" not in out.stderr.lower()


def test_japanese_segmenter_is_safe_across_threads():
    pytest.importorskip("sudachipy")
    from concurrent.futures import ThreadPoolExecutor

    texts = [c["text"] for c in ENTITY_CASES if c["lang"] == "jpn_Jpan"] * 20
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda t: segment(t, "jpn_Jpan")[0], texts))
    assert got == [segment(t, "jpn_Jpan")[0] for t in texts]


def test_missing_japanese_dictionary_names_the_extra(monkeypatch):
    real = segmenters.importlib.util.find_spec
    monkeypatch.setattr(segmenters.importlib.util, "find_spec",
                        lambda name: None if name == "sudachidict_core" else real(name))
    assert missing_segmenters(["jpn_Jpan"]) == [
        "jpn_Jpan needs the sudachipy word segmenter: pip install 'xlner-beam[japanese]'"]
    monkeypatch.setattr(segmenters.importlib.util, "find_spec", lambda name: None)
    assert missing_segmenters(["khm_Khmr"]) == [
        "khm_Khmr needs the khmernltk word segmenter: pip install 'xlner-beam[khmer]'"]


def test_japanese_text_longer_than_sudachis_limit_is_segmented_in_pieces():
    pytest.importorskip("sudachipy")
    # Sudachi refuses more than 49149 bytes at once (this is 90000); cut after a 。
    text = "田中さんは昨日東京へ行きました。" * 2000
    words, offsets = segment(text, "jpn_Jpan")
    assert words == ["田中", "さん", "は", "昨日", "東京", "へ", "行き", "まし", "た", "。"] * 2000
    assert [text[a:b] for a, b in offsets] == words


@pytest.mark.parametrize("lang,module,extra", [("khm_Khmr", "khmernltk", "khmer"),
                                               ("jpn_Jpan", "sudachidict_core", "japanese")])
def test_translate_train_stops_when_the_khmer_or_japanese_segmenter_is_missing(
        tmp_path, monkeypatch, capsys, lang, module, extra):
    from pipeline.run import main

    real = segmenters.importlib.util.find_spec
    monkeypatch.setattr(segmenters.importlib.util, "find_spec",
                        lambda name: None if name == module else real(name))
    out = tmp_path / "out"
    assert main([f"--output={out}", "--runner=FnApiRunner", f"--target_langs={lang}"]) == 2
    segmenter = segmenters.segmenter_for(lang).module
    assert capsys.readouterr().err.strip().splitlines() == [
        f"xlner: error: {lang} needs the {segmenter} word segmenter: "
        f"pip install 'xlner-beam[{extra}]'"]
    assert not out.exists()
