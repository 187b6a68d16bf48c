"""The evaluation report: our F1 per (language, method) with its uncertainty, beside the
paper's published figures where the paper has them.

Two renderings of the same rows: Markdown (logs, pull requests) and one self-contained HTML
page (inline CSS and SVG, nothing fetched, opens offline). Both read the numbers from one
grid built by :func:`_grid`, so ours and the paper's figure for a (language, method) cannot
drift apart between the formats or between columns. Each cell carries the F1, its bootstrap
95% interval and the number of gold entities behind it; paper columns appear only when the
paper has a figure for some cell. Examples show the English side (words and what the
English NER found) above the gold and the projection, so an NER error can be told from a
projection error.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from html import escape
from importlib.resources import files
from typing import Optional

from xlner.text.bio import InvalidTags, tags_to_spans
from xlner.projection.methods import UnknownMethod, parse

PAPER_FILES = {"masakhaner2": "masakhaner2.csv", "panx": "xtreme39.csv",
               "europarl": "europarl.csv"}
_PAPER_COLUMNS = {"f1": "overall_f1", "precision": "overall_precision",
                  "recall": "overall_recall", "proj_ratio": "proj_ratio", "dur_s": "dur_s"}
DASH = "–"
_PRIMARY_NOTE = {"typed": "typed F1 (seqeval micro, the entity type must match)",
                 "span": "span F1 (boundaries only, the entity type is ignored)"}


def paper_results(dataset: str) -> dict[tuple[str, str], dict]:
    """(lang, method) -> {"f1", "precision", "recall", "proj_ratio", "dur_s"} as floats
    (fractions) for a data set; {} for an unknown data set (custom data)."""
    name = PAPER_FILES.get(dataset)
    if name is None:
        return {}
    text = files("xlner").joinpath("data", "paper_results", name).read_text(encoding="utf-8")
    return {(row["lang"], row["method"]):
            {key: float(row[col]) if row.get(col) else None for key, col in _PAPER_COLUMNS.items()}
            for row in csv.DictReader(io.StringIO(text))}


# ------------------------------------------------------------------ the shared model
@dataclass(frozen=True)
class _Cell:
    """One (language, method): our primary scores and the paper's; None where absent."""

    ours: Optional[dict]  # the primary block's "overall"; None when the method produced nothing
    paper: Optional[dict]
    failed: Optional[int]
    proj: Optional[float]

    @property
    def f1(self) -> Optional[float]:
        return None if self.ours is None else self.ours.get("f1")

    @property
    def ci(self) -> Optional[tuple[float, float]]:
        ci = (self.ours or {}).get("f1_ci")
        return (float(ci[0]), float(ci[1])) if ci else None

    @property
    def n(self) -> Optional[int]:
        """Gold entities behind the F1."""
        return None if self.ours is None else self.ours.get("number")

    @property
    def paper_f1(self) -> Optional[float]:
        return (self.paper or {}).get("f1")


def _grid(metrics: dict) -> tuple[list[str], dict[str, dict[str, _Cell]]]:
    """Methods in display order and lang -> method -> cell, the single source of numbers.

    A method that failed entirely has no block in metrics.json, hence no ``paper`` field:
    the paper's figure then comes from the shipped CSV so it is still shown.
    """
    primary = metrics.get("primary") or "typed"
    fallback = paper_results(metrics.get("dataset") or "")
    langs = metrics.get("languages") or {}
    methods = list(metrics.get("methods") or [])
    for entry in langs.values():
        methods += [m for m in entry.get("methods") or {} if m not in methods]
    grid = {}
    for lang, entry in langs.items():
        blocks = entry.get("methods") or {}
        row = {}
        for m in methods:
            block = blocks.get(m) or {}
            scored = block.get(primary) or {}
            paper = block["paper"] if "paper" in block else fallback.get((lang, m))
            row[m] = _Cell(scored.get("overall"), paper, block.get("failed"),
                           scored.get("proj_ratio"))
        grid[lang] = row
    return methods, grid


def _has_paper(metrics: dict, grid: dict) -> bool:
    """Whether the paper has any figure for this report (custom data sets have none)."""
    return (any(c.paper is not None for row in grid.values() for c in row.values())
            or any((a or {}).get("paper_f1") is not None
                   for a in (metrics.get("averages") or {}).values()))


def _pct(x: Optional[float]) -> str:
    return DASH if x is None else f"{100 * x:.1f}"


def _ratio(x: Optional[float]) -> str:
    return DASH if x is None else f"{x:.3f}"


def _diff(ours: Optional[float], paper: Optional[float]) -> str:
    return "" if ours is None or paper is None else f"{100 * (ours - paper):+.1f}"


def _ci_text(ci: Optional[tuple[float, float]]) -> str:
    return DASH if ci is None else f"{100 * ci[0]:.1f}–{100 * ci[1]:.1f}"


def _cell_text(ours: Optional[float], ci=None, n: Optional[int] = None,
               paper: Optional[float] = None, with_paper: bool = True) -> str:
    """``67.3 [64.0–70.5] n=961 (paper 66.6, +0.7)``: the one spelling both formats use;
    the paper part only when the report has paper figures."""
    out = _pct(ours)
    if ours is not None:
        out += f" [{_ci_text(ci)}]" if ci else ""
        out += f" n={n}" if n is not None else ""
    if with_paper:
        d = _diff(ours, paper)
        out += f" (paper {_pct(paper)}{', ' + d if d else ''})"
    return out


def _short(method: str) -> str:
    """The paper's abbreviation (``H-s-S``, ``Cg-s-S+ilp``); unknown keys as they are."""
    try:
        return parse(method).short
    except UnknownMethod:
        return method


def _family(method: str) -> str:
    """The projection kind, which the chart groups bars by."""
    try:
        return parse(method).projection
    except UnknownMethod:
        return "other"


def _average(metrics: dict, method: str):
    """(F1, interval, paper F1, languages averaged) of a method's average row."""
    a = (metrics.get("averages") or {}).get(method) or {}
    ci = a.get("f1_ci")
    return (a.get("f1"), (float(ci[0]), float(ci[1])) if ci else None, a.get("paper_f1"),
            a.get("languages") or 0)


