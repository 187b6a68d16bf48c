"""Counting real model loads across every process of a job (see
``tests/model_loads/sitecustomize.py``)."""

from __future__ import annotations

import collections
import os

HOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model_loads")


def counting_env(journal: str, env: dict) -> dict:
    """``env`` for a subprocess whose Python processes record their model loads."""
    path = os.pathsep.join(p for p in (HOOK, env.get("PYTHONPATH", "")) if p)
    return dict(env, PYTHONPATH=path, XLNER_TEST_MODEL_LOADS=str(journal))


def model_loads(journal: str) -> dict[str, collections.Counter]:
    """{"load_model": Counter(model -> calls), "build": Counter(model -> weight loads)}."""
    out = {"load_model": collections.Counter(), "build": collections.Counter()}
    if os.path.exists(journal):
        with open(journal, encoding="utf-8") as f:
            for line in f:
                _, kind, model = line.rstrip("\n").split(" ", 2)
                out[kind][model] += 1
    return out
