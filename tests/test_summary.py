"""The run summary's books: every read record ends written or dead-lettered, per language."""

from pipeline.graph import tally_dead, tally_valid
from xlner.formats.inputs import Validated
from xlner.formats.records import DeadLetter, LabeledSentence
from xlner.formats.summary import Tally


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


def test_every_dead_letter_reason_is_listed_with_its_count_and_two_example_ids():
    from xlner.formats.summary import Tally as T

    parts = [tally_dead(DeadLetter("validate", "invalid_tag", rid)) for rid in ("z", "b", "q")]
    parts += [tally_dead(DeadLetter("translate", "model_error", "k", tgt_lang="por_Latn")),
              tally_dead(DeadLetter("read", "unreadable_file", None))]
    forward, backward = T(), T()
    for t in parts:
        forward.add(t)
    for t in reversed(parts):  # any combine order gives the same examples
        backward.add(t)
    reasons = forward.reasons()
    assert reasons == backward.reasons()
    assert reasons[0] == {"stage": "validate", "reason": "invalid_tag", "count": 3,
                          "example_ids": ["b", "q"]}
    assert {(r["stage"], r["reason"], r["count"]) for r in reasons[1:]} == {
        ("translate", "model_error", 1), ("read", "unreadable_file", 1)}
    assert forward.report(["por_Latn"])["dead_letter_reasons"] == reasons
