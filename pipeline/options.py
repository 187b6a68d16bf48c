"""The options of both jobs, each declared once, in groups.

Each group is a frozen dataclass whose fields are options (name, type, default, help,
choices, the Flex template's validation regex). A job's options are the union of its
groups (``RunOptions`` for ``pipeline.run``, ``EvaluateOptions`` for
``pipeline.evaluate``), parsed into one frozen object read by attribute. The same
declarations give each job its ``--help``, its Flex template metadata and
``docs/OPTIONS.md``, so a job shows exactly its own options. Everything else on the
command line must be a Beam runner option; anything else stops the job before any work.
Booleans take an optional value (``--no_overwrite`` or ``--no_overwrite=true``) because
Flex templates always pass ``--name=value``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import typing
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar, Optional, Sequence

from xlner.projection import alignment

from xlner import defaults
from xlner.projection.methods import DIRECTIONS, MATCHINGS, PROJECTIONS
from xlner.models.ct2 import COMPUTE_TYPES
from xlner.projection.projectors import LINK_WEIGHTINGS
from xlner.projection.scores import format_weights
from xlner.models.translators import ENGINES
from xlner.models.encoders import EMBEDDED_ENCODER
from xlner.models.ner import EMBEDDED_NER
from xlner.models.translators import EMBEDDED_TRANSLATOR
from pipeline import values
from pipeline.values import BadValue, Check

NLLB_CODE = r"[a-z]{3}_[A-Z][a-z]{3}"
REUSE_TRANSLATOR = "translation"  # --alignment_model: the translation model's own encoder
# What --paper_defaults sets (the reference's settings: mBERT-style layer 8, SimAlign
# itermax, the heuristic, greedy matching, the Dice count, its quirks).
PAPER_DEFAULTS = {"align_layers": "8", "align_method": "itermax", "projection": "heuristic",
                  "matching": "greedy", "link_weighting": "count", "length_prior": 0.0,
                  "paper_quirks": True}
SAMPLE_INPUT = "embedded:sample"  # the English sample shipped in the package
_BOOL = r"^(true|false)$"


class ConfigError(ValueError):
    """An operator's mistake (flag, value, path, model): one line, the job does not start."""


def sample_input_path() -> str:
    return str(resources.files("xlner").joinpath("data", "sample_en.conll"))


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    v = str(value).strip().lower()
    if v in ("1", "true", "yes", "y", "on"):
        return True
    if v in ("0", "false", "no", "n", "off", ""):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {value!r}")


def option(default: Any, help: str, *, choices: Optional[Sequence[str]] = None,
           regex: Optional[str] = None, check: Optional[Check] = None):
    """A dataclass field that is a command-line option. ``check`` declares the values a
    numeric option accepts (``pipeline/values.py``): the parser applies it and the Flex
    template's regex is derived from it; ``regex`` is the template regex of other options."""
    if check is not None and regex is not None:
        raise ValueError("an option takes a check or a regex, not both")
    return field(default=default, metadata={"help": help, "choices": choices,
                                            "regex": regex, "check": check})


@dataclass(frozen=True)
class OptionSpec:
    """One option as the parser, the template and the docs see it."""

    name: str
    type: type
    default: Any
    help: str
    group: str
    choices: Optional[Sequence[str]] = None
    regex: Optional[str] = None
    check: Optional[Check] = None

    @property
    def template_regex(self) -> Optional[str]:
        """The validation regex the Flex template UI applies to the parameter."""
        if self.choices:
            return "^(" + "|".join(self.choices) + ")$"
        if self.type is bool:
            return _BOOL
        if self.check is not None:
            return self.check.template
        return self.regex

    @property
    def default_text(self) -> str:
        return str(self.default).lower() if self.type is bool else str(self.default)


