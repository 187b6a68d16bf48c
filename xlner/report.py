"""The evaluation report: our F1 per (language, method) beside the paper's published figures.

Two renderings of the same rows: Markdown (logs, pull requests) and one self-contained HTML
page (inline CSS and SVG, nothing fetched, opens offline). Both read the numbers from one
grid built by :func:`_grid`, so ours and the paper's figure for a (language, method) cannot
drift apart between the formats or between columns.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from html import escape
from importlib.resources import files
from typing import Optional

from xlner.bio import InvalidTags, tags_to_spans
from xlner.methods import UnknownMethod, parse

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


def _pct(x: Optional[float]) -> str:
    return DASH if x is None else f"{100 * x:.1f}"


def _ratio(x: Optional[float]) -> str:
    return DASH if x is None else f"{x:.3f}"


def _diff(ours: Optional[float], paper: Optional[float]) -> str:
    return "" if ours is None or paper is None else f"{100 * (ours - paper):+.1f}"


def _cell_text(ours: Optional[float], paper: Optional[float]) -> str:
    """``67.3 (paper 66.6, +0.7)``: the one spelling both formats use."""
    d = _diff(ours, paper)
    return f"{_pct(ours)} (paper {_pct(paper)}{', ' + d if d else ''})"


def _short(method: str) -> str:
    """The paper's abbreviation (``H-s-S``, ``Cg-s-S+ilp``); unknown keys as they are."""
    try:
        return parse(method).short
    except UnknownMethod:
        return method


def _average(metrics: dict, method: str) -> tuple[Optional[float], Optional[float], int]:
    a = (metrics.get("averages") or {}).get(method) or {}
    return a.get("f1"), a.get("paper_f1"), a.get("languages") or 0


def _facts(metrics: dict) -> list[tuple[str, str]]:
    primary = metrics.get("primary") or "typed"
    out = [("data set", str(metrics.get("dataset") or DASH)),
           ("run id", str(metrics.get("run_id") or DASH)),
           ("job", str(metrics.get("job") or DASH)),
           ("primary metric", _PRIMARY_NOTE.get(primary, primary))]
    out += [(str(k).replace("_", " "), str(v)) for k, v in (metrics.get("options") or {}).items()]
    return out


def _caveat(metrics: dict) -> str:
    if (metrics.get("primary") or "typed") == "span":
        return ("The paper's figures are typed F1; ours here are span F1, which ignores the "
                "entity type, so the comparison is indicative only.")
    return ""


def _lang_line(lang: str, entry: dict) -> str:
    bits = [lang + (f" ({entry['nllb']})" if entry.get("nllb") else "")]
    if entry.get("sentences") is not None:
        bits.append(f"{entry['sentences']} sentences")
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


def _ordered(keys, order: list[str]) -> list[str]:
    keys = list(keys)
    return [k for k in order if k in keys] + [k for k in keys if k not in order]