def _english_text(e: Optional[dict]) -> str:
    """Where the English side came from, as counted on the records: given with the input,
    from the translation cache, or translated by the model now (and which model)."""
    e = e or {}
    given, cache, model = (int(e.get(k) or 0) for k in ("given", "cache", "model"))
    total = given + cache + model
    if not total:
        return "no sentence reached the English side"
    if given == total:
        return f"given with the input (all {total} sentences; no translation model used)"
    parts = [f"{n} {what}" for n, what in ((model, "translated by the model"),
                                           (cache, "from the translation cache"),
                                           (given, "given")) if n]
    models = ", ".join(e.get("models") or []) or "unknown model"
    return f"{', '.join(parts)} (of {total}; model {models})"


def _english_total(langs: dict) -> dict:
    out = {"given": 0, "cache": 0, "model": 0, "models": []}
    for entry in langs.values():
        e = entry.get("english") or {}
        for k in ("given", "cache", "model"):
            out[k] += int(e.get(k) or 0)
        out["models"] += [m for m in e.get("models") or [] if m not in out["models"]]
    return out


_HIDDEN_OPTIONS = {"translation_model"}  # the English-side fact says which model was used


def _facts(metrics: dict) -> list[tuple[str, str]]:
    primary = metrics.get("primary") or "typed"
    langs = metrics.get("languages") or {}
    out = [("data set", str(metrics.get("dataset") or DASH)),
           ("run id", str(metrics.get("run_id") or DASH)),
           ("job", str(metrics.get("job") or DASH)),
           ("primary metric", _PRIMARY_NOTE.get(primary, primary))]
    if any("english" in e for e in langs.values()):
        out.append(("English side", _english_text(_english_total(langs))))
    b = metrics.get("bootstrap")
    if b:
        out.append(("uncertainty", f"{100 * b.get('level', 0.95):.0f}% percentile bootstrap "
                                   f"interval of F1, sentences resampled, {b.get('resamples')} "
                                   f"resamples, seed {b.get('seed')}"))
    ex = metrics.get("examples")
    if ex:
        out.append(("examples", f"per language and method: {ex.get('per_kind')} random "
                                f"(seed {ex.get('seed')}, the same sentences for every "
                                f"method) and the {ex.get('per_kind')} with most errors"))
    out += [(str(k).replace("_", " "), str(v)) for k, v in (metrics.get("options") or {}).items()
            if k not in _HIDDEN_OPTIONS]
    return out


def _caveat(metrics: dict, with_paper: bool) -> str:
    if with_paper and (metrics.get("primary") or "typed") == "span":
        return ("The paper's figures are typed F1; ours here are span F1, which ignores the "
                "entity type, so the comparison is indicative only.")
    return ""


def _type_warnings(metrics: dict) -> list[str]:
    """One line per language whose gold and predicted types share none
    (``xlner.evaluation.scoring.type_agreement``): typed F1 there is 0 by construction."""
    span = (metrics.get("primary") or "typed") == "span"
    out = []
    for code, entry in (metrics.get("languages") or {}).items():
        types = entry.get("types") or {}
        if types.get("typed_meaningful", True):
            continue
        what = (f"{code}: gold types ({', '.join(types.get('gold', []))}) and predicted "
                f"types ({', '.join(types.get('predicted', []))}) share none, so every typed "
                "prediction counts as wrong. ")
        out.append(what + ("Typed F1 (in metrics.json) is not meaningful; the headline "
                           "here is span F1." if span else
                           "Typed F1 is NOT MEANINGFUL and the job exited with status 1; "
                           "rerun with --span_only to score spans."))
    return out


def _entities(entry: dict) -> Optional[int]:
    """Gold entities of a language (the same for every method) under the primary metric."""
    for block in (entry.get("methods") or {}).values():
        for kind in ("span", "typed"):
            n = ((block.get(kind) or {}).get("overall") or {}).get("number")
            if n is not None:
                return n
    return None


def _lang_line(lang: str, entry: dict) -> str:
    bits = [lang + (f" ({entry['nllb']})" if entry.get("nllb") else "")]
    if entry.get("sentences") is not None:
        bits.append(f"{entry['sentences']} sentences")
    if _entities(entry) is not None:
        bits.append(f"{_entities(entry)} gold entities")
    if "english" in entry:
        bits.append("English side " + _english_text(entry["english"]))
    dead = [f"{stage}/{reason} {n}" for stage, reasons in (entry.get("dead_letters") or {}).items()
            for reason, n in reasons.items()]
    if dead:
        bits.append("dead letters: " + ", ".join(dead))
    return " · ".join(bits)


def _spans(tags, n: int):
    try:
        return tuple(s for s in tags_to_spans(list(tags or [])[:n]))
    except InvalidTags:
        return ()


def _segments(tokens: list[str], tags, other, side: str, span_only: bool = False
              ) -> list[tuple]:
    """A sentence as plain runs ``(words, None, "", "")`` and entities
    ``(words, label, status, note)``; status is correct, wrong (pred side) or missed (gold).
    With ``span_only`` (span F1 is the headline) equal boundaries count as correct."""
    n = len(tokens)
    others = _spans(other, n)
    exact = {(s.start, s.end): s.label for s in others}
    out, i = [], 0
    for s in _spans(tags, n):
        if s.start > i:
            out.append((tokens[i:s.start], None, "", ""))
        got = exact.get((s.start, s.end))
        overlap = any(o.overlaps(s) for o in others)
        if got == s.label or (span_only and got is not None):
            status, note = "correct", "correct" if got == s.label else f"correct span ({got})"
        elif side == "gold":
            status = "missed"
            note = (f"missed (predicted as {got})" if got else
                    "missed (a prediction overlaps it)" if overlap else "missed")
        else:
            status = "wrong"
            note = (f"wrong type (gold {got})" if got else
                    "wrong boundaries" if overlap else "spurious (no gold entity)")
        out.append((tokens[s.start:s.end], s.label, status, note))
        i = s.end
    if i < n:
        out.append((tokens[i:], None, "", ""))
    return out


def _english_segments(english: Optional[dict]) -> Optional[list[tuple]]:
    """The English words with the English NER's entities ``(words, label, "src", note)``;
    None when the sentence has no English side (it failed before NER)."""
    if not english:
        return None
    words = [str(w) for w in english.get("words") or []]
    out, i = [], 0
    for start, end, label in sorted(tuple(s) for s in english.get("spans") or []):
        start, end = max(int(start), i), min(int(end), len(words))
        if end <= start:
            continue
        if start > i:
            out.append((words[i:start], None, "", ""))
        out.append((words[start:end], str(label), "src", "found by the English NER"))
        i = end
    if i < len(words):
        out.append((words[i:], None, "", ""))
    return out


