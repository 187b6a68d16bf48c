"""Beam's RunInference without torch at import time.

``apache_beam.ml.inference.base`` imports its optional ``model_manager`` at the top of the
module, inside a ``try``/``except ImportError`` (it is optional: ``RunInference`` imports it
again, lazily, when ``use_model_manager=True``), and ``model_manager`` imports torch: every
process that builds a graph with ``RunInference`` paid for torch (~2 s here) before reading
its first record, though only the workers' model steps use it. :func:`inference_base`
imports ``base`` with that optional import refused, so ``base`` takes its own fallback
(``ModelManager = None``), then puts back what the fallback also cleared (``resource``,
for Beam's memory metrics). Nothing else changes: the lazy path still imports the real
``ModelManager`` (``tests/test_startup.py`` checks both), and a worker that unpickles a
RunInference step imports ``base`` the ordinary way. The transforms import
``ModelHandler``, ``PredictionResult`` and ``RunInference`` from here, never from Beam.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

_BASE = "apache_beam.ml.inference.base"
_MODEL_MANAGER = "apache_beam.ml.inference.model_manager"


def inference_base() -> ModuleType:
    """``apache_beam.ml.inference.base``, imported without its eager torch import if it
    was not imported yet."""
    if _BASE in sys.modules or _MODEL_MANAGER in sys.modules:
        return importlib.import_module(_BASE)
    sys.modules[_MODEL_MANAGER] = None  # type: ignore[assignment]  # import -> ImportError
    try:
        base = importlib.import_module(_BASE)
    finally:
        del sys.modules[_MODEL_MANAGER]
    if getattr(base, "resource", None) is None:
        import resource

        base.resource = resource
    return base


_base = inference_base()
ModelHandler = _base.ModelHandler
PredictionResult = _base.PredictionResult
RunInference = _base.RunInference
