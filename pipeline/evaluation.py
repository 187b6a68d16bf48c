"""Assembly of the evaluation job (translate-test, the paper's pipeline, docs/method.md §1.2):

    read gold -> translate to English -> English NER -> pairs -> [tag targets]
    -> [back-translate] -> Project[METHOD] for each method (one encoder pass)
    -> [segmenter words -> gold tokens] -> join with gold -> score -> metrics.json,
    report.md, report.html, predictions

A gold language with a word segmenter (xlner/text/segmenters.py) is projected onto the
segmenter's words of each gold sentence and the tags are carried back onto the gold tokens
through character offsets, so scores are always on the gold's tokens.

Translation and English NER run once per sentence and fan out to all methods; one encoder
pass serves every alignment method of both directions. Predictions are joined with the gold
sentences by key, never by position, and scored inside the graph (CombinePerKey over
per-sentence counts).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

import xlner
from pipeline.config import ENGLISH, EvalConfig
from pipeline.options import options_hash
from transforms.combiners import SumOf
from transforms.deadletter import DEAD, DeadLetters
from transforms.easyproject import BackTranslate
from transforms.ner import TagTargets, TagWords, WordsToTag
from transforms.progress import LogProgress
from transforms.project import ProjectPairs
from transforms.read import ReadLabeledSentences
from transforms.translate import TranslateSentences
from pipeline.outputs import REPORT_FILES, output_folder
from transforms.publish import RecordRun
from transforms.shards import WriteShards, parquet_bytes
from transforms.write import WriteDeadLetters
from xlner.storage.guarded_files import Folder
from xlner.evaluation.paired import JointCounts, comparison_block, joint_sentence
from xlner.evaluation.scoring import (Bootstrap, EvalCounts, assemble, errors_of, sample_rank,
                              score_sentence, triple)
from xlner.evaluation.metrics import map_labels
from xlner.formats.records import SentencePair, Translation, pair_key
from xlner.evaluation.report import paper_results, render_html, render_markdown
from xlner.text.retokenize import (gold_words, join_tokens, locate, spans_onto_tokens,
                                   tags_onto_tokens)

# The options a reader of the report needs (the models and what was evaluated).
REPORTED_OPTIONS = ("input", "data_dir", "split", "langs", "methods", "translation_model",
                    "easyproject_model", "ner_model", "alignment_model", "align_layers",
                    "link_weighting", "paper_quirks", "paper_defaults")
# Shown only when the graph uses them (models_in_use); which translations actually came
# from the translation model the report says from the records (given / cache / model).
MODEL_OPTIONS = {"translation_model": "translation_model",
                 "easyproject_model": "easyproject_model", "ner_model": "ner_model",
                 "alignment_model": "alignment_model", "align_layers": "alignment_model"}


# ---------------------------------------------------------------- per-record helpers
def _english_words(t: Translation) -> WordsToTag:
    return WordsToTag(t.words, t.source.id, t.source.lang, t)


def english_pair(t: Translation, spans) -> SentencePair:
    """The English side (NER spans) projects back onto the gold sentence: onto its words
    as the language's segmenter splits them when it has one and they differ from the gold
    tokens (PAN-X Chinese, Japanese, Thai: one token per character), else onto the gold
    tokens; ``gold_tags`` carries the tags back onto the tokens."""
    s = t.source
    try:
        segmented = gold_words(s.tokens, s.lang)
    except ValueError:  # the segmenter's words are not in the text: keep the gold tokens
        segmented = None
    return SentencePair(translation=t, src_lang=ENGLISH, tgt_lang=s.lang, src_words=t.words,
                        src_spans=tuple(spans),
                        tgt_words=tuple(segmented[0]) if segmented else s.tokens)


def gold_tags(projection) -> tuple:
    """The projected tags on the gold tokens: as projected when the projection ran on the
    gold tokens, else carried from the segmenter's words onto the tokens through character
    offsets (a token takes a span's label when most of its characters are inside the span:
    xlner/text/retokenize.py)."""
    pair = projection.pair
    tokens = tuple(pair.record.tokens)
    if tuple(pair.tgt_words) == tokens or len(projection.tags) != len(pair.tgt_words):
        return projection.tags
    text, token_offsets = join_tokens(tokens)
    return tags_onto_tokens(projection.tags, locate(text, pair.tgt_words), token_offsets)


def token_entities(projection) -> tuple:
    """The projected entities ``(start, end, label, score)`` on the gold tokens, each
    carried over as :func:`gold_tags` carries the tags (its own span by the majority rule),
    so the report can set an entity's confidence against whether it was right."""
    pair = projection.pair
    tokens = tuple(pair.record.tokens)
    entities = projection.entities
    if tuple(pair.tgt_words) == tokens or len(projection.tags) != len(pair.tgt_words):
        return tuple((e.start, e.end, e.label, e.score) for e in entities)
    text, token_offsets = join_tokens(tokens)
    offsets = locate(text, pair.tgt_words)
    return tuple((sp.start, sp.end, e.label, e.score) for e in entities
                 for sp in spans_onto_tokens([e.span], offsets, token_offsets))