# ------------------------------------------------------------------ Markdown
def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def render_markdown(metrics: dict, examples: dict) -> str:
    """The report as GitHub-flavoured Markdown (tables, examples in fenced blocks)."""
    methods, grid = _grid(metrics)
    langs, examples = metrics.get("languages") or {}, examples or {}
    span_only = metrics.get("primary") == "span"
    out = ["# Annotation projection: evaluation report", ""]
    out += [f"- **{k}**: {_md(v)}" for k, v in _facts(metrics)] + [""]
    out += ["## F1 per language, ours vs paper", "",
            "Primary F1 × 100, the paper's figure (Politov et al., 2025) in parentheses, then "
            "ours − paper. The average is over the languages where the paper has the method.",
            ""]
    if _caveat(metrics):
        out += [f"> {_caveat(metrics)}", ""]
    out.append(_md_row(["language"] + [_md(m) for m in methods]))
    out.append(_md_row(["---"] * (len(methods) + 1)))
    for lang, row in grid.items():
        out.append(_md_row([_md(lang)] + [_cell_text(row[m].f1, row[m].paper_f1)
                                          for m in methods]))
    avg = []
    for m in methods:
        f1, pf1, n = _average(metrics, m)
        avg.append(f"{_cell_text(f1, pf1)} n={n}")
    out += [_md_row(["**average**"] + avg), "", "## Per language", ""]
    for lang, row in grid.items():
        out += [f"### {_md(_lang_line(lang, langs[lang]))}", "",
                _md_row(["method", "P", "P paper", "R", "R paper", "F1", "F1 paper", "Δ F1",
                         "proj", "proj paper", "failed"]), _md_row(["---"] * 11)]
        for m in methods:
            c, o, p = row[m], row[m].ours or {}, row[m].paper or {}
            out.append(_md_row([_md(m), _pct(o.get("precision")), _pct(p.get("precision")),
                                _pct(o.get("recall")), _pct(p.get("recall")), _pct(c.f1),
                                _pct(c.paper_f1), _diff(c.f1, c.paper_f1) or DASH,
                                _ratio(c.proj), _ratio(p.get("proj_ratio")),
                                DASH if c.failed is None else str(c.failed)]))
        out.append("")
    out += ["## Examples", ""]
    if not any(exs for per in examples.values() for exs in (per or {}).values()):
        return "\n".join(out + ["No examples in this run.", ""])
    out += ["`[words]TYPE` marks an entity; `*` after it: not matched exactly (a wrong "
            "prediction on the pred line, a missed entity on the gold line).", ""]
    for lang in _ordered(examples, list(grid)):
        for m in _ordered(examples[lang] or {}, methods):
            if not examples[lang][m]:
                continue
            lines = []
            for ex in examples[lang][m]:
                toks = [str(t) for t in ex.get("tokens") or []]
                lines.append(str(ex.get("id", "")))
                for side, tags, other in (("gold", ex.get("gold"), ex.get("pred")),
                                          ("pred", ex.get("pred"), ex.get("gold"))):
                    words = [" ".join(w) if lab is None else
                             f"[{' '.join(w)}]{lab}{'' if st == 'correct' else '*'}"
                             for w, lab, st, _ in _segments(toks, tags, other, side,
                                                            span_only)]
                    lines.append(f"  {side}: " + " ".join(words))
            longest = max([len(r) for r in re.findall(r"`+", "\n".join(lines))] + [2])
            fence = "`" * (longest + 1)
            out += [f"### {_md(lang)} · {_md(m)}", "", fence + "text", *lines, fence, ""]
    return "\n".join(out)


# ------------------------------------------------------------------ HTML
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
 max-width:1400px;padding:0 1.5rem 3rem;color:#222;background:#fff}