def _ordered(keys, order: list[str]) -> list[str]:
    keys = list(keys)
    return [k for k in order if k in keys] + [k for k in keys if k not in order]


_KINDS = {"sample": "random sample", "worst": "most errors"}


def _by_kind(examples: list[dict]) -> list[tuple[str, list[dict]]]:
    """Examples grouped by kind: the random sample first, then the worst; examples
    without a kind (older examples.json) form one group."""
    groups: dict[str, list[dict]] = {}
    for ex in examples or []:
        groups.setdefault(str(ex.get("kind") or ""), []).append(ex)
    return [(k, groups[k]) for k in _ordered(groups, list(_KINDS))]


def _errors_text(ex: dict) -> str:
    e = ex.get("errors") or {}
    bits = [f"{e[k]} {k}" for k in ("correct", "spurious", "missed") if k in e]
    if ex.get("failed"):
        bits.append("no prediction (failed; scored as predicting nothing)")
    return ", ".join(bits)


def _kind_title(kind: str, metrics: dict) -> str:
    if kind == "sample":
        seed = (metrics.get("examples") or {}).get("seed")
        return "Random sample" + (f" (seed {seed})" if seed is not None else "")
    if kind == "worst":
        return "Most errors (spurious + missed)"
    return "Examples"


# ------------------------------------------------------------------ comparison
def paired_rows(metrics: dict) -> list[dict]:
    """The paired comparison as table rows (text cells), each pair's languages then its
    overall row: ``a``, ``b``, ``lang``, ``delta`` (F1(A) - F1(B) x 100), ``ci``
    (``[lo, hi]``), ``verdict`` and ``sign`` (+1/-1 where the interval excludes 0, else 0)."""
    rows = []
    for pair in metrics.get("paired") or []:
        cells = list((pair.get("languages") or {}).items())
        if pair.get("overall"):
            cells.append(("overall", pair["overall"]))
        for lang, e in cells:
            ci, excl = e.get("ci"), e.get("excludes_zero")
            sign = (1 if e["delta_f1"] > 0 else -1) if excl else 0
            verdict = ("A better" if sign > 0 else "B better" if sign < 0 else
                       "no difference shown")
            rows.append({"a": pair["a"], "b": pair["b"], "lang": lang,
                         "delta": f"{100 * e['delta_f1']:+.1f}",
                         "ci": DASH if not ci else f"[{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]",
                         "excludes": "yes" if excl else "no", "verdict": verdict,
                         "sign": sign})
    return rows


def class_rows(metrics: dict) -> list[dict]:
    """The per-class table: one row per (method, class) with P, R, F1 x 100 and n gold."""
    return [{"method": m, "cls": t, "p": _pct(s["precision"]), "r": _pct(s["recall"]),
             "f1": _pct(s["f1"]), "n": s["number"]}
            for m, types in (metrics.get("per_class") or {}).items()
            for t, s in types.items()]


PAIRED_NOTE = ("Paired bootstrap: F1(A) − F1(B) × 100 of the primary metric, the same "
               "resampled sentences scored for both methods; the overall row is the mean of "
               "the languages' differences. Where the 95% interval excludes 0 the difference "
               "is unlikely to be resampling noise.")


def _md_comparison(metrics: dict) -> list[str]:
    out = []
    rows = paired_rows(metrics)
    if rows:
        out += ["## Methods compared (paired bootstrap)", "", PAIRED_NOTE, "",
                _md_row(["A", "B", "language", "ΔF1", "95% interval", "excludes 0"]),
                _md_row(["---"] * 6)]
        out += [_md_row([_md(r["a"]), _md(r["b"]), _md(r["lang"]), r["delta"], r["ci"],
                         r["excludes"]]) for r in rows] + [""]
    classes = class_rows(metrics)
    if classes:
        out += ["## Per class", "", "Primary metric over all languages, × 100.", "",
                _md_row(["method", "class", "P", "R", "F1", "gold"]), _md_row(["---"] * 6)]
        out += [_md_row([_md(r["method"]), _md(r["cls"]), r["p"], r["r"], r["f1"],
                         str(r["n"])]) for r in classes] + [""]
    return out


# ------------------------------------------------------------------ calibration
_SCORE_MEANING = {"ngram": "calibrated probability that the span is right",
                  "ner": "calibrated probability that the span is right",
                  "heuristic": "aligned fraction of the entity's words (not calibrated)",
                  "easyproject": "fuzzy-match ratio (not calibrated)"}
CALIBRATION_NOTE = ("Is an entity scored 0.9 right 90 % of the time? Each method's predicted "
                    "entities over all languages, in ten equal-width bins of their score: a "
                    "bar is the share of the bin's entities that were right, the dashed "
                    "diagonal is perfect calibration, a dot marks the bin's mean score; the "
                    "count is above the bar (hover a bar for its numbers); a bin with entities "
                    "has a pale band, an empty bin nothing. ECE: the bins' |right − mean "
                    "score| weighted by their entities.")


def _meaning(method: str) -> str:
    try:
        return _SCORE_MEANING.get(parse(method).projection, "the method's score")
    except UnknownMethod:
        return "the method's score"


def calibration_rows(metrics: dict) -> list[dict]:
    """One row per method of the primary metric's confidence reliability (over all
    languages): text cells, and ``summary`` (metrics.json's entry) or None when the
    metrics have none for the method."""
    block = metrics.get("calibration") or {}
    out = []
    for m, c in (block.get("methods") or {}).items():
        n, unscored = int(c.get("n") or 0), int(c.get("unscored") or 0)
        if n:
            state = ""
        elif unscored:
            state = (f"no confidence: the method gives its {unscored} predicted entities "
                     "no score")
        else:
            state = "no predicted entities"
        p9 = c.get("precision_at_0_9")
        out.append({"method": m, "summary": c, "state": state, "n": n, "unscored": unscored,
                    "meaning": _meaning(m), "ece": DASH if c.get("ece") is None
                    else f"{c['ece']:.3f}", "accuracy": _pct(c.get("accuracy")),
                    "confidence": _pct(c.get("confidence")),
                    "p9": DASH if p9 is None else f"{_pct(p9)} % of {c.get('n_at_0_9')}",
                    "coverage": _pct(c.get("coverage_at_0_9"))})
    return out