def keyed_prediction(projection, method_key):
    return projection.pair.key, (method_key, gold_tags(projection), token_entities(projection))


def keyed_english(translation: Translation, spans):
    """The English side of a sentence, once for all methods: the report's examples show it
    (what the English NER found), so an NER error can be told from a projection error."""
    s = translation.source
    return pair_key(s.id, s.lang), (tuple(translation.words or ()),
                                    tuple((sp.start, sp.end, sp.label) for sp in spans))


def _origin_key(t: Translation, codes):
    return (codes.get(t.source.lang, t.source.lang), t.origin,
            "" if t.origin == "given" else t.model)


class _Score(beam.DoFn):
    """(key, {gold, pred, english}) -> ((lang, method), EvalCounts) per method, example
    candidates and predictions.

    Example candidates go to ``Top.PerKey`` keyed (lang, method, kind): ``sample`` ranked
    by :func:`sample_rank` (seeded, order-free), ``worst`` by the errors of the primary
    metric (false positives + false negatives; sentences without errors are not
    candidates). The combiner keeps k per key, so the examples' context never piles up.
    """

    def __init__(self, ecfg: EvalConfig, seed: int):
        self._methods = [m.key for m, _ in ecfg.methods]
        self._codes = ecfg.codes
        self._keep = ecfg.keep_types
        self._ignore = ecfg.ignore_types
        self._primary = ecfg.primary
        self._examples = ecfg.opts.examples_per_method > 0
        self._seed = seed

    def process(self, element):
        key, sides = element
        golds = list(sides["gold"])
        if not golds:
            return
        s = golds[0]
        code = self._codes.get(s.lang, s.lang)
        preds = {m: (tags, entities) for m, tags, entities in sides["pred"]}
        english = next(iter(sides["english"]), None)
        rank = sample_rank(self._seed, s.id)
        typed, span = [], []
        for m in self._methods:
            pred, entities = preds.get(m, (None, ()))
            if pred is None or len(pred) != len(s.tags):  # scored as predicting nothing
                entities = ()
            confidences = {(a, b, label): score for a, b, label, score in entities}
            counts = score_sentence(s.tags, pred, self._keep, self._ignore, confidences)
            yield (code, m), counts
            typed.append(triple(counts.typed))
            span.append(triple(counts.span))
            pred_tags = list(pred) if pred is not None and len(pred) == len(s.tags) else [
                "O"] * len(s.tags)
            if self._examples:
                errors = errors_of(counts.typed if self._primary == "typed" else counts.span)
                # the labels as scored (types outside the evaluation are O), so the
                # highlighting agrees with the error counts
                example = {"id": s.id, "tokens": list(s.tokens),
                           "gold": map_labels(s.tags, self._keep, self._ignore),
                           "pred": map_labels(pred_tags, self._keep, self._ignore),
                           "failed": bool(counts.failed),
                           "errors": errors,
                           "english": None if english is None else {
                               "words": list(english[0]),
                               "spans": [list(sp) for sp in english[1]]}}
                yield TaggedOutput("examples", ((code, m, "sample"), (rank, example)))
                wrong = errors["spurious"] + errors["missed"]
                if wrong:
                    yield TaggedOutput("examples", ((code, m, "worst"),
                                                    ((wrong, rank), example)))
            yield TaggedOutput("predictions", {"lang": code, "method": m, "id": s.id,
                                               "tokens": list(s.tokens), "gold": list(s.tags),
                                               "pred": pred_tags,
                                               "entities": [
                                                   {"start": a, "end": b, "label": label,
                                                    "score": score}
                                                   for a, b, label, score in entities]})
        # the sentence's triples under every method together, for the paired comparison
        yield TaggedOutput("joint", (code, joint_sentence(typed, span)))