h1{font-size:1.5rem;margin:1.2rem 0 .4rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:0}
dl.facts dt{color:#666}dl.facts dd{margin:0;font-family:ui-monospace,monospace}
nav a{margin-right:1rem}.note{color:#555;max-width:60rem}.caveat{color:#8a4b00}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:.5rem 0}
th,td{border:1px solid #e2e2e2;padding:.2rem .45rem;text-align:right;white-space:nowrap}
th{background:#f6f6f6}th[scope=row],td.m{text-align:left}
table.summary th[scope=row]{position:sticky;left:0;background:#f6f6f6}
td.paper{color:#777}td .paper{display:block;color:#777;font-size:.8em}.ours{font-weight:600}
.diff{font-size:.85em;margin-left:.3em}
.pos{color:#1a7f37}.neg{color:#c62828}td.up{background:#eef8ef}td.down{background:#fdeeee}
tr.avg th,tr.avg td{border-top:2px solid #999;background:#fafafa}
.charts{display:flex;flex-wrap:wrap;gap:1rem}svg.chart{max-width:100%;height:auto}
svg text{font:10px system-ui,sans-serif;fill:#333}svg .ct{font-size:12px;font-weight:600}
svg .grid{stroke:#e5e5e5}svg .axis{stroke:#888}svg .bar{fill:#4e79a7}svg .bar:hover{fill:#2d5a8a}
svg .pm{stroke:#d62728;stroke-width:2.5}svg .na{fill:#c62828;font-weight:700}
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}
.ex{margin:.3rem 0 .7rem;padding:.3rem .6rem;border-left:3px solid #ddd}
.exid{color:#888;font-size:.8em;font-family:ui-monospace,monospace}.line{margin:.15rem 0}
.side{display:inline-block;width:2.8em;color:#888;font-size:.8em}
.ent{padding:0 .2em;border-radius:3px;border:1px solid}
.ent .lab{font-size:.7em;font-weight:700;margin-left:.25em;vertical-align:super}
.correct{background:#e3f4e5;border-color:#7cc488}.wrong{background:#fde2e2;border-color:#e57373}
.missed{background:#fff3d6;border-color:#e0b050;border-style:dashed}
"""


def _attr(text) -> str:
    return escape(str(text), quote=True)


def _td(m: str, ours: Optional[float], paper: Optional[float], extra: str = "") -> str:
    """A summary cell; ``data-method`` and the words inside both carry the (lang, method)."""
    d = _diff(ours, paper)
    tint = "" if not d else " up" if float(d) >= 1 else " down" if float(d) <= -1 else ""
    diff = f'<span class="diff {"pos" if d.startswith("+") else "neg"}">{d}</span>' if d else ""
    return (f'<td class="cell{tint}" data-method="{_attr(m)}" '
            f'title="{_attr(m + ": " + _cell_text(ours, paper) + extra)}">'
            f'<span class="ours">{_pct(ours)}</span>{diff}<span class="paper">(paper '
            f'{_pct(paper)})</span></td>')


def _summary_html(metrics: dict, methods: list[str], grid: dict) -> str:
    head = "".join(f'<th scope="col" data-method="{_attr(m)}"><abbr title="{_attr(m)}">'
                   f'{escape(_short(m))}</abbr></th>' for m in methods)
    rows = [f'<tr data-lang="{_attr(lang)}"><th scope="row">{escape(lang)}</th>'
            + "".join(_td(m, row[m].f1, row[m].paper_f1) for m in methods) + "</tr>"
            for lang, row in grid.items()]
    avg = "".join(_td(m, f1, pf1, f", {n} languages averaged")
                  for m in methods for f1, pf1, n in [_average(metrics, m)])
    keys = ", ".join(f"<b>{escape(_short(m))}</b> {escape(m)}" for m in methods)
    return (f'<div class="scroll"><table class="summary" id="summary-table"><thead><tr>'
            f'<th scope="col">language</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f'<tfoot><tr class="avg"><th scope="row">average</th>{avg}</tr></tfoot></table>'
            f'</div><p class="note">{keys}</p>')


def _chart(m: str, langs: list[str], grid: dict) -> str:
    """One method: a bar per language (ours) and a red tick at the paper's value, 0–100."""
    slot, bw, ph, left, top, right = 18, 11, 140, 44, 44, 12
    bottom = 30 + int(5.2 * max([len(l) for l in langs] + [2]))
    pw = max(len(langs) * slot, 280)
    width, height = left + pw + right, top + ph + bottom

    def y(v: float) -> float:
        return round(top + ph * (1 - min(max(v, 0.0), 1.0)), 1)

    p = [f'<svg class="chart" data-method="{_attr(m)}" viewBox="0 0 {width} {height}" '
         f'width="{width}" height="{height}" role="img" '
         f'aria-label="{_attr("F1 by language, " + m)}">',
         f'<text class="ct" x="{left}" y="14">{escape(_short(m))}'
         f'{"" if _short(m) == m else " · " + escape(m)}</text>',
         f'<rect x="{left}" y="21" width="10" height="10" class="bar"/>'
         f'<text x="{left + 14}" y="30">ours</text>'
         f'<line x1="{left + 46}" x2="{left + 60}" y1="26" y2="26" class="pm"/>'
         f'<text x="{left + 64}" y="30">paper</text>']
    for t in range(0, 101, 20):
        p.append(f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{y(t / 100)}" '
                 f'y2="{y(t / 100)}"/><text x="{left - 5}" y="{y(t / 100) + 3}" '
                 f'text-anchor="end">{t}</text>')
    p.append(f'<line class="axis" x1="{left}" x2="{left + pw}" y1="{y(0)}" y2="{y(0)}"/>'
             f'<text transform="translate(12 {top + ph / 2}) rotate(-90)" '
             f'text-anchor="middle">F1 (%)</text><text x="{left + pw / 2}" y="{height - 4}" '
             f'text-anchor="middle">language</text>')
    for i, lang in enumerate(langs):
        c, cx = grid[lang][m], left + i * slot + slot / 2
        tip = escape(f"{lang} · {m}: ours {_cell_text(c.f1, c.paper_f1)}")
        if c.f1 is not None:
            p.append(f'<rect class="bar" data-lang="{_attr(lang)}" x="{cx - bw / 2}" '
                     f'y="{y(c.f1)}" width="{bw}" height="{round(y(0) - y(c.f1), 1)}">'
                     f'<title>{tip}</title></rect>')
        elif c.paper_f1 is not None:
            p.append(f'<text class="na" x="{cx}" y="{y(0) - 2}" text-anchor="middle">×'
                     f'<title>{tip} (no result)</title></text>')
        if c.paper_f1 is not None:
            p.append(f'<line class="pm" data-lang="{_attr(lang)}" x1="{cx - bw / 2 - 2}" '
                     f'x2="{cx + bw / 2 + 2}" y1="{y(c.paper_f1)}" y2="{y(c.paper_f1)}">'
                     f'<title>{tip}</title></line>')
        p.append(f'<text transform="translate({cx + 3} {y(0) + 6}) rotate(-60)" '
                 f'text-anchor="end">{escape(lang)}</text>')
    return "".join(p) + "</svg>"


def _details_html(metrics: dict, methods: list[str], grid: dict) -> str:
    langs, out = metrics.get("languages") or {}, []
    head = ('<thead><tr><th rowspan="2" scope="col">method</th><th colspan="2">P</th>'
            '<th colspan="2">R</th><th colspan="2">F1</th><th rowspan="2">Δ F1</th>'
            '<th colspan="2">proj ratio</th><th rowspan="2">failed</th></tr><tr>'
            + '<th>ours</th><th>paper</th>' * 4 + "</tr></thead>")
    for lang, row in grid.items():
        body = []
        for m in methods:
            c, o, p = row[m], row[m].ours or {}, row[m].paper or {}
            pairs = [(_pct(o.get(k)), _pct(p.get(k))) for k in ("precision", "recall", "f1")]
            cells = "".join(f'<td>{a}</td><td class="paper">{b}</td>' for a, b in pairs)
            body.append(f'<tr data-method="{_attr(m)}"><td class="m">{escape(m)}</td>{cells}'
                        f'<td>{_diff(c.f1, c.paper_f1) or DASH}</td><td>{_ratio(c.proj)}</td>'
                        f'<td class="paper">{_ratio(p.get("proj_ratio"))}</td>'
                        f'<td>{DASH if c.failed is None else c.failed}</td></tr>')
        out.append(f'<details data-lang="{_attr(lang)}"><summary>'
                   f'{escape(_lang_line(lang, langs[lang]))}</summary><table class="detail">'
                   f'{head}<tbody>{"".join(body)}</tbody></table></details>')
    return "".join(out)


def _sentence_html(tokens: list[str], tags, other, side: str, span_only: bool) -> str:
    parts = [escape(" ".join(w)) if lab is None else
             f'<span class="ent {st}" title="{_attr(lab + ": " + note)}">'
             f'{escape(" ".join(w))}<span class="lab">{escape(lab)}</span></span>'
             for w, lab, st, note in _segments(tokens, tags, other, side, span_only)]
    return f'<div class="line"><span class="side">{side}</span>{" ".join(parts)}</div>'


def _example_html(ex: dict, span_only: bool) -> str:
    toks, gold, pred = [str(t) for t in ex.get("tokens") or []], ex.get("gold"), ex.get("pred")
    return (f'<div class="ex"><div class="exid">{escape(str(ex.get("id", "")))}</div>'
            f'{_sentence_html(toks, gold, pred, "gold", span_only)}'
            f'{_sentence_html(toks, pred, gold, "pred", span_only)}</div>')


def _examples_html(examples: dict, langs: list[str], methods: list[str],
                   span_only: bool = False) -> str:
    out, examples = [], examples or {}
    for lang in _ordered(examples, langs):
        inner = []
        for m in _ordered(examples[lang] or {}, methods):
            exs = "".join(_example_html(ex, span_only) for ex in examples[lang][m] or [])
            if exs:
                inner.append(f'<h4>{escape(m)}</h4>{exs}')
        if inner:
            out.append(f'<details data-lang="{_attr(lang)}"{"" if out else " open"}>'
                       f'<summary>{escape(lang)}</summary>{"".join(inner)}</details>')
    if not out:
        return '<p class="note">No examples in this run.</p>'
    legend = ('<p class="note">Entities: <span class="ent correct">exact match<span class="lab">'
              'TYPE</span></span> <span class="ent wrong">wrong prediction<span class="lab">TYPE'
              '</span></span> <span class="ent missed">missed gold entity<span class="lab">TYPE'
              '</span></span>; hover an entity for details.</p>')
    return legend + "".join(out)


def render_html(metrics: dict, examples: dict) -> str:
    """The report as one static HTML5 page: inline CSS and SVG, no scripts, no fetches."""
    methods, grid = _grid(metrics)
    langs = list(grid)
    title = " · ".join(["Evaluation report", str(metrics.get("dataset") or "custom"),
                        str(metrics.get("run_id") or "")])
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in _facts(metrics))
    caveat = f'<p class="note caveat">{escape(_caveat(metrics))}</p>' if _caveat(metrics) else ""
    charts = ("".join(_chart(m, langs, grid) for m in methods) if langs and methods
              else '<p class="note">No languages scored.</p>')
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>Annotation projection: evaluation report</h1>"
        f'<dl class="facts">{facts}</dl></header>'
        f'<nav><a href="#summary">F1 table</a><a href="#charts">charts</a>'
        f'<a href="#languages">per language</a><a href="#examples">examples</a></nav>'
        f'<section id="summary"><h2>F1 per language, ours vs paper</h2><p class="note">'
        f"Primary F1 × 100 (bold) and ours − paper, the paper's figure (Politov et al., "
        f"2025) below; cells are tinted where we are 1 point or more above (green) or "
        f"below (red) the paper. The average is over the languages where the paper has the "
        f"method (over all scored languages where it has none).</p>{caveat}"
        f"{_summary_html(metrics, methods, grid)}</section>"
        f'<section id="charts"><h2>F1 by language, one chart per method</h2>'
        f'<div class="charts">{charts}</div></section>'
        f'<section id="languages"><h2>Per language</h2><p class="note">Precision, recall and F1 '
        f"× 100 of the primary metric, projection ratio, and failed sentences (no prediction, "
        f"scored as predicting nothing).</p>{_details_html(metrics, methods, grid)}</section>"
        f'<section id="examples"><h2>Examples</h2>'
        f"{_examples_html(examples, langs, methods, metrics.get('primary') == 'span')}"
        "</section></body></html>\n")
