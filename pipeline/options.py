"""All options of the job, declared once.

``OPTION_SPECS`` is the single source of truth: it feeds the ``PipelineOptions`` subclass
(``XlnerOptions``), the documentation, and the Dataflow Flex template metadata. Booleans
take an optional value (``--no_overwrite`` or ``--no_overwrite=true``) because Flex
templates always pass ``--name=value``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Optional, Sequence

from apache_beam.options.pipeline_options import PipelineOptions

from xlner import alignment
from xlner.models.encoders import EMBEDDED_ENCODER
from xlner.models.ner import EMBEDDED_NER
from xlner.models.translators import EMBEDDED_TRANSLATOR

NLLB_CODE = r"[a-z]{3}_[A-Z][a-z]{3}"
SAMPLE_INPUT = "embedded:sample"
PROJECTIONS = ("heuristic", "ngram", "ner", "easyproject", "model_transfer")  # the English sample shipped in the package


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
    raise ValueError(f"not a boolean: {value!r}")


@dataclass(frozen=True)
class OptionSpec:
    name: str
    type: type
    default: Any
    help: str
    choices: Optional[Sequence[str]] = None
    regex: Optional[str] = None  # validation for the Flex template UI

    def add_to(self, parser) -> None:
        kwargs: dict[str, Any] = {"default": self.default, "help": self.help}
        if self.type is bool:
            kwargs.update(type=parse_bool, nargs="?", const=True)
        else:
            kwargs["type"] = self.type
        if self.choices:
            kwargs["choices"] = list(self.choices)
        parser.add_argument(f"--{self.name}", **kwargs)


_INT = r"^[0-9]+$"
OPTION_SPECS: tuple[OptionSpec, ...] = (
    # ---------------------------------------------------------------- input / output
    OptionSpec("input", str, SAMPLE_INPUT,
               "Labelled source data: local paths, globs or gs:// URLs, comma-separated. "
               "Default: the English sample shipped with the package.", regex=r"^\S+$"),
    OptionSpec("input_format", str, "auto",
               "Format of the input files; auto picks by extension (.conll/.txt: CoNLL "
               "columns, .jsonl, .parquet).", choices=("auto", "conll", "panx", "jsonl",
                                                       "parquet")),
    OptionSpec("label_list", str, "",
               "Comma-separated label names for integer ner_tags (Hugging Face Parquet "
               "exports carry them in their metadata).", regex=r"^[^\s]*$"),
    OptionSpec("output", str, "xlner-output",
               "Output directory (local or gs://): <lang>/ shards, dead_letter/, "
               "summary.json.", regex=r"^\S+$"),
    OptionSpec("source_lang", str, "eng_Latn",
               "NLLB code of the labelled sentences (a row's src_lang field overrides it).",
               regex=f"^{NLLB_CODE}$"),
    OptionSpec("target_langs", str, "por_Latn",
               "Comma-separated NLLB codes of the target languages.",
               regex=f"^{NLLB_CODE}(,{NLLB_CODE})*$"),
    OptionSpec("max_sentence_words", int, 256,
               "Sentences with more words go to the dead letter (reason sentence_too_long).",
               regex=_INT),
    OptionSpec("gold_tags_field", str, "gold_translation_tags",
               "Input field with gold tags over given translation_tokens; when present the "
               "summary scores the projection against it.", regex=r"^[A-Za-z0-9_]*$"),
    # ---------------------------------------------------------------- translation
    OptionSpec("translation_model", str, EMBEDDED_TRANSLATOR,
               "Hugging Face seq2seq model id or path (e.g. facebook/nllb-200-3.3B), or "
               f"{EMBEDDED_TRANSLATOR} (offline en<->pt).", regex=r"^\S+$"),
    OptionSpec("translation_batch_size", int, 32, "Sentences per translation batch.",
               regex=_INT),
    OptionSpec("translation_batch_tokens", int, 8192,
               "Padded token budget of a translation batch.", regex=_INT),
    OptionSpec("num_beams", int, 0, "Beam size; 0 keeps the checkpoint default (greedy for "
               "NLLB, as in the paper).", regex=_INT),
    OptionSpec("max_new_tokens", int, 0, "Generation limit; 0 keeps the checkpoint default "
               "(max_length 200 for NLLB).", regex=_INT),
    OptionSpec("translation_cache", str, "",
               "Directory (local or gs://) of cached translations, read and extended; "
               "empty disables it.", regex=r"^\S*$"),
    # ---------------------------------------------------------------- alignment
    OptionSpec("alignment_model", str, EMBEDDED_ENCODER,
               "Encoder for word alignment: HF id or path (the paper: "
               f"bert-base-multilingual-cased), or {EMBEDDED_ENCODER}.", regex=r"^\S+$"),
    OptionSpec("align_method", str, "argmax", "Alignment extraction method.",
               choices=alignment.METHODS),
    OptionSpec("align_layer", int, 8, "Hidden layer whose subword vectors are compared.",
               regex=_INT),
    OptionSpec("align_batch_size", int, 64, "Sentence pairs per encoder batch.", regex=_INT),
    OptionSpec("align_batch_tokens", int, 16384,
               "Padded subword budget of an encoder batch.", regex=_INT),
    # ---------------------------------------------------------------- projection
    OptionSpec("projection", str, "heuristic",
               "Projection method: the alignment heuristic, n-gram or NER-span candidates "
               "with matching, EasyProject markers, or model transfer (tag the target with "
               "--ner_model).", choices=PROJECTIONS),
    OptionSpec("matching", str, "greedy",
               "Candidate matching: the paper's greedy argmax, the exact ILP (HiGHS), or the "
               "reference's bipartite variant.", choices=("greedy", "ilp", "bipartite")),
    OptionSpec("align_direction", str, "src2tgt",
               "src2tgt aligns the labelled side with the sentence to label; tgt2tgt aligns "
               "that sentence with an EasyProject translation of the labelled side into its "
               "own language (the paper's back-translation refinement).",
               choices=("src2tgt", "tgt2tgt")),
    OptionSpec("max_candidate_words", int, 0,
               "Longest n-gram candidate; 0 = no cap (30 for languages written without "
               "spaces, as the paper).", regex=_INT),
    OptionSpec("n_proj", int, 1, "Candidate matching: projections allowed per source entity.",
               regex=_INT),
    OptionSpec("score_weights", str, "align=1",
               "Candidate matching scores and their weights: align (the paper's alignment "
               "Dice score) and ner (the thesis's NER-model score; needs a Hugging Face "
               "--ner_model), e.g. align=0.5,ner=0.5.",
               regex=r"^[a-z]+=[0-9.]+(,[a-z]+=[0-9.]+)*$"),
    OptionSpec("ner_subranges", bool, False,
               "NER candidates: also use every sub-span of each predicted span.",
               regex=r"^(true|false)$"),
    OptionSpec("merge_distance", int, 1,
               "Heuristic: merge aligned runs separated by at most this many words.",
               regex=_INT),
    OptionSpec("length_ratio_threshold", float, 0.8,
               "Heuristic: keep a run only if len(run)/len(entity) is strictly above this.",
               regex=r"^[0-9]*\.?[0-9]+$"),
    OptionSpec("no_overwrite", bool, False,
               "Heuristic: skip a run that touches an already-labelled word instead of "
               "overwriting it (the thesis variant).", regex=r"^(true|false)$"),
    OptionSpec("paper_quirks", bool, False,
               "Reproduce the reference implementation's quirks to match the paper exactly: "
               "heuristic merge end (P9), EasyProject last-match and bracket handling (P12).",
               regex=r"^(true|false)$"),
    # ---------------------------------------------------------------- NER / EasyProject
    OptionSpec("ner_model", str, EMBEDDED_NER,
               "Token-classification model for NER candidates, model transfer and "
               "--label_source: HF id or path (the paper: FacebookAI/xlm-roberta-large-"
               f"finetuned-conll03-english), or {EMBEDDED_NER} (spaCy, English).",
               regex=r"^\S+$"),
    OptionSpec("ner_batch_size", int, 64, "Sentences per NER batch.", regex=_INT),
    OptionSpec("label_source", bool, False,
               "Label the source sentences with --ner_model instead of reading tags (rows "
               "need only tokens).", regex=r"^(true|false)$"),
    OptionSpec("easyproject_model", str, "",
               "Translation model for EasyProject's marked sentences (the paper: "
               "ychenNLP/nllb-200-3.3B-easyproject); empty = --translation_model.",
               regex=r"^\S*$"),
    # ---------------------------------------------------------------- evaluation
    OptionSpec("dataset", str, "custom",
               "pipeline.evaluate: the gold data set; masakhaner2 and panx read their "
               "published file layouts under --data_dir, custom reads --input.",
               choices=("custom", "masakhaner2", "panx")),
    OptionSpec("data_dir", str, "", "pipeline.evaluate: root of the data set files (local or "
               "gs://).", regex=r"^\S*$"),
    OptionSpec("data_pattern", str, "",
               "pipeline.evaluate: file pattern with {data_dir}, {lang} and {split}; default "
               "{data_dir}/{lang}/{split}.txt (masakhaner2) or {data_dir}/{lang}/{split} "
               "(panx).", regex=r"^\S*$"),
    OptionSpec("split", str, "test", "pipeline.evaluate: the split to evaluate.",
               regex=r"^[A-Za-z0-9_.-]+$"),
    OptionSpec("langs", str, "",
               "pipeline.evaluate: languages, comma-separated data-set codes (swa,yor; PAN-X "
               "sw,de) or all; with --dataset custom one NLLB code.",
               regex=r"^[A-Za-z_,]*$"),
    OptionSpec("methods", str, "MT,H-s-S,H-s-A,Cg-s-S,Cg-s-A,Cn-s-S,Cn-s-A",
               "pipeline.evaluate: methods by the paper's keys or abbreviations (see the "
               "README), comma-separated, or all; +ilp after a candidate method uses the "
               "exact ILP.", regex=r"^[A-Za-z0-9_+,-]+$"),
    OptionSpec("span_only", bool, False,
               "pipeline.evaluate: headline scores ignore entity types (both are always "
               "reported).", regex=r"^(true|false)$"),
    OptionSpec("examples_per_method", int, 3,
               "pipeline.evaluate: projected examples per language and method in the report.",
               regex=_INT),
    # ---------------------------------------------------------------- models / workers
    OptionSpec("device", str, "auto", "Inference device: auto (GPU when the worker has "
               "one), cpu, cuda, cuda:N.", regex=r"^(auto|cpu|cuda(:[0-9]+)?)$"),
    OptionSpec("inference_dtype", str, "auto", "Model dtype; auto = bfloat16 on GPU, "
               "float32 on CPU.", choices=("auto", "float32", "bfloat16", "float16")),
    OptionSpec("model_cache_dir", str, "",
               "Where converted embedded models live (default $XLNER_CACHE_DIR or "
               "~/.cache/xlner).", regex=r"^\S*$"),
    OptionSpec("share_models", bool, True,
               "Load each model once per machine and share it across SDK worker processes "
               "(Beam large_model); false loads one copy per process.",
               regex=r"^(true|false)$"),
    OptionSpec("model_copies", int, 0,
               "With --share_models: copies of each model per machine (0 = one); more "
               "copies use more GPU memory for more parallel inference.", regex=_INT),
    OptionSpec("accelerator", str, "",
               "Resource hint for the inference steps only (translation, alignment encoder, "
               "NER), e.g. type:nvidia-l4;count:1;install-nvidia-driver. Empty: none.",
               regex=r"^(type:[a-z0-9-]+;count:[0-9]+(;install-nvidia-driver(:[0-9.]+)?)?)?$"),
    OptionSpec("inference_min_ram", str, "",
               "Resource hint min_ram for the inference steps, e.g. 32GB. Empty: none.",
               regex=r"^([0-9]+(\.[0-9]+)?\s*[KMGT]i?B)?$"),
    # ---------------------------------------------------------------- publication
    OptionSpec("publish", bool, False,
               "Scheduled regeneration: write under OUTPUT/runs/<run_id>/, and when the run "
               "finishes with a balanced summary write its manifest and move OUTPUT/LATEST "
               "to it.", regex=r"^(true|false)$"),
    OptionSpec("publish_min_rows", int, 1,
               "With --publish: every target language must have at least this many rows.",
               regex=_INT),
    OptionSpec("run_id", str, "", "Identifier of this run (default: UTC time + random "
               "suffix); recorded in provenance.", regex=r"^[A-Za-z0-9._-]*$"),
)

OPTION_NAMES = tuple(s.name for s in OPTION_SPECS)


class XlnerOptions(PipelineOptions):
    """The job's own options (Beam runner options are parsed by Beam's classes)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        for spec in OPTION_SPECS:
            spec.add_to(parser)