def examples_document(top, kinds=("sample", "worst")) -> dict:
    """[((lang, method, kind), [(rank, example), ...])] -> lang -> method -> examples, each
    with its ``kind``: the sample first, then the worst, each in rank order."""
    by_key = {k: [dict(e, kind=k[2]) for _, e in items] for k, items in top}
    out: dict = {}
    for code, m, _ in sorted({k for k in by_key}, key=lambda k: (k[0], k[1])):
        if m in out.get(code, {}):
            continue
        out.setdefault(code, {})[m] = [e for kind in kinds
                                       for e in by_key.get((code, m, kind), [])]
    return out


class _WriteReport(beam.DoFn):
    """All per-key counts (one element) -> metrics.json, examples.json, report.md, report.html."""

    def __init__(self, folder: Folder, ecfg: EvalConfig, header: dict, bootstrap: Bootstrap):
        self._folder = folder
        self._ecfg = ecfg
        self._header = header
        self._bootstrap = bootstrap

    def process(self, counts, examples, dead, origins, joint):
        ecfg = self._ecfg
        per_key = dict(counts)
        dead_by_lang: dict = {}
        for (code, stage, reason), n in dead:
            dead_by_lang.setdefault(code, {}).setdefault(stage, {})[reason] = n
        translations: dict = {}
        for (code, origin, model), n in origins:
            translations.setdefault(code, {})[(origin, model)] = n
        metrics = assemble(per_key, ecfg.languages, [m.key for m, _ in ecfg.methods],
                           paper_results(ecfg.dataset), ecfg.primary, dead_by_lang,
                           self._header, translations, self._bootstrap)
        metrics.update(comparison_block(dict(joint), metrics["languages"], metrics["methods"],
                                        ecfg.primary, self._bootstrap))
        ex = examples_document(examples)
        files = {"metrics.json": json.dumps(metrics, indent=2, ensure_ascii=False),
                 "examples.json": json.dumps(ex, ensure_ascii=False),
                 "report.md": render_markdown(metrics, ex),
                 "report.html": render_html(metrics, ex)}
        assert tuple(files) == REPORT_FILES
        for name, text in files.items():
            self._folder.write(name, text.encode("utf-8"))
        yield metrics


def _dead_key(d, codes):
    return (codes.get(d.tgt_lang, d.tgt_lang or ""), d.stage, d.reason)


@dataclass
class EvalOutputs:
    metrics: beam.PCollection
    dead_letters: beam.PCollection


def _read_gold(p: beam.Pipeline, ecfg: EvalConfig, dead: DeadLetters):
    """The gold sentences of every language; rejected ones are dead letters of their
    language (the report shows them there)."""
    o, reads = ecfg.opts, []
    for lang in ecfg.languages:
        r = p | f"Read[{lang.code}]" >> ReadLabeledSentences(
            lang.patterns, lang.input_format, ecfg.label_names, lang.nllb,
            o.max_sentence_words, max_token_chars=o.max_token_chars, keep_splits=False)
        reads.append(r.ok)
        dead.add(r.dead | f"DeadOf[{lang.code}]" >> beam.Map(
            lambda d, lang=lang.nllb: dataclasses.replace(d, tgt_lang=d.tgt_lang or lang)))
    return (tuple(reads) | "AllGold" >> beam.Flatten()
            | "GoldSentences" >> beam.Map(lambda v: v.sentence))


