"""Paired bootstrap comparison of methods and the per-class table (xlner/evaluation/paired.py)."""

from collections import Counter

import pytest

from xlner.evaluation.metrics import sentence_counts
from xlner.evaluation.paired import (JointCounts, comparison_block, joint_sentence,
                                     paired_comparisons, per_class)
from xlner.evaluation.report import render_html, render_markdown
from xlner.evaluation.scoring import Bootstrap, assemble, score_sentence, triple

from tests.test_report import make_metrics


def _joint(sentences):
    """sentences: [(gold, {method: pred})] -> JointCounts over methods in dict order."""
    j = JointCounts()
    for gold, preds in sentences:
        counts = [score_sentence(gold, p) for p in preds.values()]
        j.add(joint_sentence([triple(c.typed) for c in counts],
                             [triple(c.span) for c in counts]))
    return j


GOLD = ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"]
RIGHT = list(GOLD)
WRONG = ["O", "O", "O", "B-LOC", "O", "O"]  # one of three entities


def test_a_method_better_on_every_sentence_has_an_interval_above_zero():
    # 40 sentences, each with a different number of extra tokens; A right, B one of three
    sents = [(GOLD + ["O"] * k, {"A": RIGHT + ["O"] * k, "B": WRONG + ["O"] * k})
             for k in range(40)]
    out = paired_comparisons({"swa": _joint(sents)}, ["A", "B"])
    (pair,) = out
    e = pair["languages"]["swa"]
    assert e["delta_f1"] == pytest.approx(1.0 - 0.5)  # F1(B) = 2*1/(1+3)
    assert e["ci"][0] > 0 and e["excludes_zero"]
    assert pair["overall"]["excludes_zero"] and pair["overall"]["ci"][0] > 0


def test_identical_methods_differ_by_exactly_zero():
    sents = [(GOLD, {"A": WRONG, "B": WRONG}), (GOLD, {"A": RIGHT, "B": RIGHT}),
             (["O", "B-PER"], {"A": ["B-PER", "O"], "B": ["B-PER", "O"]})]
    (pair,) = paired_comparisons({"yor": _joint(sents)}, ["A", "B"])
    e = pair["languages"]["yor"]
    assert e["delta_f1"] == 0.0 and e["ci"] == [0.0, 0.0] and not e["excludes_zero"]


def test_noisy_difference_does_not_exclude_zero_and_is_seeded():
    # A wins on one sentence, B on another: no consistent difference
    sents = [(GOLD, {"A": RIGHT, "B": WRONG}), (GOLD, {"A": WRONG, "B": RIGHT})] * 5
    joint = {"hau": _joint(sents), "swa": _joint(sents[:4])}
    first = paired_comparisons(joint, ["A", "B"], bootstrap=Bootstrap(seed=3))
    again = paired_comparisons({"swa": joint["swa"], "hau": joint["hau"]}, ["A", "B"],
                               bootstrap=Bootstrap(seed=3))
    other = paired_comparisons(joint, ["A", "B"], bootstrap=Bootstrap(seed=4))
    assert first == again  # seeded, and independent of the order of the languages
    assert first != other
    e = first[0]["languages"]["hau"]
    assert e["delta_f1"] == 0.0 and e["ci"][0] < 0 < e["ci"][1] and not e["excludes_zero"]


def test_every_pair_once_in_the_methods_order():
    sents = [(GOLD, {"A": RIGHT, "B": WRONG, "C": RIGHT})]
    out = paired_comparisons({"swa": _joint(sents)}, ["A", "B", "C"])
    assert [(p["a"], p["b"]) for p in out] == [("A", "B"), ("A", "C"), ("B", "C")]
    assert out[1]["languages"]["swa"]["delta_f1"] == 0.0
    assert out[2]["languages"]["swa"]["delta_f1"] == pytest.approx(-0.5)


def test_per_class_numbers_by_hand():
    # gold: PER, LOC, ORG / PER, LOC; pred: PER right, LOC as ORG, ORG right /
    # PER right, LOC missed
    s1 = (["B-PER", "O", "B-LOC", "B-ORG"], ["B-PER", "O", "B-ORG", "B-ORG"])
    s2 = (["B-PER", "I-PER", "B-LOC"], ["B-PER", "I-PER", "O"])
    per_key = {}
    for code, (g, p) in (("swa", s1), ("yor", s2)):
        per_key[(code, "M")] = score_sentence(g, p)

    class L:
        def __init__(self, code):
            self.code, self.nllb = code, code
    metrics = assemble(per_key, [L("swa"), L("yor")], ["M"], {}, "typed")
    got = per_class(metrics["languages"])["M"]
    # PER: 2 gold, 2 predicted, 2 correct; LOC: 2 gold, 0 predicted;
    # ORG: 1 gold, 2 predicted, 1 correct
    assert got["PER"] | {} == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "number": 2,
                               "predicted": 2, "correct": 2}
    assert (got["LOC"]["precision"], got["LOC"]["recall"], got["LOC"]["f1"]) == (0.0, 0.0, 0.0)
    assert got["LOC"]["number"] == 2
    assert got["ORG"]["precision"] == 0.5 and got["ORG"]["recall"] == 1.0
    assert got["ORG"]["f1"] == pytest.approx(2 / 3)
    # the same as scoring both sentences as one corpus
    assert sentence_counts(s1[0] + s2[0], s1[1] + s2[1]).scores()["per_type"]["ORG"]["f1"] \
        == pytest.approx(got["ORG"]["f1"])


def _with_comparison(hostile="<script>alert(1)</script>"):
    metrics = make_metrics()
    sents = [(GOLD, {"A": RIGHT, "B": WRONG})] * 20
    langs = dict(metrics["languages"])
    langs[hostile] = {"methods": {"M<u>": {"typed": {"per_type": {
        "<img src=x onerror=alert(1)>": {"correct": 1, "predicted": 2, "number": 4}}}}}}
    metrics.update(comparison_block({hostile: _joint(sents), "swa": _joint(sents)}, langs,
                                    ["A", "B"], "typed", Bootstrap()))
    return metrics


def test_report_shows_the_paired_table_and_per_class_table_escaped():
    metrics = _with_comparison()
    page = render_html(metrics, {})
    assert "<script>" not in page and "<img" not in page and "<u>" not in page
    assert 'data-lang="&lt;script&gt;alert(1)&lt;/script&gt;"' in page
    assert 'id="paired-table"' in page and 'id="class-table"' in page
    assert '<td class="pos">+50.0</td>' in page  # A - B on both languages and overall
    assert page.count("<td title=\"A better\">yes</td>") == 3
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<td>25.0</td>" in page
    md = render_markdown(metrics, {})
    assert "## Methods compared (paired bootstrap)" in md
    assert "| A | B | overall | +50.0 |" in md and "| yes |" in md
    assert "| M<u> | <img src=x onerror=alert(1)> | 50.0 | 25.0 | 33.3 | 4 |" in md


def test_report_without_comparison_still_renders():
    page = render_html(make_metrics(), {})
    assert "nothing to compare" in page and "No classes scored." in page
    assert "paired bootstrap" not in render_markdown(make_metrics(), {})
