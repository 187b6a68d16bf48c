"""Assembly of the translate-train job.

read -> [label source] -> translate -> split -> pair -> [tag target] -> align -> project
-> write, with the EasyProject and model-transfer branches and the tgt2tgt join. Every
stage is a composable PTransform (``transforms/``) returning its output and its dead
letters; this module wires them, collects dead letters and summary tallies, and fixes the
provenance. The pieces shared with the evaluation job (``project_pairs`` and friends) are
plain functions over PCollections.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.pvalue import PCollection, TaggedOutput

import xlner
from pipeline.config import ALIGNING, JobConfig
from pipeline.options import options_hash
from transforms.align import Align
from transforms.deadletter import DEAD, dead_letter
from transforms.easyproject import (MarkedUnit, PlanEasyProject, RecoverEasyProject,
                                    is_easyproject)
from transforms.ner import TagWords
from transforms.progress import LogProgress
from transforms.project import Project
from transforms.publish import Publish
from transforms.read import ReadLabeledSentences
from transforms.split import SplitWords, translation_to_pair
from transforms.translate import REQUESTS, PlanTranslations, to_translation
from transforms.write import WriteDeadLetters, WriteProjections, WriteSummary, tally_written
from xlner.bio import spans_to_tags, tags_to_spans
from xlner.schema import OUTPUT_SCHEMA
from xlner.records import DeadLetter, Projection, SentencePair, Translation, pair_key
from xlner.summary import REJECTED_STAGES, Tally


@dataclass
class JobOutputs:
    """Handles on the main PCollections, for tests and for composing larger graphs."""

    projections: PCollection
    rows: PCollection
    dead_letters: PCollection
    summary: PCollection


# ---------------------------------------------------------------- small picklable helpers
def tally_dead(d) -> Tally:
    t = Tally.of_dead(d.stage, d.reason, d.tgt_lang)
    if d.stage in REJECTED_STAGES:
        t.read = 1
    return t


def tally_valid(v) -> Tally:
    t = Tally.of_valid(v.repairs)
    t.read = 1
    return t


def _sentence_words(s):
    return s.tokens


def _sentence_describe(s):
    return s.id, None


def _relabel(s, spans):
    return dataclasses.replace(s, tags=spans_to_tags(spans, len(s.tokens)))


def _target_words(pair):
    return pair.tgt_words


def _pair_describe(pair):
    return pair.id, pair.tgt_lang


def _attach_target_spans(pair, spans):
    return pair.with_tgt_spans(spans)


def _attach_target_spans_and_probs(pair, result):
    spans, word_probs = result
    return pair.with_tgt_spans(spans, word_probs)


def model_transfer_projection(pair: SentencePair) -> Projection:
    """Model transfer: the target's own NER spans are the labels (method.md §8.2)."""
    spans = tuple(pair.tgt_spans or ())
    return Projection(pair=pair, method="model_transfer",
                      tags=spans_to_tags(spans, len(pair.tgt_words)), spans=spans)


def marked_units(s, target_langs):
    """One EasyProject unit per (source sentence, target language)."""
    for tgt in target_langs:
        if tgt != s.lang:
            yield MarkedUnit(pair_key(s.id, tgt), s.id, s.lang, tgt, s.tokens,
                             tags_to_spans(s.tags), context=s)


def easyproject_projection(ep) -> Projection:
    """EasyProject as the projection itself: the recovered spans label the translation."""
    s = ep.unit.context
    t = Translation(source=s, tgt_lang=ep.unit.tgt_lang, text=ep.text, origin=ep.origin,
                    model=ep.model, words=ep.words, offsets=None)
    pair = SentencePair(id=s.id, src_lang=s.lang, tgt_lang=ep.unit.tgt_lang,
                        src_words=s.tokens, src_spans=tags_to_spans(s.tags),
                        tgt_words=ep.words, context=t)
    return Projection(pair=pair, method="easyproject",
                      tags=spans_to_tags(ep.spans, len(ep.words)), spans=ep.spans)