def _english_side(gold, ecfg: EvalConfig, dead: DeadLetters):
    """(English translations, tagged English, pairs): translated unless given, split,
    tagged by the English NER; the gold words tagged once when a method needs them."""
    o, models = ecfg.opts, ecfg.models
    english = dead.keep(gold | "TranslateToEnglish" >> TranslateSentences(
        models.translate_texts(), [ENGLISH], key_by_source=True))
    tagged = dead.keep(english | "EnglishWords" >> beam.Map(_english_words)
                       | "EnglishNER" >> TagWords(models.tagger(), "english_ner",
                                                  o.ner_batch_size))
    pairs = (tagged | "EnglishPairs" >> beam.MapTuple(english_pair)
             | "ProgressEnglish" >> LogProgress("english side"))
    needs = ecfg.needs()
    if needs.target_ner:
        pairs = dead.keep(pairs | "TagTargets" >> TagTargets(
            models.tagger(needs.word_probs), o.ner_batch_size))
    return english, tagged, pairs


def _predict(pairs, ecfg: EvalConfig, dead: DeadLetters):
    """Every method's keyed predictions: the directions share one encoder pass, in which
    each gold sentence (the target of both) is encoded once."""
    models, needs = ecfg.models, ecfg.needs()
    lanes = {"src2tgt": pairs}
    if any(m.needs_back_translation for m, _ in ecfg.methods):
        lanes["tgt2tgt"] = dead.keep(pairs | "BackTranslate" >> BackTranslate(
            models.translate_texts(models.easyproject_model), ecfg.opts.paper_quirks))
    projected = lanes | "Project" >> ProjectPairs(
        ecfg.methods, models.align(needs.alignment, shared_side="tgt",
                                   link_scores=needs.link_scores)
        if needs.alignment else None)
    dead.add(projected[DEAD])
    predictions = [projected[m.key] | f"Key[{m.key}]" >> beam.Map(keyed_prediction, m.key)
                   for m, _ in ecfg.methods]
    return (tuple(predictions) | "AllPredictions" >> beam.Flatten()
            | "ProgressProjected" >> LogProgress("projections"))


def _score(gold, tagged, preds, ecfg: EvalConfig):
    """Scored against gold by key (the English side joins once per sentence, for the
    examples): (counts per (language, method), top examples, prediction rows, joint counts
    per language for the paired comparison)."""
    o = ecfg.opts
    keyed_gold = gold | "KeyGold" >> beam.Map(lambda s: (pair_key(s.id, s.lang), s))
    keyed_en = tagged | "KeyEnglish" >> beam.MapTuple(keyed_english)
    scored = ({"gold": keyed_gold, "pred": preds, "english": keyed_en}
              | "JoinWithGold" >> beam.CoGroupByKey()
              | "Score" >> beam.ParDo(_Score(ecfg, o.report_seed)).with_outputs(
                  "examples", "predictions", "joint", main="counts"))
    counts = (scored.counts
              | "SumPerLanguageMethod" >> beam.CombinePerKey(SumOf(EvalCounts))
              | "AllCounts" >> beam.combiners.ToList())
    examples = (scored.examples
                | "TopExamples" >> beam.combiners.Top.PerKey(
                    max(o.examples_per_method, 1), key=lambda v: v[0])
                | "AllExamples" >> beam.combiners.ToList())
    joint = (scored.joint
             | "SumPerLanguage" >> beam.CombinePerKey(SumOf(JointCounts))
             | "AllJointCounts" >> beam.combiners.ToList())
    return counts, examples, scored.predictions, joint


