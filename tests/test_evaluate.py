"""The evaluation job (translate-test): readers, registry, in-graph metrics, the report."""

import glob
import json
import os

import pyarrow.parquet as pq
import pytest

from pipeline.evaluate import run
from pipeline.options import ConfigError
from xlner.text import languages as registry
from xlner.projection.methods import PAPER_METHODS, resolve
from xlner.text.words import writes_without_spaces

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
from benchmarks.data import DEV_TRANSLATE_TEST as BIBLE


def evaluate(out, *args):
    run([f"--output={out}", "--runner=FnApiRunner", *args])
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    preds = [r for f in glob.glob(os.path.join(out, "predictions", "*.parquet"))
             for r in pq.read_table(f).to_pylist()]
    return metrics, preds


@pytest.fixture
def tiny_models(tiny_nllb, tiny_bert, tiny_tagger_dir):
    return [f"--translation_model={tiny_nllb}", f"--alignment_model={tiny_bert}",
            "--align_layers=2", f"--ner_model={tiny_tagger_dir}", "--max_new_tokens=8"]


def test_registry_codes_and_rejections():
    assert registry.lookup("masakhaner2", "swa").nllb == "swh_Latn"
    with pytest.raises(registry.UnsupportedLanguage, match="no NLLB-200"):
        registry.lookup("masakhaner2", "pcm")
    with pytest.raises(registry.UnsupportedLanguage, match="Ghomálá"):
        registry.resolve("masakhaner2", "bbj,swa")
    assert len(registry.MASAKHANER2) == 20 and len(registry.PANX) == 40
    assert len(registry.resolve("masakhaner2", "all")) == 18
    assert len(registry.resolve("panx", "all")) == 39
    assert {l.code for l in registry.PANX.values()
            if writes_without_spaces(l.nllb)} == {"ja", "zh", "th"}
    assert registry.PANX["fa"].nllb == "pes_Arab" and registry.PANX["ms"].nllb == "zsm_Latn"


def test_method_registry_matches_the_paper_files():
    import csv

    path = os.path.join(os.path.dirname(__file__), "..", "xlner", "data", "paper_results",
                        "masakhaner2.csv")
    with open(path, encoding="utf-8") as f:
        keys = {row["method"] for row in csv.DictReader(f)}
    assert keys == {m.key for m in PAPER_METHODS} and len(keys) == 13
    assert [m.key for m in resolve("H-s-S,Cg-s-A+ilp")] == ["heur-src2tgt-sim",
                                                            "cand-ngram-src2tgt-awe+ilp"]


def test_panx_files_and_per_character_languages(tmp_path, tiny_models):
    metrics, preds = evaluate(str(tmp_path / "out"), "--dataset=panx",
                              f"--data_dir={FIXTURES}/panx", "--langs=sw,yo",
                              "--methods=H-s-S,MT", *tiny_models)
    assert metrics["languages"]["sw"]["sentences"] == 3
    tokens = {r["id"]: r["tokens"] for r in preds if r["lang"] == "sw"}
    assert ["Rais", "Samia", "Suluhu", "alitembelea", "Dar es Salaam"] in tokens.values()
    # the English side was translated by the model: the header says so, and which model
    nllb = tiny_models[0].split("=", 1)[1]
    assert metrics["languages"]["sw"]["english"] == {"given": 0, "cache": 0, "model": 3,
                                                     "models": [nllb]}
    with open(tmp_path / "out" / "report.md", encoding="utf-8") as f:
        assert f"5 translated by the model (of 5; model {nllb})" in f.read()  # sw 3, yo 2
    from xlner.models.loading import open_model  # the model's files, by content

    assert metrics["model_fingerprints"]["translation_model"] == open_model(nllb).fingerprint()


def test_missing_gold_files_fail_before_running(tmp_path):
    with pytest.raises(ConfigError, match="gold data .* matches no file"):
        run([f"--output={tmp_path}", "--dataset=masakhaner2", f"--data_dir={tmp_path}",
             "--langs=swa"])


