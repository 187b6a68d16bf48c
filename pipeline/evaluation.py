"""Assembly of the evaluation job (translate-test, the paper's pipeline, method.md §1.2).

gold target sentences -> detokenise -> translate to English -> split -> English NER ->
[EasyProject back-translation for tgt2tgt] -> align -> project back onto the gold tokens
with every requested method -> score against gold inside the graph (CombinePerKey over
per-sentence counts) -> metrics.json, report.md, report.html, predictions.

Translation and English NER run once per sentence and fan out to all methods; one encoder
pass per direction serves every alignment method. Predictions are joined with the gold
sentences by key, never by position.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Optional

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.pvalue import TaggedOutput

import xlner
from pipeline.config import JobConfig, make_projector
from pipeline.graph import project_pairs, translate_all
from pipeline.options import csv_list, options_hash
from transforms.combiners import SumOf
from transforms.deadletter import DEAD
from transforms.easyproject import MarkedUnit, PlanEasyProject, RecoverEasyProject
from transforms.ner import TagWords
from transforms.progress import LogProgress
from transforms.read import ReadLabeledSentences
from transforms.split import SplitWords
from transforms.translate import REQUESTS, plan_translation, to_translation
from transforms.write import WriteDeadLetters, join_path
from xlner import languages as registry
from xlner import methods as method_registry
from xlner.evaluation import EvalCounts, assemble, score_sentence
from xlner.records import SentencePair, pair_key
from xlner.report import paper_results, render_html, render_markdown

ENGLISH = "eng_Latn"
DEFAULT_PATTERNS = {"masakhaner2": "{data_dir}/{lang}/{split}.txt",
                    "panx": "{data_dir}/{lang}/{split}"}
# The options a reader of the report needs (the models and what was evaluated).
REPORTED_OPTIONS = ("input", "data_dir", "split", "langs", "methods", "translation_model",
                    "easyproject_model", "ner_model", "alignment_model", "align_layer",
                    "paper_quirks")


@dataclass
class EvalConfig:
    dataset: str
    languages: list  # dicts: code, nllb, patterns, input_format
    methods: list  # xlner.methods.Method
    keep_types: Optional[tuple]
    ignore_types: tuple
    primary: str

    @classmethod
    def from_options(cls, cfg: JobConfig) -> "EvalConfig":
        o = cfg.opts
        dataset = o["dataset"]
        methods = method_registry.resolve(o["methods"])
        if dataset == "custom":
            langs = csv_list(o["langs"])
            if len(langs) != 1:
                raise ValueError("--dataset custom evaluates one language: --langs <NLLB code>")
            languages = [{"code": langs[0], "nllb": langs[0], "patterns": cfg.inputs,
                          "input_format": o["input_format"]}]
            keep, ignore = None, ()
        else:
            if not o["data_dir"] and not o["data_pattern"]:
                raise ValueError(f"--dataset {dataset} needs --data_dir (or --data_pattern)")
            pattern = o["data_pattern"] or DEFAULT_PATTERNS[dataset]
            fmt = o["input_format"]
            if fmt == "auto" and dataset == "panx" and not pattern.endswith(
                    (".parquet", ".jsonl")):
                fmt = "panx"
            languages = []
            for lang in registry.resolve(dataset, o["langs"] or "all"):
                path = pattern.format(data_dir=o["data_dir"].rstrip("/"), lang=lang.code,
                                      split=o["split"])
                languages.append({"code": lang.code, "nllb": lang.nllb, "patterns": [path],
                                  "input_format": fmt})
            keep = registry.EVALUATED_TYPES[dataset]
            ignore = registry.IGNORED_TYPES[dataset]
        return cls(dataset, languages, methods, keep, ignore,
                   "span" if o["span_only"] else "typed")


# ---------------------------------------------------------------- per-record helpers
def plan_english(s):
    """Gold sentence -> its English translation (given) or a request to translate it."""
    yield from plan_translation(s, ENGLISH, s.lang)


def _english_words(t):
    return t.words


def _translation_describe(t):
    return t.source.id, t.source.lang


def english_pair(t, spans) -> SentencePair:
    """The English side (NER spans) projects back onto the gold tokens."""
    s = t.source
    return SentencePair(id=s.id, src_lang=ENGLISH, tgt_lang=s.lang, src_words=t.words,
                        src_spans=tuple(spans), tgt_words=s.tokens, context=t)


def back_translation_unit(pair: SentencePair) -> MarkedUnit:
    return MarkedUnit(pair.key, pair.id, ENGLISH, pair.tgt_lang, pair.src_words,
                      pair.src_spans, context=pair)


def back_translated_pair(ep) -> SentencePair:
    """tgt2tgt: the EasyProject back-translation is the entity side, in the same language."""
    pair: SentencePair = ep.unit.context
    return SentencePair(id=pair.id, src_lang=pair.tgt_lang, tgt_lang=pair.tgt_lang,
                        src_words=ep.words, src_spans=ep.spans, tgt_words=pair.tgt_words,
                        context=pair.context)


def keyed_prediction(projection, method_key):
    return projection.pair.key, (method_key, projection.tags)


class _Score(beam.DoFn):
    """(key, {gold, pred}) -> ((lang, method), EvalCounts) per method, and examples."""

    def __init__(self, ecfg: EvalConfig):
        self._methods = [m.key for m in ecfg.methods]
        self._codes = {l["nllb"]: l["code"] for l in ecfg.languages}
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
            n_gold = sum(1 for t in s.tags if t.startswith("B-"))
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
        metrics = assemble(per_key, ecfg.languages, [m.key for m in ecfg.methods],
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


def build_evaluation(p: beam.Pipeline, cfg: JobConfig, ecfg: EvalConfig) -> EvalOutputs:
    o = cfg.opts
    dead = []
    # 1. gold sentences of every language
    reads = []
    for lang in ecfg.languages:
        r = p | f"Read[{lang['code']}]" >> ReadLabeledSentences(
            lang["patterns"], lang["input_format"], cfg.label_names, lang["nllb"],
            o["max_sentence_words"])
        reads.append(r.ok)
        # Rejected gold sentences belong to their language: the report shows them there.
        dead.append(r.dead | f"DeadOf[{lang['code']}]" >> beam.Map(
            lambda d, lang=lang["nllb"]: dataclasses.replace(d, tgt_lang=d.tgt_lang or lang)))
    gold = (tuple(reads) | "AllGold" >> beam.Flatten()
            | "GoldSentences" >> beam.Map(lambda v: v.sentence))

    # 2. English side: translate (unless given), split, tag
    planned = gold | "PlanEnglish" >> beam.FlatMap(plan_english).with_outputs(
        REQUESTS, DEAD, main="given")
    texts, _ = translate_all(cfg, planned[REQUESTS], None, label="English")
    translated = texts | "EnglishTranslations" >> beam.FlatMap(to_translation).with_outputs(
        DEAD, main="ok")
    english = (planned.given, translated.ok) | "AllEnglish" >> beam.Flatten()
    split = english | "SplitEnglish" >> SplitWords()
    tagged = split.ok | "EnglishNER" >> TagWords(
        cfg.ner_handler(), _english_words, english_pair, _translation_describe,
        stage="english_ner", batch_size=o["ner_batch_size"])
    pairs = tagged.ok | "ProgressEnglish" >> LogProgress("english side")
    dead += [planned[DEAD], translated[DEAD], split.dead, tagged.dead]

    # 3. project with every method, grouped by direction (one encoder pass each)
    predictions = []
    for direction in ("src2tgt", "tgt2tgt"):
        chosen = [m for m in ecfg.methods if m.direction == direction
                  or (direction == "src2tgt" and m.projection == "model_transfer")]
        if not chosen:
            continue
        side = pairs
        if direction == "tgt2tgt":
            ep_requests = (pairs | "BackTranslationUnits" >> beam.Map(back_translation_unit)
                           | "PlanBackTranslation" >> PlanEasyProject())
            _, ep_texts = translate_all(cfg, None, ep_requests, label="Back")
            recovered = ep_texts | "RecoverBackTranslation" >> RecoverEasyProject(
                o["paper_quirks"])
            side = recovered.ok | "BackTranslatedPairs" >> beam.Map(back_translated_pair)
            dead.append(recovered.dead)
        projectors = [m.projection if m.projection == "model_transfer" else
                      make_projector(o, m.projection, m.align_method, m.matching)
                      for m in chosen]
        outs, pdead = project_pairs(cfg, side, projectors, label=f"{direction}:")
        dead += pdead
        for m, out in zip(chosen, outs):
            predictions.append(out | f"Key[{m.key}]" >> beam.Map(keyed_prediction, m.key))

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
                | "TopExamples" >> beam.combiners.Top.PerKey(o["examples_per_method"])
                | "AllExamples" >> beam.combiners.ToList())
    all_dead = tuple(dead) | "AllDeadLetters" >> beam.Flatten()
    _ = all_dead | "DeadLetters" >> WriteDeadLetters(o["output"])
    codes = {l["nllb"]: l["code"] for l in ecfg.languages}
    dead_counts = (all_dead | "DeadKey" >> beam.Map(_dead_key, codes)
                   | "CountDead" >> beam.combiners.Count.PerElement()
                   | "AllDeadCounts" >> beam.combiners.ToList())
    _ = scored.predictions | "WritePredictions" >> beam.io.WriteToParquet(
        join_path(o["output"], "predictions", "part"), PREDICTIONS_SCHEMA,
        file_name_suffix=".parquet")
    header = {"job": "translate-test", "run_id": cfg.run_id, "dataset": ecfg.dataset,
              "package_version": xlner.__version__, "options_hash": options_hash(o),
              "options": {k: o[k] for k in REPORTED_OPTIONS if o.get(k) not in ("", None)},
              "all_options": o}
    metrics = counts | "WriteReport" >> beam.ParDo(
        _WriteReport(o["output"], ecfg, header), beam.pvalue.AsSingleton(examples),
        beam.pvalue.AsSingleton(dead_counts))
    return EvalOutputs(metrics, all_dead)


def _predictions_schema():
    import pyarrow as pa

    return pa.schema([("lang", pa.string()), ("method", pa.string()), ("id", pa.string()),
                      ("tokens", pa.list_(pa.string())), ("gold", pa.list_(pa.string())),
                      ("pred", pa.list_(pa.string()))])


PREDICTIONS_SCHEMA = _predictions_schema()
