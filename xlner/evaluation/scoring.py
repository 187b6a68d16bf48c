"""Scoring projected labels against gold, the paper's way, from per-sentence counts.

Per sentence and method: labels outside the evaluated types become ``O`` (MISC is written
as O for MasakhaNER2/PAN-X, DATE is ignored on MasakhaNER2), then seqeval-default counts
are taken twice — typed, and on spans regardless of type. A gold sentence without a
prediction for a method (it failed somewhere and went to the dead letter) is scored as
predicting nothing, as the reference does, and counted as ``failed``: failures can never
improve a score. Counts add up, so the Beam job combines them per (language, method).

Uncertainty: a percentile bootstrap over sentences. Corpus F1 depends on a sentence only
through its (correct, predicted, gold) entity counts, so the job keeps a histogram of those
triples per (language, method) instead of the sentences: its size is the number of distinct
triples (tens to a few hundred, whatever the corpus size), it adds up like the counts, and
resampling n sentences with replacement is exactly one multinomial draw over the triples.
"""

from __future__ import annotations

import hashlib
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

import numpy as np

from xlner.evaluation.calibration import BINS, THRESHOLD, Reliability, sentence_reliability
from xlner.evaluation.metrics import Counts, chunks, map_labels, sentence_counts

Triple = tuple[int, int, int]  # one sentence's (correct, predicted, gold) entities
BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95


def triple(counts: Counts) -> Triple:
    return (sum(counts.true_positives.values()), sum(counts.predicted.values()),
            sum(counts.gold.values()))


@dataclass
class EvalCounts:
    typed: Counts = field(default_factory=Counts)
    span: Counts = field(default_factory=Counts)
    failed: int = 0
    # Sentences per (correct, predicted, gold) triple, for the bootstrap (module docstring).
    typed_sentences: Counter = field(default_factory=Counter)
    span_sentences: Counter = field(default_factory=Counter)
    # The predicted entities' confidence against being right, per kind (calibration.py).
    typed_calibration: Reliability = field(default_factory=Reliability)
    span_calibration: Reliability = field(default_factory=Reliability)

    def add(self, other: "EvalCounts") -> "EvalCounts":
        self.typed.add(other.typed)
        self.span.add(other.span)
        self.failed += other.failed
        self.typed_sentences.update(other.typed_sentences)
        self.span_sentences.update(other.span_sentences)
        self.typed_calibration.add(other.typed_calibration)
        self.span_calibration.add(other.span_calibration)
        return self

    def sentences_of(self, kind: str) -> Counter:
        return self.typed_sentences if kind == "typed" else self.span_sentences

    def calibration_of(self, kind: str) -> Reliability:
        return self.typed_calibration if kind == "typed" else self.span_calibration


def score_sentence(gold: Sequence[str], pred: Optional[Sequence[str]],
                   keep_types: Optional[Iterable[str]] = None,
                   ignore_types: Iterable[str] = (),
                   confidences: Optional[Mapping[tuple[int, int, str], Optional[float]]] = None
                   ) -> EvalCounts:
    """Counts of one sentence; ``pred=None`` means the method produced nothing for it.
    ``confidences``: the projected entities' scores by ``(start, end, label)`` on the gold
    tokens, for the calibration tallies."""
    failed = pred is None
    if pred is None or len(pred) != len(gold):
        pred = ["O"] * len(gold)
        failed = True
    g = map_labels(gold, keep_types, ignore_types)
    p = map_labels(pred, keep_types, ignore_types)
    typed, span = sentence_counts(g, p), sentence_counts(g, p, span_only=True)
    gc, pc = chunks(g), chunks(p)
    return EvalCounts(typed, span, int(failed), Counter([triple(typed)]),
                      Counter([triple(span)]), sentence_reliability(gc, pc, confidences),
                      sentence_reliability(gc, pc, confidences, span_only=True))


def f1_of(correct, predicted, gold):
    """Micro F1 from totals, as :meth:`Counts.scores` computes it (0 where undefined);
    works elementwise on arrays."""
    correct, denom = np.asarray(correct, float), np.asarray(predicted + gold, float)
    return np.divide(2 * correct, denom, out=np.zeros_like(denom), where=denom > 0)


