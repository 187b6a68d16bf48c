"""numpy's BLAS on one thread inside the CPU steps.

A Beam worker already runs one bundle per core; numpy's OpenBLAS also starts a thread per
core for any product above a small size, and beside a busy encoder those threads spin
against each other. The subword similarity of one Bible pair (a 40 x 2304 by 2304 x 30
product) took ~10 ms in the job instead of ~0.1 ms alone: py-spy over 200 pairs counted
5.3 s in it, 0.3 s with one BLAS thread. The products of these steps are small, so one
thread loses nothing. The limit holds while an element is processed (the steps fused
after it included) and is lifted after, so other code of the process keeps its own.
"""

from __future__ import annotations

import contextlib


class OneBlasThread:
    """``with one_blas_thread():`` — numpy's BLAS limited to one thread inside."""

    def __init__(self):
        self._controller = None  # found on first use, on the worker (not pickled)

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self._controller = None

    def __call__(self) -> contextlib.AbstractContextManager:
        if self._controller is None:
            from threadpoolctl import ThreadpoolController

            self._controller = ThreadpoolController()
        return self._controller.limit(limits=1, user_api="blas")
