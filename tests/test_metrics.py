from hypothesis import given, settings, strategies as st
from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from xlner.evaluation.metrics import Counts, chunks, map_labels, proj_ratio_term, sentence_counts

TAG = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG", "E-PER", "S-LOC"])


@given(st.lists(TAG, max_size=12))
def test_chunks_match_seqeval_default_mode(tags):
    assert chunks(tags) == {(t, b, e + 1) for t, b, e in get_entities(list(tags))}


@settings(max_examples=60)
@given(st.lists(st.integers(1, 10), min_size=1, max_size=15), st.randoms())
def test_counts_decompose_seqeval_micro_scores(lengths, rnd):
    tags = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"]
    gold = [[rnd.choice(tags) for _ in range(n)] for n in lengths]
    pred = [[rnd.choice(tags) for _ in range(n)] for n in lengths]
    total = Counts()
    for g, p in zip(gold, pred):
        total.add(sentence_counts(g, p))
    s = total.scores()["overall"]
    assert abs(s["f1"] - f1_score(gold, pred)) < 1e-12
    assert abs(s["precision"] - precision_score(gold, pred)) < 1e-12
    assert abs(s["recall"] - recall_score(gold, pred)) < 1e-12


def test_per_type_scores_and_span_only():
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-ORG", "I-ORG", "O", "B-LOC"]]
    c = sentence_counts(gold[0], pred[0]).scores()
    report = classification_report(gold, pred, output_dict=True)
    assert c["per_type"]["LOC"]["f1"] == report["LOC"]["f1-score"] == 1.0
    assert c["per_type"]["PER"]["f1"] == 0.0
    assert sentence_counts(gold[0], pred[0], span_only=True).scores()["overall"]["f1"] == 1.0


def test_proj_ratio_rules():
    assert proj_ratio_term(["B-PER", "B-LOC"], ["B-PER", "O"]) == 0.5
    assert proj_ratio_term(["O"], ["O"]) == 1.0
    assert proj_ratio_term(["O"], ["B-PER"]) == 0.0  # over-prediction on an empty sentence
    assert proj_ratio_term(["B-PER"], ["I-PER"]) == 0.0  # only B- counts


def test_map_labels_drops_ignored_and_unknown_types():
    tags = ["B-PER", "B-MISC", "I-MISC", "B-DATE"]
    assert map_labels(tags, keep={"PER", "LOC", "ORG"}) == ["B-PER", "O", "O", "O"]
    assert map_labels(tags, ignore={"DATE"}) == ["B-PER", "B-MISC", "I-MISC", "O"]
