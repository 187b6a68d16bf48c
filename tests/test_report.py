"""The report sets our numbers beside the paper's: nothing shifted, well-formed, escaped."""

import csv
from html.parser import HTMLParser
from importlib.resources import files

import pytest

from xlner.evaluation.report import PAPER_FILES, paper_results, render_html, render_markdown

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


def overall(f1, n=100):
    return {"precision": f1 + 0.01, "recall": f1 - 0.01, "f1": f1, "accuracy": 0.9,
            "number": n, "predicted": 100, "correct": int(100 * f1),
            "f1_ci": [max(f1 - 0.052, 0.0), min(f1 + 0.047, 1.0)]}


def ours_f1(i, j, kind="typed"):
    """Distinct per (language, method) and per metric kind, so a shift cannot go unseen."""
    return round(0.41 + 0.13 * i + 0.037 * j + (0.021 if kind == "span" else 0.0), 4)


def block(i, j, paper):
    return {kind: {"overall": overall(ours_f1(i, j, kind), 100 + 10 * i), "per_type": {},
                   "proj_ratio": 0.9 + 0.01 * j, "sentences": 50}
            for kind in ("typed", "span")} | {"failed": j, "paper": paper}


ENGLISH = {"swa": {"given": 10, "cache": 0, "model": 40, "models": ["facebook/nllb-200-3.3B"]},
           "yor": {"given": 50, "cache": 0, "model": 0, "models": []},
           "hau": {"given": 0, "cache": 50, "model": 0, "models": ["facebook/nllb-200-3.3B"]}}


def make_metrics(primary="typed", dataset="masakhaner2", english=None):
    paper = paper_results(dataset)
    english = ENGLISH if english is None else english
    langs = {}
    for i, lang in enumerate(LANGS):
        blocks = {m: block(i, j, paper.get((lang, m))) for j, m in enumerate(METHODS)}
        if lang == "hau":  # heur failed entirely: no block; MT predicted nothing useful
            del blocks["heur-src2tgt-sim"]
            blocks["MT"][primary]["overall"] = overall(0.0, 120)
        langs[lang] = {"nllb": "x_Latn", "sentences": 50, "dead_letters": {},
                       "english": english[lang], "methods": blocks}
    with_paper = bool(paper)
    averages = {"MT": {"f1": 0.5, "f1_ci": [0.46, 0.55], "paper_f1": 0.6 if with_paper else None,
                       "languages": 3},
                "heur-src2tgt-sim": {"f1": 0.55, "f1_ci": [0.5, 0.6],
                                     "paper_f1": 0.65 if with_paper else None, "languages": 2},
                "cand-ngram-src2tgt-sim+ilp": {"f1": 0.7, "f1_ci": [0.66, 0.74],
                                               "paper_f1": None, "languages": 3}}
    return {"job": "translate-test", "run_id": "run-42", "dataset": dataset,
            "primary": primary, "options": {"translation_model": "facebook/nllb-200-3.3B",
                                            "ner_model": "embedded:spacy-en-core-web-sm"},
            "bootstrap": {"resamples": 1000, "seed": 0, "level": 0.95, "unit": "sentence",
                          "interval": "percentile"},
            "examples": {"per_kind": 3, "seed": 7},
            "methods": METHODS, "languages": langs, "averages": averages}


def expected(metrics, lang, method):
    """(our F1, its interval, n, the paper's F1) as the report must print them."""
    b = metrics["languages"][lang]["methods"].get(method)
    paper = paper_results(metrics["dataset"]).get((lang, method))
    if not b:
        return "–", None, None, f"{100 * paper['f1']:.1f}" if paper else "–"
    o = b[metrics["primary"]]["overall"]
    return (f"{100 * o['f1']:.1f}", f"{100 * o['f1_ci'][0]:.1f}–{100 * o['f1_ci'][1]:.1f}",
            str(o["number"]), f"{100 * paper['f1']:.1f}" if paper else "–")


