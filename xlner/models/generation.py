"""What every translation engine shares, with no engine imported: the output record, the
decoding settings, the input and output limits, the engine names and CTranslate2's compute
types. ``translators``, ``ct2`` and ``runtime`` all depend on this module and never on each
other in a circle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

EMBEDDED_TRANSLATOR = "embedded:marian-en-pt"
ENGINES = ("hf", "ctranslate2")
CONVERTER_VERSION = 1  # bump when what ensure_ct2_model writes changes
COMPUTE_TYPES = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "float16",
                 "bfloat16", "float32")


@dataclass(frozen=True)
class TranslationOutput:
    """A translation, or why there is none (``reason`` is a short code for summaries)."""

    text: Optional[str]
    error: Optional[str] = None
    reason: str = "translation_failed"


@dataclass(frozen=True)
class GenerationSettings:
    """Decoding settings; None keeps the checkpoint's defaults (the paper's choice:
    greedy, max_length 200 for NLLB-200)."""

    num_beams: Optional[int] = None
    max_new_tokens: Optional[int] = None

    def describe(self) -> str:
        return (f"beams={self.num_beams or 'default'},max_new_tokens="
                f"{self.max_new_tokens or 'default'}")


# Characters the embedded Marian model accepts in one input (it reports no end-of-sentence,
# so an input cap is the only guard there): far above any sentence of NER data.
DEFAULT_MAX_INPUT_CHARS = 2000


def input_too_long(length: int, limit: int, unit: str = "tokens") -> TranslationOutput:
    return TranslationOutput(None, f"input of {length} {unit} is over the limit of {limit} "
                                   f"{unit}; not sent to the model", "input_too_long")


def truncated(limit: str, input_tokens: int) -> TranslationOutput:
    return TranslationOutput(None, f"the translation reached the decoding limit ({limit}) "
                                   f"without an end-of-sentence token, i.e. it is cut "
                                   f"short (input: {input_tokens} tokens)",
                             "translation_truncated")


def input_limit(max_positions: Optional[int], tokenizer) -> Optional[int]:
    """The model's source length limit: its position embeddings and the tokenizer's
    ``model_max_length`` (ignored when it is transformers' "no limit" sentinel)."""
    limits = [n for n in (max_positions, getattr(tokenizer, "model_max_length", None))
              if isinstance(n, int) and 0 < n < 1_000_000]
    return min(limits) if limits else None


def resolve_compute_type(preference: str, device: str) -> str:
    """``auto`` -> ``int8`` on the CPU (measured 1.9x faster than CTranslate2 float32 and
    7.8x faster than ``generate``; small token differences), ``float16`` on a GPU.

    Why float16 and not int8_float16 on a GPU: the job's GPU budget goes to a 3.3B model
    that fits many times over in a data-centre GPU's memory, so int8 weights buy little
    (decoding at batch 32 is not weight-bandwidth bound), while int8 changes translations
    measurably and float16 stays within rounding of the float32 model. ``benchmarks/gpu.py``
    measures both; pass ``int8_float16`` explicitly to halve weight memory on small GPUs.
    """
    if preference == "auto":
        return "float16" if device.startswith("cuda") else "int8"
    if preference not in COMPUTE_TYPES:
        raise ValueError(f"unknown CTranslate2 compute type {preference!r}; expected auto or "
                         f"one of {', '.join(COMPUTE_TYPES)}")
    return preference
