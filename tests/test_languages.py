"""The NLLB-200 code registry and the one-line messages for codes that are not in it."""

import pytest

from xlner.text import languages as registry
from xlner.text.languages import (ISO_639_1, ISO_639_3, NLLB_CODES, NLLB_LANGUAGES,
                             UnsupportedLanguage, check_nllb_code, nllb_suggestions)


def message(code, what="--target_langs"):
    with pytest.raises(UnsupportedLanguage) as e:
        check_nllb_code(code, what)
    text = str(e.value)
    assert "\n" not in text and text.startswith(f"{what}: ")
    return text


def test_the_registry_has_the_202_flores_codes():
    assert len(NLLB_CODES) == 202 == len(set(NLLB_CODES))
    for code in NLLB_CODES:
        lang, script = code.split("_")
        assert len(lang) == 3 and lang.islower() and len(script) == 4 and script.istitle()
        check_nllb_code(code)  # accepted silently
    for sample in ("swh_Latn", "por_Latn", "zho_Hans", "zho_Hant", "ell_Grek", "eng_Latn",
                   "sat_Beng", "taq_Tfng", "pes_Arab", "zsm_Latn"):
        assert sample in NLLB_LANGUAGES


def test_the_registry_matches_the_nllb_tokenizer_list():
    """Cross-check against the list transformers ships with NllbTokenizer (same order)."""
    nllb = pytest.importorskip("transformers.models.nllb.tokenization_nllb")
    assert tuple(nllb.FAIRSEQ_LANGUAGE_CODES) == NLLB_CODES


def test_every_code_the_modules_use_is_an_nllb_code():
    for table in registry.DATASETS.values():
        for lang in table.values():
            assert lang.nllb is None or lang.nllb in NLLB_LANGUAGES, lang
    for codes in list(ISO_639_1.values()) + list(ISO_639_3.values()):
        assert all(c in NLLB_LANGUAGES for c in codes), codes
    for code, lang in registry.PANX.items():  # the PAN-X table and ISO 639-1 agree
        assert ISO_639_1[code][0] == lang.nllb, code


@pytest.mark.parametrize("code, meant, kind", [
    ("sw", "swh_Latn", "ISO 639-1"), ("pt", "por_Latn", "ISO 639-1"),
    ("el", "ell_Grek", "ISO 639-1"), ("EN", "eng_Latn", "ISO 639-1"),
    ("english", "eng_Latn", "language name"), ("Portuguese", "por_Latn", "language name"),
    ("swahili", "swh_Latn", "language name"), ("Farsi", "pes_Arab", "language name"),
    ("swh_latn", "swh_Latn", "wrongly cased"), ("SWH-LATN", "swh_Latn", "wrongly cased"),
    ("swa", "swh_Latn", "ISO 639-2/3"), ("por", "por_Latn", "ISO 639-3"),
    ("fre", "fra_Latn", "ISO 639-2/3"), ("ara", "arb_Arab", "ISO 639-2/3"),
    ("por_Cyrl", "por_Latn", "script"), ("Portugese", "por_Latn", "closest"),
])
def test_a_wrong_code_says_which_code_was_meant(code, meant, kind):
    text = message(code)
    assert f"{code!r} is not an NLLB-200 language code" in text
    assert f"'{meant}'" in text and kind in text


def test_ambiguous_and_unknown_codes():
    text = message("zh")
    assert "one of 'zho_Hans'" in text and "'zho_Hant'" in text
    text = message("xxx_Yyyy", "--source_lang")
    assert "not an NLLB-200 language code, nor close to one" in text and "'xho_Latn'" in text
    assert "Nigerian Pidgin" in message("pcm") and "Ghomálá'" in message("bbj")
    assert "empty" in message("") and "empty" in message(None)


def test_suggestions_for_every_iso_639_1_code_are_nllb_codes():
    for code, codes in ISO_639_1.items():
        assert nllb_suggestions(code) == ("an ISO 639-1 code", codes)