EXAMPLES = {"swa": {"MT": [
    {"id": "s1", "kind": "sample",
     "tokens": ["Angela", "Merkel", "<script>", "Paris", "&", "\"Co\""],
     "gold": ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"],
     "pred": ["B-PER", "I-PER", "B-ORG", "B-ORG", "O", "O"],
     "errors": {"correct": 1, "spurious": 2, "missed": 2}, "failed": False,
     "english": {"words": ["Chancellor", "Angela", "Merkel", "<b>", "in", "Paris"],
                 "spans": [[1, 3, "PER"], [5, 6, "LOC"]]}},
    {"id": "s2", "kind": "worst", "tokens": ["Nairobi", "ni", "mji"],
     "gold": ["B-LOC", "O", "O"], "pred": ["O", "O", "O"],
     "errors": {"correct": 0, "spurious": 0, "missed": 1}, "failed": True, "english": None}]}}


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
    for fact in ("masakhaner2", "run-42", "typed", "1000 resamples", "seed 0", "seed 7"):
        assert fact in head


def _facts(page):
    dl = parse(page).root.find_all("dl")[0]
    return dict(zip([d.text() for d in dl.find_all("dt")], [d.text() for d in dl.find_all("dd")]))


def test_header_says_where_the_english_side_came_from():
    all_given = {lang: {"given": 50, "cache": 0, "model": 0, "models": []} for lang in LANGS}
    for page in (render_html(make_metrics(english=all_given), {}),
                 render_markdown(make_metrics(english=all_given), {})):
        assert "given with the input (all 150 sentences; no translation model used)" in page
        assert "nllb" not in page  # the option's default model translated nothing
    facts = _facts(render_html(make_metrics(), {}))
    assert facts["English side"] == ("40 translated by the model, 50 from the translation "
                                     "cache, 60 given (of 150; model facebook/nllb-200-3.3B)")
    assert "translation model" not in facts and facts["ner model"]
    md = render_markdown(make_metrics(), {})
    assert "English side given with the input (all 50 sentences" in md  # yor's own line


def test_html_summary_cells_carry_the_interval_the_count_and_the_paper():
    metrics = make_metrics()
    c = parse(render_html(metrics, EXAMPLES))
    (table,) = c.root.find_all("table", id="summary-table")
    header = [th.attrs.get("data-method") for th in table.find_all("thead")[0].find_all("th")]
    assert header == [None] + METHODS
    rows = table.find_all("tbody")[0].find_all("tr") + table.find_all("tfoot")[0].find_all("tr")
    assert [r.find_all("th")[0].text() for r in rows] == LANGS + ["average"]
    span = lambda td, cls: [s.text() for s in td.find_all("span", **{"class": cls})]  # noqa
    for lang, row in zip(LANGS, rows):
        cells = row.find_all("td")
        assert [td.attrs["data-method"] for td in cells] == METHODS
        for method, td in zip(METHODS, cells):
            ours, ci, n, paper = expected(metrics, lang, method)
            assert span(td, "ours") == [ours] and span(td, "paper") == [f"(paper {paper})"]
            assert span(td, "ci") == ([ci] if ci else [])
            assert span(td, "n") == ([f"n={n}"] if n else [])
    hau = rows[2].find_all("td")
    assert span(hau[0], "ours") == ["0.0"] and span(hau[0], "ci") == ["0.0–4.7"]
    assert hau[1].text() == f"–(paper {expected(metrics, 'hau', METHODS[1])[3]})"  # from the CSV
    assert "(paper –)" in rows[0].find_all("td")[2].text()  # +ilp has no paper row
    avg = rows[-1].find_all("td")
    assert [a.text() for a in avg] == ["50.0-10.046.0–55.0(paper 60.0)",
                                       "55.0-10.050.0–60.0(paper 65.0)",
                                       "70.066.0–74.0(paper –)"]


