"""The confidence's reliability in the evaluation: the ECE by hand, a real run whose
metrics.json agrees with its own dumped predictions, the diagrams in the report, and
``--span_only`` changing what counts as right."""

import json
import os
import random

import numpy as np
import pytest

from tests.test_report import parse
from xlner.evaluation.calibration import Reliability, reliability, sentence_reliability
from xlner.evaluation.metrics import chunks
from xlner.evaluation.report import render_html, render_markdown
from xlner.evaluation.scoring import score_sentence


# ------------------------------------------------------------------ the numbers
def test_ece_bins_and_precision_by_hand():
    conf = [0.05, 0.15, 0.15, 0.3, 0.95, 0.95, 0.95, 0.95, 1.0, None]
    right = [False, True, False, True, True, True, True, False, True, True]
    r = reliability(conf, right)
    # bins: [0, .1) 1 entity, conf .05, right 0 -> gap .05; [.1, .2) 2, .15, 1/2 -> .35;
    # [.3, .4) (0.3 sits on the edge and opens its bin) 1, .3, 1 -> .7;
    # [.9, 1] 5, (4 * .95 + 1) / 5 = .96, 4/5 -> .16
    assert r["ece"] == pytest.approx((1 * 0.05 + 2 * 0.35 + 1 * 0.7 + 5 * 0.16) / 9)
    assert r["ece"] == pytest.approx(0.25)
    assert [b["n"] for b in r["bins"]] == [1, 1 + 1, 0, 1, 0, 0, 0, 0, 0, 5]
    assert r["bins"][1]["n"] == 2 and r["bins"][1]["accuracy"] == 0.5
    assert r["bins"][9]["confidence"] == pytest.approx(0.96) and r["bins"][9]["accuracy"] == 0.8
    assert r["bins"][2] == {"lo": 0.2, "hi": 0.3, "n": 0, "confidence": None,
                            "accuracy": None}
    assert (r["n"], r["unscored"], r["n_at_0_9"]) == (9, 1, 5)
    assert r["precision_at_0_9"] == 0.8 and r["coverage_at_0_9"] == pytest.approx(5 / 9)
    assert r["accuracy"] == pytest.approx(6 / 9)
    # 0.9 itself is at >= 0.9; nothing scored: no numbers, not zeros
    assert reliability([0.9], [True])["n_at_0_9"] == 1
    assert reliability([0.899999], [True])["bins"][8]["n"] == 1
    empty = reliability([None, None], [True, False])
    assert (empty["n"], empty["unscored"], empty["ece"], empty["precision_at_0_9"]) == (
        0, 2, None, None)


def test_ece_equals_a_plain_numpy_computation_and_adds_up_in_any_order():
    rng = random.Random(4)
    conf = [round(rng.random() ** 0.3, 6) for _ in range(500)]
    right = [rng.random() < c - 0.1 for c in conf]
    p, y = np.array(conf), np.array(right, dtype=float)
    edges = np.minimum(np.floor(p * 10 + 1e-9).astype(int), 9)
    ece = sum(abs(p[edges == b].mean() - y[edges == b].mean()) * (edges == b).sum()
              for b in range(10) if (edges == b).any()) / len(p)
    whole = reliability(conf, right)
    assert whole["ece"] == pytest.approx(ece, abs=1e-12)
    assert whole["precision_at_0_9"] == pytest.approx(y[p >= 0.9].mean())
    parts = [Reliability.of(conf[i:i + 37], right[i:i + 37]) for i in range(0, 500, 37)]
    for order in (parts, parts[::-1]):
        total = Reliability()
        for part in order:
            total.add(part)
        assert total.summary() == whole  # to the bit, whatever the order


