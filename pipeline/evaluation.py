"""Assembly of the evaluation job (translate-test, the paper's pipeline, method.md §1.2):

    read gold -> translate to English -> English NER -> pairs -> [tag targets]
    -> [back-translate] -> Project[METHOD] for each method (one encoder pass)
    -> join with gold -> score -> metrics.json, report.md, report.html, predictions

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
from apache_beam.io.filesystems import FileSystems
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
from transforms.files import join_path
from transforms.write import WriteDeadLetters
from xlner.bio import count_entities
from xlner.evaluation import EvalCounts, assemble, score_sentence
from xlner.records import SentencePair, Translation, pair_key
from xlner.report import paper_results, render_html, render_markdown

# The options a reader of the report needs (the models and what was evaluated).
REPORTED_OPTIONS = ("input", "data_dir", "split", "langs", "methods", "translation_model",
                    "easyproject_model", "ner_model", "alignment_model", "align_layers",
                    "link_weighting", "paper_quirks", "paper_defaults")


# ---------------------------------------------------------------- per-record helpers
def _english_words(t: Translation) -> WordsToTag:
    return WordsToTag(t.words, t.source.id, t.source.lang, t)


def english_pair(t: Translation, spans) -> SentencePair:
    """The English side (NER spans) projects back onto the gold tokens."""
    s = t.source
    return SentencePair(translation=t, src_lang=ENGLISH, tgt_lang=s.lang, src_words=t.words,
                        src_spans=tuple(spans), tgt_words=s.tokens)


def keyed_prediction(projection, method_key):
    return projection.pair.key, (method_key, projection.tags)


class _Score(beam.DoFn):
    """(key, {gold, pred}) -> ((lang, method), EvalCounts) per method, and examples."""

    def __init__(self, ecfg: EvalConfig):
        self._methods = [m.key for m, _ in ecfg.methods]
        self._codes = ecfg.codes
        self._keep = ecfg.keep_types
        self._ignore = ecfg.ignore_types

    def process(self, element):
        key, sides = element
        golds = list(sides["gold"])
        if not golds:
            return
        s = golds[0]
        code = self._codes.get(s.lang, s.lang)
        preds = dict(sides["pred"])
        for m in self._methods:
            pred = preds.get(m)
            counts = score_sentence(s.tags, pred, self._keep, self._ignore)
            yield (code, m), counts
            n_gold = count_entities(s.tags)
            example = {"id": s.id, "tokens": list(s.tokens), "gold": list(s.tags),
                       "pred": list(pred) if pred is not None else ["O"] * len(s.tags)}
            yield TaggedOutput("examples", ((code, m), (n_gold, s.id, example)))
            yield TaggedOutput("predictions", {"lang": code, "method": m, "id": s.id,
                                               "tokens": list(s.tokens), "gold": list(s.tags),
                                               "pred": example["pred"]})


class _WriteReport(beam.DoFn):
    """All per-key counts (one element) -> metrics.json, report.md, report.html."""

    def __init__(self, output: str, ecfg: EvalConfig, header: dict):
        self._output = output
        self._ecfg = ecfg
        self._header = header

    def process(self, counts, examples, dead):
        ecfg = self._ecfg
        per_key = dict(counts)
        dead_by_lang: dict = {}
        for (code, stage, reason), n in dead:
            dead_by_lang.setdefault(code, {}).setdefault(stage, {})[reason] = n
        metrics = assemble(per_key, ecfg.languages, [m.key for m, _ in ecfg.methods],
                           paper_results(ecfg.dataset), ecfg.primary, dead_by_lang,
                           self._header)
        ex: dict = {}
        for (code, m), items in examples:
            ex.setdefault(code, {})[m] = [e for _, _, e in items]
        files = {"metrics.json": json.dumps(metrics, indent=2, ensure_ascii=False),
                 "examples.json": json.dumps(ex, ensure_ascii=False),
                 "report.md": render_markdown(metrics, ex),
                 "report.html": render_html(metrics, ex)}
        for name, text in files.items():
            with FileSystems.create(join_path(self._output, name)) as f:
                f.write(text.encode("utf-8"))
        yield metrics


def _dead_key(d, codes):
    return (codes.get(d.tgt_lang, d.tgt_lang or ""), d.stage, d.reason)


@dataclass
class EvalOutputs:
    metrics: beam.PCollection
    dead_letters: beam.PCollection


def build_evaluation(p: beam.Pipeline, ecfg: EvalConfig) -> EvalOutputs:
    o, models = ecfg.opts, ecfg.models
    dead = DeadLetters()
    # 1. gold sentences of every language
    reads = []
    for lang in ecfg.languages:
        r = p | f"Read[{lang.code}]" >> ReadLabeledSentences(
            lang.patterns, lang.input_format, ecfg.label_names, lang.nllb,
            o.max_sentence_words, max_token_chars=o.max_token_chars)
        reads.append(r.ok)
        # Rejected gold sentences belong to their language: the report shows them there.
        dead.add(r.dead | f"DeadOf[{lang.code}]" >> beam.Map(
            lambda d, lang=lang.nllb: dataclasses.replace(d, tgt_lang=d.tgt_lang or lang)))
    gold = (tuple(reads) | "AllGold" >> beam.Flatten()
            | "GoldSentences" >> beam.Map(lambda v: v.sentence))

    # 2. the English side: translated (unless given), split, tagged
    english = dead.keep(gold | "TranslateToEnglish" >> TranslateSentences(
        models.translate_texts(), [ENGLISH], key_by_source=True))
    tagged = dead.keep(english | "EnglishWords" >> beam.Map(_english_words)
                       | "EnglishNER" >> TagWords(models.tagger(), "english_ner",
                                                  o.ner_batch_size))
    pairs = (tagged | "EnglishPairs" >> beam.MapTuple(english_pair)
             | "ProgressEnglish" >> LogProgress("english side"))
    needs = ecfg.needs()
    if needs.target_ner:  # the gold words are the target of both directions: tag them once
        pairs = dead.keep(pairs | "TagTargets" >> TagTargets(
            models.tagger(needs.word_probs), o.ner_batch_size))

    # 3. project with every method: the directions share one encoder pass, in which each
    #    gold sentence (the target of both) is encoded once
    lanes = {"src2tgt": pairs}
    if any(m.needs_back_translation for m, _ in ecfg.methods):
        lanes["tgt2tgt"] = dead.keep(pairs | "BackTranslate" >> BackTranslate(
            models.translate_texts(models.easyproject_model), o.paper_quirks))
    projected = lanes | "Project" >> ProjectPairs(
        ecfg.methods, models.align(needs.alignment, shared_side="tgt",
                                   link_scores=needs.link_scores)
        if needs.alignment else None)
    dead.add(projected[DEAD])
    predictions = [projected[m.key] | f"Key[{m.key}]" >> beam.Map(keyed_prediction, m.key)
                   for m, _ in ecfg.methods]

    # 4. score against gold by key, combine per (language, method), report
    keyed_gold = gold | "KeyGold" >> beam.Map(lambda s: (pair_key(s.id, s.lang), s))
    preds = (tuple(predictions) | "AllPredictions" >> beam.Flatten()
             | "ProgressProjected" >> LogProgress("projections"))
    scored = ({"gold": keyed_gold, "pred": preds}
              | "JoinWithGold" >> beam.CoGroupByKey()
              | "Score" >> beam.ParDo(_Score(ecfg)).with_outputs("examples", "predictions",
                                                                 main="counts"))
    counts = (scored.counts
              | "SumPerLanguageMethod" >> beam.CombinePerKey(SumOf(EvalCounts))
              | "AllCounts" >> beam.combiners.ToList())
    examples = (scored.examples
                | "TopExamples" >> beam.combiners.Top.PerKey(o.examples_per_method)
                | "AllExamples" >> beam.combiners.ToList())
    all_dead = dead.flatten()
    _ = all_dead | "DeadLetters" >> WriteDeadLetters(o.output)
    dead_counts = (all_dead | "DeadKey" >> beam.Map(_dead_key, ecfg.codes)
                   | "CountDead" >> beam.combiners.Count.PerElement()
                   | "AllDeadCounts" >> beam.combiners.ToList())
    _ = scored.predictions | "WritePredictions" >> beam.io.WriteToParquet(
        join_path(o.output, "predictions", "part"), PREDICTIONS_SCHEMA,
        file_name_suffix=".parquet")
    all_options = dataclasses.asdict(o)
    header = {"job": "translate-test", "run_id": ecfg.run_id, "dataset": ecfg.dataset,
              "package_version": xlner.__version__, "options_hash": options_hash(o),
              "options": {k: all_options[k] for k in REPORTED_OPTIONS
                          if all_options.get(k) not in ("", None)},
              "all_options": all_options}
    metrics = counts | "WriteReport" >> beam.ParDo(
        _WriteReport(o.output, ecfg, header), beam.pvalue.AsSingleton(examples),
        beam.pvalue.AsSingleton(dead_counts))
    return EvalOutputs(metrics, all_dead)


def _predictions_schema():
    import pyarrow as pa

    return pa.schema([("lang", pa.string()), ("method", pa.string()), ("id", pa.string()),
                      ("tokens", pa.list_(pa.string())), ("gold", pa.list_(pa.string())),
                      ("pred", pa.list_(pa.string()))])


PREDICTIONS_SCHEMA = _predictions_schema()
