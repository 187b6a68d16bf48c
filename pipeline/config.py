"""Everything derived once from a job's options before the graph is built: validated
settings, the methods and their projectors, the model handlers and the provenance.

Both configs are frozen; a mistake in the options raises ``ConfigError`` here, before any
work, with one line that says what is wrong.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence, Union

import xlner
from pipeline.options import (REUSE_TRANSLATOR, SAMPLE_INPUT, ConfigError, EvaluateOptions,
                              RunOptions, csv_list, options_hash, sample_input_path)
from xlner.storage.publication import UnsafePath, attempt_rel, check_run_id, new_attempt
from xlner.text import languages as registry
from xlner.projection import methods as method_registry
from xlner.projection.filters import Filters, parse_bounds
from xlner.projection.methods import Method, UnknownMethod
from xlner.models.encoders import as_layers
from xlner.models.ner import EMBEDDED_NER
from xlner.models.runtime import launch_fingerprint
from xlner.models.translators import EMBEDDED_TRANSLATOR, GenerationSettings
from xlner.projection.projectors import ProjectionSettings, Projector, build_projector
from xlner.projection.scores import parse_weights

if TYPE_CHECKING:  # the transforms import Beam's RunInference, and with it torch: the
    # options and configs are read (``--help``, every operator mistake) without them
    from transforms.align import Align
    from transforms.handlers import NERModelHandler, Placement, TranslationModelHandler
    from transforms.translate import TranslateTexts

ENGLISH = "eng_Latn"
DEFAULT_PATTERNS = {"masakhaner2": "{data_dir}/{lang}/{split}.txt",
                    "panx": "{data_dir}/{lang}/{split}"}
Options = Union[RunOptions, EvaluateOptions]


def new_run_id() -> str:
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def projection_settings(o: Options) -> ProjectionSettings:
    weights = parse_weights(o.score_weights)  # checked when the options were parsed
    if dict(weights).get("ner") and o.ner_model == EMBEDDED_NER:
        raise ConfigError("--score_weights with ner needs a Hugging Face token-"
                          "classification --ner_model (spaCy gives no probabilities)")
    return ProjectionSettings(
        merge_distance=o.merge_distance, length_ratio_threshold=o.length_ratio_threshold,
        overwrite=not o.no_overwrite, paper_quirks=o.paper_quirks,
        max_candidate_words=o.max_candidate_words or None, n_proj=o.n_proj,
        ner_subranges=o.ner_subranges, score_weights=weights,
        link_weighting=o.link_weighting, length_prior=o.length_prior)


def check_alignment_options(o: Options) -> None:
    if o.alignment_model == REUSE_TRANSLATOR:
        if o.translation_model == EMBEDDED_TRANSLATOR:
            raise ConfigError(f"--alignment_model={REUSE_TRANSLATOR} needs a Hugging Face "
                              "--translation_model (the embedded Marian engine has no encoder "
                              "to lend)")
        if o.translation_engine != "hf":
            raise ConfigError(f"--alignment_model={REUSE_TRANSLATOR} needs "
                              "--translation_engine=hf (CTranslate2 exposes no encoder states)")


@dataclass(frozen=True)
class Models:
    """The model steps of a job. Steps that use the same model carry the same
    ``model_identifier``, so they share one loaded copy (e.g. forward translation, the
    EasyProject back-translation and the evaluation's English side). ``job`` makes the
    identifiers unique to one job: Beam finds a shared model by its identifier on the
    whole machine, and two jobs must never share a model process."""

    opts: Options
    job: str
    in_use: tuple = ()  # (option, model) of every model the graph can load
    in_process: bool = False  # every bundle runs in the launching process (no one to share with)

    def fingerprints(self) -> dict:
        """option -> the fingerprint of its model's files at launch (``xlner.models.
        runtime``), or ``not readable at launch`` (the workers' image only)."""
        o = self.opts
        return {option: launch_fingerprint(model, o.model_cache_dir or None,
                                           o.allow_pickle_weights) or "not readable at launch"
                for option, model in self.in_use}

    def _identifier(self, *key) -> str:
        return "xlner-" + hashlib.sha256(repr((self.job,) + key).encode()).hexdigest()[:16]

    @property
    def placement(self) -> Placement:
        o = self.opts
        hints = []
        if o.accelerator:
            hints.append(("accelerator", o.accelerator))
        if o.inference_min_ram:
            hints.append(("min_ram", o.inference_min_ram))
        known = self.fingerprints()
        from transforms.handlers import Placement

        return Placement(device=o.device, dtype=o.inference_dtype,
                         share_across_processes=o.share_models and not self.in_process,
                         copies=o.model_copies,
                         hints=tuple(hints), allow_pickle=o.allow_pickle_weights,
                         fingerprints=tuple((model, known[option])
                                            for option, model in self.in_use
                                            if known[option].startswith("sha256:")))

    @property
    def generation(self) -> GenerationSettings:
        return GenerationSettings(num_beams=self.opts.num_beams or None,
                                  max_new_tokens=self.opts.max_new_tokens or None)

    @property
    def easyproject_model(self) -> str:
        return self.opts.easyproject_model or self.opts.translation_model

    def translation_handler(self, model: str) -> TranslationModelHandler:
        o = self.opts
        from transforms.handlers import TranslationModelHandler

        return TranslationModelHandler(model, self.placement, self.generation,
                                       self._identifier("translate", model),
                                       o.translation_engine, o.compute_type,
                                       o.model_cache_dir or None, o.max_input_tokens)

    def translate_texts(self, model: Optional[str] = None) -> TranslateTexts:
        o = self.opts
        model = model or o.translation_model
        from transforms.translate import TranslateTexts

        return TranslateTexts(self.translation_handler(model), model,
                              cache_location=o.translation_cache or None,
                              batch_size=o.translation_batch_size,
                              batch_tokens=o.translation_batch_tokens)

    @property
    def aligner(self) -> str:
        """The alignment encoder in provenance: model and layers."""
        o = self.opts
        model = (f"{o.translation_model} (its encoder)" if o.alignment_model == REUSE_TRANSLATOR
                 else o.alignment_model)
        return f"{model}@layers{o.align_layers}"

    def align(self, methods, shared_side: str = "src", link_scores: bool = False) -> Align:
        """One encoder pass, extracting every alignment method in ``methods``; pairs are
        grouped by ``shared_side``, the side that repeats across them. With
        ``--alignment_model=translation`` the translation model's encoder aligns, in the
        same loaded model as translation (one identifier)."""
        from transforms.align import Align
        from transforms.handlers import AlignmentEncoderHandler

        o = self.opts
        layers = as_layers(o.align_layers)
        if o.alignment_model == REUSE_TRANSLATOR:
            handler = AlignmentEncoderHandler(
                o.translation_model, layers, self.placement, o.model_cache_dir or None,
                self._identifier("translate", o.translation_model),
                translator=self.translation_handler(o.translation_model))
        else:
            handler = AlignmentEncoderHandler(
                o.alignment_model, layers, self.placement, o.model_cache_dir or None,
                self._identifier("encode", o.alignment_model, layers))
        return Align(handler, sorted(set(methods)), self.aligner,
                     batch_size=o.align_batch_size, batch_tokens=o.align_batch_tokens,
                     shared_side=shared_side, link_scores=link_scores)

    def tagger(self, with_probabilities: bool = False) -> NERModelHandler:
        from transforms.handlers import NERModelHandler

        return NERModelHandler(self.opts.ner_model, self.placement, with_probabilities,
                               self._identifier("ner", self.opts.ner_model))


def _check_codes(*named: tuple[str, str]) -> None:
    for what, code in named:
        try:
            registry.check_nllb_code(code, what)
        except registry.UnsupportedLanguage as e:
            raise ConfigError(str(e)) from None


def _check_run_id(run_id: str) -> None:
    if run_id:
        try:
            check_run_id(run_id)
        except UnsafePath as e:
            raise ConfigError(str(e)) from None


def _inputs(value: str) -> tuple[str, ...]:
    inputs = tuple(sample_input_path() if p == SAMPLE_INPUT else p for p in csv_list(value))
    if not inputs:
        raise ConfigError("--input is empty")
    return inputs


@dataclass(frozen=True)
class Needs:
    """What the graph must provide for a set of methods (one answer for both jobs)."""

    target_ner: bool  # an NER pass over the target words ...
    word_probs: bool  # ... with per-word label probabilities (the NER-model score)
    alignment: tuple[str, ...]  # extraction methods of the one encoder pass
    link_scores: bool = False  # ... with a similarity per link

    @classmethod
    def of(cls, methods: Sequence[tuple[Method, Projector]]) -> "Needs":
        probs = any(p.needs_word_probs for _, p in methods)
        return cls(probs or any(m.needs_target_ner for m, _ in methods), probs,
                   tuple(sorted({m.align_method for m, _ in methods if m.needs_alignment})),
                   any(getattr(p, "link_weighting", "count") == "similarity"
                       for _, p in methods))


# ====================================================================== translate-train
@dataclass(frozen=True)
class RunConfig:
    opts: RunOptions
    run_id: str
    inputs: tuple[str, ...]
    target_langs: tuple[str, ...]
    label_names: Optional[tuple[str, ...]]
    method: Method
    projector: Projector
    filters: Filters = Filters()
    attempt: str = field(default_factory=new_attempt)  # this launch (runs/<run_id>/<attempt>)
    job: str = field(default_factory=lambda: uuid.uuid4().hex)  # this graph, for Models
    lease: Optional[dict] = None  # the lease this attempt holds (pipeline/outputs.py)
    in_process: bool = False  # the runner runs every bundle in this process (launch.py)

    @classmethod
    def from_options(cls, o: RunOptions) -> "RunConfig":
        targets = tuple(csv_list(o.target_langs))
        if not targets:
            raise ConfigError("--target_langs is empty")
        if len(set(targets)) != len(targets):
            raise ConfigError(f"--target_langs repeats a language: {','.join(targets)}")
        _check_codes(("--source_lang", o.source_lang),
                     *(("--target_langs", code) for code in targets))
        if o.source_lang in targets:
            raise ConfigError(f"--target_langs includes the source language {o.source_lang}")
        _check_run_id(o.run_id)
        check_alignment_options(o)
        try:
            method = Method.of(o.projection, o.align_direction, o.align_method, o.matching)
        except UnknownMethod as e:
            raise ConfigError(str(e)) from None
        filters = Filters(o.min_entity_score, o.require_all_entities,  # values checked
                          parse_bounds(o.entity_ratio_bounds, "--entity_ratio_bounds"),
                          parse_bounds(o.length_ratio_bounds, "--length_ratio_bounds"))
        return cls(opts=o, run_id=o.run_id or new_run_id(), inputs=_inputs(o.input),
                   target_langs=targets, label_names=tuple(csv_list(o.label_list)) or None,
                   method=method, projector=build_projector(method, projection_settings(o)),
                   filters=filters)

    @property
    def models(self) -> Models:
        return Models(self.opts, self.job, tuple(self.models_in_use()), self.in_process)

    @property
    def needs(self) -> Needs:
        return Needs.of([(self.method, self.projector)])

    def input_patterns(self) -> tuple[str, tuple[str, ...]]:
        return "--input", self.inputs

    def input_targets(self) -> tuple[str, ...]:
        """The languages every row's tgt_lang must be one of (checked before any work)."""
        return self.target_langs

    def segmented_langs(self) -> tuple[str, ...]:
        """The languages whose words a segmenter may split: the translations'."""
        return self.target_langs

    def models_in_use(self) -> list[tuple[str, str]]:
        """(option, model) of every model this run's graph can load."""
        o, m, needs = self.opts, self.method, self.needs
        used = [("translation_model", o.translation_model)]
        if (m.needs_marked_translation or m.needs_back_translation) and o.easyproject_model:
            used.append(("easyproject_model", o.easyproject_model))
        if needs.alignment and o.alignment_model != REUSE_TRANSLATOR:
            used.append(("alignment_model", o.alignment_model))
        if needs.target_ner or o.label_source:
            used.append(("ner_model", o.ner_model))
        return used

    @property
    def output_dir(self) -> str:
        """Where this run writes: OUTPUT itself, or its attempt folder with --publish."""
        if self.opts.publish:
            return self.opts.output.rstrip("/") + "/" + attempt_rel(self.run_id, self.attempt)
        return self.opts.output

    def provenance(self) -> dict:
        o, m = self.opts, self.method
        settings = self.projector.describe()
        settings["align_direction"] = m.direction
        if m.needs_target_ner or o.label_source:
            settings["ner_model"] = o.ner_model
        if m.needs_marked_translation or m.needs_back_translation:
            settings["easyproject_model"] = self.models.easyproject_model
        return {
            "package_version": xlner.__version__,
            "run_id": self.run_id,
            "options_hash": options_hash(o),
            "translation_model": o.translation_model,
            "alignment_model": self.models.aligner if m.needs_alignment else "",
            "align_method": m.align_method,
            "align_layers": o.align_layers if m.needs_alignment else "",
            "projection": m.projection,
            "projection_settings": json.dumps(settings, sort_keys=True),
            **{f"{option}_fingerprint": fp for option, fp in self.models.fingerprints().items()},
        }


# ====================================================================== evaluation
@dataclass(frozen=True)
class EvalLanguage:
    code: str  # the data set's own code (the report's key)
    nllb: str
    patterns: tuple[str, ...]
    input_format: str


@dataclass(frozen=True)
class EvalConfig:
    opts: EvaluateOptions
    run_id: str
    dataset: str
    languages: tuple[EvalLanguage, ...]
    methods: tuple[tuple[Method, Projector], ...]
    keep_types: Optional[tuple[str, ...]]
    ignore_types: tuple[str, ...]
    label_names: Optional[tuple[str, ...]]
    job: str = field(default_factory=lambda: uuid.uuid4().hex)  # this graph, for Models
    attempt: str = field(default_factory=new_attempt)  # this launch, for its lease
    lease: Optional[dict] = None  # the lease this attempt holds (pipeline/outputs.py)
    in_process: bool = False  # the runner runs every bundle in this process (launch.py)

    @classmethod
    def from_options(cls, o: EvaluateOptions) -> "EvalConfig":
        try:
            methods = method_registry.resolve(o.methods)
        except UnknownMethod as e:
            raise ConfigError(f"--methods: {e}") from None
        settings = projection_settings(o)
        _check_run_id(o.run_id)
        check_alignment_options(o)
        dataset = o.dataset
        if dataset == "custom":
            langs = csv_list(o.langs)
            if len(langs) != 1:
                raise ConfigError("--dataset custom evaluates one language: --langs <NLLB code>")
            _check_codes(("--langs", langs[0]))
            languages = (EvalLanguage(langs[0], langs[0], _inputs(o.input), o.input_format),)
            keep, ignore = None, ()
        else:
            if not o.data_dir and not o.data_pattern:
                raise ConfigError(f"--dataset {dataset} needs --data_dir (or --data_pattern)")
            pattern = o.data_pattern or DEFAULT_PATTERNS[dataset]
            fmt = o.input_format
            if fmt == "auto" and dataset == "panx" and not pattern.endswith(
                    (".parquet", ".jsonl")):
                fmt = "panx"
            try:
                chosen = registry.resolve(dataset, o.langs or "all")
            except registry.UnsupportedLanguage as e:
                raise ConfigError(f"--langs: {e}") from None
            languages = tuple(
                EvalLanguage(lang.code, lang.nllb, (pattern.format(
                    data_dir=o.data_dir.rstrip("/"), lang=lang.code, split=o.split),), fmt)
                for lang in chosen)
            keep = registry.EVALUATED_TYPES[dataset]
            ignore = registry.IGNORED_TYPES[dataset]
        return cls(opts=o, run_id=o.run_id or new_run_id(), dataset=dataset,
                   languages=languages,
                   methods=tuple((m, build_projector(m, settings)) for m in methods),
                   keep_types=keep, ignore_types=ignore,
                   label_names=tuple(csv_list(o.label_list)) or None)

    @property
    def models(self) -> Models:
        return Models(self.opts, self.job, tuple(self.models_in_use()), self.in_process)

    def input_patterns(self) -> tuple[str, tuple[str, ...]]:
        return "gold data", tuple(p for lang in self.languages for p in lang.patterns)

    def input_targets(self) -> tuple[str, ...]:
        """None to check: gold rows go into English only, and a given translation is used
        only as English."""
        return ()

    def segmented_langs(self) -> tuple[str, ...]:
        """The languages whose words a segmenter may split: the gold sentences' (projected
        onto the segmenter's words, scored on the gold tokens)."""
        return tuple(lang.nllb for lang in self.languages)

    def models_in_use(self) -> list[tuple[str, str]]:
        """(option, model) of every model this run's graph can load."""
        o, needs = self.opts, self.needs()
        used = [("translation_model", o.translation_model), ("ner_model", o.ner_model)]
        if self.needs("tgt2tgt").alignment and o.easyproject_model:
            used.append(("easyproject_model", o.easyproject_model))
        if needs.alignment and o.alignment_model != REUSE_TRANSLATOR:
            used.append(("alignment_model", o.alignment_model))
        return used

    @property
    def primary(self) -> str:
        return "span" if self.opts.span_only else "typed"

    def needs(self, direction: Optional[str] = None) -> Needs:
        return Needs.of([(m, p) for m, p in self.methods if direction in (None, m.direction)])

    @property
    def codes(self) -> dict:
        """NLLB code -> the data set's code."""
        return {lang.nllb: lang.code for lang in self.languages}