def _caption(r: dict) -> str:
    if r["state"]:
        return r["state"]
    out = (f"ECE {r['ece']} · {r['n']} entities, {r['accuracy']} % right, mean score "
           f"{r['confidence']} % · scored ≥ 0.9: {r['coverage']} % of entities, right "
           f"{r['p9']} · score: {r['meaning']}")
    if r["unscored"]:
        out += f" · {r['unscored']} entities without a score left out"
    return out


@dataclass(frozen=True)
class _Reliability:
    """Where a reliability diagram draws: the plot's left edge, top and side."""

    left: int = 44
    top: int = 30
    side: int = 200
    width: int = 264
    height: int = 284

    def x(self, v: float) -> float:
        return round(self.left + self.side * min(max(v, 0.0), 1.0), 1)

    def y(self, v: float) -> float:
        return round(self.top + self.side * (1.0 - min(max(v, 0.0), 1.0)), 1)


def reliability_svg(method: str, summary: dict) -> str:
    """One method's reliability diagram: per non-empty bin a pale band (so a bin whose
    entities were all wrong still shows) and a bar as high as the share of its entities
    that were right, the diagonal, the bin's mean score as a dot and its count above the
    bar (a title with every number); an empty bin draws nothing."""
    f = _Reliability()
    left, top, side = f.left, f.top, f.side
    ece = summary.get("ece")
    label = f"reliability of {method}" + ("" if ece is None else f", ECE {ece:.3f}")
    p = [f'<svg class="reliability" data-method="{_attr(method)}" viewBox="0 0 {f.width} '
         f'{f.height}" width="{f.width}" height="{f.height}" role="img" '
         f'aria-label="{_attr(label)}">',
         f'<text class="ct" x="4" y="15">{escape(_short(method))}<title>{escape(method)}'
         f'</title></text>']
    for t in range(0, 11, 2):
        v = t / 10
        p.append(f'<line class="grid" x1="{f.x(v)}" x2="{f.x(v)}" y1="{top}" '
                 f'y2="{top + side}"/><line class="grid" x1="{left}" x2="{left + side}" '
                 f'y1="{f.y(v)}" y2="{f.y(v)}"/>'
                 f'<text x="{f.x(v)}" y="{top + side + 13}" text-anchor="middle">{v:.1f}</text>'
                 f'<text x="{left - 4}" y="{f.y(v) + 4}" text-anchor="end">{v:.1f}</text>')
    for b, e in enumerate(summary.get("bins") or []):
        if not e.get("n"):
            continue
        acc, conf = float(e["accuracy"]), float(e["confidence"])
        x0, x1 = f.x(float(e["lo"])), f.x(float(e["hi"]))
        tip = escape(f"{method}: score {e['lo']:.1f}–{e['hi']:.1f}: {e['n']} entities, mean "
                     f"score {conf:.3f}, right {100 * acc:.1f} %")
        p.append(f'<rect class="rbin" x="{x0 + 1}" y="{top}" width="{round(x1 - x0 - 2, 1)}" '
                 f'height="{side}"><title>{tip}</title></rect>'
                 f'<rect class="rbar" data-bin="{b}" data-n="{e["n"]}" '
                 f'data-accuracy="{acc:.6f}" x="{x0 + 1}" y="{f.y(acc)}" '
                 f'width="{round(x1 - x0 - 2, 1)}" height="{round(side * acc, 1)}">'
                 f'<title>{tip}</title></rect>'
                 f'<circle class="mc" cx="{f.x(conf)}" cy="{f.y(acc)}" r="2.5">'
                 f'<title>{tip}</title></circle>'
                 f'<text class="cnt" x="{round((x0 + x1) / 2, 1)}" y="{f.y(acc) - 3}" '
                 f'text-anchor="middle">{e["n"]}</text>')
    p.append(f'<line class="diag" x1="{f.x(0)}" y1="{f.y(0)}" x2="{f.x(1)}" y2="{f.y(1)}"/>'
             f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + side}"/>'
             f'<line class="axis" x1="{left}" x2="{left + side}" y1="{top + side}" '
             f'y2="{top + side}"/>'
             f'<text x="{left + side / 2}" y="{f.height - 22}" text-anchor="middle">score '
             f'(bin)</text><text x="{left + side / 2}" y="{f.height - 6}" '
             f'text-anchor="middle" class="ece">ECE {DASH if ece is None else f"{ece:.3f}"}'
             f'</text><text x="10" y="{top + side / 2}" text-anchor="middle" '
             f'transform="rotate(-90 10 {top + side / 2})">right</text></svg>')
    return "".join(p)


def _calibration_html(metrics: dict) -> str:
    rows = calibration_rows(metrics)
    if not rows:
        return '<p class="note">No confidence calibration in these metrics.</p>'
    kind = (metrics.get("calibration") or {}).get("kind") or metrics.get("primary") or "typed"
    right = ("the same span and type as a gold entity" if kind == "typed" else
             "the same span as a gold entity, whatever the type (--span_only)")
    figures = []
    for r in rows:
        body = (reliability_svg(r["method"], r["summary"]) if r["n"] else
                f'<p class="na" title="{_attr(r["method"])}">{escape(_short(r["method"]))}'
                f'</p>')
        figures.append(f'<figure class="reliability" data-method="{_attr(r["method"])}">'
                       f'{body}<figcaption>{escape(_caption(r))}</figcaption></figure>')
    return (f'<p class="note">{escape(CALIBRATION_NOTE)} Right: {escape(right)}.</p>'
            f'<div class="charts">{"".join(figures)}</div>')


def _md_calibration(metrics: dict) -> list[str]:
    rows = calibration_rows(metrics)
    if not rows:
        return []
    out = ["## Confidence calibration", "", CALIBRATION_NOTE, "",
           _md_row(["method", "entities", "ECE", "right %", "mean score %",
                    "scored ≥ 0.9 %", "right at ≥ 0.9", "score"]), _md_row(["---"] * 8)]
    for r in rows:
        if r["state"]:
            out.append(_md_row([_md(r["method"]), str(r["n"]), DASH, DASH, DASH, DASH, DASH,
                                _md(r["state"])]))
        else:
            out.append(_md_row([_md(r["method"]), str(r["n"]), r["ece"], r["accuracy"],
                                r["confidence"], r["coverage"], r["p9"], _md(r["meaning"])]))
    return out + [""]


