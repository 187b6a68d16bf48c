"""report.html in a real browser: headless Chromium lays the page out, and the test reads
back what it drew — one chart per language whose bars are as long as the F1 says, a
reliability diagram per method with a confidence whose bars are as high as each bin's
accuracy, the type warning visible, no horizontal overflow, no console message, a
screenshot with the bars and the paper marks in their colours.

Debian's ``chromium`` (``apt-get install chromium``) is enough. Without a Chromium on PATH
the tests skip and say so, unless ``XLNER_REQUIRE_CHROMIUM=1`` (set by ``make test`` where it
can install Chromium: as root with apt-get, as in CI), where a missing browser fails them.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from tests.test_report import EXAMPLES, LANGS, make_metrics
from xlner.evaluation.report import render_html

CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome",
                                           "google-chrome-stable") if shutil.which(n)), None)
if CHROMIUM is None and os.environ.get("XLNER_REQUIRE_CHROMIUM") == "1":
    raise RuntimeError("XLNER_REQUIRE_CHROMIUM=1 but no chromium on PATH")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium on PATH (Debian: apt-get install chromium; "
                             "make test installs it as root)")
WIDTH, HEIGHT = 1280, 2400
BAR, PAPER_MARK, WARNING = (0x4E, 0x79, 0xA7), (0xD6, 0x27, 0x28), (0xFD, 0xE8, 0xE8)

# Loads the report in a frame and writes what the browser laid out into the page, which
# --dump-dom then prints (file:// frames are readable with --allow-file-access-from-files).
PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="r" src="report.html" style="width:%dpx;height:%dpx;border:0"></iframe>
<pre id="result">pending</pre><script>
document.getElementById("r").onload = function () {
  var d = this.contentDocument, out = {charts: [], warnings: []};
  d.querySelectorAll("svg.chart").forEach(function (svg) {
    var box = svg.getBoundingClientRect(), bars = [];
    svg.querySelectorAll("rect.bar[data-method]").forEach(function (b) {
      bars.push({method: b.getAttribute("data-method"),
                 width: b.getBoundingClientRect().width,
                 title: (b.querySelector("title") || {}).textContent});
    });
    out.charts.push({lang: svg.getAttribute("data-lang"), width: box.width,
                     height: box.height, bars: bars});
  });
  out.reliability = [];
  d.querySelectorAll("svg.reliability").forEach(function (svg) {
    var box = svg.getBoundingClientRect(), bars = [];
    svg.querySelectorAll("rect.rbar").forEach(function (b) {
      var r = b.getBoundingClientRect();
      bars.push({bin: +b.getAttribute("data-bin"), accuracy: +b.getAttribute("data-accuracy"),
                 height: r.height, bottom: r.bottom, inside: r.left >= box.left &&
                 r.right <= box.right && r.top >= box.top && r.bottom <= box.bottom});
    });
    var cap = svg.parentNode.querySelector("figcaption");
    out.reliability.push({method: svg.getAttribute("data-method"), width: box.width,
                          height: box.height, bars: bars,
                          caption: cap ? cap.textContent : "",
                          captionHeight: cap ? cap.offsetHeight : 0});
  });
  d.querySelectorAll(".warning").forEach(function (w) {
    out.warnings.push({height: w.offsetHeight, background: getComputedStyle(w).backgroundColor,
                       text: w.textContent});
  });
  out.scrollWidth = d.documentElement.scrollWidth;
  out.viewport = d.documentElement.clientWidth;
  document.getElementById("result").textContent = JSON.stringify(out);
};
</script></body></html>""" % (WIDTH, HEIGHT)


def _calibration():
    from xlner.evaluation.calibration import Reliability

    heur = Reliability.of([0.95] * 8 + [0.55, 0.45, 0.05],
                          [True] * 6 + [False] * 2 + [True, False, False])
    return {"kind": "typed", "bins": 10, "threshold": 0.9, "methods": {
        "MT": Reliability.of([None] * 3, [False] * 3).summary(),
        "heur-src2tgt-sim": heur.summary(),
        "cand-ngram-src2tgt-sim+ilp": Reliability.of([0.97] * 10 + [0.35],
                                                     [True] * 9 + [False, True]).summary()}}


CALIBRATION = _calibration()


