"""Assembly of the translate-train job, as one chain of named stages:

    read -> [label source] -> translate -> pairs -> [tag targets] -> [back-translate]
    -> Project[METHOD] -> write -> summary -> [publish]

Every stage is a composable PTransform (``transforms/``) that returns its output and its
dead letters; this module chains them, collects the dead letters and the summary tallies,
and fixes the provenance. The method object says which optional stages it needs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.pvalue import PCollection

import xlner
from pipeline.config import RunConfig
from pipeline.options import options_hash
from transforms.deadletter import DEAD, DeadLetters, with_split
from transforms.easyproject import BackTranslate, TranslateMarked
from transforms.filter import FilterProjections
from transforms.ner import LabelSentences, TagTargets
from transforms.progress import LogProgress
from transforms.project import ProjectPairs
from pipeline.outputs import output_folder
from transforms.publish import Publish, RecordRun, translate_train_facts
from transforms.read import ReadLabeledSentences
from transforms.split import translation_to_pair
from transforms.stages import measure
from transforms.translate import TranslateSentences
from transforms.write import (WriteCard, WriteDeadLetters, WriteProjections, WriteSummary,
                              tally_written)
from xlner.formats.splits import has_splits, split_of_id
from xlner.formats.stages import placeholder as stages_placeholder
from xlner.formats.summary import Tally


@dataclass
class JobOutputs:
    """Handles on the main PCollections, for tests and for composing larger graphs."""

    projections: PCollection
    rows: PCollection
    dead_letters: PCollection
    summary: PCollection


def tally_dead(d) -> Tally:
    """A dead letter's tally, in its input split (``with_split`` gave it one)."""
    return Tally.of_dead(d.stage, d.reason, d.tgt_lang, d.record_id, d.record, d.detail,
                         d.split)


def tally_valid(v, splits=None) -> Tally:
    """A valid record's tally, in the input split its id names (``splits``: the run's
    path -> split map)."""
    return Tally.of_valid(v.repairs, None if splits is None
                          else split_of_id(v.sentence.id, has_splits(splits)))


def _sentence(v):
    return v.sentence


def _sentences(p: beam.Pipeline, cfg: RunConfig, dead: DeadLetters):
    """(read result, labelled source sentences): read, validated, tagged where the input
    has no labels (``--label_source``)."""
    o, models = cfg.opts, cfg.models
    with measure("read", p, ("read", "validate")) as m:
        read = p | "Read" >> ReadLabeledSentences(
            cfg.inputs, o.input_format, cfg.label_names, o.source_lang, o.max_sentence_words,
            require_tags=not o.label_source, max_token_chars=o.max_token_chars,
            target_langs=cfg.target_langs)
        m.output(read.ok, read.dead)
    sentences = (dead.keep(read) | "Sentences" >> beam.Map(_sentence)
                 | "ProgressRead" >> LogProgress("read", "records"))
    if o.label_source:
        with measure("label_source", sentences) as m:
            labelled = sentences | "LabelSource" >> LabelSentences(models.tagger(),
                                                                   o.ner_batch_size)
            m.output(*labelled)
        sentences = dead.keep(labelled)
    return read, sentences


def _measured(stage: str, pcoll, label: str, transform, dead_stages=()):
    """``pcoll | label >> transform`` (a stage returning Staged), measured as ``stage``."""
    with measure(stage, pcoll, dead_stages) as m:
        staged = pcoll | label >> transform
        m.output(*staged)
    return staged


def _pairs(sentences, cfg: RunConfig, dead: DeadLetters):
    """Sentence pairs to project: translated (or marked and translated for EasyProject),
    target words tagged and back-translated where the method needs them."""
    o, method, models, needs = cfg.opts, cfg.method, cfg.models, cfg.needs
    if method.needs_marked_translation:  # EasyProject: the marked translation is the target
        pairs = dead.keep(_measured("translate_marked", sentences, "TranslateMarked",
                                    TranslateMarked(
                                        models.translate_texts(models.easyproject_model),
                                        cfg.target_langs, o.paper_quirks),
                                    ("easyproject",)))
    else:
        translations = dead.keep(_measured("translate", sentences, "Translate",
                                           TranslateSentences(models.translate_texts(),
                                                              cfg.target_langs)))
        pairs = translations | "Pairs" >> beam.Map(translation_to_pair)
    if needs.target_ner:
        pairs = dead.keep(_measured("tag_targets", pairs, "TagTargets", TagTargets(
            models.tagger(needs.word_probs), o.ner_batch_size), ("ner",)))
    if method.needs_back_translation:
        pairs = dead.keep(_measured("back_translate", pairs, "BackTranslate", BackTranslate(
            models.translate_texts(models.easyproject_model), o.paper_quirks),
            ("easyproject",)))
    return pairs


