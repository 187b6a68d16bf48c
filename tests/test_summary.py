"""The run summary's books: every read record ends written or dead-lettered, per language."""

from pipeline.graph import tally_dead, tally_valid
from xlner.inputs import Validated
from xlner.records import DeadLetter, LabeledSentence
from xlner.summary import Tally


def valid():
    s = LabeledSentence("x", ("a",), ("O",), "eng_Latn")
    return tally_valid(Validated(s, 0))


def dead(stage, lang=None):
    return tally_dead(DeadLetter(stage, "why", "x", tgt_lang=lang))


def test_accounting_across_stages_and_languages():
    total = Tally()
    for t in [dead("read"), dead("validate"),          # rejected: read, never valid
              valid(), dead("label_source"),           # valid, lost before the fan-out
              valid(), Tally.of_written("por_Latn", ["B-PER"], ["B-PER"], "model"),
              dead("translate", "swh_Latn"),           # the same record, other language
              valid(), dead("align", "por_Latn"), dead("project", "swh_Latn")]:
        total.add(t)
    report = total.report(["por_Latn", "swh_Latn"])
    assert report["records_read"] == 5 and report["records_rejected"] == 2
    assert report["records_valid"] == 3
    assert report["languages"]["por_Latn"]["written"] == 1
    assert report["accounting_balanced"]
    # a record that vanishes without a dead letter breaks the books
    total.add(valid())
    assert not total.report(["por_Latn", "swh_Latn"])["accounting_balanced"]