# ====================================================================== the groups
@dataclass(frozen=True)
class InputOptions:
    TITLE: ClassVar[str] = "Input"
    input: str = option(
        SAMPLE_INPUT, "Labelled data: local paths, globs or gs:// URLs, comma-separated. "
        "Default: the English sample shipped with the package.", regex=r"^\S+$")
    input_format: str = option(
        "auto", "Format of the input files; auto picks by extension (.conll/.txt: CoNLL "
        "columns, .jsonl, .parquet, .arrow: Arrow IPC as datasets' save_to_disk writes). A "
        "save_to_disk folder is read as the files of its splits; split-named files "
        "(train/dev/test) keep their splits.",
        choices=("auto", "conll", "panx", "jsonl", "parquet", "arrow"))
    label_list: str = option(
        "", "Comma-separated label names for integer ner_tags (Hugging Face Parquet and "
        "Arrow exports carry them in their metadata, and their order is kept without this); "
        "when they hold O and B-/I- of every type written, the output keeps these names in "
        "this order.", regex=r"^[^\s]*$")
    max_sentence_words: int = option(
        256, "Sentences with more words go to the dead letter (reason sentence_too_long).",
        check=values.count(1))
    allow_partial_input: bool = option(
        False, "Accept input files that could not be read to their end (a truncated .gz, a "
        "read error mid-file): the records read before the error are used, and the summary "
        "lists each such file. By default such a run fails and publishes nothing.")
    max_token_chars: int = option(
        200, "Sentences with a longer word go to the dead letter (reason token_too_long): a "
        "10,000-character token slows translation twelvefold.",
        check=values.count(1))


@dataclass(frozen=True)
class OutputOptions:
    TITLE: ClassVar[str] = "Output"
    output: str = option(
        "xlner-output", "Output directory (local or gs://); the job writes nothing outside "
        "it.", regex=r"^\S+$")
    run_id: str = option(
        "", "Identifier of this run (default: UTC time + random suffix); recorded in "
        "provenance.", regex=r"^(?!.*\.\.)([A-Za-z0-9][A-Za-z0-9_.-]{0,127})?$")
    log_level: str = option(
        "INFO", "Log level: INFO shows a progress line per model step while it runs; "
        "WARNING only problems.", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    allow_empty: bool = option(
        False, "Exit 0 even when a language ends with no rows or an input file is empty "
        "(by default such a run fails).")
    take_over_lease: str = option(
        "", "The attempt named in a LEASE.json left by a run that is dead on another "
        "machine: take over its lease (a dead holder on this machine is taken over by "
        "itself).", regex=r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,127})?$")


@dataclass(frozen=True)
class LanguageOptions:
    TITLE: ClassVar[str] = "Languages"
    source_lang: str = option(
        "eng_Latn", "NLLB code of the labelled sentences (a row's src_lang field overrides "
        "it).", regex=f"^{NLLB_CODE}$")
    target_langs: str = option(
        "por_Latn", "Comma-separated NLLB codes of the target languages.",
        regex=f"^{NLLB_CODE}(,{NLLB_CODE})*$")


@dataclass(frozen=True)
class LabellingOptions:
    TITLE: ClassVar[str] = "Source labels"
    label_source: bool = option(
        False, "Label the source sentences with --ner_model instead of reading tags (rows "
        "need only tokens).")
    gold_tags_field: str = option(
        "gold_translation_tags", "Input field with gold tags over given "
        "translation_tokens; when present the summary scores the projection against it.",
        regex=r"^[A-Za-z0-9_]*$")


@dataclass(frozen=True)
class TranslationOptions:
    TITLE: ClassVar[str] = "Translation"
    translation_model: str = option(
        EMBEDDED_TRANSLATOR, "Hugging Face seq2seq model id or path (e.g. "
        f"facebook/nllb-200-3.3B), or {EMBEDDED_TRANSLATOR} (offline en<->pt).",
        regex=r"^\S+$")
    translation_batch_size: int = option(defaults.TRANSLATION_BATCH_SIZE,
                                         "Sentences per translation batch.",
                                         check=values.count(1))
    translation_batch_tokens: int = option(
        defaults.TRANSLATION_BATCH_TOKENS, "Padded token budget of a translation batch.",
        check=values.count(1))
    num_beams: int = option(
        0, "Beam size; 0 keeps the checkpoint default (greedy for NLLB, as in the paper).",
        check=values.count(0, digits=2))
    max_new_tokens: int = option(
        0, "Generation limit; 0 keeps the checkpoint default (max_length 200 for NLLB). A "
        "translation that reaches it is dead-lettered as translation_truncated.",
        check=values.count(0))
    max_input_tokens: int = option(
        0, "Longer inputs are dead-lettered (input_too_long) instead of reaching the model; "
        "0 = the model's own source limit.", check=values.count(0))
    translation_engine: str = option(
        "hf", "hf: transformers generate; ctranslate2: the same model converted once per "
        "machine (the model cache) and run by CTranslate2, several times faster.",
        choices=ENGINES)
    compute_type: str = option(
        "auto", "CTranslate2 compute type; auto = int8 on CPU, float16 on GPU (float32 "
        "gives generate's tokens exactly).", choices=("auto",) + COMPUTE_TYPES)
    translation_cache: str = option(
        "", "Directory (local or gs://) of cached translations, read and extended; empty "
        "disables it.", regex=r"^\S*$")
    easyproject_model: str = option(
        "", "Translation model for EasyProject's marked sentences (the paper: "
        "ychenNLP/nllb-200-3.3B-easyproject); empty = --translation_model.",
        regex=r"^\S*$")


