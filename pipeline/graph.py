"""Assembly of the translate-train job: read -> translate -> split -> align -> project -> write.

Every stage is a composable PTransform (see ``transforms/``) returning its output and its
dead letters; this module only wires them, collects the dead letters and the summary
tallies, and fixes the provenance recorded with every output row.
"""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass
from typing import Any, Optional

import apache_beam as beam
from apache_beam.pvalue import PCollection

import xlner
from pipeline.options import (SAMPLE_INPUT, csv_list, options_hash,
                              sample_input_path, values)
from transforms.align import Align
from transforms.handlers import AlignmentEncoderHandler, TranslationModelHandler
from transforms.project import Project
from transforms.read import ReadLabeledSentences
from transforms.split import SplitWords, translation_to_pair
from transforms.translate import Translate
from transforms.write import WriteDeadLetters, WriteProjections, WriteSummary, tally_written
from xlner.cache import model_signature
from xlner.models.translators import GenerationSettings
from xlner.projectors import HeuristicProjector
from xlner.summary import PRE_FANOUT_STAGES, Tally


def new_run_id() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


@dataclass
class JobConfig:
    """Everything derived from the options once, at graph-construction time."""

    opts: dict
    run_id: str
    inputs: list
    target_langs: list
    label_names: Optional[list]
    generation: GenerationSettings
    projector: Any

    @classmethod
    def from_options(cls, options) -> "JobConfig":
        o = values(options)
        inputs = [sample_input_path() if p == SAMPLE_INPUT else p for p in csv_list(o["input"])]
        if not inputs:
            raise ValueError("--input is empty")
        targets = csv_list(o["target_langs"])
        if not targets:
            raise ValueError("--target_langs is empty")
        if len(set(targets)) != len(targets):
            raise ValueError(f"--target_langs repeats a language: {targets}")
        projector = HeuristicProjector(
            align_method=o["align_method"], merge_distance=o["merge_distance"],
            length_ratio_threshold=o["length_ratio_threshold"], overwrite=not o["no_overwrite"],
            reproduce_merge_quirk=o["paper_quirks"])
        return cls(
            opts=o, run_id=o["run_id"] or new_run_id(), inputs=inputs, target_langs=targets,
            label_names=csv_list(o["label_list"]) or None,
            generation=GenerationSettings(num_beams=o["num_beams"] or None,
                                          max_new_tokens=o["max_new_tokens"] or None),
            projector=projector)

    @property
    def aligner(self) -> str:
        return f"{self.opts['alignment_model']}@layer{self.opts['align_layer']}"

    def provenance(self) -> dict:
        o = self.opts
        return {
            "package_version": xlner.__version__,
            "run_id": self.run_id,
            "options_hash": options_hash(o),
            "translation_model": o["translation_model"],
            "alignment_model": o["alignment_model"],
            "align_method": o["align_method"],
            "align_layer": o["align_layer"],
            "projection": self.projector.name,
            "projection_settings": json.dumps(self.projector.describe(), sort_keys=True),
        }


@dataclass
class JobOutputs:
    """Handles on the main PCollections, for tests and for composing larger graphs."""

    projections: PCollection
    rows: PCollection
    dead_letters: PCollection
    summary: PCollection


def translation_handler(cfg: JobConfig) -> TranslationModelHandler:
    o = cfg.opts
    return TranslationModelHandler(o["translation_model"], device=o["device"],
                                   dtype=o["inference_dtype"], generation=cfg.generation,
                                   share_across_processes=o["share_models"])


def encoder_handler(cfg: JobConfig) -> AlignmentEncoderHandler:
    o = cfg.opts
    return AlignmentEncoderHandler(o["alignment_model"], o["align_layer"], device=o["device"],
                                   dtype=o["inference_dtype"],
                                   cache_dir=o["model_cache_dir"] or None,
                                   share_across_processes=o["share_models"])


def tally_dead(d) -> Tally:
    t = Tally.of_dead(d.stage, d.reason, d.tgt_lang)
    if d.stage in PRE_FANOUT_STAGES:
        t.read = 1
    return t


def tally_valid(v) -> Tally:
    t = Tally.of_valid(v.repairs)
    t.read = 1
    return t


def build_translate_train(p: beam.Pipeline, cfg: JobConfig) -> JobOutputs:
    o = cfg.opts
    read = p | "Read" >> ReadLabeledSentences(cfg.inputs, o["input_format"], cfg.label_names,
                                              o["source_lang"], o["max_sentence_words"])
    sentences = read.ok | "Sentences" >> beam.Map(lambda v: v.sentence)
    translated = sentences | "Translate" >> Translate(
        cfg.target_langs, translation_handler(cfg), o["translation_model"],
        model_signature(o["translation_model"], cfg.generation.describe()),
        cache_location=o["translation_cache"] or None,
        batch_size=o["translation_batch_size"], batch_tokens=o["translation_batch_tokens"])
    split = translated.ok | "SplitWords" >> SplitWords()
    pairs = split.ok | "ToPairs" >> beam.Map(translation_to_pair)
    aligned = pairs | "Align" >> Align(encoder_handler(cfg), [o["align_method"]], cfg.aligner,
                                       batch_size=o["align_batch_size"],
                                       batch_tokens=o["align_batch_tokens"])
    projected = aligned.ok | "Project" >> Project(cfg.projector)
    rows = projected.ok | "WriteShards" >> WriteProjections(o["output"], cfg.target_langs,
                                                            cfg.provenance())
    dead = ((read.dead, translated.dead, split.dead, aligned.dead, projected.dead)
            | "AllDeadLetters" >> beam.Flatten())
    _ = dead | "DeadLetters" >> WriteDeadLetters(o["output"])
    gold_field = o["gold_tags_field"] or None
    tallies = ((read.ok | "TallyValid" >> beam.Map(tally_valid),
                dead | "TallyDead" >> beam.Map(tally_dead),
                projected.ok | "TallyWritten" >> beam.Map(tally_written, gold_field))
               | "AllTallies" >> beam.Flatten())
    static = {"job": "translate-train", "run_id": cfg.run_id,
              "package_version": xlner.__version__, "options_hash": options_hash(o),
              "options": o, "inputs": cfg.inputs, "provenance": cfg.provenance()}
    summary = tallies | "Summary" >> WriteSummary(o["output"], cfg.target_langs, static)
    return JobOutputs(projected.ok, rows, dead, summary)
