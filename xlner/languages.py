"""The evaluation languages: MasakhaNER 2.0 and XTREME PAN-X, with their NLLB codes.

Codes follow method.md §3: MasakhaNER2 uses ``<iso3>_Latn`` except ``swa`` -> ``swh_Latn``;
``bbj`` and ``pcm`` have no NLLB-200 code and are rejected with a clear message. PAN-X
tokenises ja/zh/th per character: their sentences are joined without spaces and n-gram
candidates are capped at 30 words (§2.1, §6.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Language:
    dataset: str  # masakhaner2 | panx
    code: str  # the data set's own code (swa, PAN-X "sw")
    nllb: Optional[str]  # None: not supported by NLLB-200
    whitespace: bool = True
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.dataset}:{self.code}"


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
PANX = {c: Language("panx", c, n, whitespace=c not in ("ja", "zh", "th"))
        for c, n in _PANX_NLLB.items()}

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
