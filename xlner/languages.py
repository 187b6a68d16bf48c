"""The evaluation languages: MasakhaNER 2.0 and XTREME PAN-X, with their NLLB codes.

Codes follow method.md §3: MasakhaNER2 uses ``<iso3>_Latn`` except ``swa`` -> ``swh_Latn``;
``bbj`` and ``pcm`` have no NLLB-200 code and are rejected with a clear message. PAN-X
tokenises ja/zh/th per character: their sentences are joined without spaces and n-gram
candidates are capped at 30 words (§2.1, §6.1); xlner.text decides that from the script.

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

# What the paper evaluates on each data set (method.md §9, §11).
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
# The 202 FLORES-200 codes NLLB-200 translates, in the model's order, with English names.
NLLB_LANGUAGES = {
    "ace_Arab": "Acehnese (Arabic script)", "ace_Latn": "Acehnese (Latin script)",
    "acm_Arab": "Mesopotamian Arabic", "acq_Arab": "Ta'izzi-Adeni Arabic",
    "aeb_Arab": "Tunisian Arabic", "afr_Latn": "Afrikaans", "ajp_Arab": "South Levantine Arabic",
    "aka_Latn": "Akan", "amh_Ethi": "Amharic", "apc_Arab": "North Levantine Arabic",
    "arb_Arab": "Modern Standard Arabic", "ars_Arab": "Najdi Arabic",
    "ary_Arab": "Moroccan Arabic", "arz_Arab": "Egyptian Arabic", "asm_Beng": "Assamese",
    "ast_Latn": "Asturian", "awa_Deva": "Awadhi", "ayr_Latn": "Central Aymara",
    "azb_Arab": "South Azerbaijani", "azj_Latn": "North Azerbaijani", "bak_Cyrl": "Bashkir",
    "bam_Latn": "Bambara", "ban_Latn": "Balinese", "bel_Cyrl": "Belarusian",
    "bem_Latn": "Bemba", "ben_Beng": "Bengali", "bho_Deva": "Bhojpuri",
    "bjn_Arab": "Banjar (Arabic script)", "bjn_Latn": "Banjar (Latin script)",
    "bod_Tibt": "Standard Tibetan", "bos_Latn": "Bosnian", "bug_Latn": "Buginese",
    "bul_Cyrl": "Bulgarian", "cat_Latn": "Catalan", "ceb_Latn": "Cebuano", "ces_Latn": "Czech",
    "cjk_Latn": "Chokwe", "ckb_Arab": "Central Kurdish", "crh_Latn": "Crimean Tatar",
    "cym_Latn": "Welsh", "dan_Latn": "Danish", "deu_Latn": "German",
    "dik_Latn": "Southwestern Dinka", "dyu_Latn": "Dyula", "dzo_Tibt": "Dzongkha",
    "ell_Grek": "Greek", "eng_Latn": "English", "epo_Latn": "Esperanto", "est_Latn": "Estonian",
    "eus_Latn": "Basque", "ewe_Latn": "Ewe", "fao_Latn": "Faroese", "pes_Arab": "Western Persian",
    "fij_Latn": "Fijian", "fin_Latn": "Finnish", "fon_Latn": "Fon", "fra_Latn": "French",
    "fur_Latn": "Friulian", "fuv_Latn": "Nigerian Fulfulde", "gla_Latn": "Scottish Gaelic",
    "gle_Latn": "Irish", "glg_Latn": "Galician", "grn_Latn": "Guarani", "guj_Gujr": "Gujarati",
    "hat_Latn": "Haitian Creole", "hau_Latn": "Hausa", "heb_Hebr": "Hebrew", "hin_Deva": "Hindi",
    "hne_Deva": "Chhattisgarhi", "hrv_Latn": "Croatian", "hun_Latn": "Hungarian",
    "hye_Armn": "Armenian", "ibo_Latn": "Igbo", "ilo_Latn": "Ilocano", "ind_Latn": "Indonesian",
    "isl_Latn": "Icelandic", "ita_Latn": "Italian", "jav_Latn": "Javanese",
    "jpn_Jpan": "Japanese", "kab_Latn": "Kabyle", "kac_Latn": "Jingpho", "kam_Latn": "Kamba",
    "kan_Knda": "Kannada", "kas_Arab": "Kashmiri (Arabic script)",
    "kas_Deva": "Kashmiri (Devanagari script)", "kat_Geor": "Georgian",
    "knc_Arab": "Central Kanuri (Arabic script)", "knc_Latn": "Central Kanuri (Latin script)",
    "kaz_Cyrl": "Kazakh", "kbp_Latn": "Kabiyè", "kea_Latn": "Kabuverdianu", "khm_Khmr": "Khmer",
    "kik_Latn": "Kikuyu", "kin_Latn": "Kinyarwanda", "kir_Cyrl": "Kyrgyz",
    "kmb_Latn": "Kimbundu", "kon_Latn": "Kikongo", "kor_Hang": "Korean",
    "kmr_Latn": "Northern Kurdish", "lao_Laoo": "Lao", "lvs_Latn": "Standard Latvian",
    "lij_Latn": "Ligurian", "lim_Latn": "Limburgish", "lin_Latn": "Lingala",
    "lit_Latn": "Lithuanian", "lmo_Latn": "Lombard", "ltg_Latn": "Latgalian",
    "ltz_Latn": "Luxembourgish", "lua_Latn": "Luba-Kasai", "lug_Latn": "Ganda", "luo_Latn": "Luo",
    "lus_Latn": "Mizo", "mag_Deva": "Magahi", "mai_Deva": "Maithili", "mal_Mlym": "Malayalam",
    "mar_Deva": "Marathi", "min_Latn": "Minangkabau", "mkd_Cyrl": "Macedonian",
    "plt_Latn": "Plateau Malagasy", "mlt_Latn": "Maltese", "mni_Beng": "Meitei (Bengali script)",
    "khk_Cyrl": "Halh Mongolian", "mos_Latn": "Mossi", "mri_Latn": "Maori",
    "zsm_Latn": "Standard Malay", "mya_Mymr": "Burmese", "nld_Latn": "Dutch",
    "nno_Latn": "Norwegian Nynorsk", "nob_Latn": "Norwegian Bokmål", "npi_Deva": "Nepali",
    "nso_Latn": "Northern Sotho", "nus_Latn": "Nuer", "nya_Latn": "Nyanja", "oci_Latn": "Occitan",
    "gaz_Latn": "West Central Oromo", "ory_Orya": "Odia", "pag_Latn": "Pangasinan",
    "pan_Guru": "Eastern Panjabi", "pap_Latn": "Papiamento", "pol_Latn": "Polish",
    "por_Latn": "Portuguese", "prs_Arab": "Dari", "pbt_Arab": "Southern Pashto",
    "quy_Latn": "Ayacucho Quechua", "ron_Latn": "Romanian", "run_Latn": "Rundi",
    "rus_Cyrl": "Russian", "sag_Latn": "Sango", "san_Deva": "Sanskrit", "sat_Beng": "Santali",
    "scn_Latn": "Sicilian", "shn_Mymr": "Shan", "sin_Sinh": "Sinhala", "slk_Latn": "Slovak",
    "slv_Latn": "Slovenian", "smo_Latn": "Samoan", "sna_Latn": "Shona", "snd_Arab": "Sindhi",
    "som_Latn": "Somali", "sot_Latn": "Southern Sotho", "spa_Latn": "Spanish",
    "als_Latn": "Tosk Albanian", "srd_Latn": "Sardinian", "srp_Cyrl": "Serbian",
    "ssw_Latn": "Swati", "sun_Latn": "Sundanese", "swe_Latn": "Swedish", "swh_Latn": "Swahili",
    "szl_Latn": "Silesian", "tam_Taml": "Tamil", "tat_Cyrl": "Tatar", "tel_Telu": "Telugu",
    "tgk_Cyrl": "Tajik", "tgl_Latn": "Tagalog", "tha_Thai": "Thai", "tir_Ethi": "Tigrinya",
    "taq_Latn": "Tamasheq (Latin script)", "taq_Tfng": "Tamasheq (Tifinagh script)",
    "tpi_Latn": "Tok Pisin", "tsn_Latn": "Tswana", "tso_Latn": "Tsonga", "tuk_Latn": "Turkmen",
    "tum_Latn": "Tumbuka", "tur_Latn": "Turkish", "twi_Latn": "Twi",
    "tzm_Tfng": "Central Atlas Tamazight", "uig_Arab": "Uyghur", "ukr_Cyrl": "Ukrainian",
    "umb_Latn": "Umbundu", "urd_Arab": "Urdu", "uzn_Latn": "Northern Uzbek",
    "vec_Latn": "Venetian", "vie_Latn": "Vietnamese", "war_Latn": "Waray", "wol_Latn": "Wolof",
    "xho_Latn": "Xhosa", "ydd_Hebr": "Eastern Yiddish", "yor_Latn": "Yoruba",
    "yue_Hant": "Yue Chinese", "zho_Hans": "Chinese (Simplified)",
    "zho_Hant": "Chinese (Traditional)", "zul_Latn": "Zulu",
}
NLLB_CODES = tuple(NLLB_LANGUAGES)

# ISO 639-1 codes of NLLB languages (the first code is the usual reading, e.g. Simplified
# Chinese for "zh"), plus the retired iw/in/ji still found in old data.
ISO_639_1 = {
    "af": ("afr_Latn",), "ak": ("aka_Latn",), "am": ("amh_Ethi",), "ar": ("arb_Arab",),
    "as": ("asm_Beng",), "ay": ("ayr_Latn",), "az": ("azj_Latn", "azb_Arab"),
    "ba": ("bak_Cyrl",), "be": ("bel_Cyrl",), "bg": ("bul_Cyrl",), "bm": ("bam_Latn",),
    "bn": ("ben_Beng",), "bo": ("bod_Tibt",), "bs": ("bos_Latn",), "ca": ("cat_Latn",),
    "cs": ("ces_Latn",), "cy": ("cym_Latn",), "da": ("dan_Latn",), "de": ("deu_Latn",),
    "dz": ("dzo_Tibt",), "ee": ("ewe_Latn",), "el": ("ell_Grek",), "en": ("eng_Latn",),
    "eo": ("epo_Latn",), "es": ("spa_Latn",), "et": ("est_Latn",), "eu": ("eus_Latn",),
    "fa": ("pes_Arab", "prs_Arab"), "ff": ("fuv_Latn",), "fi": ("fin_Latn",),
    "fj": ("fij_Latn",), "fo": ("fao_Latn",), "fr": ("fra_Latn",), "ga": ("gle_Latn",),
    "gd": ("gla_Latn",), "gl": ("glg_Latn",), "gn": ("grn_Latn",), "gu": ("guj_Gujr",),
    "ha": ("hau_Latn",), "he": ("heb_Hebr",), "hi": ("hin_Deva",), "hr": ("hrv_Latn",),
    "ht": ("hat_Latn",), "hu": ("hun_Latn",), "hy": ("hye_Armn",), "id": ("ind_Latn",),
    "ig": ("ibo_Latn",), "is": ("isl_Latn",), "it": ("ita_Latn",), "ja": ("jpn_Jpan",),
    "jv": ("jav_Latn",), "ka": ("kat_Geor",), "kg": ("kon_Latn",), "ki": ("kik_Latn",),
    "kk": ("kaz_Cyrl",), "km": ("khm_Khmr",), "kn": ("kan_Knda",), "ko": ("kor_Hang",),
    "kr": ("knc_Latn", "knc_Arab"), "ks": ("kas_Arab", "kas_Deva"),
    "ku": ("kmr_Latn", "ckb_Arab"), "ky": ("kir_Cyrl",), "lb": ("ltz_Latn",),
    "lg": ("lug_Latn",), "li": ("lim_Latn",), "ln": ("lin_Latn",), "lo": ("lao_Laoo",),
    "lt": ("lit_Latn",), "lv": ("lvs_Latn",), "mg": ("plt_Latn",), "mi": ("mri_Latn",),
    "mk": ("mkd_Cyrl",), "ml": ("mal_Mlym",), "mn": ("khk_Cyrl",), "mr": ("mar_Deva",),
    "ms": ("zsm_Latn",), "mt": ("mlt_Latn",), "my": ("mya_Mymr",), "nb": ("nob_Latn",),
    "ne": ("npi_Deva",), "nl": ("nld_Latn",), "nn": ("nno_Latn",),
    "no": ("nob_Latn", "nno_Latn"), "ny": ("nya_Latn",), "oc": ("oci_Latn",),
    "om": ("gaz_Latn",), "or": ("ory_Orya",), "pa": ("pan_Guru",), "pl": ("pol_Latn",),
    "ps": ("pbt_Arab",), "pt": ("por_Latn",), "qu": ("quy_Latn",), "rn": ("run_Latn",),
    "ro": ("ron_Latn",), "ru": ("rus_Cyrl",), "rw": ("kin_Latn",), "sa": ("san_Deva",),
    "sc": ("srd_Latn",), "sd": ("snd_Arab",), "sg": ("sag_Latn",), "si": ("sin_Sinh",),
    "sk": ("slk_Latn",), "sl": ("slv_Latn",), "sm": ("smo_Latn",), "sn": ("sna_Latn",),
    "so": ("som_Latn",), "sq": ("als_Latn",), "sr": ("srp_Cyrl",), "ss": ("ssw_Latn",),
    "st": ("sot_Latn",), "su": ("sun_Latn",), "sv": ("swe_Latn",), "sw": ("swh_Latn",),
    "ta": ("tam_Taml",), "te": ("tel_Telu",), "tg": ("tgk_Cyrl",), "th": ("tha_Thai",),
    "ti": ("tir_Ethi",), "tk": ("tuk_Latn",), "tl": ("tgl_Latn",), "tn": ("tsn_Latn",),
    "tr": ("tur_Latn",), "ts": ("tso_Latn",), "tt": ("tat_Cyrl",), "tw": ("twi_Latn",),
    "ug": ("uig_Arab",), "uk": ("ukr_Cyrl",), "ur": ("urd_Arab",), "uz": ("uzn_Latn",),
    "vi": ("vie_Latn",), "wo": ("wol_Latn",), "xh": ("xho_Latn",), "yi": ("ydd_Hebr",),
    "yo": ("yor_Latn",), "zh": ("zho_Hans", "zho_Hant"), "zu": ("zul_Latn",),
    "iw": ("heb_Hebr",), "in": ("ind_Latn",), "ji": ("ydd_Hebr",),
}
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