def test_one_chart_per_language_compares_all_methods():
    metrics = make_metrics()
    c = parse(render_html(metrics, EXAMPLES))
    (section,) = c.root.find_all("section", id="charts")
    charts = section.find_all("svg")
    assert [s.attrs["data-lang"] for s in charts] == LANGS
    for svg, lang in zip(charts, LANGS):
        scored = [m for m in METHODS if metrics["languages"][lang]["methods"].get(m)]
        bars = [r for r in svg.find_all("rect") if "data-method" in r.attrs]
        assert sorted(b.attrs["data-method"] for b in bars) == sorted(scored)
        whiskers = [g.attrs["data-method"] for g in svg.find_all("g", **{"class": "whisker"})]
        assert sorted(whiskers) == sorted(scored)
        for bar in bars:
            ours, ci, n, paper = expected(metrics, lang, bar.attrs["data-method"])
            tip = bar.find_all("title")[0].text()
            assert f"{ours} [{ci}] n={n} (paper {paper}" in tip
            assert 0 <= float(bar.attrs["width"]) <= 340
        marks = [l.attrs["data-method"] for l in svg.find_all("line") if "data-method" in l.attrs]
        assert sorted(marks) == sorted(m for m in METHODS
                                       if expected(metrics, lang, m)[3] != "–")
        texts = [t.text() for t in svg.find_all("text")]
        assert "typed F1 (%)" in texts and "paper" in texts and "95% interval" in texts
        if lang == "hau":
            assert any(t.startswith("× no result") for t in texts)
    # a higher F1 is a longer bar; the whisker spans the interval around the bar's end
    widths = {b.attrs["data-method"]: float(b.attrs["width"])
              for b in charts[1].find_all("rect") if "data-method" in b.attrs}
    assert widths["cand-ngram-src2tgt-sim+ilp"] > widths["heur-src2tgt-sim"] > widths["MT"]
    (g,) = [g for g in charts[1].find_all("g") if g.attrs.get("data-method") == "MT"]
    x1, x2 = (float(g.find_all("line")[0].attrs[k]) for k in ("x1", "x2"))
    assert x1 < 110 + widths["MT"] < x2  # the plot starts at x=110


def test_no_paper_columns_without_paper_figures():
    metrics = make_metrics(dataset="custom")
    page = render_html(metrics, EXAMPLES)
    c = parse(page)
    for sid in ("summary", "charts", "languages"):
        text = c.root.find_all("section", id=sid)[0].text()
        assert "paper" not in text.replace("The paper has no figures", ""), sid
    md = render_markdown(metrics, EXAMPLES)
    assert "paper" not in md.replace("The paper has no figures", "")
    _, rows = md_table(md, "language")
    assert rows[0][1] == "41.0 [35.8–45.7] n=100"
    header, _ = md_table(md, "method")
    assert header == ["method", "P", "R", "F1", "95% CI", "gold", "pred", "correct", "proj",
                      "failed"]
    # with paper figures, the paper columns are there
    header, _ = md_table(render_markdown(make_metrics(), EXAMPLES), "method")
    assert header[-5:] == ["P paper", "R paper", "F1 paper", "Δ F1", "proj paper"]


