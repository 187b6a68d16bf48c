"""Build a model on first use, once, thread-safely; a model that cannot load fails once.

RunInference loads models in ``setup``; a run that never needs a model (every row carries
its translation) must not pay for loading a multi-GB one, or fail on a model it cannot
reach. A model that cannot be built is an operator's mistake, not a bad input: the error
is kept and raised again as :class:`ModelLoadError` on every later call (no retry per
record), and the handlers let it stop the job. Subclasses expose explicit public methods
(not ``__getattr__``) so they work behind Beam's cross-process model-sharing proxy, which
forwards only methods it can see.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional

LOG = logging.getLogger("xlner.models")


class ModelLoadError(RuntimeError):
    """A model could not be loaded; names the model and why."""


class LazyModel:
    model_id: str = ""

    def __init__(self, build: Callable[..., Any], *args: Any):
        self._build = build
        self._args = args
        self._model = None
        self._error: Optional[ModelLoadError] = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _get(self):
        if self._model is None:
            with self._lock:
                if self._error is not None:
                    raise self._error
                if self._model is None:
                    LOG.info("xlner: loading %s", self.model_id or self._args[0])
                    try:
                        self._model = self._build(*self._args)
                    except ModelLoadError as e:  # a refusal (names the model already)
                        self._error = e
                        raise
                    except Exception as e:  # noqa: BLE001 - reported once, with the model
                        self._error = ModelLoadError(
                            f"cannot load model {self.model_id or self._args[0]!r}: "
                            f"{type(e).__name__}: {e}")
                        raise self._error from e
        return self._model
