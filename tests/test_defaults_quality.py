"""The job's defaults on real gold (English->Greek Bible names, data/bible-dev), no flags:
floors that a regression breaks, on each half of the protocol (settings are chosen on
Matthew and reported on Mark; ``benchmarks/data.py``), not a pin to the last measurement.

Measured with ``python -m benchmarks.bible_dev --table defaults`` and
``python -m benchmarks.alignment_search --table ablation`` (F1 × 100, Matthew / Mark):

* the defaults: 97.12 / 96.51 (with the span-length prior, 0.6; 0.3 gave 96.96 / 96.80); 96.30 / 95.35 without it
  (``--length_prior 0``), the defaults the floors and neighbours below were set under;
* harmless neighbours, the same method over neighbouring layer ranges (6-8, 6-10, 6-12,
  5-11, 7-11): 95.45-96.22 / 93.91-95.35, taken here as the size of a harmless change
  (one that moves a few names, as a solver tie or an encoder upgrade does);
* regressions: the paper's link count 94.17 / 91.86, layer 8 alone 94.61 / 91.76, greedy
  matching 94.45 / 94.89, the heuristic 89.96 / 89.83, the earlier default (heuristic,
  argmax, layer 8) 89.88 / 87.67.

Each floor sits a little under the lowest neighbour (0.45 points on Matthew, about 3 of its
614 names; 0.41 on Mark, about 1.5 of its 347) and above every regression; greedy matching
is caught on Matthew, where it loses 1.9 points (on Mark it is within the neighbours'
spread). A pin to the last measurement (the old 95.96 ± 0.2) broke on tie changes that
meant nothing, and its stated floor could never fail on its own.
"""

import json

import pytest
from seqeval.metrics import f1_score

from benchmarks.data import DEV, REPORT, SELECT, book
from tests.helpers import run_job

DEFAULTS = {"MAT": 97.12, "MRK": 96.51}
NEIGHBOURS = {"MAT": 95.45, "MRK": 93.91}  # the lowest of the neighbouring layer ranges
REGRESSIONS = {"MAT": (94.17, 94.61, 94.45, 89.96, 89.88),  # count, L8, greedy, heur., old
               "MRK": (91.86, 91.76, 89.83, 87.67)}  # count, L8, heuristic, old
FLOORS = {"MAT": 95.0, "MRK": 93.5}  # settings chosen on Matthew, reported on Mark


def test_the_floors_lie_between_the_neighbours_and_the_regressions():
    """The margins above, as numbers: a floor that a neighbour would break, or that a
    listed regression would pass, is a bad floor."""
    for half, floor in FLOORS.items():
        assert DEFAULTS[half] > NEIGHBOURS[half] > floor > max(REGRESSIONS[half])
        assert NEIGHBOURS[half] - floor < 0.5


@pytest.mark.slow
def test_defaults_stay_above_their_floors_on_matthew_and_mark(tmp_path, e5_dir):
    summary, rows, dead = run_job(str(tmp_path / "out"), f"--input={DEV}",
                                  "--target_langs=ell_Grek")
    rows = rows["ell_Grek"]
    assert len(rows) == 566 and dead == []
    gold = {r["id"]: json.loads(r["extra"])["gold_translation_tags"] for r in rows}
    pred = {r["id"]: r["ner_tags"] for r in rows}
    scores = {}
    for books in (SELECT, REPORT):
        ids = [i for i in gold if book(i) in books]
        scores[books[0]] = 100 * f1_score([gold[i] for i in ids], [pred[i] for i in ids])
    assert scores["MAT"] >= FLOORS["MAT"] and scores["MRK"] >= FLOORS["MRK"], scores
    # the summary's own score is seqeval's over all the verses
    overall = summary["languages"]["ell_Grek"]["gold_evaluation"]["overall"]["f1"]
    assert overall == pytest.approx(f1_score(list(gold.values()), list(pred.values())))
    check_the_confidence(rows)


def check_the_confidence(rows):
    """The entity score is a calibrated probability: refitting on Matthew reproduces the
    shipped file, and on Mark (never fitted on) its expected calibration error is at most
    0.05 and entities scored >= 0.9 are right at least 97 % of the time."""
    from benchmarks.fit_confidence import entity_table, fit, measure
    from xlner.projection.confidence import shipped

    table = entity_table(rows)
    assert all(0.0 <= t[2] <= 1.0 for t in table)
    assert fit([t for t in table if book(t[0]) in SELECT]) == shipped()
    mark = measure(table, shipped(), REPORT)
    assert mark["ece"] <= 0.05 and mark["precision_at_0_9"] >= 0.97, mark
    assert mark["coverage_at_0_9"] >= 0.9, mark  # and it does not get there by abstaining
    # the stored score is the shipped calibration's, to the stored precision
    assert all(abs(shipped().confidence(t[1]) - t[2]) < 1e-6 for t in table)