def _report_header(ecfg: EvalConfig) -> dict:
    """What the report and metrics.json say about the run: options in use, models."""
    o, models = ecfg.opts, ecfg.models
    all_options = dataclasses.asdict(o)
    in_use = {name for name, _ in ecfg.models_in_use()}
    header = {"job": "translate-test", "run_id": ecfg.run_id, "dataset": ecfg.dataset,
              "package_version": xlner.__version__, "options_hash": options_hash(o),
              "options": {k: all_options[k] for k in REPORTED_OPTIONS
                          if all_options.get(k) not in ("", None, False)
                          and (k not in MODEL_OPTIONS or MODEL_OPTIONS[k] in in_use)},
              "examples": {"per_kind": o.examples_per_method, "seed": o.report_seed},
              "model_fingerprints": models.fingerprints(),
              "all_options": all_options}
    if any(m.needs_back_translation for m, _ in ecfg.methods):  # the model it falls back to
        header["options"]["easyproject_model"] = models.easyproject_model
    return header


def _counted(pcoll, label: str, key_fn, codes):
    """(key, count) pairs of ``pcoll`` keyed by ``key_fn``, as one list."""
    return (pcoll | f"{label}Key" >> beam.Map(key_fn, codes)
            | f"Count{label}" >> beam.combiners.Count.PerElement()
            | f"All{label}Counts" >> beam.combiners.ToList())


def build_evaluation(p: beam.Pipeline, ecfg: EvalConfig) -> EvalOutputs:
    """Gold -> English side -> every method's projection -> scores -> report, with every
    rejected record a dead letter and every file recorded in the run's manifest."""
    dead = DeadLetters()
    gold = _read_gold(p, ecfg, dead)
    english, tagged, pairs = _english_side(gold, ecfg, dead)
    preds = _predict(pairs, ecfg, dead)
    counts, examples, prediction_rows, joint = _score(gold, tagged, preds, ecfg)
    origins = _counted(english, "Origin", _origin_key, ecfg.codes)
    folder = output_folder(ecfg)
    all_dead = dead.flatten()
    dead_files = all_dead | "DeadLetters" >> WriteDeadLetters(folder)
    dead_counts = _counted(all_dead, "Dead", _dead_key, ecfg.codes)
    prediction_files = (prediction_rows
                        | "InPredictions" >> beam.Map(lambda r: ("predictions", r))
                        | "WritePredictions" >> WriteShards(folder, predictions_parquet,
                                                            prediction_id))
    metrics = counts | "WriteReport" >> beam.ParDo(
        _WriteReport(folder, ecfg, _report_header(ecfg), Bootstrap(seed=ecfg.opts.report_seed)),
        beam.pvalue.AsSingleton(examples), beam.pvalue.AsSingleton(dead_counts),
        beam.pvalue.AsSingleton(origins), beam.pvalue.AsSingleton(joint))
    _ = metrics | "Record" >> RecordRun(
        folder, {"job": "translate-test", "run_id": ecfg.run_id, "attempt": ecfg.attempt,
                 "root": folder.root.url, "base": folder.base, "target_langs": []},
        {"predictions": prediction_files, "dead_letter": dead_files},
        [("report", name) for name in REPORT_FILES], ["predictions", "dead_letter"],
        lease=ecfg.lease)
    return EvalOutputs(metrics, all_dead)


def _predictions_schema():
    import pyarrow as pa

    return pa.schema([("lang", pa.string()), ("method", pa.string()), ("id", pa.string()),
                      ("tokens", pa.list_(pa.string())), ("gold", pa.list_(pa.string())),
                      ("pred", pa.list_(pa.string())),
                      # the projected entities on the tokens, with their confidence
                      ("entities", pa.list_(pa.struct([
                          ("start", pa.int32()), ("end", pa.int32()),
                          ("label", pa.string()), ("score", pa.float64())])))])


PREDICTIONS_SCHEMA = _predictions_schema()


def predictions_parquet(rows: list, _arg=None) -> bytes:
    import pyarrow as pa

    return parquet_bytes(pa.Table.from_pylist(rows, schema=PREDICTIONS_SCHEMA))


def prediction_id(row: dict) -> str:
    return f"{row['lang']}\t{row['method']}\t{row['id']}"