def bootstrap_f1_draws(sentences: Mapping[Triple, int], resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = 0, name: str = "") -> np.ndarray:
    """Corpus F1 of ``resamples`` bootstrap resamples of the sentences.

    ``sentences`` maps (correct, predicted, gold) to how many sentences have it. Each
    resample draws n = all sentences with replacement: the number drawn of each triple is
    multinomial(n, share of that triple). The generator is seeded by ``seed`` and ``name``
    (the cell, e.g. ``"swa/MT"``), so a cell's draws do not depend on the other cells, on
    the order the counts were combined in, or on the platform's hash seed.
    """
    items = sorted((t, n) for t, n in sentences.items() if n > 0)
    if not items:
        return np.zeros(0)
    triples = np.array([t for t, _ in items], dtype=float)
    weights = np.array([n for _, n in items], dtype=np.int64)
    total = int(weights.sum())
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode("utf-8"))])
    drawn = rng.multinomial(total, weights / total, size=resamples)  # [resamples, K]
    sums = drawn @ triples  # [resamples, 3]: correct, predicted, gold of each resample
    return f1_of(sums[:, 0], sums[:, 1], sums[:, 2])


def percentile_interval(draws: np.ndarray, level: float = CONFIDENCE
                        ) -> Optional[tuple[float, float]]:
    if len(draws) == 0:
        return None
    lo, hi = np.quantile(draws, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def bootstrap_f1(sentences: Mapping[Triple, int], resamples: int = BOOTSTRAP_RESAMPLES,
                 seed: int = 0, name: str = "", level: float = CONFIDENCE
                 ) -> Optional[tuple[float, float]]:
    """The percentile bootstrap interval of corpus F1 (sentences resampled); None for no
    sentences."""
    return percentile_interval(bootstrap_f1_draws(sentences, resamples, seed, name), level)


@dataclass(frozen=True)
class Bootstrap:
    """How the report's intervals were computed (written into metrics.json)."""

    resamples: int = BOOTSTRAP_RESAMPLES
    seed: int = 0
    level: float = CONFIDENCE

    def describe(self) -> dict:
        return {"resamples": self.resamples, "seed": self.seed, "level": self.level,
                "unit": "sentence", "interval": "percentile"}


def method_block(counts: EvalCounts, paper: Optional[Mapping], name: str = "",
                 bootstrap: Bootstrap = Bootstrap(), draws: Optional[dict] = None) -> dict:
    """Scores of one (language, method); ``overall.f1_ci`` is the bootstrap interval of
    each kind's F1. ``draws`` (kind -> resampled F1s) is filled for the averages."""
    out = {"typed": counts.typed.scores(), "span": counts.span.scores(),
           "failed": counts.failed, "paper": dict(paper) if paper else None}
    for kind in ("typed", "span"):
        d = bootstrap_f1_draws(counts.sentences_of(kind), bootstrap.resamples,
                               bootstrap.seed, f"{name}/{kind}")
        ci = percentile_interval(d, bootstrap.level)
        out[kind]["overall"]["f1_ci"] = list(ci) if ci else None
        out[kind]["calibration"] = counts.calibration_of(kind).summary()
        if draws is not None:
            draws[kind] = d
    return out


def sample_rank(seed: int, record_id: str) -> int:
    """A sentence's place in the report's random sample: the k sentences of highest rank
    are the sample. A hash of (seed, id), so the sample is the same whatever the bundle
    order or worker, and the same sentences for every method of a language."""
    digest = hashlib.blake2b(f"{seed}\0{record_id}".encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def errors_of(counts: Counts) -> dict:
    """Correct, spurious (false positive) and missed (false negative) entities."""
    correct, predicted, gold = triple(counts)
    return {"correct": correct, "spurious": predicted - correct, "missed": gold - correct}


def type_agreement(counts: Iterable[EvalCounts]) -> dict:
    """Whether typed scores can mean anything for one language: the entity types of the
    gold and those the methods predicted. When both are non-empty and share no type
    (untyped gold such as ``ENT`` against PER/LOC/ORG predictions), every typed prediction
    counts as wrong and typed F1 is 0 whatever the projection did: not a measurement."""
    gold: set = set()
    predicted: set = set()
    for c in counts:
        gold |= {t for t, n in c.typed.gold.items() if n}
        predicted |= {t for t, n in c.typed.predicted.items() if n}
    shared = gold & predicted
    return {"gold": sorted(gold), "predicted": sorted(predicted), "shared": sorted(shared),
            "typed_meaningful": not (gold and predicted and not shared)}


def typed_problems(languages: Mapping[str, Mapping], primary: str) -> list[str]:
    """Why the headline is not a measurement: typed scores are the primary metric and a
    language's gold and predicted types share nothing (``--span_only`` scores spans)."""
    if primary != "typed":
        return []
    return [f"{code}: gold types ({', '.join(e['types']['gold'])}) and predicted types "
            f"({', '.join(e['types']['predicted'])}) share none, so typed F1 is 0 whatever "
            "the projection did; score spans with --span_only"
            for code, e in languages.items() if not e["types"]["typed_meaningful"]]


def english_side(origins: Mapping[tuple[str, str], int]) -> dict:
    """How one language's English side came about: sentences per origin (given / cache /
    model) and the translation models that produced the cached or fresh ones."""
    out = {"given": 0, "cache": 0, "model": 0}
    models = set()
    for (origin, model), n in origins.items():
        out[origin] = out.get(origin, 0) + n
        if origin != "given" and model:
            models.add(model)
    return {**out, "models": sorted(models)}


def assemble(per_key: Mapping[tuple[str, str], EvalCounts], languages: Sequence,
             methods: Sequence[str], paper: Mapping[tuple[str, str], Mapping],
             primary: str, dead_letters: Mapping[str, Mapping] | None = None,
             header: Mapping | None = None,
             translations: Mapping[str, Mapping[tuple[str, str], int]] | None = None,
             bootstrap: Bootstrap = Bootstrap()) -> dict:
    """The metrics.json document: per language x method scores beside the paper's.

    ``languages`` have a ``code`` (the data set's code, the report key) and an ``nllb``
    code. Averages are over the languages where the paper has the method too, so the
    two averages compare the same languages; the interval of an average is the percentile
    interval of the mean of the languages' independent bootstrap draws. ``translations``:
    code -> (origin, model) -> sentences of the English side.
    """
    dead_letters, translations = dead_letters or {}, translations or {}
    out_langs, draws = {}, {}
    for lang in languages:
        code = lang.code
        blocks = {}
        for m in methods:
            counts = per_key.get((code, m))
            if counts is not None:
                d = draws.setdefault((code, m), {})
                blocks[m] = method_block(counts, paper.get((code, m)), f"{code}/{m}",
                                         bootstrap, d)
        sentences = max((b["typed"]["sentences"] for b in blocks.values()), default=0)
        out_langs[code] = {"nllb": lang.nllb, "sentences": sentences,
                           "english": english_side(translations.get(code, {})),
                           "dead_letters": dead_letters.get(code, {}),
                           "types": type_agreement(per_key[(code, m)] for m in methods
                                                   if (code, m) in per_key),
                           "methods": blocks}
    averages = {}
    for m in methods:
        with_paper = [c for c, e in out_langs.items()
                      if (e["methods"].get(m) or {}).get("paper")]
        averaged = with_paper or [c for c, e in out_langs.items() if m in e["methods"]]
        ours = [out_langs[c]["methods"][m][primary]["overall"]["f1"] for c in averaged]
        theirs = [out_langs[c]["methods"][m]["paper"]["f1"] for c in with_paper]
        resampled = [draws[(c, m)][primary] for c in averaged if len(draws[(c, m)][primary])]
        ci = (percentile_interval(np.mean(resampled, axis=0), bootstrap.level)
              if resampled and len(resampled) == len(averaged) else None)
        averages[m] = {"f1": sum(ours) / len(ours) if ours else None,
                       "f1_ci": list(ci) if ci else None,
                       "paper_f1": sum(theirs) / len(theirs) if theirs else None,
                       "languages": len(ours)}
    return {**(header or {}), "primary": primary, "methods": list(methods),
            "bootstrap": bootstrap.describe(), "languages": out_langs, "averages": averages,
            "calibration": calibration_block(per_key, [lang.code for lang in languages],
                                             methods, primary),
            "problems": typed_problems(out_langs, primary)}


def calibration_block(per_key: Mapping[tuple[str, str], EvalCounts], codes: Sequence[str],
                      methods: Sequence[str], primary: str) -> dict:
    """Each method's confidence reliability over all languages, under the primary metric
    (per language it is in each method block's ``typed``/``span`` entry)."""
    out = {}
    for m in methods:
        total = Reliability()
        for code in codes:
            if (code, m) in per_key:
                total.add(per_key[(code, m)].calibration_of(primary))
        out[m] = total.summary()
    return {"kind": primary, "bins": BINS, "threshold": THRESHOLD, "methods": out}
