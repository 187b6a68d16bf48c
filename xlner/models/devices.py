"""Device and dtype choice, made on the worker that runs the model (never at graph time)."""

from __future__ import annotations


def resolve_device(preference: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is visible on this worker, else ``cpu``."""
    import torch

    if preference == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if preference.startswith("cuda") and not torch.cuda.is_available():
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
    """No per-load progress bars or info chatter in worker logs."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def weights_kwargs(allow_pickle: bool = False) -> dict:
    """``from_pretrained`` arguments of the job's weights policy: safetensors only unless
    the operator allows pickled weights (they run code when loaded), and never code from
    the checkpoint (``trust_remote_code`` off)."""
    return {"use_safetensors": None if allow_pickle else True, "trust_remote_code": False}


def check_safetensors(checkpoint, allow_pickle: bool = False) -> None:
    """Refuse a checkpoint folder without safetensors weights unless pickle is allowed."""
    import pathlib

    folder = pathlib.Path(checkpoint)
    if not allow_pickle and not any(folder.glob("*.safetensors")):
        raise ValueError(f"{folder} has no safetensors weights; pickled weights run code "
                         "when loaded (pass --allow_pickle_weights to use them)")