def _chromium(folder, *args) -> tuple[str, str]:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", f"--user-data-dir={folder / 'profile'}", "--enable-logging=stderr",
           "--v=0", f"--window-size={WIDTH},{HEIGHT}", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout, res.stderr


@pytest.fixture
def report(tmp_path):
    """The report of make_metrics(), yor's gold and predicted types sharing none."""
    metrics = make_metrics()
    metrics["languages"]["yor"]["types"] = {"gold": ["ENT"], "predicted": ["PER"],
                                            "shared": [], "typed_meaningful": False}
    metrics["calibration"] = CALIBRATION
    (tmp_path / "report.html").write_text(render_html(metrics, EXAMPLES), encoding="utf-8")
    return tmp_path, metrics


def test_chromium_lays_out_one_chart_per_language_with_bars_as_long_as_f1(report):
    folder, metrics = report
    (folder / "probe.html").write_text(PROBE, encoding="utf-8")
    dom, log = _chromium(folder, "--allow-file-access-from-files",
                         "--virtual-time-budget=10000", "--dump-dom",
                         (folder / "probe.html").as_uri())
    assert "CONSOLE" not in log, [l for l in log.splitlines() if "CONSOLE" in l]
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found and found.group(1) != "pending", "the page never finished loading"
    page = json.loads(found.group(1).replace("&amp;", "&").replace("&lt;", "<")
                      .replace("&gt;", ">"))
    assert [c["lang"] for c in page["charts"]] == LANGS
    for chart in page["charts"]:
        assert chart["width"] > 300 and chart["height"] > 100, chart
        blocks = metrics["languages"][chart["lang"]]["methods"]
        assert sorted(b["method"] for b in chart["bars"]) == sorted(blocks)
        f1 = {m: 100 * blocks[m]["typed"]["overall"]["f1"] for m in blocks}
        scale = [b["width"] / f1[b["method"]] for b in chart["bars"] if f1[b["method"]] > 0]
        assert max(scale) - min(scale) < 0.02 * max(scale), chart  # one scale per chart
        for bar in chart["bars"]:
            assert f"{f1[bar['method']]:.1f} [" in bar["title"]
            if f1[bar["method"]] == 0:
                assert bar["width"] == 0
    (warning,) = page["warnings"]
    assert warning["height"] > 0 and warning["background"] == "rgb(253, 232, 232)"
    assert warning["text"].startswith("Warning: yor: gold types (ENT)")
    assert page["scrollWidth"] <= page["viewport"]  # nothing wider than the window
    # a reliability diagram per method with a confidence, bars as high as their accuracy
    drawn = {d["method"]: d for d in page["reliability"]}
    assert sorted(drawn) == ["cand-ngram-src2tgt-sim+ilp", "heur-src2tgt-sim"]  # MT: none
    for method, diagram in drawn.items():
        cal = CALIBRATION["methods"][method]
        assert diagram["width"] > 200 and diagram["height"] > 200, diagram
        assert sorted(b["bin"] for b in diagram["bars"]) == [
            i for i, b in enumerate(cal["bins"]) if b["n"]]  # an empty bin draws no bar
        assert all(b["inside"] for b in diagram["bars"]), diagram
        full = [b["height"] / b["accuracy"] for b in diagram["bars"] if b["accuracy"]]
        assert max(full) - min(full) < 0.02 * max(full), diagram  # one scale
        assert len({round(b["bottom"]) for b in diagram["bars"]}) == 1  # one baseline
        assert all(b["height"] == 0 for b in diagram["bars"] if not b["accuracy"])
        assert diagram["caption"].startswith(f"ECE {cal['ece']:.3f} · ")
        assert diagram["captionHeight"] > 0


def test_chromium_screenshot_shows_the_bars_the_paper_marks_and_the_warning(report):
    from PIL import Image

    folder, _ = report
    shot = folder / "shot.png"
    _, log = _chromium(folder, f"--screenshot={shot}", (folder / "report.html").as_uri())
    assert "CONSOLE" not in log
    image = Image.open(shot).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    colours = image.getcolors(maxcolors=WIDTH * HEIGHT)
    count = {rgb: n for n, rgb in colours}
    assert len(count) > 50  # text, tables and charts, not a blank page
    assert count.get(BAR, 0) > 3000, "no chart bars drawn"
    assert count.get(PAPER_MARK, 0) > 100, "no paper marks drawn"
    assert count.get(WARNING, 0) > 2000, "the type warning is not shown"