def test_span_only_changes_what_counts_as_right():
    gold = ["B-PER", "I-PER", "O", "B-LOC", "O"]
    pred = ["B-PER", "I-PER", "O", "B-ORG", "B-LOC"]
    conf = {(0, 2, "PER"): 0.95, (3, 4, "ORG"): 0.4, (4, 5, "LOC"): 0.7}
    typed = sentence_reliability(chunks(gold), chunks(pred), conf).summary()
    span = sentence_reliability(chunks(gold), chunks(pred), conf, span_only=True).summary()
    # typed: PER right, ORG wrong (gold LOC there), LOC spurious; spans: PER and ORG right
    assert [(b["n"], b["accuracy"]) for b in typed["bins"] if b["n"]] == [
        (1, 0.0), (1, 0.0), (1, 1.0)]
    assert [(b["n"], b["accuracy"]) for b in span["bins"] if b["n"]] == [
        (1, 1.0), (1, 0.0), (1, 1.0)]
    counts = score_sentence(gold, pred, confidences=conf)
    assert counts.typed_calibration.summary() == typed
    assert counts.span_calibration.summary() == span
    # a type outside the evaluation is O for the scorer, so it is no predicted entity
    dropped = score_sentence(gold, pred, ignore_types={"ORG"}, confidences=conf)
    assert dropped.typed_calibration.summary()["n"] == 2
    # a chunk no entity scored is counted, not binned
    assert score_sentence(gold, pred, confidences={}).span_calibration.summary()[
        "unscored"] == 3


def test_entities_carry_their_score_onto_the_gold_tokens():
    """Projected onto jieba's words of per-character gold, each entity lands on the
    characters its tags land on, with its score, so it is binned as the scorer reads it."""
    pytest.importorskip("jieba")
    from pipeline.evaluation import english_pair, gold_tags, token_entities
    from xlner.formats.records import (LabeledSentence, ProjectedEntity, Projection,
                                       Translation)
    from xlner.text.bio import Span

    gold = LabeledSentence("s1", tuple("张伟昨天去了北京。"),
                           ("B-PER", "I-PER", "O", "O", "O", "O", "B-LOC", "I-LOC", "O"),
                           "zho_Hans")
    en = Translation(gold, "eng_Latn", "Zhang Wei went to Beijing yesterday .", "given", "",
                     words=("Zhang", "Wei", "went", "to", "Beijing", "yesterday", "."))
    pair = english_pair(en, [Span(0, 2, "PER"), Span(4, 5, "LOC")])
    assert pair.tgt_words == ("张", "伟", "昨天", "去", "了", "北京", "。")
    projected = Projection(pair, "m", ("B-PER", "I-PER", "O", "B-LOC", "O", "B-LOC", "O"), (
        ProjectedEntity(0, 2, "PER", 0, 0.8), ProjectedEntity(3, 4, "LOC", 1, 0.3),
        ProjectedEntity(5, 6, "LOC", 1, 0.6)))
    entities = token_entities(projected)
    assert entities == ((0, 2, "PER", 0.8), (4, 5, "LOC", 0.3), (6, 8, "LOC", 0.6))
    counts = score_sentence(gold.tags, gold_tags(projected),
                            confidences={e[:3]: e[3] for e in entities})
    cal = counts.typed_calibration.summary()
    assert (cal["n"], cal["unscored"]) == (3, 0)
    assert [(b["n"], b["accuracy"]) for b in cal["bins"] if b["n"]] == [(1, 0.0), (1, 1.0),
                                                                        (1, 1.0)]


# ------------------------------------------------------------------ the report
def _metrics_with(calibration):
    from tests.test_report import make_metrics

    metrics = make_metrics()
    metrics["calibration"] = calibration
    return metrics


