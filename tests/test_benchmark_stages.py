"""The start-up and solver-fraction benchmark stages (issue 18) report what they claim."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import Run, stage_solver_fraction, stage_startup


def test_solver_fraction_counts_both_dev_books(tmp_path):
    out = stage_solver_fraction(Run(True, str(tmp_path)))["solver_fraction"]
    assert set(out) == {"MAT", "MRK"}
    for c in out.values():
        assert c["sentences_matched"] > 100
        assert 0 <= c["needed_solver"] <= c["sentences_matched"]
        assert c["fraction"] == round(c["needed_solver"] / c["sentences_matched"], 4)


def test_startup_help_and_mistake_load_no_ml_framework(tmp_path):
    out = stage_startup(Run(True, str(tmp_path)))["startup"]
    assert out["help"]["exit_code"] == 0 and out["operator_mistake"]["exit_code"] == 2
    for case in ("help", "operator_mistake"):
        assert not {"torch", "transformers", "ctranslate2"} & set(out[case]["frameworks_loaded"])
    assert out["graph_modules"]["exit_code"] == 0
    # the graph is built and the first record read before any ML framework is imported
    for case in ("graph_modules", "first_record"):
        assert not {"torch", "transformers", "ctranslate2"} & set(out[case]["frameworks_loaded"])
    assert all(row["process_s"] > 0 for row in out.values())


def test_a_language_row_shares_the_english_sentences_and_writes_every_pair(tmp_path):
    from benchmarks.__main__ import SCALING_LANGS, _languages_run

    row = _languages_run(Run(True, str(tmp_path)), 6, 3)
    assert row["languages"] == 3 and row["english_sentences"] == 6 and row["pairs"] == 18
    assert row["rows_written"] == 18  # every language's rows written, none dead-lettered
    assert row["ms_per_pair"] > 0 and row["peak_rss_mb"] > 0
    assert len(set(SCALING_LANGS)) == 10


def test_scaling_rows_use_distinct_pairs_and_a_repeated_row_cycles_dev(tmp_path):
    import json

    from benchmarks.__main__ import _distinct_input, _job_input, _scaling_run

    path = tmp_path / "d.jsonl"
    _distinct_input(str(path), 1941)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    pairs = {(tuple(r["tokens"]), tuple(r["translation_tokens"])) for r in rows}
    assert len(rows) == len({r["id"] for r in rows}) == 1941 and len(pairs) > 1900
    assert all("alignment" not in r for r in rows)
    with pytest.raises(ValueError, match="1942 distinct pairs asked"):
        _distinct_input(str(path), 1942)
    cycled = _job_input(str(tmp_path / "c.jsonl"), 600)
    assert len({r["id"] for r in cycled}) == 600
    assert len({(tuple(r["tokens"]), tuple(r["translation_tokens"])) for r in cycled}) <= 566
    row = _scaling_run(Run(True, str(tmp_path)), "repeated", 12, distinct=False)
    assert row["rows_written"] == 12 and row["distinct"] is False


def test_language_input_past_dev_holds_distinct_english_sentences(tmp_path):
    """The ten-language sweep grows past dev's 566 verses: every English sentence must be a
    new one (not dev cycled), given once per language under that language's code."""
    import json

    from benchmarks.__main__ import SCALING_LANGS, _languages_input

    path = tmp_path / "l.jsonl"
    assert _languages_input(str(path), 700, SCALING_LANGS[:2]) == 1400
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len({r["id"] for r in rows}) == 1400
    for lang in SCALING_LANGS[:2]:
        mine = [r for r in rows if r["tgt_lang"] == lang]
        assert len(mine) == 700 and all(r["id"].startswith(lang + ":") for r in mine)
        assert len({r["id"].split(":", 1)[1] for r in mine}) == 700
        assert len({tuple(r["tokens"]) for r in mine}) > 650  # a few verses repeat words


def test_translate_test_confidence_split_separates_tagger_misses_from_projection():
    """An entity overlapping no gold span goes to its own part (the English tagger's name the
    gold does not count); a wrong boundary over a gold span stays with the projection's
    part; the whole is both together, right meaning the exact gold span."""
    from benchmarks.translate_test import _num, confidence_by_overlap

    def ent(start, end, score):
        return {"start": start, "end": end, "label": "PER", "score": score}

    rows = [
        {"method": "m", "gold": ["B-ENT", "I-ENT", "O", "O", "B-ENT"],
         "pred": ["B-PER", "I-PER", "B-PER", "I-PER", "B-PER"],
         "entities": [ent(0, 2, 0.9),    # exact: right
                      ent(2, 4, 0.8),    # overlaps no gold span
                      ent(4, 5, 0.7)]},  # exact: right
        {"method": "m", "gold": ["O", "B-ENT", "I-ENT"], "pred": ["O", "B-PER", "O"],
         "entities": [ent(1, 2, 0.6)]},  # wrong boundary
        {"method": "other", "gold": ["O"], "pred": ["B-PER"], "entities": [ent(0, 1, 0.5)]},
    ]
    out = confidence_by_overlap(rows, "m")
    assert out["all"]["n"] == 4 and out["all"]["accuracy"] == 0.5
    touching, none = out["overlapping a gold span"], out["overlapping none"]
    assert touching["n"] == 3 and abs(touching["accuracy"] - 2 / 3) < 1e-12
    assert none["n"] == 1 and none["accuracy"] == 0.0 and abs(none["ece"] - 0.8) < 1e-9
    assert touching["n_at_0_9"] == 1 and touching["precision_at_0_9"] == 1.0
    empty = confidence_by_overlap(rows[2:], "m")["overlapping none"]
    assert empty["n"] == 0 and _num(empty["accuracy"], 100, 1) == "—"