@dataclass(frozen=True)
class AlignmentOptions:
    TITLE: ClassVar[str] = "Alignment"
    alignment_model: str = option(
        EMBEDDED_ENCODER, "Encoder for word alignment: HF id or path (the paper: "
        f"bert-base-multilingual-cased), {EMBEDDED_ENCODER}, the encoder of a seq2seq "
        f"checkpoint (e.g. an NLLB model: TransAlign), or {REUSE_TRANSLATOR} (the loaded "
        "--translation_model's own encoder: one model in memory for both steps).",
        regex=r"^\S+$")
    align_layers: str = option(
        defaults.ALIGN_LAYERS, "Hidden layer(s) whose subword vectors are compared: N, or "
        "A-B for layers A to B concatenated (chosen on Bible dev; the paper: 8).",
        check=values.layers())
    align_batch_size: int = option(
        defaults.ALIGN_BATCH_SIZE, "Sentence groups (pairs sharing a side) per encoder batch.",
        check=values.count(1))
    align_batch_tokens: int = option(defaults.ALIGN_BATCH_TOKENS,
                                     "Padded subword budget of an encoder batch.",
                                     check=values.count(1))


@dataclass(frozen=True)
class MethodOptions:
    TITLE: ClassVar[str] = "Projection method"
    projection: str = option(
        defaults.PROJECTION, "Projection method: n-gram or NER-span candidates with "
        "matching, the alignment heuristic, EasyProject markers, or model transfer (tag the "
        "target with --ner_model).", choices=PROJECTIONS)
    matching: str = option(
        defaults.MATCHING, "Candidate matching: the exact ILP (HiGHS), the paper's greedy "
        "argmax, or the reference's bipartite variant.", choices=MATCHINGS)
    align_method: str = option(
        defaults.ALIGN_METHOD, "Alignment extraction method (SimAlign's itermax, argmax, "
        "mwmf; awesome-align's softmax).", choices=alignment.METHODS)
    align_direction: str = option(
        defaults.ALIGN_DIRECTION, "src2tgt aligns the labelled side with the sentence to "
        "label; tgt2tgt aligns that sentence with an EasyProject translation of the labelled "
        "side into its own language (the paper's back-translation refinement).",
        choices=DIRECTIONS)