def test_the_report_draws_one_diagram_per_method_with_confidence_and_says_which_have_none():
    from tests.test_report import METHODS

    cand = Reliability.of([0.97] * 10 + [0.85] * 4 + [0.15],
                          [True] * 9 + [False] + [True] * 3 + [False, False]).summary()
    odd = "<b>x</b>&"  # a method name is text, never markup
    calibration = {"kind": "typed", "bins": 10, "threshold": 0.9, "methods": {
        "MT": Reliability.of([None] * 7, [False] * 7).summary(),
        "heur-src2tgt-sim": Reliability().summary(),
        "cand-ngram-src2tgt-sim+ilp": cand, odd: cand}}
    page = render_html(_metrics_with(calibration), {})
    c = parse(page)
    (section,) = c.root.find_all("section", id="calibration")
    figures = section.find_all("figure")
    assert [f.attrs["data-method"] for f in figures] == METHODS + [odd]
    mt, heur, ilp, _ = figures
    assert not mt.find_all("svg") and "gives its 7 predicted entities no score" in mt.text()
    assert not heur.find_all("svg") and "no predicted entities" in heur.text()
    (svg,) = ilp.find_all("svg")
    bars = [r for r in svg.find_all("rect") if r.attrs.get("class") == "rbar"]
    # empty bins are absent; each bar as high as its share right (200 px = 1.0)
    assert [int(b.attrs["data-bin"]) for b in bars] == [1, 8, 9]
    assert [int(b.attrs["data-n"]) for b in bars] == [1, 4, 10]
    assert [float(b.attrs["height"]) for b in bars] == [0.0, 150.0, 180.0]
    assert "score 0.8–0.9: 4 entities, mean score 0.850, right 75.0 %" in bars[1].text()
    assert [t.text() for t in svg.find_all("text") if t.attrs.get("class") == "cnt"] == [
        "1", "4", "10"]
    diag = [l for l in svg.find_all("line") if l.attrs.get("class") == "diag"]
    assert len(diag) == 1
    ece = cand["ece"]
    assert ece == pytest.approx((0.15 + 4 * 0.1 + 10 * 0.07) / 15)
    assert ilp.find_all("figcaption")[0].text().startswith(f"ECE {ece:.3f} · 15 entities")
    assert "calibrated probability" in ilp.text()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;&amp;" in page
    md = render_markdown(_metrics_with(calibration), {})
    assert f"| cand-ngram-src2tgt-sim+ilp | 15 | {ece:.3f} | 80.0 |" in md
    assert "| MT | 0 | – | – | – | – | – | no confidence" in md


def test_metrics_without_calibration_still_render():
    from tests.test_report import make_metrics

    page = render_html(make_metrics(), {})
    assert "No confidence calibration in these metrics." in page
    assert "Confidence calibration" not in render_markdown(make_metrics(), {})


# ------------------------------------------------------------------ a real run
def _recomputed(preds, method, span_only, keep=None, ignore=()):
    """Confidence and rightness of every predicted chunk, from the dumped predictions
    alone (seqeval's own chunks of the labels as the data set scores them)."""
    from seqeval.metrics.sequence_labeling import get_entities

    from xlner.evaluation.metrics import map_labels

    conf, right, unscored = [], [], 0
    for r in preds:
        if r["method"] != method:
            continue
        gold = {(t, s, e + 1) for t, s, e in get_entities(map_labels(r["gold"], keep, ignore))}
        scores = {(e["start"], e["end"], e["label"]): e["score"] for e in r["entities"]}
        for t, s, e in get_entities(map_labels(r["pred"], keep, ignore)):
            score = scores.get((s, e + 1, t))
            ok = ((s, e + 1) in {(a, b) for _, a, b in gold} if span_only
                  else (t, s, e + 1) in gold)
            if score is None:
                unscored += 1
            else:
                conf.append(score)
                right.append(ok)
    return conf, right, unscored