# ------------------------------------------------------------------ Markdown
def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_words(segments) -> str:
    return " ".join(" ".join(w) if lab is None else
                    f"[{' '.join(w)}]{lab}{'' if st in ('correct', 'src') else '*'}"
                    for w, lab, st, _ in segments)


def _md_example(ex: dict, span_only: bool) -> list[str]:
    toks = [str(t) for t in ex.get("tokens") or []]
    info = _errors_text(ex)
    lines = [str(ex.get("id", "")) + (f"  ({info})" if info else "")]
    en = _english_segments(ex.get("english"))
    if "english" in ex:
        lines.append("  en:   " + (_md_words(en) if en is not None else
                                   "(none: the sentence failed before English NER)"))
    for side, tags, other in (("gold", ex.get("gold"), ex.get("pred")),
                              ("pred", ex.get("pred"), ex.get("gold"))):
        lines.append(f"  {side}: " + _md_words(_segments(toks, tags, other, side, span_only)))
    return lines


def _md_summary(metrics: dict, methods: list[str], grid: dict, paper: bool) -> list[str]:
    """The F1 table: one row per language, a cell per method, the average last."""
    out = ["## F1 per language" + (", ours vs paper" if paper else ""), "",
           "Primary F1 × 100, its bootstrap 95% interval in brackets and n, the gold "
           "entities scored" + (
               "; the paper's figure (Politov et al., 2025) in parentheses, then ours − "
               "paper. The average is over the languages where the paper has the method."
               if paper else ". The paper has no figures for this data set. The average is "
               "over the scored languages."), ""]
    if _caveat(metrics, paper):
        out += [f"> {_caveat(metrics, paper)}", ""]
    out += [line for w in _type_warnings(metrics) for line in (f"> **Warning:** {_md(w)}", "")]
    out.append(_md_row(["language"] + [_md(m) for m in methods]))
    out.append(_md_row(["---"] * (len(methods) + 1)))
    for lang, row in grid.items():
        out.append(_md_row([_md(lang)] + [_cell_text(row[m].f1, row[m].ci, row[m].n,
                                                     row[m].paper_f1, paper)
                                          for m in methods]))
    avg = []
    for m in methods:
        f1, ci, pf1, n = _average(metrics, m)
        avg.append(f"{_cell_text(f1, ci, None, pf1, paper)} languages={n}")
    return out + [_md_row(["**average**"] + avg), ""]


def _md_details(langs: dict, methods: list[str], grid: dict, paper: bool) -> list[str]:
    """Per language: P, R, F1, interval, counts, projection ratio, failures per method."""
    out = ["## Per language", ""]
    cols = ["method", "P", "R", "F1", "95% CI", "gold", "pred", "correct", "proj", "failed"]
    if paper:
        cols += ["P paper", "R paper", "F1 paper", "Δ F1", "proj paper"]
    for lang, row in grid.items():
        out += [f"### {_md(_lang_line(lang, langs[lang]))}", "", _md_row(cols),
                _md_row(["---"] * len(cols))]
        for m in methods:
            c, o, p = row[m], row[m].ours or {}, row[m].paper or {}
            cells = [_md(m), _pct(o.get("precision")), _pct(o.get("recall")), _pct(c.f1),
                     _ci_text(c.ci), str(o.get("number", DASH)), str(o.get("predicted", DASH)),
                     str(o.get("correct", DASH)), _ratio(c.proj),
                     DASH if c.failed is None else str(c.failed)]
            if paper:
                cells += [_pct(p.get("precision")), _pct(p.get("recall")), _pct(c.paper_f1),
                          _diff(c.f1, c.paper_f1) or DASH, _ratio(p.get("proj_ratio"))]
            out.append(_md_row(cells))
        out.append("")
    return out


def _md_examples(metrics: dict, examples: dict, methods: list[str], langs: list[str],
                 span_only: bool) -> list[str]:
    """The examples of each language and method, in fenced blocks by kind."""
    out = ["## Examples", ""]
    if not any(exs for per in examples.values() for exs in (per or {}).values()):
        return out + ["No examples in this run.", ""]
    out += ["`[words]TYPE` marks an entity. `en` is the English side with what the English "
            "NER found; `gold` and `pred` are the target words; `*` after an entity: not "
            "matched exactly (a wrong prediction on the pred line, a missed entity on the "
            "gold line).", ""]
    for lang in _ordered(examples, langs):
        for m in _ordered(examples[lang] or {}, methods):
            if not examples[lang][m]:
                continue
            out += [f"### {_md(lang)} · {_md(m)}", ""]
            for kind, exs in _by_kind(examples[lang][m]):
                lines = [line for ex in exs for line in _md_example(ex, span_only)]
                longest = max([len(r) for r in re.findall(r"`+", "\n".join(lines))] + [2])
                fence = "`" * (longest + 1)
                out += [f"{_kind_title(kind, metrics)}:", "", fence + "text", *lines, fence,
                        ""]
    return out


def render_markdown(metrics: dict, examples: dict) -> str:
    """The report as GitHub-flavoured Markdown (tables, examples in fenced blocks)."""
    methods, grid = _grid(metrics)
    paper = _has_paper(metrics, grid)
    out = ["# Annotation projection: evaluation report", ""]
    out += [f"- **{k}**: {_md(v)}" for k, v in _facts(metrics)] + [""]
    out += _md_summary(metrics, methods, grid, paper)
    out += _md_details(metrics.get("languages") or {}, methods, grid, paper)
    out += _md_comparison(metrics)
    out += _md_calibration(metrics)
    out += _md_examples(metrics, examples or {}, methods, list(grid),
                        metrics.get("primary") == "span")
    return "\n".join(out)


# ------------------------------------------------------------------ HTML
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
 max-width:1400px;padding:0 1.5rem 3rem;color:#222;background:#fff}
