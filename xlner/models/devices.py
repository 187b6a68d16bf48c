"""Device and dtype choice, made on the worker that runs the model (never at graph time)."""

from __future__ import annotations


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def ct2_compute_types(device: str) -> set:
    """The compute types CTranslate2 supports on ``device`` (no model needed)."""
    import ctranslate2

    kind, _, index = device.partition(":")
    return set(ctranslate2.get_supported_compute_types(kind, int(index or 0)))


def resolve_device(preference: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is visible on this worker, else ``cpu``."""
    if preference == "auto":
        return "cuda" if cuda_available() else "cpu"
    if preference.startswith("cuda") and not cuda_available():
        raise RuntimeError(f"--device={preference} but no CUDA device is visible on this worker")
    return preference


def resolve_dtype(preference: str, device: str):
    """``auto`` -> bfloat16 on a GPU (halves memory, same quality for inference), fp32 on CPU."""
    import torch

    if preference == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16,
            "float16": torch.float16}[preference]


def quiet_transformers() -> None:
    """No per-load progress bars or chatter in worker logs. Nothing depends on its
    warnings: ``xlner.models.loading`` reads every load report itself and refuses a model
    whose weights do not cover it."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