def _project(pairs, cfg: RunConfig, dead: DeadLetters):
    """The method's projections, through the filters when any is set."""
    method, needs = cfg.method, cfg.needs
    with measure("project", pairs) as m:
        projected = pairs | "Project" >> ProjectPairs(
            [(method, cfg.projector)],
            cfg.models.align(needs.alignment, link_scores=needs.link_scores)
            if needs.alignment else None)
        m.output(projected[method.key], projected[DEAD])
    dead.add(projected[DEAD])
    projections = projected[method.key]
    if cfg.filters.active:
        projections = dead.keep(_measured("filter", projections, "Filter",
                                          FilterProjections(cfg.filters)))
    return projections


def _summarise(read, projections, all_dead, folder, written, cfg: RunConfig):
    """summary.json from the tallies of every record, then the card beside it; returns
    (summary step, its writer, the card step)."""
    o = cfg.opts
    splits = beam.pvalue.AsSingleton(read.splits)
    tallies = ((read.ok | "TallyValid" >> beam.Map(tally_valid, splits),
                all_dead | "TallyDead" >> beam.Map(tally_dead),
                projections | "TallyWritten" >> beam.Map(tally_written,
                                                         o.gold_tags_field or None, splits,
                                                         o.validation_fraction),
                read.label_names | "TallyLabels" >> beam.Map(Tally.of_labels))
               | "AllTallies" >> beam.Flatten())
    static = {"job": "translate-train", "run_id": cfg.run_id, "attempt": cfg.attempt,
              "package_version": xlner.__version__, "options_hash": options_hash(o),
              "options": dataclasses.asdict(o), "inputs": list(cfg.inputs),
              "method": cfg.method.key, "provenance": cfg.provenance(),
              **stages_placeholder(o.publish)}
    summary_writer = WriteSummary(folder, cfg.target_langs, static, o.allow_empty,
                                  cfg.filters.describe(), allow_partial=o.allow_partial_input,
                                  label_names=cfg.label_names)
    card = WriteCard(folder, cfg.target_langs, written.files)
    return tallies | "Summary" >> summary_writer | "Card" >> card, summary_writer, card


def build_translate_train(p: beam.Pipeline, cfg: RunConfig) -> JobOutputs:
    """Read -> translate -> align and project -> filter -> shards, dead letters, summary,
    card and manifest; published when ``--publish``."""
    o = cfg.opts
    dead = DeadLetters()
    read, sentences = _sentences(p, cfg, dead)
    projections = _project(_pairs(sentences, cfg, dead), cfg, dead)
    folder = output_folder(cfg)
    with measure("write", projections) as m:
        written = projections | "WriteShards" >> WriteProjections(
            folder, label_names=cfg.label_names, validation_fraction=o.validation_fraction,
            splits=read.splits, input_labels=read.label_names)
        m.output(written.files)
    all_dead = (dead.flatten()
                | "DeadLetterSplits" >> beam.Map(with_split,
                                                 beam.pvalue.AsSingleton(read.splits)))
    dead_files = all_dead | "DeadLetters" >> WriteDeadLetters(folder)
    summary, summary_writer, card = _summarise(read, projections, all_dead, folder, written,
                                               cfg)
    header = {"job": "translate-train", "run_id": cfg.run_id, "attempt": cfg.attempt,
              "root": folder.root.url, "base": folder.base,
              "target_langs": list(cfg.target_langs)}
    recorded = summary | "Record" >> RecordRun(
        folder, header, {"shard": written.files, "dead_letter": dead_files},
        [("summary", summary_writer.name), ("card", card.name)],
        [*cfg.target_langs, "dead_letter"], translate_train_facts, cfg.lease,
        release_lease=not o.publish)
    if o.publish:
        _ = recorded | "Publish" >> Publish(folder.root, cfg.lease, cfg.target_langs,
                                            o.publish_min_rows)
    return JobOutputs(projections, written.rows, all_dead, summary)