def test_hf_parquet_export_with_label_metadata(tmp_path, tiny_models):
    import datasets

    feats = datasets.Features({
        "tokens": datasets.Sequence(datasets.Value("string")),
        "ner_tags": datasets.Sequence(datasets.ClassLabel(
            names=["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]))})
    ds = datasets.Dataset.from_dict({"tokens": [["Kofi", "Annan", "alikwenda", "Accra"]],
                                     "ner_tags": [[1, 2, 0, 5]]}, features=feats)
    ds.to_parquet(str(tmp_path / "test.parquet"))
    metrics, preds = evaluate(str(tmp_path / "out"), f"--input={tmp_path}/test.parquet",
                              "--langs=swh_Latn", "--methods=H-s-S", *tiny_models)
    assert preds[0]["gold"] == ["B-PER", "I-PER", "O", "B-LOC"]
    assert metrics["languages"]["swh_Latn"]["methods"]["heur-src2tgt-sim"]["typed"][
        "overall"]["number"] == 2


@pytest.mark.slow
def test_bible_translate_test_metrics_and_report(tmp_path, e5_dir):
    from seqeval.metrics import f1_score

    with open(BIBLE, encoding="utf-8") as f:
        lines = f.readlines()[:120]
    sample = tmp_path / "gold.jsonl"
    sample.write_text("".join(lines), encoding="utf-8")
    metrics, preds = evaluate(str(tmp_path / "out"), f"--input={sample}", "--langs=ell_Grek",
                              "--span_only", "--methods=H-s-S,Cg-s-S")
    for method in ("heur-src2tgt-sim", "cand-ngram-src2tgt-sim"):
        rows = sorted((r for r in preds if r["method"] == method), key=lambda r: r["id"])
        assert len(rows) == 120
        block = metrics["languages"]["ell_Grek"]["methods"][method]
        # the CombineFn over per-sentence counts is exactly seqeval over the corpus
        assert block["typed"]["overall"]["f1"] == pytest.approx(
            f1_score([r["gold"] for r in rows], [r["pred"] for r in rows]))
        strip = lambda tags: [t[:2] + "ENT" if t != "O" else t for t in tags]  # noqa: E731
        assert block["span"]["overall"]["f1"] == pytest.approx(
            f1_score([strip(r["gold"]) for r in rows], [strip(r["pred"]) for r in rows]))
        assert block["span"]["overall"]["f1"] > 0.65
    _check_the_report(str(tmp_path / "out"), [json.loads(l) for l in lines], metrics, preds)
    # the paired comparison joins the two methods sentence by sentence (primary: span)
    (pair,) = metrics["paired"]
    blocks = metrics["languages"]["ell_Grek"]["methods"]
    a, b = (blocks[m]["span"]["overall"] for m in (pair["a"], pair["b"]))
    assert (pair["a"], pair["b"], pair["kind"]) == ("heur-src2tgt-sim", "cand-ngram-src2tgt-sim",
                                                    "span")
    cell = pair["languages"]["ell_Grek"]
    assert cell["delta_f1"] == pytest.approx(a["f1"] - b["f1"])
    assert cell["ci"][0] <= cell["delta_f1"] <= cell["ci"][1]
    assert pair["overall"]["delta_f1"] == pytest.approx(cell["delta_f1"])
    for m in (pair["a"], pair["b"]):
        ent = metrics["per_class"][m]["ENT"]
        assert (ent["f1"], ent["number"]) == pytest.approx(
            (blocks[m]["span"]["overall"]["f1"], blocks[m]["span"]["overall"]["number"]))
    # untyped gold (ENT) against the English NER's types: typed F1 is marked, not headlined
    types = metrics["languages"]["ell_Grek"]["types"]
    assert types["gold"] == ["ENT"] and types["shared"] == [] and types["predicted"]
    assert not types["typed_meaningful"] and metrics["problems"] == []
    with open(tmp_path / "out" / "report.html", encoding="utf-8") as f:
        assert "Typed F1 (in metrics.json) is not meaningful" in f.read()


def test_untyped_gold_without_span_only_fails_and_says_why(tmp_path, tiny_models, capsys):
    from pipeline.evaluate import main

    with open(BIBLE, encoding="utf-8") as f:
        lines = f.readlines()[:6]
    sample = tmp_path / "gold.jsonl"
    sample.write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    # the tiny tagger tags every word PER; the Bible gold has one untyped class, ENT
    status = main([f"--input={sample}", "--langs=ell_Grek", "--methods=MT",
                   f"--output={out}", "--runner=FnApiRunner", *tiny_models])
    err = capsys.readouterr().err
    assert status == 1
    assert "gold types (ENT) and predicted types (" in err and "--span_only" in err
    with open(out / "metrics.json", encoding="utf-8") as f:
        metrics = json.load(f)
    assert metrics["problems"] and metrics["primary"] == "typed"
    with open(out / "report.md", encoding="utf-8") as f:
        assert "Typed F1 is NOT MEANINGFUL" in f.read()


def test_type_agreement_marks_typed_scores_that_cannot_mean_anything():
    from types import SimpleNamespace

    from xlner.evaluation.scoring import assemble, score_sentence, type_agreement

    untyped = score_sentence(["B-ENT", "O"], ["B-PER", "O"])
    typed = score_sentence(["B-PER", "B-LOC"], ["B-PER", "B-MISC"])
    silent = score_sentence(["B-ENT", "O"], ["O", "O"])
    assert not type_agreement([untyped])["typed_meaningful"]
    assert type_agreement([typed]) == {"gold": ["LOC", "PER"], "predicted": ["MISC", "PER"],
                                       "shared": ["PER"], "typed_meaningful": True}
    assert type_agreement([silent])["typed_meaningful"]  # predicting nothing is a result
    assert type_agreement([silent, untyped])["predicted"] == ["PER"]
    lang = [SimpleNamespace(code="ell", nllb="ell_Grek")]
    for primary, problems in (("typed", 1), ("span", 0)):
        metrics = assemble({("ell", "MT"): untyped}, lang, ["MT"], {}, primary)
        assert len(metrics["problems"]) == problems
        assert not metrics["languages"]["ell"]["types"]["typed_meaningful"]
    assert assemble({("ell", "MT"): typed}, lang, ["MT"], {}, "typed")["problems"] == []


def _check_the_report(out, gold, metrics, preds):
    """The report of a real run: the English side, intervals, examples, one chart."""
    from collections import Counter

    from xlner.evaluation.scoring import bootstrap_f1, sample_rank, score_sentence, triple

    english = {r["id"]: r["translation_tokens"] for r in gold}
    methods = ("heur-src2tgt-sim", "cand-ngram-src2tgt-sim")
    entry = metrics["languages"]["ell_Grek"]
    assert entry["english"] == {"given": len(gold), "cache": 0, "model": 0, "models": []}
    with open(os.path.join(out, "examples.json"), encoding="utf-8") as f:
        examples = json.load(f)["ell_Grek"]
    with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
        page = f.read()
    with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
        md = f.read()
    ids = [r["id"] for r in gold]
    sample = sorted(ids, key=lambda i: -sample_rank(0, i))[:3]
    for method in methods:
        rows = {r["id"]: r for r in preds if r["method"] == method}
        counts = {i: score_sentence(r["gold"], r["pred"]).span for i, r in rows.items()}
        # the interval is the bootstrap of the per-sentence counts of the predictions
        ci = entry["methods"][method]["span"]["overall"]["f1_ci"]
        hist = Counter(triple(c) for c in counts.values())
        assert ci == pytest.approx(list(bootstrap_f1(hist, seed=0,
                                                     name=f"ell_Grek/{method}/span")))
        assert ci[0] < entry["methods"][method]["span"]["overall"]["f1"] < ci[1]
        # seeded random sample (the same sentences for both methods), then the worst
        exs = examples[method]
        assert [e["id"] for e in exs if e["kind"] == "sample"] == sample
        wrong = {i: (lambda t: (t[1] - t[0]) + (t[2] - t[0]))(triple(c))
                 for i, c in counts.items()}
        worst = sorted((i for i in ids if wrong[i]), key=lambda i: (-wrong[i],
                                                                    -sample_rank(0, i)))[:3]
        assert [e["id"] for e in exs if e["kind"] == "worst"] == worst
        for e in exs:  # the English side is the input's English, with the NER's entities
            assert e["english"]["words"] == english[e["id"]] and e["english"]["spans"]
            assert e["pred"] == rows[e["id"]]["pred"]
            c = e["errors"]
            assert c["spurious"] + c["missed"] == wrong[e["id"]]
        lo, hi = (f"{100 * x:.1f}" for x in ci)
        n = entry["methods"][method]["span"]["overall"]["number"]
        assert f"{lo}–{hi}" in page and f"[{lo}–{hi}] n={n}" in md
    assert page.count('<svg class="chart"') == 1 and 'data-lang="ell_Grek"' in page
    assert page.count('data-side="en"') == sum(len(v) for v in examples.values())
    assert "given with the input (all 120 sentences; no translation model used)" in page
    assert "marian" not in page  # the default translation model translated nothing
    assert "paper" not in md.replace("The paper has no figures", "").replace("paper quirks", "")
    assert md.count("\n  en:   ") == sum(len(v) for v in examples.values())


def test_rejected_gold_sentences_are_reported_under_their_language(tmp_path, tiny_models):
    data = tmp_path / "swa" / "test.txt"
    data.parent.mkdir()
    data.write_text("Nairobi B-LOC\nni O\n\nmbaya PER\n\n", encoding="utf-8")
    metrics, _ = evaluate(str(tmp_path / "out"), "--dataset=masakhaner2",
                          f"--data_dir={tmp_path}", "--langs=swa", "--methods=H-s-S",
                          *tiny_models)
    swa = metrics["languages"]["swa"]
    assert swa["dead_letters"] == {"validate": {"invalid_tag": 1}}
    assert swa["methods"]["heur-src2tgt-sim"]["typed"]["sentences"] == 1


# ------------------------------------------------------------------ bootstrap intervals
def _sentences(n, seed=3):
    """n sentences' (correct, predicted, gold) counts, varied like a real corpus."""
    import random

    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        gold = rnd.choice([0, 1, 1, 2, 3, 5])
        correct = rnd.randint(0, gold)
        out.append((correct, correct + rnd.choice([0, 0, 1, 2]), gold))
    return out


def _histogram(sentences):
    from collections import Counter

    return Counter(sentences)


def _f1(sentences):
    c, p, g = (sum(s[i] for s in sentences) for i in range(3))
    return 2 * c / (p + g) if p + g else 0.0


def test_bootstrap_matches_resampling_the_sentences_by_brute_force():
    import numpy as np

    from xlner.evaluation.scoring import bootstrap_f1

    sentences = _sentences(60)
    rng = np.random.default_rng(11)
    brute = [_f1([sentences[i] for i in rng.integers(0, len(sentences), len(sentences))])
             for _ in range(20000)]
    lo, hi = np.quantile(brute, [0.025, 0.975])
    ours = bootstrap_f1(_histogram(sentences), resamples=20000, seed=5, name="x")
    assert ours[0] == pytest.approx(lo, abs=0.01) and ours[1] == pytest.approx(hi, abs=0.01)
    assert ours[0] < _f1(sentences) < ours[1]


def test_bootstrap_draws_follow_the_exact_bootstrap_distribution():
    """Four sentences: all 4**4 resamples enumerated give the exact distribution."""
    import itertools
    from collections import Counter

    from xlner.evaluation.scoring import bootstrap_f1_draws

    sentences = [(1, 1, 1), (0, 2, 1), (2, 2, 3), (0, 0, 1)]
    exact = Counter(round(_f1([sentences[i] for i in idx]), 9)
                    for idx in itertools.product(range(4), repeat=4))
    draws = bootstrap_f1_draws(_histogram(sentences), resamples=60000, seed=1)
    seen = Counter(round(float(d), 9) for d in draws)
    assert set(seen) <= set(exact)
    tv = sum(abs(seen[v] / len(draws) - exact[v] / 4 ** 4) for v in exact) / 2
    assert tv < 0.01


def test_bootstrap_properties():
    from collections import Counter

    from xlner.evaluation.scoring import bootstrap_f1

    sentences = _sentences(200)
    h = _histogram(sentences)
    ci = bootstrap_f1(h, seed=0, name="swa/MT")
    # deterministic, and blind to the order the counts were combined in
    assert ci == bootstrap_f1(Counter(dict(reversed(list(h.items())))), seed=0, name="swa/MT")
    assert bootstrap_f1(h, seed=1, name="swa/MT") != ci  # the seed matters
    # four times the sentences, same proportions: about half the width
    wide = ci[1] - ci[0]
    narrow = bootstrap_f1(Counter({t: 4 * n for t, n in h.items()}), name="swa/MT")
    assert 0.35 < (narrow[1] - narrow[0]) / wide < 0.65
    # all sentences alike: F1 cannot vary; none: no interval
    assert bootstrap_f1(Counter({(1, 2, 2): 50})) == pytest.approx((0.5, 0.5))
    assert bootstrap_f1(Counter()) is None


def test_assemble_reports_intervals_counts_and_the_english_side():
    from types import SimpleNamespace

    from xlner.evaluation.scoring import EvalCounts, assemble, score_sentence

    gold = [["B-PER", "O", "B-LOC"], ["B-ORG", "I-ORG"], ["O", "B-PER"]] * 30
    pred = [["B-PER", "O", "O"], ["B-ORG", "I-ORG"], ["B-LOC", "B-PER"]] * 30
    per_key = {}
    for g, p in zip(gold, pred):
        per_key.setdefault(("swa", "MT"), EvalCounts()).add(score_sentence(g, p))
    lang = SimpleNamespace(code="swa", nllb="swh_Latn")
    m = assemble(per_key, [lang], ["MT"], {}, "typed",
                 translations={"swa": {("given", ""): 60, ("model", "nllb"): 30}})
    overall = m["languages"]["swa"]["methods"]["MT"]["typed"]["overall"]
    assert overall["number"] == 120 and overall["correct"] == 90
    lo, hi = overall["f1_ci"]
    assert lo < overall["f1"] < hi
    assert m["averages"]["MT"]["f1_ci"] == pytest.approx([lo, hi], abs=1e-9)  # one language
    assert m["languages"]["swa"]["english"] == {"given": 60, "cache": 0, "model": 30,
                                                "models": ["nllb"]}
    assert m["bootstrap"]["resamples"] == 1000 and m["bootstrap"]["unit"] == "sentence"


def test_sample_rank_is_a_seeded_order_free_choice():
    from xlner.evaluation.scoring import sample_rank

    ids = [f"s{i}" for i in range(100)]
    top = lambda seed, order: sorted(order, key=lambda i: -sample_rank(seed, i))[:5]  # noqa: E731
    assert top(0, ids) == top(0, list(reversed(ids)))
    assert top(0, ids) != top(1, ids)
