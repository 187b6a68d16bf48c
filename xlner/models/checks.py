"""Checks of a model option before any work, by the same inspection the workers' loader
runs (:func:`xlner.models.loading.open_model`): the folder exists, holds a model, runs no
code of its own, and its weights are complete safetensors (pickled weights run code when
loaded, so they need an explicit ``--allow_pickle_weights``). With ``HF_HUB_OFFLINE=1`` a
Hugging Face id is checked in the local hub cache (not cached: an error); online the
workers download it and inspect it there. Returns a one-line reason, or None.
"""

from __future__ import annotations

import os
from typing import Optional, Sequence

from xlner.models.bert_config import bert_config, config_problem
from xlner.models.loading import ModelRefused, hub_offline, looks_like_path, open_model


def _cached_on_hub(value: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers always brings it
        return False
    found = try_to_load_from_cache(value, "config.json",
                                   cache_dir=os.environ.get("HF_HUB_CACHE") or None)
    return isinstance(found, str)


def readable_here(value: str) -> bool:
    """A local path, or, with the hub offline, a hub id in the local cache (online, the
    workers download the current revision, which the local cache may not hold)."""
    return looks_like_path(value) or (hub_offline() and _cached_on_hub(value))


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
    if not looks_like_path(value) and not hub_offline():
        return None  # downloaded by the workers; inspected there
    try:
        folder = open_model(value, allow_pickle, local_only=True)
    except ModelRefused as e:
        return f"--{option}={value}: {e.reason}"
    try:
        found = bert_config(folder.path)
    except (OSError, ValueError):
        found = None  # the loader's own checks say what is wrong with the file
    wrong = config_problem(found[2]) if found else ""
    return f"--{option}={value}: its config.json is not usable: {wrong}" if wrong else None
