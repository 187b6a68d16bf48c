"""The evaluation languages: MasakhaNER 2.0 and XTREME PAN-X, with their NLLB codes.

Codes follow docs/method.md §3: MasakhaNER2 uses ``<iso3>_Latn`` except ``swa`` -> ``swh_Latn``;
``bbj`` and ``pcm`` have no NLLB-200 code and are rejected with a clear message. PAN-X
tokenises ja/zh/th per character: their sentences are joined without spaces and n-gram
candidates are capped at 30 words (§2.1, §6.1); xlner.text.words decides that from the script.

:func:`check_nllb_code` checks any language option against the 202 NLLB-200 codes and
says in one line what was meant (``sw`` -> ``swh_Latn``, ``english`` -> ``eng_Latn``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Language:
    dataset: str  # masakhaner2 | panx
    code: str  # the data set's own code (swa, PAN-X "sw")
    nllb: Optional[str]  # None: not supported by NLLB-200
    note: str = ""


class UnsupportedLanguage(ValueError):
    pass


MASAKHANER2 = {c: Language("masakhaner2", c, f"{c}_Latn") for c in (
    "bam", "ewe", "fon", "hau", "ibo", "kin", "lug", "luo", "mos", "nya", "sna", "tsn", "twi",
    "wol", "xho", "yor", "zul")}
MASAKHANER2["swa"] = Language("masakhaner2", "swa", "swh_Latn")
MASAKHANER2["bbj"] = Language("masakhaner2", "bbj", None,
                              note="Ghomálá' has no NLLB-200 language code")
MASAKHANER2["pcm"] = Language("masakhaner2", "pcm", None,
                              note="Nigerian Pidgin has no NLLB-200 language code")

_PANX_NLLB = {
    "af": "afr_Latn", "ar": "arb_Arab", "bg": "bul_Cyrl", "bn": "ben_Beng", "de": "deu_Latn",
    "el": "ell_Grek", "en": "eng_Latn", "es": "spa_Latn", "et": "est_Latn", "eu": "eus_Latn",
    "fa": "pes_Arab", "fi": "fin_Latn", "fr": "fra_Latn", "he": "heb_Hebr", "hi": "hin_Deva",
    "hu": "hun_Latn", "id": "ind_Latn", "it": "ita_Latn", "ja": "jpn_Jpan", "jv": "jav_Latn",
    "ka": "kat_Geor", "kk": "kaz_Cyrl", "ko": "kor_Hang", "ml": "mal_Mlym", "mr": "mar_Deva",
    "ms": "zsm_Latn", "my": "mya_Mymr", "nl": "nld_Latn", "pt": "por_Latn", "ru": "rus_Cyrl",
    "sw": "swh_Latn", "ta": "tam_Taml", "te": "tel_Telu", "th": "tha_Thai", "tl": "tgl_Latn",
    "tr": "tur_Latn", "ur": "urd_Arab", "vi": "vie_Latn", "yo": "yor_Latn", "zh": "zho_Hans",
}
PANX = {c: Language("panx", c, n) for c, n in _PANX_NLLB.items()}

DATASETS = {"masakhaner2": MASAKHANER2, "panx": PANX}

# What the paper evaluates on each data set (docs/method.md §9, §11).
EVALUATED_TYPES = {"masakhaner2": ("PER", "ORG", "LOC"), "panx": ("PER", "ORG", "LOC")}
IGNORED_TYPES = {"masakhaner2": ("DATE",), "panx": ()}
# Languages the paper reports ("all"): NLLB-supported, and English is the source for PAN-X.
PAPER_LANGS = {
    "masakhaner2": tuple(sorted(c for c, l in MASAKHANER2.items() if l.nllb)),
    "panx": tuple(sorted(c for c in PANX if c != "en")),
}


def lookup(dataset: str, code: str) -> Language:
    """The language ``code`` of ``dataset``; raises UnsupportedLanguage with the reason."""
    table = DATASETS.get(dataset)
    if table is None:
        raise UnsupportedLanguage(f"unknown data set {dataset!r}; known: {sorted(DATASETS)}")
    lang = table.get(code)
    if lang is None:
        raise UnsupportedLanguage(f"{dataset} has no language {code!r}; known: "
                                  f"{', '.join(sorted(table))}")
    if lang.nllb is None:
        raise UnsupportedLanguage(f"{dataset} language {code!r} cannot be evaluated: "
                                  f"{lang.note}")
    return lang


def resolve(dataset: str, spec: str) -> list[Language]:
    """``all`` (the paper's languages) or a comma-separated list of the data set's codes."""
    if spec.strip() == "all":
        return [DATASETS[dataset][c] for c in PAPER_LANGS[dataset]]
    return [lookup(dataset, c.strip()) for c in spec.split(",") if c.strip()]


# --------------------------------------------------------------------------- NLLB-200 codes
def _table(name: str) -> dict[str, str]:
    """A two-column table shipped in ``xlner/data`` (tab-separated, # comments)."""
    from importlib.resources import files

    text = files("xlner").joinpath("data", name).read_text(encoding="utf-8")
    return dict(line.split("\t", 1) for line in text.splitlines()
                if line and not line.startswith("#"))


# The 202 FLORES-200 codes NLLB-200 translates, in the model's order, with English names.
NLLB_LANGUAGES = _table("nllb_languages.tsv")
NLLB_CODES = tuple(NLLB_LANGUAGES)

# ISO 639-1 codes of NLLB languages (the first code is the usual reading, e.g. Simplified
# Chinese for "zh"), plus the retired iw/in/ji still found in old data.
ISO_639_1 = {code: tuple(nllb.split(",")) for code, nllb in _table("iso639_1.tsv").items()}
# ISO 639-3 macrolanguages and ISO 639-2/B codes whose NLLB code has another prefix
# (every NLLB code's own prefix, "por" -> por_Latn, is found without this table).
ISO_639_3 = {
    "swa": ("swh_Latn",), "ara": ("arb_Arab",), "fas": ("pes_Arab", "prs_Arab"),
    "per": ("pes_Arab", "prs_Arab"), "msa": ("zsm_Latn",), "may": ("zsm_Latn",),
    "lav": ("lvs_Latn",), "mon": ("khk_Cyrl",), "nep": ("npi_Deva",), "orm": ("gaz_Latn",),
    "pus": ("pbt_Arab",), "sqi": ("als_Latn",), "alb": ("als_Latn",), "uzb": ("uzn_Latn",),
    "mlg": ("plt_Latn",), "aze": ("azj_Latn", "azb_Arab"), "kur": ("kmr_Latn", "ckb_Arab"),
    "yid": ("ydd_Hebr",), "aym": ("ayr_Latn",), "que": ("quy_Latn",),
    "kau": ("knc_Latn", "knc_Arab"), "chi": ("zho_Hans", "zho_Hant"), "ful": ("fuv_Latn",),
    "nor": ("nob_Latn", "nno_Latn"), "fil": ("tgl_Latn",), "din": ("dik_Latn",),
    "tmh": ("taq_Latn", "taq_Tfng"), "pan": ("pan_Guru",), "est": ("est_Latn",),
    "ekk": ("est_Latn",), "fre": ("fra_Latn",), "ger": ("deu_Latn",), "dut": ("nld_Latn",),
    "gre": ("ell_Grek",), "cze": ("ces_Latn",), "slo": ("slk_Latn",), "rum": ("ron_Latn",),
    "arm": ("hye_Armn",), "geo": ("kat_Geor",), "baq": ("eus_Latn",), "ice": ("isl_Latn",),
    "mac": ("mkd_Cyrl",), "mao": ("mri_Latn",), "bur": ("mya_Mymr",), "tib": ("bod_Tibt",),
    "wel": ("cym_Latn",), "hbs": ("hrv_Latn", "srp_Cyrl", "bos_Latn"), "ori": ("ory_Orya",),
    "grn": ("grn_Latn",), "kon": ("kon_Latn",), "zho": ("zho_Hans", "zho_Hant"),
}
# English names that are not an NLLB name minus its "(... script)" note.
_NAME_ALIASES = {
    "arabic": ("arb_Arab",), "persian": ("pes_Arab",), "farsi": ("pes_Arab",),
    "malay": ("zsm_Latn",), "chinese": ("zho_Hans", "zho_Hant"),
    "mandarin": ("zho_Hans", "zho_Hant"), "cantonese": ("yue_Hant",),
    "kurdish": ("kmr_Latn", "ckb_Arab"), "albanian": ("als_Latn",), "latvian": ("lvs_Latn",),
    "mongolian": ("khk_Cyrl",), "uzbek": ("uzn_Latn",), "pashto": ("pbt_Arab",),
    "oromo": ("gaz_Latn",), "malagasy": ("plt_Latn",), "norwegian": ("nob_Latn", "nno_Latn"),
    "punjabi": ("pan_Guru",), "panjabi": ("pan_Guru",), "fulfulde": ("fuv_Latn",),
    "fula": ("fuv_Latn",), "tibetan": ("bod_Tibt",), "quechua": ("quy_Latn",),
    "aymara": ("ayr_Latn",), "azerbaijani": ("azj_Latn", "azb_Arab"),
    "yiddish": ("ydd_Hebr",), "kanuri": ("knc_Latn", "knc_Arab"), "dinka": ("dik_Latn",),
    "sotho": ("sot_Latn",), "filipino": ("tgl_Latn",), "haitian": ("hat_Latn",),
    "gaelic": ("gla_Latn",), "kiswahili": ("swh_Latn",), "greek (modern)": ("ell_Grek",),
    "modern greek": ("ell_Grek",), "slovene": ("slv_Latn",), "kirghiz": ("kir_Cyrl",),
    "uighur": ("uig_Arab",), "oriya": ("ory_Orya",), "myanmar": ("mya_Mymr",),
    "chichewa": ("nya_Latn",), "chewa": ("nya_Latn",), "luganda": ("lug_Latn",),
    "setswana": ("tsn_Latn",), "isixhosa": ("xho_Latn",), "isizulu": ("zul_Latn",),
    "sepedi": ("nso_Latn",), "tamazight": ("tzm_Tfng",), "meitei": ("mni_Beng",),
    "manipuri": ("mni_Beng",), "kikongo": ("kon_Latn",), "kongo": ("kon_Latn",),
    "moore": ("mos_Latn",), "mooré": ("mos_Latn",), "fon": ("fon_Latn",),
    "castilian": ("spa_Latn",), "flemish": ("nld_Latn",), "valencian": ("cat_Latn",),
}
# Languages of the evaluation data sets that NLLB-200 does not have.
_NOT_IN_NLLB = {"bbj": "Ghomálá'", "pcm": "Nigerian Pidgin"}


def _by_name() -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for code, name in NLLB_LANGUAGES.items():
        for key in {name.lower(), name.split(" (")[0].lower()}:
            out.setdefault(key, []).append(code)
    for key, codes in _NAME_ALIASES.items():
        out.setdefault(key, []).extend(c for c in codes if c not in out.get(key, ()))
    return {k: tuple(v) for k, v in out.items()}


_NAMES = _by_name()
_BY_FOLDED = {c.lower().replace("-", "_"): c for c in NLLB_CODES}
_BY_PREFIX: dict[str, tuple[str, ...]] = {}
for _c in NLLB_CODES:
    _BY_PREFIX[_c[:3]] = _BY_PREFIX.get(_c[:3], ()) + (_c,)


def _describe(codes) -> str:
    return ", ".join(f"{c!r} ({NLLB_LANGUAGES[c]})" for c in codes)


def nllb_suggestions(code: str) -> tuple[str, tuple[str, ...]]:
    """(what ``code`` is, the NLLB codes meant) for a code that is not an NLLB code.

    ``what`` is "" when only spelling-close codes were found.
    """
    key = code.strip()
    folded = key.lower().replace("-", "_").replace(" ", "_")
    if folded in _BY_FOLDED:
        return "wrongly cased or separated", (_BY_FOLDED[folded],)
    low = key.lower().replace("_", " ").strip()
    if len(low) == 2 and low in ISO_639_1:
        return "an ISO 639-1 code", ISO_639_1[low]
    if len(low) == 3 and low in ISO_639_3:
        return "an ISO 639-2/3 code", ISO_639_3[low]
    if len(low) == 3 and low in _BY_PREFIX:
        return "an ISO 639-3 code", _BY_PREFIX[low]
    if low in _NAMES:
        return "a language name", _NAMES[low]
    prefix = folded.split("_")[0]
    if "_" in folded and prefix in _BY_PREFIX:
        return "in a script NLLB-200 does not have", _BY_PREFIX[prefix]
    close = difflib.get_close_matches(key, NLLB_CODES, n=3, cutoff=0.6)
    close += [c for n in difflib.get_close_matches(low, list(_NAMES), n=3, cutoff=0.75)
              for c in _NAMES[n] if c not in close]
    return "", tuple(close[:4])


def check_nllb_code(code: str, what: str = "language") -> None:
    """Raise UnsupportedLanguage (one line) unless ``code`` is an NLLB-200 code.

    The message says what was probably meant: ``sw`` -> ``swh_Latn``, ``english`` ->
    ``eng_Latn``, ``swh_latn`` -> ``swh_Latn``, else the closest codes.
    """
    if isinstance(code, str) and code in NLLB_LANGUAGES:
        return
    if not isinstance(code, str) or not code.strip():
        raise UnsupportedLanguage(f"{what}: empty language code (NLLB-200 codes look like "
                                  "'eng_Latn')")
    head = f"{what}: {code!r} is not an NLLB-200 language code"
    missing = _NOT_IN_NLLB.get(code.strip().lower())
    if missing:
        raise UnsupportedLanguage(f"{head}, and NLLB-200 has no {missing}")
    kind, codes = nllb_suggestions(code)
    listed = ("one of " if len(codes) > 1 else "") + _describe(codes)
    if kind and codes:
        raise UnsupportedLanguage(f"{head} but {kind}; did you mean {listed}?")
    if codes:
        raise UnsupportedLanguage(f"{head}; closest: {listed}")
    similar = difflib.get_close_matches(code.strip(), NLLB_CODES, n=3, cutoff=0.0)
    raise UnsupportedLanguage(f"{head}, nor close to one (codes look like 'eng_Latn': an "
                              f"ISO 639-3 code and a script; least far: "
                              f"{', '.join(map(repr, similar))})")