@pytest.mark.slow
def test_a_real_run_reports_calibration_that_its_predictions_reproduce(tmp_path, e5_dir):
    from tests.test_evaluate import BIBLE, evaluate

    with open(BIBLE, encoding="utf-8") as f:
        lines = f.readlines()[:120]
    sample = tmp_path / "gold.jsonl"
    sample.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    metrics, preds = evaluate(str(out), f"--input={sample}", "--langs=ell_Grek",
                              "--span_only", "--methods=H-s-S,Cg-s-S,MT")
    top = metrics["calibration"]
    assert (top["kind"], top["bins"], top["threshold"]) == ("span", 10, 0.9)
    blocks = metrics["languages"]["ell_Grek"]["methods"]
    for method in ("heur-src2tgt-sim", "cand-ngram-src2tgt-sim"):
        cal = top["methods"][method]
        predicted = blocks[method]["span"]["overall"]["predicted"]
        # every predicted entity has a score and is counted once
        assert cal["unscored"] == 0 and cal["n"] == predicted > 100
        assert sum(b["n"] for b in cal["bins"]) == cal["n"]
        assert blocks[method]["span"]["calibration"] == cal  # one language
        conf, right, unscored = _recomputed(preds, method, span_only=True)
        assert (len(conf), unscored) == (cal["n"], 0)
        assert cal == reliability(conf, right)
        p, y = np.array(conf), np.array(right, dtype=float)
        edges = np.minimum(np.floor(p * 10 + 1e-9).astype(int), 9)
        ece = sum(abs(p[edges == b].mean() - y[edges == b].mean()) * (edges == b).sum()
                  for b in range(10) if (edges == b).any()) / len(p)
        assert cal["ece"] == pytest.approx(ece, abs=1e-9)
        assert cal["precision_at_0_9"] == pytest.approx(y[p >= 0.9].mean())
        # typed: the gold's one class (ENT) is no English NER type, so nothing is right
        typed = blocks[method]["typed"]["calibration"]
        assert typed["n"] == cal["n"] and typed["accuracy"] == 0.0
        assert typed == reliability(*_recomputed(preds, method, span_only=False)[:2])
        assert cal["accuracy"] > 0.6
    mt = top["methods"]["MT"]  # model transfer gives no confidence
    assert mt["n"] == 0 and mt["unscored"] == blocks["MT"]["span"]["overall"]["predicted"] > 0
    with open(out / "report.html", encoding="utf-8") as f:
        page = f.read()
    c = parse(page)
    (section,) = c.root.find_all("section", id="calibration")
    svgs = section.find_all("svg")
    assert [s.attrs["data-method"] for s in svgs] == ["heur-src2tgt-sim",
                                                      "cand-ngram-src2tgt-sim"]
    for svg in svgs:
        cal = top["methods"][svg.attrs["data-method"]]
        bars = {int(r.attrs["data-bin"]): int(r.attrs["data-n"]) for r in svg.find_all("rect")
                if r.attrs.get("class") == "rbar"}
        assert bars == {b: e["n"] for b, e in enumerate(cal["bins"]) if e["n"]}
        assert f"ECE {cal['ece']:.3f}" in svg.text()
    assert "whatever the type (--span_only)" in section.text()
    assert "gives its" in section.find_all("figure", data_method="MT")[0].text()
    with open(out / "report.md", encoding="utf-8") as f:
        assert "## Confidence calibration" in f.read()
    # the same sentences scored typed (no --span_only): the same entities and scores, and
    # none right, since the gold's one class is no type the English NER predicts
    typed_run, typed_preds = evaluate(str(tmp_path / "typed"), f"--input={sample}",
                                      "--langs=ell_Grek", "--methods=Cg-s-S")
    m = "cand-ngram-src2tgt-sim"
    typed, span = typed_run["calibration"]["methods"][m], top["methods"][m]
    assert typed_run["calibration"]["kind"] == "typed"
    assert typed == blocks[m]["typed"]["calibration"]
    assert typed["n"] == span["n"] and [b["confidence"] for b in typed["bins"]] == [
        b["confidence"] for b in span["bins"]]
    assert typed["accuracy"] == 0.0 < span["accuracy"] and typed["ece"] > span["ece"]
    assert typed == reliability(*_recomputed(typed_preds, m, span_only=False)[:2])
