"""blas_threads: limit BLAS threads for a block of training, or say why it cannot."""

from __future__ import annotations

import builtins

import numpy  # noqa: F401  (loads the BLAS that threadpoolctl looks for)
import pytest

from fcnn_cli.errors import FcnnError
from fcnn_cli.threads import available_cores, blas_threads


def blas_thread_counts() -> set[int]:
    from threadpoolctl import threadpool_info

    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_blas_threads_limits_blas_inside_the_block_and_restores_it_after():
    pytest.importorskip("threadpoolctl")
    before = blas_thread_counts()
    with blas_threads(1) as warning:
        assert warning is None
        assert blas_thread_counts() == {1}
    assert blas_thread_counts() == before


def test_blas_threads_none_means_all_cores():
    pytest.importorskip("threadpoolctl")
    with blas_threads(None):
        assert blas_thread_counts() == {available_cores()}


def without_threadpoolctl(monkeypatch) -> None:
    real_import = builtins.__import__

    def no_threadpoolctl(name, *args, **kwargs):
        if name == "threadpoolctl":
            raise ImportError("No module named 'threadpoolctl'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_threadpoolctl)


def test_blas_threads_without_threadpoolctl_yields_a_warning_and_goes_on(monkeypatch):
    without_threadpoolctl(monkeypatch)
    with blas_threads(1) as warning:
        ran = True
    assert ran
    assert "threadpoolctl is not installed" in warning and "OPENBLAS_NUM_THREADS=1" in warning


def test_blas_threads_without_threadpoolctl_is_silent_when_no_limit_is_asked(monkeypatch):
    without_threadpoolctl(monkeypatch)
    with blas_threads(None) as warning:
        assert warning is None


def test_a_thread_count_below_one_is_a_user_error():
    with pytest.raises(FcnnError, match="at least 1"):
        with blas_threads(0):
            pass
