"""The alignment extraction runs numpy's BLAS on one thread (transforms/blas.py), and only
while it runs."""

from __future__ import annotations

import pickle

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from transforms.blas import OneBlasThread


def blas_threads() -> list[int]:
    np.ones((2, 2)) @ np.ones((2, 2))  # numpy's BLAS is loaded
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_one_blas_thread_inside_and_the_process_limit_back_after():
    with threadpool_limits(limits=2, user_api="blas"):  # as on a 2-core worker
        before = blas_threads()
        assert before and set(before) == {2}, "numpy's BLAS is not visible to threadpoolctl"
        limit = pickle.loads(pickle.dumps(OneBlasThread()))  # as a worker gets it
        with limit():
            assert blas_threads() == [1] * len(before)
        assert blas_threads() == before


def test_the_extraction_step_holds_the_limit_while_it_yields(monkeypatch):
    """What _Extract yields is computed (and consumed downstream) under the limit."""
    from transforms import align

    seen = []

    def fake(self, result):
        seen.append(blas_threads())
        yield "done"

    monkeypatch.setattr(align._Extract, "_process", fake)
    step = align._Extract(("argmax",), "test", False)
    with threadpool_limits(limits=2, user_api="blas"):
        assert list(step.process(None)) == ["done"]
    assert seen and set(seen[0]) == {1}
