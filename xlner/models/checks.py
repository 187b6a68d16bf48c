"""Checks of a model option before any work: the folder exists, holds a model, and its
weights are safetensors (pickled weights run code when loaded, so they need an explicit
``--allow_pickle_weights``). A Hugging Face id cannot be checked without the hub; with
``HF_HUB_OFFLINE=1`` it must be in the local cache. Returns a one-line reason, or None.
"""

from __future__ import annotations

import glob
import os
from typing import Optional, Sequence

PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model-*.bin", "tf_model.h5", "flax_model.msgpack",
                  "model.ckpt*")


def looks_like_path(value: str) -> bool:
    return value.startswith(("/", "./", "../", "~")) or os.path.exists(value)


def model_problem(value: str, option: str, embedded: Sequence[str] = (),
                  allow_pickle: bool = False) -> Optional[str]:
    """Why ``--option=value`` cannot be loaded here, or None."""
    if value.startswith("embedded:"):
        if value in embedded:
            return None
        return f"--{option}={value}: no such embedded model (known: {', '.join(embedded)})"
    if "://" in value:
        return (f"--{option}={value}: models load from a local folder or a Hugging Face id, "
                "not a URL; copy it into the image (e.g. /opt/models) or name the hub id")
    if looks_like_path(value):
        path = os.path.expanduser(value)
        if not os.path.exists(path):
            return f"--{option}={value}: no such folder"
        if not os.path.isdir(path):
            return f"--{option}={value}: is a file; expected a model folder"
        if not os.path.exists(os.path.join(path, "config.json")):
            return f"--{option}={value}: not a model folder (no config.json)"
        if os.path.exists(os.path.join(path, "model.bin")):  # a CTranslate2 model
            return None
        if glob.glob(os.path.join(path, "*.safetensors")):
            return None
        pickled = [os.path.basename(p) for pattern in PICKLE_WEIGHTS
                   for p in glob.glob(os.path.join(path, pattern))]
        if pickled and not allow_pickle:
            return (f"--{option}={value}: weights are pickled ({pickled[0]}), which runs code "
                    "when loaded; convert them to safetensors or pass --allow_pickle_weights")
        if not pickled:
            return f"--{option}={value}: the folder holds no model weights"
        return None
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:  # pragma: no cover - transformers always brings it
            return None
        found = try_to_load_from_cache(value, "config.json")
        if not isinstance(found, str):
            return (f"--{option}={value}: not a local folder, and the hub is offline "
                    "(HF_HUB_OFFLINE=1) with no cached copy")
    return None
