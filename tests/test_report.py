"""The report sets our numbers beside the paper's: nothing shifted, well-formed, escaped."""

import csv
from html.parser import HTMLParser
from importlib.resources import files

import pytest

from xlner.report import PAPER_FILES, paper_results, render_html, render_markdown

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
LANGS = ["swa", "yor", "hau"]
METHODS = ["MT", "heur-src2tgt-sim", "cand-ngram-src2tgt-sim+ilp"]


# ------------------------------------------------------------------ helpers
class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag, **attrs):
        out = []
        for c in self.children:
            if isinstance(c, Node):
                if c.tag == tag and all(c.attrs.get(k.replace("_", "-")) == v
                                        for k, v in attrs.items()):
                    out.append(c)
                out += c.find_all(tag, **attrs)
        return out


class Collector(HTMLParser):
    """A tree of the page that fails on any tag closed out of order or left open."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.node = Node("#root", [])
        self.errors, self.decl = [], None

    def handle_decl(self, decl):
        self.decl = decl

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.node)
        self.node.children.append(node)
        if tag not in VOID:
            self.node = node

    def handle_startendtag(self, tag, attrs):
        self.node.children.append(Node(tag, attrs, self.node))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.node.tag != tag:
            self.errors.append(f"</{tag}> closes <{self.node.tag}>")
            return
        self.node = self.node.parent

    def handle_data(self, data):
        self.node.children.append(data)


def parse(page):
    c = Collector()
    c.feed(page)
    c.close()
    assert c.errors == [] and c.node is c.root, c.errors or f"unclosed <{c.node.tag}>"
    return c


def overall(f1):
    return {"precision": f1 + 0.01, "recall": f1 - 0.01, "f1": f1, "accuracy": 0.9,
            "number": 100, "predicted": 100, "correct": int(100 * f1)}


def ours_f1(i, j, kind="typed"):
    """Distinct per (language, method) and per metric kind, so a shift cannot go unseen."""
    return round(0.41 + 0.13 * i + 0.037 * j + (0.021 if kind == "span" else 0.0), 4)


def block(i, j, paper):
    return {kind: {"overall": overall(ours_f1(i, j, kind)), "per_type": {},
                   "proj_ratio": 0.9 + 0.01 * j, "sentences": 50}
            for kind in ("typed", "span")} | {"failed": j, "paper": paper}


def make_metrics(primary="typed"):
    paper = paper_results("masakhaner2")
    langs = {}
    for i, lang in enumerate(LANGS):
        blocks = {m: block(i, j, paper.get((lang, m))) for j, m in enumerate(METHODS)}
        if lang == "hau":  # heur failed entirely: no block; MT predicted nothing useful
            del blocks["heur-src2tgt-sim"]
            blocks["MT"][primary]["overall"] = overall(0.0)
        langs[lang] = {"nllb": "x_Latn", "sentences": 50, "dead_letters": {}, "methods": blocks}
    averages = {"MT": {"f1": 0.5, "paper_f1": 0.6, "languages": 3},
                "heur-src2tgt-sim": {"f1": 0.55, "paper_f1": 0.65, "languages": 2},
                "cand-ngram-src2tgt-sim+ilp": {"f1": 0.7, "paper_f1": None, "languages": 3}}
    return {"job": "translate-test", "run_id": "run-42", "dataset": "masakhaner2",
            "primary": primary, "options": {"translation_model": "facebook/nllb-200-3.3B"},
            "methods": METHODS, "languages": langs, "averages": averages}


def expected(metrics, lang, method):
    """(our F1, the paper's F1) ×100 as the report must print them, '–' where absent."""
    b = metrics["languages"][lang]["methods"].get(method)
    paper = paper_results("masakhaner2").get((lang, method))
    ours = f"{100 * b[metrics['primary']]['overall']['f1']:.1f}" if b else "–"
    return ours, f"{100 * paper['f1']:.1f}" if paper else "–"


EXAMPLES = {"swa": {"MT": [{"id": "s1", "tokens": ["Angela", "Merkel", "<script>", "Paris",
                                                     "&", "\"Co\""],
                            "gold": ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"],
                            "pred": ["B-PER", "I-PER", "B-ORG", "B-ORG", "O", "O"]}]}}


# ------------------------------------------------------------------ paper results
def test_paper_results_match_the_csv():
    path = files("xlner").joinpath("data", "paper_results", "masakhaner2.csv")
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    swa_mt = next(r for r in rows if r["lang"] == "swa" and r["method"] == "MT")
    mk = paper_results("masakhaner2")
    assert mk[("swa", "MT")]["f1"] == float(swa_mt["overall_f1"])
    assert mk[("swa", "MT")]["recall"] == float(swa_mt["overall_recall"])
    assert len(mk) == 18 * 13 and len({l for l, _ in mk}) == 18
    assert set(mk[("swa", "MT")]) == {"f1", "precision", "recall", "proj_ratio", "dur_s"}
    assert all(0 <= v["f1"] <= 1 for v in mk.values())
    assert ("sw", "heur-src2tgt-awe") in paper_results("panx")
    assert len(paper_results("panx")) == 39 * 13
    assert {l for l, _ in paper_results("europarl")} == {"de", "es", "it"}
    assert paper_results("custom") == {} and set(PAPER_FILES) == {"masakhaner2", "panx",
                                                                 "europarl"}


# ------------------------------------------------------------------ HTML
def test_html_is_valid_and_self_contained():
    page = render_html(make_metrics(), EXAMPLES)
    c = parse(page)
    assert c.decl.lower() == "doctype html"
    (html_el,) = c.root.find_all("html")
    assert html_el.attrs.get("lang") == "en"
    assert c.root.find_all("meta", charset="utf-8")
    assert c.root.find_all("style") and not c.root.find_all("script")
    assert "http://" not in page and "https://" not in page and "src=" not in page
    head = c.root.find_all("header")[0].text()
    for fact in ("masakhaner2", "run-42", "facebook/nllb-200-3.3B", "typed"):
        assert fact in head


def test_html_summary_rows_line_up_with_the_paper():
    metrics = make_metrics()
    c = parse(render_html(metrics, EXAMPLES))
    (table,) = c.root.find_all("table", id="summary-table")
    header = [th.attrs.get("data-method") for th in table.find_all("thead")[0].find_all("th")]
    assert header == [None] + METHODS
    rows = table.find_all("tbody")[0].find_all("tr") + table.find_all("tfoot")[0].find_all("tr")
    assert [r.find_all("th")[0].text() for r in rows] == LANGS + ["average"]
    for lang, row in zip(LANGS, rows):
        cells = row.find_all("td")
        assert [td.attrs["data-method"] for td in cells] == METHODS
        for method, td in zip(METHODS, cells):
            ours, paper = expected(metrics, lang, method)
            assert td.find_all("span", **{"class": "ours"})[0].text() == ours
            assert td.find_all("span", **{"class": "paper"})[0].text() == f"(paper {paper})"
    # the hand-picked edge cases, spelled out
    hau = rows[2].find_all("td")
    assert hau[0].text().startswith("0.0")  # F1 0
    assert hau[1].text().startswith("–(paper ")  # no block, paper still from the CSV
    assert "(paper –)" in rows[0].find_all("td")[2].text()  # +ilp has no paper row
    avg = rows[-1].find_all("td")
    assert [a.text() for a in avg] == ["50.0-10.0(paper 60.0)", "55.0-10.0(paper 65.0)",
                                       "70.0(paper –)"]


def test_html_chart_has_a_bar_per_scored_cell_with_tooltips():
    metrics = make_metrics()
    c = parse(render_html(metrics, EXAMPLES))
    charts = c.root.find_all("svg")
    assert [s.attrs["data-method"] for s in charts] == METHODS
    for svg, method in zip(charts, METHODS):
        bars = [r for r in svg.find_all("rect") if "data-lang" in r.attrs]
        scored = [l for l in LANGS if metrics["languages"][l]["methods"].get(method)]
        assert [b.attrs["data-lang"] for b in bars] == scored
        for bar in bars:
            ours, paper = expected(metrics, bar.attrs["data-lang"], method)
            tip = bar.find_all("title")[0].text()
            assert bar.attrs["data-lang"] in tip and ours in tip and f"paper {paper}" in tip
            assert 0 <= float(bar.attrs["height"]) <= 140
        marks = [l.attrs["data-lang"] for l in svg.find_all("line") if "data-lang" in l.attrs]
        assert marks == [l for l in LANGS if expected(metrics, l, method)[1] != "–"]
        texts = [t.text() for t in svg.find_all("text")]
        assert "F1 (%)" in texts and "language" in texts and "paper" in texts
    # a higher F1 is a taller bar
    mt = [r for r in charts[0].find_all("rect") if "data-lang" in r.attrs]
    assert float(mt[1].attrs["height"]) > float(mt[0].attrs["height"]) > float(
        mt[2].attrs["height"]) == 0


def test_html_examples_highlight_and_escape():
    page = render_html(make_metrics(), EXAMPLES)
    assert "<script>" not in page and "&lt;script&gt;" in page
    c = parse(page)
    (section,) = c.root.find_all("section", id="examples")
    gold, pred = section.find_all("div", **{"class": "line"})
    ents = lambda line: [(s.attrs["class"], s.text()) for s in line.find_all("span")
                         if s.attrs["class"].startswith("ent")]
    assert ents(gold) == [("ent correct", "Angela MerkelPER"), ("ent missed", "ParisLOC"),
                          ("ent missed", "\"Co\"ORG")]
    assert ents(pred) == [("ent correct", "Angela MerkelPER"), ("ent wrong", "<script>ORG"),
                          ("ent wrong", "ParisORG")]
    assert "&" in gold.text() and "wrong type (gold LOC)" in page


def test_html_empty_examples_and_span_primary():
    metrics = make_metrics(primary="span")
    c = parse(render_html(metrics, {}))
    assert "No examples" in c.root.find_all("section", id="examples")[0].text()
    row = c.root.find_all("tr", data_lang="swa")[0]
    ours = row.find_all("span", **{"class": "ours"})[0].text()
    assert ours == f"{100 * ours_f1(0, 0, 'span'):.1f}"
    assert "span F1" in c.root.find_all("header")[0].text()


# ------------------------------------------------------------------ Markdown
def md_table(text, first_header):
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows[0], rows[2:]


def test_markdown_rows_line_up_with_the_paper():
    metrics = make_metrics()
    md = render_markdown(metrics, EXAMPLES)
    assert "masakhaner2" in md and "run-42" in md and "facebook/nllb-200-3.3B" in md
    header, rows = md_table(md, "language")
    assert header == ["language"] + METHODS
    assert [r[0] for r in rows] == LANGS + ["**average**"]
    for lang, row in zip(LANGS, rows):
        assert len(row) == len(METHODS) + 1
        for method, cell in zip(METHODS, row[1:]):
            ours, paper = expected(metrics, lang, method)
            assert cell.startswith(f"{ours} (paper {paper}")
    assert rows[-1][1] == "50.0 (paper 60.0, -10.0) n=3"
    header, rows = md_table(md, "method")  # the first per-language table: swa
    assert [r[0] for r in rows] == METHODS
    mt = dict(zip(header, rows[0]))
    paper = paper_results("masakhaner2")[("swa", "MT")]
    assert mt["F1"] == f"{100 * ours_f1(0, 0):.1f}" and mt["F1 paper"] == f"{100 * paper['f1']:.1f}"
    assert mt["R paper"] == f"{100 * paper['recall']:.1f}" and mt["failed"] == "0"


def test_markdown_examples_use_brackets():
    md = render_markdown(make_metrics(), EXAMPLES)
    assert "gold: [Angela Merkel]PER <script> [Paris]LOC* & [\"Co\"]ORG*" in md
    assert "pred: [Angela Merkel]PER [<script>]ORG* [Paris]ORG* & \"Co\"" in md


@pytest.mark.parametrize("examples", [{}, None, {"swa": {"MT": []}}])
def test_markdown_without_examples_and_with_span_primary(examples):
    metrics = make_metrics(primary="span")
    md = render_markdown(metrics, examples)
    assert "No examples in this run." in md
    _, rows = md_table(md, "language")
    assert rows[0][1].startswith(f"{100 * ours_f1(0, 0, 'span'):.1f} (paper")
    assert rows[2][2].startswith("– (paper")