@dataclass(frozen=True)
class ProjectionOptions:
    TITLE: ClassVar[str] = "Projection settings"
    max_candidate_words: int = option(
        defaults.MAX_CANDIDATE_WORDS or 0, "Longest n-gram candidate; 0 = no cap (30 for "
        "languages written without spaces, as the paper).", check=values.count(0))
    n_proj: int = option(
        defaults.N_PROJ, "Candidate matching: projections allowed per source entity.",
        check=values.count(1, digits=2))
    score_weights: str = option(
        format_weights(defaults.SCORE_WEIGHTS), "Candidate matching scores and their "
        "weights: align (the paper's alignment Dice score) and ner (the thesis's NER-model "
        "score; needs a Hugging Face --ner_model), e.g. align=0.5,ner=0.5.",
        check=values.score_weights())
    ner_subranges: bool = option(
        defaults.NER_SUBRANGES, "NER candidates: also use every sub-span of each predicted "
        "span.")
    link_weighting: str = option(
        defaults.LINK_WEIGHTING, "Candidate scores: count links (the paper's Dice) or weigh "
        "each by its similarity, which breaks Dice's ties by link strength.",
        choices=LINK_WEIGHTINGS)
    length_prior: float = option(
        defaults.LENGTH_PRIOR, "Candidate scores: a candidate longer than its source entity "
        "scores (entity words / candidate words) ** this, so a name does not take the "
        "article or verb beside it; 0 is the paper's score.", check=values.decimal())
    merge_distance: int = option(
        defaults.MERGE_DISTANCE, "Heuristic: merge aligned runs separated by at most this "
        "many words.", check=values.count(0))
    length_ratio_threshold: float = option(
        defaults.LENGTH_RATIO_THRESHOLD, "Heuristic: keep a run only if len(run)/len(entity) "
        "is strictly above this.", check=values.decimal())
    no_overwrite: bool = option(
        not defaults.OVERWRITE, "Heuristic: skip a run that touches an already-labelled word "
        "instead of overwriting it (the thesis variant).")
    paper_quirks: bool = option(
        defaults.PAPER_QUIRKS, "Reproduce the reference implementation's quirks to match the "
        "paper exactly: heuristic merge end (docs/method.md P9), EasyProject last-match and "
        "bracket handling (P12).")
    paper_defaults: bool = option(
        False, "The paper's configuration instead of the measured defaults, for every "
        "option not given: " + ", ".join(f"{k}={v}" for k, v in PAPER_DEFAULTS.items())
        + ".")


@dataclass(frozen=True)
class FilterOptions:
    TITLE: ClassVar[str] = "Filters (noisy projections; each is counted in summary.json)"
    validation_fraction: float = option(
        0.0, "Hold out this fraction of the train rows as a validation split (chosen by a "
        "hash of the record id: the same rows on every run and runner); 0 holds out none. "
        "Refused when the input has its own validation split.",
        check=values.fraction())
    min_entity_score: float = option(
        0.0, "Remove projected entities whose score is below this; 0 keeps all. For "
        "candidate matching the score is the calibrated probability that the span is "
        "right (0.9: measured right 98.5 % of the time on held-back Bible data); for the "
        "heuristic the aligned fraction, for EasyProject the fuzzy ratio.",
        check=values.decimal())
    require_all_entities: bool = option(
        False, "Drop sentences where not every source entity was projected.")
    entity_ratio_bounds: str = option(
        "", "LOW,HIGH: drop sentences whose projected/source entity ratio is outside.",
        check=values.bounds())
    length_ratio_bounds: str = option(
        "", "LOW,HIGH: drop sentences whose target/source length ratio (words) is outside.",
        check=values.bounds())


@dataclass(frozen=True)
class NEROptions:
    TITLE: ClassVar[str] = "NER"
    ner_model: str = option(
        EMBEDDED_NER, "Token-classification model for NER candidates, model transfer and "
        "source labelling: HF id or path (the paper: FacebookAI/xlm-roberta-large-"
        f"finetuned-conll03-english), or {EMBEDDED_NER} (spaCy, English).", regex=r"^\S+$")
    ner_batch_size: int = option(defaults.NER_BATCH_SIZE, "Sentences per NER batch.",
                                 check=values.count(1))


@dataclass(frozen=True)
class EvaluationOptions:
    TITLE: ClassVar[str] = "Evaluation"
    dataset: str = option(
        "custom", "The gold data set; masakhaner2 and panx read their published file "
        "layouts under --data_dir, custom reads --input.",
        choices=("custom", "masakhaner2", "panx"))
    data_dir: str = option("", "Root of the data set files (local or gs://).",
                           regex=r"^\S*$")
    data_pattern: str = option(
        "", "File pattern with {data_dir}, {lang} and {split}; default "
        "{data_dir}/{lang}/{split}.txt (masakhaner2) or {data_dir}/{lang}/{split} (panx).",
        regex=r"^\S*$")
    split: str = option("test", "The split to evaluate.", regex=r"^[A-Za-z0-9_.-]+$")
    langs: str = option(
        "", "Languages, comma-separated data-set codes (swa,yor; PAN-X sw,de) or all; with "
        "--dataset custom one NLLB code.", regex=r"^[A-Za-z_,]*$")
    methods: str = option(
        "MT,H-s-S,H-s-A,Cg-s-S,Cg-s-A,Cn-s-S,Cn-s-A",
        "Methods by the paper's keys or abbreviations (see the README), comma-separated, "
        "or all; +ilp after a candidate method uses the exact ILP.",
        regex=r"^[A-Za-z0-9_+,-]+$")
    span_only: bool = option(
        False, "Headline scores ignore entity types (both are always reported).")
    examples_per_method: int = option(
        3, "Examples per language and method in the report, of each kind (a seeded random "
        "sample, and the sentences with the most errors).", check=values.count(0))
    report_seed: int = option(
        0, "Seed of the report's random example sample and of its bootstrap resamples.",
        check=values.count(0))


