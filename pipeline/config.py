"""Everything derived once from the options at graph-construction time: validated
settings, the projector, the model handlers and the provenance recorded in the output."""

from __future__ import annotations

import datetime
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

import xlner
from pipeline.options import SAMPLE_INPUT, csv_list, options_hash, sample_input_path, values
from transforms.handlers import (AlignmentEncoderHandler, NERModelHandler, Placement,
                                 TranslationModelHandler)
from transforms.publish import attempt_dir, new_attempt
from transforms.translate import TranslateTexts
from xlner.cache import model_signature
from xlner.models.translators import GenerationSettings
from xlner.models.ner import EMBEDDED_NER
from xlner.projectors import CandidateProjector, HeuristicProjector
from xlner.scores import parse_weights

ALIGNING = ("heuristic", "ngram", "ner")


def new_run_id() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def make_projector(o: dict, method: Optional[str] = None, align_method: Optional[str] = None,
                   matching: Optional[str] = None):
    """The projector for ``method`` (default: --projection); None for EasyProject and model
    transfer, which do not project through an alignment."""
    method = method or o["projection"]
    align_method = align_method or o["align_method"]
    if method == "heuristic":
        return HeuristicProjector(
            align_method=align_method, merge_distance=o["merge_distance"],
            length_ratio_threshold=o["length_ratio_threshold"],
            overwrite=not o["no_overwrite"], reproduce_merge_quirk=o["paper_quirks"])
    if method in ("ngram", "ner"):
        weights = parse_weights(o["score_weights"])
        if dict(weights).get("ner") and o["ner_model"] == EMBEDDED_NER:
            raise ValueError("--score_weights with ner needs a Hugging Face token-"
                             "classification --ner_model (spaCy gives no probabilities)")
        return CandidateProjector(
            name=method, matching=matching or o["matching"], align_method=align_method,
            max_words=o["max_candidate_words"] or None, n_proj=o["n_proj"],
            ner_subranges=o["ner_subranges"], score_weights=weights)
    return None


@dataclass
class JobConfig:
    opts: dict
    run_id: str
    inputs: list
    target_langs: list
    label_names: Optional[list]
    generation: GenerationSettings
    projector: Any
    attempt: str = ""  # with --publish: this launch's folder under runs/<run_id>/
    # One identifier per distinct model of this job: steps using the same model share it.
    model_tags: dict = field(default_factory=dict)

    def _tagged(self, handler, *key):
        handler.model_identifier = self.model_tags.setdefault(
            key, "xlner-" + uuid.uuid4().hex[:16])
        return handler

    @classmethod
    def from_options(cls, options, targets_option: str = "target_langs") -> "JobConfig":
        o = values(options)
        inputs = [sample_input_path() if p == SAMPLE_INPUT else p for p in csv_list(o["input"])]
        if not inputs:
            raise ValueError("--input is empty")
        targets = csv_list(o[targets_option]) if targets_option else []
        if targets_option and not targets:
            raise ValueError(f"--{targets_option} is empty")
        if len(set(targets)) != len(targets):
            raise ValueError(f"--{targets_option} repeats a language: {targets}")
        if o["align_direction"] == "tgt2tgt" and o["projection"] not in ALIGNING:
            raise ValueError(f"--align_direction=tgt2tgt needs an aligning projection "
                             f"({', '.join(ALIGNING)}), not {o['projection']}")
        return cls(
            opts=o, run_id=o["run_id"] or new_run_id(), inputs=inputs, target_langs=targets,
            label_names=csv_list(o["label_list"]) or None,
            generation=GenerationSettings(num_beams=o["num_beams"] or None,
                                          max_new_tokens=o["max_new_tokens"] or None),
            projector=make_projector(o), attempt=new_attempt() if o["publish"] else "")

    @property
    def output_dir(self) -> str:
        """Where this run writes: OUTPUT itself, or its attempt folder with --publish."""
        if self.opts["publish"]:
            return attempt_dir(self.opts["output"], self.run_id, self.attempt)
        return self.opts["output"]

    # ------------------------------------------------------------------ derived settings
    @property
    def projection(self) -> str:
        return self.opts["projection"]

    @property
    def aligner(self) -> str:
        return f"{self.opts['alignment_model']}@layer{self.opts['align_layer']}"

    @property
    def easyproject_model(self) -> str:
        return self.opts["easyproject_model"] or self.opts["translation_model"]

    def provenance(self) -> dict:
        o = self.opts
        settings = self.projector.describe() if self.projector else {"projection":
                                                                     self.projection}
        settings["align_direction"] = o["align_direction"]
        if self.projection in ("ner", "model_transfer") or o["label_source"]:
            settings["ner_model"] = o["ner_model"]
        if self.projection == "easyproject" or o["align_direction"] == "tgt2tgt":
            settings["easyproject_model"] = self.easyproject_model
        return {
            "package_version": xlner.__version__,
            "run_id": self.run_id,
            "options_hash": options_hash(o),
            "translation_model": o["translation_model"],
            "alignment_model": o["alignment_model"] if self.projector else "",
            "align_method": o["align_method"] if self.projector else "",
            "align_layer": o["align_layer"] if self.projector else 0,
            "projection": self.projection,
            "projection_settings": json.dumps(settings, sort_keys=True),
        }

    # ------------------------------------------------------------------ model handlers
    @property
    def placement(self) -> Placement:
        o = self.opts
        hints = []
        if o["accelerator"]:
            hints.append(("accelerator", o["accelerator"]))
        if o["inference_min_ram"]:
            hints.append(("min_ram", o["inference_min_ram"]))
        return Placement(device=o["device"], dtype=o["inference_dtype"],
                         share_across_processes=o["share_models"], copies=o["model_copies"],
                         hints=tuple(hints))

    def translation_handler(self, model: str) -> TranslationModelHandler:
        return self._tagged(TranslationModelHandler(model, self.placement, self.generation),
                            "translate", model)

    def translate_texts(self, model: Optional[str] = None) -> TranslateTexts:
        o = self.opts
        model = model or o["translation_model"]
        return TranslateTexts(self.translation_handler(model), model,
                              model_signature(model, self.generation.describe()),
                              cache_location=o["translation_cache"] or None,
                              batch_size=o["translation_batch_size"],
                              batch_tokens=o["translation_batch_tokens"])

    def encoder_handler(self) -> AlignmentEncoderHandler:
        o = self.opts
        return self._tagged(
            AlignmentEncoderHandler(o["alignment_model"], o["align_layer"], self.placement,
                                    cache_dir=o["model_cache_dir"] or None),
            "encode", o["alignment_model"], o["align_layer"])

    def ner_handler(self, with_probabilities: bool = False) -> NERModelHandler:
        return self._tagged(NERModelHandler(self.opts["ner_model"], self.placement,
                                            with_probabilities), "ner", self.opts["ner_model"])