def join_tgt2tgt(element):
    """(key, {plain: [...], ep: [...]}) -> the pair that aligns the sentence to label with
    the EasyProject translation, or exactly one dead letter for the key."""
    key, sides = element
    plain, ep = list(sides["plain"]), list(sides["ep"])
    for item in plain + ep:
        if isinstance(item, DeadLetter):
            yield TaggedOutput(DEAD, item)
            return
    if not plain or not ep:
        yield dead_letter("tgt2tgt", "missing_side", key.split("/", 1)[-1],
                          f"plain={len(plain)} easyproject={len(ep)}", key.split("/", 1)[0])
        return
    sentence, back = plain[0], ep[0]
    yield SentencePair(id=back.unit.record_id, src_lang=back.unit.tgt_lang,
                       tgt_lang=back.unit.tgt_lang, src_words=back.words, src_spans=back.spans,
                       tgt_words=sentence.tgt_words, context=sentence.context)


def _keyed(x):
    if isinstance(x, DeadLetter):
        return pair_key(x.record_id, x.tgt_lang), x
    if isinstance(x, SentencePair):
        return x.key, x
    return x.unit.key, x  # EasyProjected


# ---------------------------------------------------------------- shared assembly
def translate_all(cfg: JobConfig, plain_requests, ep_requests, label: str = ""):
    """Run every translation request through one TranslateTexts per distinct model, so a
    GPU worker holds one copy of each model. Returns (plain texts, EasyProject texts)."""
    same = cfg.easyproject_model == cfg.opts["translation_model"]
    if plain_requests is not None and ep_requests is not None and same:
        texts = ((plain_requests, ep_requests) | f"{label}AllRequests" >> beam.Flatten()
                 | f"{label}TranslateTexts" >> cfg.translate_texts())
        parts = texts | f"{label}BySlot" >> beam.Partition(
            lambda t, n: int(is_easyproject(t)), 2)
        return parts[0], parts[1]
    plain = ep = None
    if plain_requests is not None:
        plain = plain_requests | f"{label}TranslateTexts" >> cfg.translate_texts()
    if ep_requests is not None:
        ep = ep_requests | f"{label}TranslateEasyProject" >> cfg.translate_texts(
            cfg.easyproject_model)
    return plain, ep


def tag_targets(cfg: JobConfig, pairs, label: str = "TagTarget",
                with_probabilities: bool = False):
    attach = _attach_target_spans_and_probs if with_probabilities else _attach_target_spans
    return pairs | label >> TagWords(cfg.ner_handler(with_probabilities), _target_words,
                                     attach, _pair_describe, stage="ner",
                                     batch_size=cfg.opts["ner_batch_size"])


def project_pairs(cfg: JobConfig, pairs, projectors, label: str = ""):
    """SentencePair -> Projection for each projector (one encoder pass for all of them).

    ``projectors`` holds projector objects and/or ``"model_transfer"``. Model transfer
    needs no alignment; NER candidates need the target tagged first (one tagging pass
    serves both). Returns (projection PCollections in the order of ``projectors``,
    dead-letter PCollections).
    """
    o = cfg.opts
    dead = []
    needs_probs = any(getattr(p, "needs_word_probs", False) for p in projectors)
    needs_ner = needs_probs or any(p == "model_transfer" or getattr(p, "name", "") == "ner"
                                   for p in projectors)
    if needs_ner:
        tagged = tag_targets(cfg, pairs, f"{label}TagTarget", needs_probs)
        pairs = tagged.ok
        dead.append(tagged.dead)
    aligning = [p for p in projectors if p != "model_transfer"]
    aligned = None
    if aligning:
        methods = sorted({p.align_method for p in aligning})
        aligned = pairs | f"{label}Align" >> Align(
            cfg.encoder_handler(), methods, cfg.aligner, batch_size=o["align_batch_size"],
            batch_tokens=o["align_batch_tokens"])
        dead.append(aligned.dead)
    outputs = []
    for k, projector in enumerate(projectors):
        if projector == "model_transfer":
            outputs.append(pairs | f"{label}ModelTransfer" >> beam.Map(
                model_transfer_projection))
            continue
        res = aligned.ok | f"{label}Project{k}" >> Project(projector)
        outputs.append(res.ok)
        dead.append(res.dead)
    return outputs, dead


