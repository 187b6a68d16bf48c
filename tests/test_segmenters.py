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