h1{font-size:1.5rem;margin:1.2rem 0 .4rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
h4{margin:.8rem 0 .2rem}h5{margin:.5rem 0 .1rem;color:#555;font-size:.9em}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:0}
dl.facts dt{color:#666}dl.facts dd{margin:0;font-family:ui-monospace,monospace}
nav a{margin-right:1rem}.note{color:#555;max-width:60rem}.caveat{color:#8a4b00}
.warning{color:#7a0000;background:#fde8e8;border:1px solid #c00;padding:.5rem;max-width:60rem}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:.5rem 0}
th,td{border:1px solid #e2e2e2;padding:.2rem .45rem;text-align:right;white-space:nowrap}
th{background:#f6f6f6}th[scope=row],td.m{text-align:left}
table.summary th[scope=row]{position:sticky;left:0;background:#f6f6f6}
td.paper{color:#777}td .paper,td .ci,td .n{display:block;color:#666;font-size:.8em}
.ours{font-weight:600}.diff{font-size:.85em;margin-left:.3em}
.pos{color:#1a7f37}.neg{color:#c62828}td.up{background:#eef8ef}td.down{background:#fdeeee}
tr.avg th,tr.avg td{border-top:2px solid #999;background:#fafafa}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem}svg.chart{max-width:100%;height:auto}
svg text{font:11px system-ui,sans-serif;fill:#333}svg .ct{font-size:13px;font-weight:600}
svg .fam{fill:#777;font-style:italic}svg .val{fill:#222}
svg .grid{stroke:#e5e5e5}svg .axis{stroke:#888}svg .bar{fill:#4e79a7}svg .bar:hover{fill:#2d5a8a}
svg .ci{stroke:#1b1b1b;stroke-width:1.3}svg .pm{stroke:#d62728;stroke-width:3}
svg .na{fill:#c62828;font-weight:700}
figure.reliability{margin:0;max-width:264px}figure.reliability figcaption{font-size:.85em;
 color:#444}svg.reliability{max-width:100%;height:auto}svg .rbar{fill:#4e79a7;opacity:.85}
svg .rbar:hover{fill:#2d5a8a}svg .diag{stroke:#d62728;stroke-width:1.5;stroke-dasharray:5 4}
svg .mc{fill:#1b1b1b}svg .rbin{fill:#eef2f7}svg .cnt{font-size:9px;fill:#444}
svg .ece{font-weight:600}
p.na{color:#c62828;font-weight:700}
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}
.ex{margin:.3rem 0 .7rem;padding:.3rem .6rem;border-left:3px solid #ddd}
.exid{color:#888;font-size:.8em;font-family:ui-monospace,monospace}
.line{margin:.15rem 0;padding-left:3.2em;text-indent:-3.2em}
.side{display:inline-block;width:3.2em;text-indent:0;color:#888;font-size:.8em}
.ent{padding:0 .2em;border-radius:3px;border:1px solid}
.ent .lab{font-size:.7em;font-weight:700;margin-left:.25em;vertical-align:super}
.src{background:#e6eefb;border-color:#7d9fd6}.none{color:#888;font-style:italic}
.correct{background:#e3f4e5;border-color:#7cc488}.wrong{background:#fde2e2;border-color:#e57373}
.missed{background:#fff3d6;border-color:#e0b050;border-style:dashed}
"""


def _attr(text) -> str:
    return escape(str(text), quote=True)


def _td(m: str, c: _Cell | None, with_paper: bool, avg: tuple | None = None) -> str:
    """A summary cell; ``data-method`` and the words inside both carry the (lang, method)."""
    if avg is not None:
        ours, ci, paper, n_langs = avg
        n, extra = None, f", {n_langs} languages averaged"
    else:
        ours, ci, paper, n, extra = c.f1, c.ci, c.paper_f1, c.n, ""
    d = _diff(ours, paper) if with_paper else ""
    tint = "" if not d else " up" if float(d) >= 1 else " down" if float(d) <= -1 else ""
    diff = f'<span class="diff {"pos" if d.startswith("+") else "neg"}">{d}</span>' if d else ""
    ci_html = f'<span class="ci">{_ci_text(ci)}</span>' if ci else ""
    n_html = f'<span class="n">n={n}</span>' if n is not None and ours is not None else ""
    paper_html = f'<span class="paper">(paper {_pct(paper)})</span>' if with_paper else ""
    title = m + ": " + _cell_text(ours, ci, n, paper, with_paper) + extra
    return (f'<td class="cell{tint}" data-method="{_attr(m)}" title="{_attr(title)}">'
            f'<span class="ours">{_pct(ours)}</span>{diff}{ci_html}{n_html}{paper_html}</td>')


def _summary_html(metrics: dict, methods: list[str], grid: dict, with_paper: bool) -> str:
    head = "".join(f'<th scope="col" data-method="{_attr(m)}"><abbr title="{_attr(m)}">'
                   f'{escape(_short(m))}</abbr></th>' for m in methods)
    rows = [f'<tr data-lang="{_attr(lang)}"><th scope="row">{escape(lang)}</th>'
            + "".join(_td(m, row[m], with_paper) for m in methods) + "</tr>"
            for lang, row in grid.items()]
    avg = "".join(_td(m, None, with_paper, _average(metrics, m)) for m in methods)
    keys = ", ".join(f"<b>{escape(_short(m))}</b> {escape(m)}" for m in methods)
    return (f'<div class="scroll"><table class="summary" id="summary-table"><thead><tr>'
            f'<th scope="col">language</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f'<tfoot><tr class="avg"><th scope="row">average</th>{avg}</tr></tfoot></table>'
            f'</div><p class="note">{keys}</p>')


_FAMILY_NAMES = {"heuristic": "heuristic", "ngram": "n-gram candidates",
                 "ner": "NER candidates", "easyproject": "EasyProject",
                 "model_transfer": "model transfer", "other": "other"}


@dataclass(frozen=True)
class _ChartFrame:
    """Where a chart draws: bar height and gap, family header height, the plot's left
    edge, top and width; rows are (kind, name, y) with kind "fam" or "bar"."""

    rows: tuple
    bh: int = 16
    gap: int = 6
    left: int = 110
    top: int = 48
    pw: int = 340
    right: int = 168

    @property
    def ph(self) -> int:
        return self.rows[-1][2] + self.bh + self.gap - self.top if self.rows else 0

    @property
    def size(self) -> tuple[int, int]:
        return self.left + self.pw + self.right, self.top + self.ph + 34

    def x(self, v: float) -> float:
        return round(self.left + self.pw * min(max(v, 0.0), 1.0), 1)


def _chart_frame(methods: list[str]) -> _ChartFrame:
    """Bars grouped by projection kind (kinds in order of first appearance, methods in
    report order), a header line above each group."""
    families = list(dict.fromkeys(_family(m) for m in methods))
    frame, rows, last = _ChartFrame(()), [], None
    y = frame.top
    for m in sorted(methods, key=lambda m: families.index(_family(m))):
        if _family(m) != last:
            last = _family(m)
            rows.append(("fam", last, y))
            y += 16
        rows.append(("bar", m, y))
        y += frame.bh + frame.gap
    return _ChartFrame(tuple(rows))


def _chart_axes(f: _ChartFrame, lang: str, metric: str, with_paper: bool) -> list[str]:
    """The title, the legend, the grid lines and the axis."""
    width, height = f.size
    left, top, ph = f.left, f.top, f.ph
    p = [f'<svg class="chart" data-lang="{_attr(lang)}" viewBox="0 0 {width} {height}" '
         f'width="{width}" height="{height}" role="img" '
         f'aria-label="{_attr(f"{metric} by method, {lang}")}">',
         f'<text class="ct" x="4" y="15">{escape(lang)} · {metric} by method</text>',
         f'<rect x="{left}" y="24" width="12" height="10" class="bar"/>'
         f'<text x="{left + 16}" y="33">ours</text>'
         f'<line x1="{left + 52}" x2="{left + 72}" y1="29" y2="29" class="ci"/>'
         f'<line x1="{left + 52}" x2="{left + 52}" y1="25" y2="33" class="ci"/>'
         f'<line x1="{left + 72}" x2="{left + 72}" y1="25" y2="33" class="ci"/>'
         f'<text x="{left + 77}" y="33">95% interval</text>']
    if with_paper:
        p.append(f'<line x1="{left + 158}" x2="{left + 158}" y1="24" y2="35" class="pm"/>'
                 f'<text x="{left + 164}" y="33">paper</text>')
    for t in range(0, 101, 20):
        p.append(f'<line class="grid" x1="{f.x(t / 100)}" x2="{f.x(t / 100)}" y1="{top}" '
                 f'y2="{top + ph}"/><text x="{f.x(t / 100)}" y="{top + ph + 13}" '
                 f'text-anchor="middle">{t}</text>')
    p.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}"/>'
             f'<text x="{left + f.pw / 2}" y="{height - 4}" text-anchor="middle">'
             f'{metric} (%)</text>')
    return p


def _chart_bar(f: _ChartFrame, name: str, c: "_Cell", yy: float, tip: str) -> list[str]:
    """One method: its label, bar, whisker, value text and the paper's tick."""
    left, bh, cy = f.left, f.bh, yy + f.bh / 2
    p = [f'<text x="{left - 6}" y="{cy + 4}" text-anchor="end">{escape(_short(name))}'
         f'<title>{escape(name)}</title></text>']
    if c.f1 is not None:
        p.append(f'<rect class="bar" data-method="{_attr(name)}" x="{left}" y="{yy}" '
                 f'width="{round(f.x(c.f1) - left, 1)}" height="{bh}"><title>{tip}</title>'
                 f'</rect>')
        if c.ci:
            lo, hi = f.x(c.ci[0]), f.x(c.ci[1])
            p.append(f'<g class="whisker" data-method="{_attr(name)}">'
                     f'<line class="ci" x1="{lo}" x2="{hi}" y1="{cy}" y2="{cy}"/>'
                     f'<line class="ci" x1="{lo}" x2="{lo}" y1="{cy - 4}" y2="{cy + 4}"/>'
                     f'<line class="ci" x1="{hi}" x2="{hi}" y1="{cy - 4}" y2="{cy + 4}"/>'
                     f'<title>{tip}</title></g>')
        value = _pct(c.f1) + (f" [{_ci_text(c.ci)}]" if c.ci else "") + (
            f" · paper {_pct(c.paper_f1)}" if c.paper_f1 is not None else "")
        p.append(f'<text class="val" x="{left + f.pw + 6}" y="{cy + 4}">{escape(value)}'
                 f'</text>')
    else:
        p.append(f'<text class="na" x="{left + 4}" y="{cy + 4}">× no result'
                 f'<title>{tip}</title></text>')
    if c.paper_f1 is not None:
        p.append(f'<line class="pm" data-method="{_attr(name)}" x1="{f.x(c.paper_f1)}" '
                 f'x2="{f.x(c.paper_f1)}" y1="{yy - 2}" y2="{yy + bh + 2}">'
                 f'<title>{tip}</title></line>')
    return p


def _chart(lang: str, methods: list[str], row: dict, primary: str) -> str:
    """One language: a horizontal bar per method (ours, 0–100) with its 95% interval as a
    whisker and a red tick at the paper's value where the paper has one."""
    with_paper = any(row[m].paper_f1 is not None for m in methods)
    metric = "span F1" if primary == "span" else "typed F1"
    frame = _chart_frame(methods)
    p = _chart_axes(frame, lang, metric, with_paper)
    for what, name, yy in frame.rows:
        if what == "fam":
            p.append(f'<text class="fam" x="4" y="{yy + 12}">'
                     f'{escape(_FAMILY_NAMES.get(name, name))}</text>')
            continue
        c = row[name]
        tip = escape(f"{lang} · {name}: {_cell_text(c.f1, c.ci, c.n, c.paper_f1, with_paper)}")
        p.extend(_chart_bar(frame, name, c, yy, tip))
    return "".join(p) + "</svg>"


def _details_html(metrics: dict, methods: list[str], grid: dict, with_paper: bool) -> str:
    langs, out = metrics.get("languages") or {}, []
    if with_paper:
        head = ('<thead><tr><th rowspan="2" scope="col">method</th><th colspan="2">P</th>'
                '<th colspan="2">R</th><th colspan="2">F1</th><th rowspan="2">95% CI</th>'
                '<th rowspan="2">Δ F1</th><th rowspan="2">gold</th><th rowspan="2">pred</th>'
                '<th rowspan="2">correct</th><th colspan="2">proj ratio</th>'
                '<th rowspan="2">failed</th></tr><tr>'
                + '<th>ours</th><th>paper</th>' * 3 + '<th>ours</th><th>paper</th></tr></thead>')
    else:
        head = ('<thead><tr><th scope="col">method</th><th>P</th><th>R</th><th>F1</th>'
                '<th>95% CI</th><th>gold</th><th>pred</th><th>correct</th>'
                '<th>proj ratio</th><th>failed</th></tr></thead>')
    for lang, row in grid.items():
        body = []
        for m in methods:
            c, o, p = row[m], row[m].ours or {}, row[m].paper or {}
            keys = ("precision", "recall", "f1")
            if with_paper:
                cells = "".join(f'<td>{_pct(o.get(k))}</td><td class="paper">{_pct(p.get(k))}'
                                f'</td>' for k in keys)
                cells += f'<td>{_ci_text(c.ci)}</td><td>{_diff(c.f1, c.paper_f1) or DASH}</td>'
            else:
                cells = "".join(f"<td>{_pct(o.get(k))}</td>" for k in keys)
                cells += f"<td>{_ci_text(c.ci)}</td>"
            cells += "".join(f"<td>{o.get(k, DASH)}</td>"
                             for k in ("number", "predicted", "correct"))
            cells += f"<td>{_ratio(c.proj)}</td>"
            if with_paper:
                cells += f'<td class="paper">{_ratio(p.get("proj_ratio"))}</td>'
            cells += f'<td>{DASH if c.failed is None else c.failed}</td>'
            body.append(f'<tr data-method="{_attr(m)}"><td class="m">{escape(m)}</td>{cells}'
                        f"</tr>")
        out.append(f'<details data-lang="{_attr(lang)}"><summary>'
                   f'{escape(_lang_line(lang, langs[lang]))}</summary><table class="detail">'
                   f'{head}<tbody>{"".join(body)}</tbody></table></details>')
    return "".join(out)


def _words_html(segments) -> str:
    return " ".join(escape(" ".join(w)) if lab is None else
                    f'<span class="ent {st}" title="{_attr(lab + ": " + note)}">'
                    f'{escape(" ".join(w))}<span class="lab">{escape(lab)}</span></span>'
                    for w, lab, st, note in segments)


def _line_html(side: str, inner: str) -> str:
    return f'<div class="line" data-side="{side}"><span class="side">{side}</span>{inner}</div>'


def _example_html(ex: dict, span_only: bool) -> str:
    toks, gold, pred = [str(t) for t in ex.get("tokens") or []], ex.get("gold"), ex.get("pred")
    info = _errors_text(ex)
    out = (f'<div class="ex" data-kind="{_attr(ex.get("kind") or "")}"><div class="exid">'
           f'{escape(str(ex.get("id", "")))}{" · " + escape(info) if info else ""}</div>')
    if "english" in ex:
        en = _english_segments(ex.get("english"))
        out += _line_html("en", _words_html(en) if en is not None else
                          '<span class="none">none: the sentence failed before English '
                          'NER</span>')
    for side, tags, other in (("gold", gold, pred), ("pred", pred, gold)):
        out += _line_html(side, _words_html(_segments(toks, tags, other, side, span_only)))
    return out + "</div>"


def _examples_html(metrics: dict, examples: dict, langs: list[str], methods: list[str],
                   span_only: bool = False) -> str:
    out, examples = [], examples or {}
    for lang in _ordered(examples, langs):
        inner = []
        for m in _ordered(examples[lang] or {}, methods):
            groups = "".join(f'<h5>{escape(_kind_title(kind, metrics))}</h5>'
                             + "".join(_example_html(ex, span_only) for ex in exs)
                             for kind, exs in _by_kind(examples[lang][m]))
            if groups:
                inner.append(f'<h4>{escape(m)}</h4>{groups}')
        if inner:
            out.append(f'<details data-lang="{_attr(lang)}"{"" if out else " open"}>'
                       f'<summary>{escape(lang)}</summary>{"".join(inner)}</details>')
    if not out:
        return '<p class="note">No examples in this run.</p>'
    legend = ('<p class="note"><b>en</b>: the English side with <span class="ent src">what '
              'the English NER found<span class="lab">TYPE</span></span>; <b>gold</b> and '
              '<b>pred</b>: the target words with <span class="ent correct">exact match'
              '<span class="lab">TYPE</span></span> <span class="ent wrong">wrong prediction'
              '<span class="lab">TYPE</span></span> <span class="ent missed">missed gold '
              'entity<span class="lab">TYPE</span></span>; hover an entity for details.</p>')
    return legend + "".join(out)


def _template():
    """The page template (package data), autoescaping everything not marked safe: the
    sections and charts come pre-rendered by the functions above, which escape their own
    text."""
    import jinja2

    source = files("xlner.evaluation").joinpath("templates/report.html.j2").read_text("utf-8")
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined)
    return env.from_string(source)


def render_html(metrics: dict, examples: dict) -> str:
    """The report as one static HTML5 page: inline CSS and SVG, no scripts, no fetches."""
    from markupsafe import Markup

    methods, grid = _grid(metrics)
    langs = list(grid)
    primary = metrics.get("primary") or "typed"
    paper = _has_paper(metrics, grid)
    title = " · ".join(["Evaluation report", str(metrics.get("dataset") or "custom"),
                        str(metrics.get("run_id") or "")])
    charts = ([Markup(_chart(lang, methods, grid[lang], primary)) for lang in langs]
              if langs and methods else [])
    note = ("Primary F1 × 100 (bold), its bootstrap 95% interval and n, the gold entities "
            "scored. " + (
                "Ours − paper beside it and the paper's figure (Politov et al., 2025) below; "
                "cells are tinted where we are 1 point or more above (green) or below (red) "
                "the paper. The average is over the languages where the paper has the "
                "method (over all scored languages where it has none)." if paper else
                "The paper has no figures for this data set. The average is over the scored "
                "languages."))
    return _template().render(
        title=title, css=Markup(_CSS), facts=_facts(metrics), paper=paper, note=note,
        caveat=_caveat(metrics, paper), warnings=_type_warnings(metrics),
        paired=paired_rows(metrics), paired_note=PAIRED_NOTE, classes=class_rows(metrics),
        summary=Markup(_summary_html(metrics, methods, grid, paper)), charts=charts,
        details=Markup(_details_html(metrics, methods, grid, paper)),
        calibration=Markup(_calibration_html(metrics)),
        examples=Markup(_examples_html(metrics, examples, langs, methods, primary == "span")))