@dataclass(frozen=True)
class WorkerOptions:
    TITLE: ClassVar[str] = "Models and workers"
    device: str = option("auto", "Inference device: auto (GPU when the worker has one), "
                         "cpu, cuda, cuda:N.", check=values.device())
    inference_dtype: str = option(
        "auto", "Model dtype; auto = bfloat16 on GPU, float32 on CPU.",
        choices=("auto", "float32", "bfloat16", "float16"))
    allow_pickle_weights: bool = option(
        False, "Load model weights that are not safetensors (pickled .bin files run code "
        "when loaded: only for checkpoints you trust).")
    model_cache_dir: str = option(
        "", "Where converted embedded models live (default $XLNER_CACHE_DIR or "
        "~/.cache/xlner).", regex=r"^\S*$")
    share_models: bool = option(
        True, "Load each model once per machine and share it across SDK worker processes "
        "(Beam large_model); false loads one copy per process. A run whose bundles all run "
        "in the launching process (the default FnApiRunner) loads models in-process.")
    model_copies: int = option(
        0, "With --share_models: copies of each model per machine (0 = one); more copies "
        "use more GPU memory for more parallel inference.",
        check=values.count(0, digits=2))
    accelerator: str = option(
        "", "Resource hint for the inference steps only (translation, alignment encoder, "
        "NER), e.g. type:nvidia-l4;count:1;install-nvidia-driver. Empty: none.",
        check=values.accelerator())
    inference_min_ram: str = option(
        "", "Resource hint min_ram for the inference steps, e.g. 32GB. Empty: none.",
        check=values.memory())


@dataclass(frozen=True)
class PublishOptions:
    TITLE: ClassVar[str] = "Publication"
    publish: bool = option(
        False, "Scheduled regeneration: write under OUTPUT/runs/<run_id>/, and when the run "
        "finishes with a balanced summary write its manifest and move OUTPUT/LATEST to it.")
    publish_min_rows: int = option(
        1, "With --publish: every target language must have at least this many rows.",
        check=values.count(1))


