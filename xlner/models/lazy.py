"""Build a model on first use, once, thread-safely.

RunInference loads models in ``setup``; a run that never needs a model (every row carries
its translation) must not pay for loading a multi-GB one, or fail on a model it cannot
reach. Subclasses expose explicit public methods (not ``__getattr__``) so they work behind
Beam's cross-process model-sharing proxy, which forwards only methods it can see.
"""

from __future__ import annotations

import threading
from typing import Any, Callable


class LazyModel:
    def __init__(self, build: Callable[..., Any], *args: Any):
        self._build = build
        self._args = args
        self._model = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _get(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._build(*self._args)
        return self._model