def test_html_examples_show_the_english_side_and_highlight_and_escape():
    page = render_html(make_metrics(), EXAMPLES)
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;" in page
    c = parse(page)
    (section,) = c.root.find_all("section", id="examples")
    assert [h.text() for h in section.find_all("h5")] == ["Random sample (seed 7)",
                                                          "Most errors (spurious + missed)"]
    first, second = section.find_all("div", **{"class": "ex"})
    assert first.attrs["data-kind"] == "sample" and second.attrs["data-kind"] == "worst"
    en, gold, pred = first.find_all("div", **{"class": "line"})
    assert [l.attrs["data-side"] for l in (en, gold, pred)] == ["en", "gold", "pred"]
    ents = lambda line: [(s.attrs["class"], s.text()) for s in line.find_all("span")  # noqa
                         if s.attrs["class"].startswith("ent")]
    assert ents(en) == [("ent src", "Angela MerkelPER"), ("ent src", "ParisLOC")]
    assert "Chancellor" in en.text() and "<b> in" in en.text()
    assert ents(gold) == [("ent correct", "Angela MerkelPER"), ("ent missed", "ParisLOC"),
                          ("ent missed", "\"Co\"ORG")]
    assert ents(pred) == [("ent correct", "Angela MerkelPER"), ("ent wrong", "<script>ORG"),
                          ("ent wrong", "ParisORG")]
    assert "&" in gold.text() and "wrong type (gold LOC)" in page
    assert "1 correct, 2 spurious, 2 missed" in first.text()
    # a sentence that failed before English NER says so
    assert "none: the sentence failed before English NER" in second.text()
    assert "no prediction (failed" in second.text()


def test_html_empty_examples_and_span_primary():
    metrics = make_metrics(primary="span")
    c = parse(render_html(metrics, {}))
    assert "No examples" in c.root.find_all("section", id="examples")[0].text()
    row = c.root.find_all("tr", data_lang="swa")[0]
    ours = row.find_all("span", **{"class": "ours"})[0].text()
    assert ours == f"{100 * ours_f1(0, 0, 'span'):.1f}"
    assert "span F1" in c.root.find_all("header")[0].text()
    assert "span F1 (%)" in [t.text() for t in c.root.find_all("svg")[0].find_all("text")]


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
            ours, ci, n, paper = expected(metrics, lang, method)
            assert cell.startswith(f"{ours} [{ci}] n={n} (paper {paper}" if ci else
                                   f"{ours} (paper {paper}")
    assert rows[-1][1] == "50.0 [46.0–55.0] (paper 60.0, -10.0) languages=3"
    header, rows = md_table(md, "method")  # the first per-language table: swa
    assert [r[0] for r in rows] == METHODS
    mt = dict(zip(header, rows[0]))
    paper = paper_results("masakhaner2")[("swa", "MT")]
    assert mt["F1"] == f"{100 * ours_f1(0, 0):.1f}" and mt["F1 paper"] == f"{100 * paper['f1']:.1f}"
    assert mt["95% CI"] == expected(metrics, "swa", "MT")[1] and mt["gold"] == "100"
    assert mt["R paper"] == f"{100 * paper['recall']:.1f}" and mt["failed"] == "0"


def test_markdown_examples_show_the_english_side():
    md = render_markdown(make_metrics(), EXAMPLES)
    assert "en:   Chancellor [Angela Merkel]PER <b> in [Paris]LOC" in md
    assert "gold: [Angela Merkel]PER <script> [Paris]LOC* & [\"Co\"]ORG*" in md
    assert "pred: [Angela Merkel]PER [<script>]ORG* [Paris]ORG* & \"Co\"" in md
    assert md.index("Random sample (seed 7):") < md.index("s1  (1 correct") < md.index(
        "Most errors (spurious + missed):") < md.index("s2  (0 correct")
    assert "en:   (none: the sentence failed before English NER)" in md


@pytest.mark.parametrize("examples", [{}, None, {"swa": {"MT": []}}])
def test_markdown_without_examples_and_with_span_primary(examples):
    metrics = make_metrics(primary="span")
    md = render_markdown(metrics, examples)
    assert "No examples in this run." in md
    _, rows = md_table(md, "language")
    assert rows[0][1].startswith(f"{100 * ours_f1(0, 0, 'span'):.1f} [")
    assert rows[2][2].startswith("– (paper")


def test_the_page_template_escapes_what_it_is_given():
    metrics = make_metrics()
    metrics["dataset"] = "<script>alert(1)</script>"
    metrics["run_id"] = "\"><img src=x onerror=alert(1)>"
    page = render_html(metrics, {})
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