# ---------------------------------------------------------------- translate-train
def build_translate_train(p: beam.Pipeline, cfg: JobConfig) -> JobOutputs:
    o = cfg.opts
    method = cfg.projection
    read = p | "Read" >> ReadLabeledSentences(cfg.inputs, o["input_format"], cfg.label_names,
                                              o["source_lang"], o["max_sentence_words"],
                                              require_tags=not o["label_source"])
    dead = [read.dead]
    sentences = (read.ok | "Sentences" >> beam.Map(lambda v: v.sentence)
                 | "ProgressRead" >> LogProgress("read"))
    if o["label_source"]:
        labelled = sentences | "LabelSource" >> TagWords(
            cfg.ner_handler(), _sentence_words, _relabel, _sentence_describe,
            stage="label_source", batch_size=o["ner_batch_size"])
        sentences, dead = labelled.ok, dead + [labelled.dead]

    tgt2tgt = o["align_direction"] == "tgt2tgt"
    plain_requests = ep_requests = None
    if method != "easyproject":
        planned = sentences | "PlanTranslations" >> PlanTranslations(cfg.target_langs)
        plain_requests, given, plan_dead = planned[REQUESTS], planned.given, planned[DEAD]
    if method == "easyproject" or tgt2tgt:
        targets = cfg.target_langs
        ep_requests = (sentences
                       | "MarkedUnits" >> beam.FlatMap(marked_units, targets)
                       | "PlanEasyProject" >> PlanEasyProject())
    plain_texts, ep_texts = translate_all(cfg, plain_requests, ep_requests)

    projections, pdead = [], []
    if ep_texts is not None:
        recovered = ep_texts | "RecoverEasyProject" >> RecoverEasyProject(o["paper_quirks"])
    if method == "easyproject":
        projections.append(recovered.ok | "EasyProjectLabels" >> beam.Map(
            easyproject_projection))
        dead.append(recovered.dead)
    else:
        done = plain_texts | "ToTranslations" >> beam.FlatMap(to_translation).with_outputs(
            DEAD, main="ok")
        translations = (given, done.ok) | "AllTranslations" >> beam.Flatten()
        split = translations | "SplitWords" >> SplitWords()
        pairs = (split.ok | "ToPairs" >> beam.Map(translation_to_pair)
                 | "ProgressTranslated" >> LogProgress("translated"))
        early_dead = [plan_dead, done[DEAD], split.dead]
        if tgt2tgt:
            joined = ({"plain": (pairs, *early_dead, recovered.dead)
                       | "PlainSide" >> beam.Flatten() | "KeyPlain" >> beam.Map(_keyed),
                       "ep": recovered.ok | "KeyEasyProject" >> beam.Map(_keyed)}
                      | "JoinTgt2Tgt" >> beam.CoGroupByKey()
                      | "Tgt2TgtPairs" >> beam.FlatMap(join_tgt2tgt).with_outputs(
                          DEAD, main="ok"))
            pairs = joined.ok
            dead.append(joined[DEAD])
        else:
            dead += early_dead
        projector = cfg.projector if method in ALIGNING else method
        outs, pdead = project_pairs(cfg, pairs, [projector])
        projections += outs
    projected = ((projections[0] if len(projections) == 1
                  else projections | "AllProjections" >> beam.Flatten())
                 | "ProgressProjected" >> LogProgress("projected"))
    dead += pdead

    out = cfg.output_dir
    written = projected | "WriteShards" >> WriteProjections(out, cfg.target_langs,
                                                           cfg.provenance())
    all_dead = tuple(dead) | "AllDeadLetters" >> beam.Flatten()
    dead_files = all_dead | "DeadLetters" >> WriteDeadLetters(out)
    gold_field = o["gold_tags_field"] or None
    tallies = ((read.ok | "TallyValid" >> beam.Map(tally_valid),
                all_dead | "TallyDead" >> beam.Map(tally_dead),
                projected | "TallyWritten" >> beam.Map(tally_written, gold_field))
               | "AllTallies" >> beam.Flatten())
    static = {"job": "translate-train", "run_id": cfg.run_id, "attempt": cfg.attempt,
              "package_version": xlner.__version__, "options_hash": options_hash(o),
              "options": o, "inputs": cfg.inputs, "provenance": cfg.provenance()}
    summary_writer = WriteSummary(out, cfg.target_langs, static)
    summary = tallies | "Summary" >> summary_writer
    if o["publish"]:
        summary = summary | "Publish" >> Publish(
            o["output"], cfg.run_id, cfg.attempt, cfg.target_langs, o["publish_min_rows"],
            summary_writer.path, OUTPUT_SCHEMA, written.files, dead_files)
    return JobOutputs(projected, written.rows, all_dead, summary)