@dataclass(frozen=True)
class CardOptions:
    TITLE: ClassVar[str] = "Dataset card"
    license: str = option(
        defaults.LICENSE, "The licence the dataset card declares (a Hugging Face licence id "
        "such as cc-by-4.0; the projected data inherits the input's terms).",
        regex=r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$")
    source_attribution: str = option(
        "", "Where the labelled input comes from and whom to credit (free text, e.g. "
        "'CoNLL-2003, Tjong Kim Sang and De Meulder 2003'); written into the dataset card.",
        regex=r"^[^\n]{0,500}$")


# ====================================================================== the jobs
RUN_GROUPS = (InputOptions, LanguageOptions, LabellingOptions, TranslationOptions,
              AlignmentOptions, MethodOptions, ProjectionOptions, FilterOptions, NEROptions,
              WorkerOptions, OutputOptions, CardOptions, PublishOptions)
EVALUATE_GROUPS = (EvaluationOptions, InputOptions, TranslationOptions, AlignmentOptions,
                   ProjectionOptions, NEROptions, WorkerOptions, OutputOptions)


def check_options(opts) -> None:
    """Every declared check holds for the values of a job's options object."""
    for f in dataclasses.fields(opts):
        check = f.metadata.get("check")
        if check is not None:
            try:
                check.validate(f.name, getattr(opts, f.name))
            except BadValue as e:
                raise ConfigError(str(e)) from None


@dataclass(frozen=True)
class RunOptions(*reversed(RUN_GROUPS)):
    """The options of ``pipeline.run`` (translate-train)."""

    GROUPS: ClassVar[tuple] = RUN_GROUPS

    def __post_init__(self):
        check_options(self)


@dataclass(frozen=True)
class EvaluateOptions(*reversed(EVALUATE_GROUPS)):
    """The options of ``pipeline.evaluate`` (translate-test evaluation)."""

    GROUPS: ClassVar[tuple] = EVALUATE_GROUPS

    def __post_init__(self):
        check_options(self)


@dataclass(frozen=True)
class Job:
    command: str  # python -m <command>
    options: type
    template: str  # templates/<template>.metadata.json
    title: str
    description: str


JOBS = {
    "run": Job("pipeline.run", RunOptions, "translate_train", "xlner-beam translate-train",
               "Projected NER training data for low-resource languages: translate "
               "labelled English sentences, align, project, write Parquet shards (with "
               "--publish: atomically publish OUTPUT/LATEST)."),
    "evaluate": Job("pipeline.evaluate", EvaluateOptions, "evaluate", "xlner-beam evaluate",
                    "Translate-test evaluation of annotation projection against gold data "
                    "(MasakhaNER2, PAN-X), with a report beside the paper's numbers."),
}


def specs(options_cls: type) -> list[OptionSpec]:
    """The options of a job (or of one group), in group order."""
    groups = getattr(options_cls, "GROUPS", (options_cls,))
    out = []
    for group in groups:
        hints = typing.get_type_hints(group)
        for f in dataclasses.fields(group):
            out.append(OptionSpec(f.name, hints[f.name], f.default, f.metadata["help"],
                                  group.TITLE, f.metadata["choices"], f.metadata["regex"],
                                  f.metadata["check"]))
    return out


def all_option_names() -> dict[str, list[str]]:
    """Option name -> the commands that have it."""
    out: dict[str, list[str]] = {}
    for job in JOBS.values():
        for spec in specs(job.options):
            out.setdefault(spec.name, []).append(job.command)
    return out


# ====================================================================== parsing
class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise ConfigError(message)


def _parser(job: Job) -> _Parser:
    parser = _Parser(prog=f"python -m {job.command}", description=job.description,
                     usage=f"python -m {job.command} [options] [Beam runner options]",
                     allow_abbrev=False, add_help=False,
                     epilog=f"Beam runner options (--runner, --project, --region, ...) are "
                            f"accepted too: python -m {job.command} --help_beam lists them.",
                     formatter_class=lambda prog: argparse.HelpFormatter(prog,
                                                                         max_help_position=30))
    parser.add_argument("-h", "--help", action="store_true", help="Show this help.")
    parser.add_argument("--help_beam", action="store_true",
                        help="Show Beam's runner options.")
    groups = {}
    for spec in specs(job.options):
        group = groups.get(spec.group) or groups.setdefault(
            spec.group, parser.add_argument_group(spec.group))
        kwargs: dict[str, Any] = {"default": spec.default, "dest": spec.name}
        help_text = spec.help.replace("%", "%%")
        if spec.type is bool:
            kwargs.update(type=parse_bool, nargs="?", const=True, metavar="BOOL")
        elif spec.check is not None:  # converted and checked by parse_args, naming it
            kwargs.update(type=str, metavar=spec.type.__name__.upper())
        else:
            kwargs.update(type=spec.type, metavar=spec.type.__name__.upper())
        if spec.choices:
            kwargs["choices"] = list(spec.choices)
            kwargs["metavar"] = "{" + ",".join(spec.choices) + "}"
        if spec.default not in ("", None):
            help_text += f" (default: {spec.default_text.replace('%', '%%')})"
        group.add_argument(f"--{spec.name}", help=help_text, **kwargs)
    return parser


def _beam_parser():
    from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

    parser = _BeamArgumentParser(allow_abbrev=False)
    for cls in PipelineOptions.__subclasses__():
        cls._add_argparse_args(parser)  # noqa: SLF001 - how Beam itself builds it
    return parser


def _unknown_option(name: str, job: Job, beam_names: Sequence[str]) -> str:
    owners = all_option_names().get(name)
    if owners:
        return (f"--{name} is an option of {' and '.join(owners)}, not of "
                f"python -m {job.command}")
    ours = [s.name for s in specs(job.options)]
    close = difflib.get_close_matches(name, ours + list(beam_names), n=3, cutoff=0.75)
    if not close:
        close = [o for o in ours if name in o][:4]
    hint = f"; did you mean {' or '.join('--' + c for c in close)}?" if close else \
        f"; python -m {job.command} --help lists the options"
    return f"unknown option --{name}{hint}"


def parse_args(job: Job, argv: Sequence[str]) -> tuple[Any, list[str]]:
    """``argv`` -> (the job's frozen options, the Beam runner arguments).

    Raises ConfigError for an unknown flag, an option of the other job or a bad value;
    prints the help and exits for ``--help`` / ``--help_beam``.
    """
    parser = _parser(job)
    ns, rest = parser.parse_known_args(list(argv))
    if ns.help:
        parser.print_help()
        raise SystemExit(0)
    if ns.help_beam:
        _beam_parser().print_help()
        raise SystemExit(0)
    beam = _beam_parser()
    beam_names = [a.dest for a in beam._actions]  # noqa: SLF001
    _, unknown = beam.parse_known_args(rest)
    for arg in unknown:
        if arg.startswith("--"):
            raise ConfigError(_unknown_option(arg[2:].split("=", 1)[0], job, beam_names))
        raise ConfigError(f"unexpected argument {arg!r} (options are --name=value)")
    values = {s.name: getattr(ns, s.name) for s in specs(job.options)}
    for name, value in values.items():
        if isinstance(value, list):  # argparse turns a value of exactly "--" (its
            # end-of-options marker) into [], silently: --run_id=-- ran with no run id
            raise ConfigError(f"--{name} must be given a value, not '--'")
    if values.get("paper_defaults"):
        given = {a[2:].split("=", 1)[0] for a in argv if a.startswith("--")}
        values.update({k: v for k, v in PAPER_DEFAULTS.items()
                       if k in values and k not in given})
    for spec in specs(job.options):
        if spec.check is not None:
            try:
                values[spec.name] = spec.check.parse(spec.name, values[spec.name])
            except BadValue as e:
                raise ConfigError(str(e)) from None
    return job.options(**values), rest


def options_hash(opts) -> str:
    """A short hash of the options that determine the output (run id, output and lease
    takeover excluded)."""
    payload = {k: v for k, v in sorted(dataclasses.asdict(opts).items())
               if k not in ("run_id", "output", "take_over_lease")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


def csv_list(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


# ====================================================================== docs and templates
def flex_metadata(job: Job) -> dict:
    """Flex template metadata whose parameters are exactly the job's options."""
    params = []
    for spec in specs(job.options):
        param = {"name": spec.name, "label": spec.name.replace("_", " ").capitalize(),
                 "helpText": spec.help, "isOptional": True}
        if spec.template_regex:
            param["regexes"] = [spec.template_regex]
        params.append(param)
    return {"name": job.title, "description": job.description, "streaming": False,
            "parameters": params}


def markdown_table(job: Job) -> str:
    """The job's options as Markdown tables, one per group (docs/OPTIONS.md)."""
    lines, group = [], None
    for spec in specs(job.options):
        if spec.group != group:
            group = spec.group
            lines += ["", f"### {group}", "", "| option | default | meaning |", "|---|---|---|"]
        text = spec.help + (f" One of: {', '.join(spec.choices)}." if spec.choices else "")
        text += f" Accepts {spec.check.what}." if spec.check else ""
        lines.append(f"| `--{spec.name}` | `{spec.default_text}` | {text.replace('|', '/')} |")
    return "\n".join(lines).lstrip("\n") + "\n"


def options_document() -> str:
    out = ["# Options", "",
           "Generated by `python -m pipeline.options > docs/OPTIONS.md`; a test keeps it in "
           "sync. Each job accepts exactly its own options plus Beam's runner options "
           "(`--help_beam`).", ""]
    for job in JOBS.values():
        out += [f"## `python -m {job.command}` ({job.title})", "", job.description, "",
                markdown_table(job)]
    return "\n".join(out)


def write_templates(folder: str) -> None:
    """templates/<name>.metadata.json for every job."""
    import os

    for job in JOBS.values():
        with open(os.path.join(folder, f"{job.template}.metadata.json"), "w",
                  encoding="utf-8") as f:
            json.dump(flex_metadata(job), f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--templates"]:
        write_templates(sys.argv[2])
        sys.exit(0)
    print(options_document(), end="")