def values(options: PipelineOptions) -> dict:
    """Our option values as a plain dict, in declaration order."""
    view = options.view_as(XlnerOptions)
    return {name: getattr(view, name) for name in OPTION_NAMES}


def options_hash(values_: dict) -> str:
    """A short hash of the options that determine the output (run id excluded)."""
    payload = {k: v for k, v in sorted(values_.items()) if k not in ("run_id", "output")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


def csv_list(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def suspicious_flags(argv: Sequence[str]) -> list[str]:
    """Flags Beam would silently discard that look like a typo of one of ours."""
    from apache_beam.options.pipeline_options import _BeamArgumentParser

    parser = _BeamArgumentParser(allow_abbrev=False)
    for cls in PipelineOptions.__subclasses__():
        cls._add_argparse_args(parser)
    _, unknown = parser.parse_known_args(list(argv))
    problems = []
    for flag in unknown:
        if not flag.startswith("--"):
            continue
        name = flag[2:].split("=", 1)[0]
        close = difflib.get_close_matches(name, OPTION_NAMES, n=1, cutoff=0.75)
        if close:
            problems.append(f"unknown option --{name}; did you mean --{close[0]}?")
    return problems


def template_regex(spec: OptionSpec) -> Optional[str]:
    """The validation regex the Flex template UI applies to a parameter."""
    if spec.choices:
        return "^(" + "|".join(spec.choices) + ")$"
    return spec.regex


def flex_metadata(name: str, description: str) -> dict:
    """Flex template metadata whose parameters are exactly the job's options."""
    params = []
    for spec in OPTION_SPECS:
        param = {"name": spec.name, "label": spec.name.replace("_", " ").capitalize(),
                 "helpText": spec.help, "isOptional": True}
        regex = template_regex(spec)
        if regex:
            param["regexes"] = [regex]
        params.append(param)
    return {"name": name, "description": description, "streaming": False,
            "parameters": params}


TEMPLATES = {
    "translate_train": ("xlner-beam translate-train",
                        "Projected NER training data for low-resource languages: translate "
                        "labelled English sentences, align, project, write Parquet shards "
                        "(with --publish: atomically publish OUTPUT/LATEST)."),
    "evaluate": ("xlner-beam evaluate",
                 "Translate-test evaluation of annotation projection against gold data "
                 "(MasakhaNER2, PAN-X), with a report beside the paper's numbers."),
}


def markdown_table() -> str:
    """The options as a Markdown table (docs/OPTIONS.md is generated from this)."""
    lines = ["| option | default | meaning |", "|---|---|---|"]
    for spec in OPTION_SPECS:
        default = str(spec.default).lower() if spec.type is bool else spec.default
        text = spec.help + (f" One of: {', '.join(spec.choices)}." if spec.choices else "")
        lines.append(f"| `--{spec.name}` | `{default}` | {text.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def write_templates(folder: str) -> None:
    """templates/<name>.metadata.json for every template."""
    import os

    for key, (name, description) in TEMPLATES.items():
        with open(os.path.join(folder, f"{key}.metadata.json"), "w", encoding="utf-8") as f:
            json.dump(flex_metadata(name, description), f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--templates"]:
        write_templates(sys.argv[2])
        sys.exit(0)
    print("# Options of `python -m pipeline.run`\n")
    print("Generated by `python -m pipeline.options > docs/OPTIONS.md`; a test keeps it in sync."
          " Every Beam runner flag is accepted as well.\n")
    print(markdown_table(), end="")
