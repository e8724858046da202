"""`fcnn predict` on pictures runs its network on one BLAS thread, set before NumPy loads
(no spare thread spinning, none to wake for a one-row product); a .npy or .csv batch, and a
user's own thread setting, keep theirs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("threadpoolctl")

IMAGE = Path(__file__).resolve().parents[1] / "examples" / "images" / "mnist-test-0000-label-7.png"
sys.path.insert(0, str(Path(__file__).parent))
from test_lazy_imports import fcnn_then  # noqa: E402

SETTINGS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _blas_threads(*args: str, **env: str) -> int:
    """The BLAS threads that `fcnn ARGS` ran with (threadpoolctl asked after it ran)."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    threads = ("max(i['num_threads'] for i in __import__('threadpoolctl').threadpool_info() "
               "if i['user_api'] == 'blas')")
    return int(fcnn_then(args, threads, {**clean, **env})[1])


@pytest.fixture(scope="module")
def cores() -> int:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: BLAS has one thread whatever is set")
    return len(os.sched_getaffinity(0))


def test_predict_on_a_picture_runs_on_one_blas_thread(cores: int) -> None:
    assert _blas_threads("predict", "mnist", str(IMAGE)) == 1


def test_predict_on_a_npy_batch_keeps_every_core(cores: int, tmp_path: Path) -> None:
    np.save(tmp_path / "rows.npy", np.zeros((3, 784), np.float32))
    assert _blas_threads("predict", "mnist", str(tmp_path / "rows.npy")) > 1


def test_a_users_own_thread_setting_wins(cores: int) -> None:
    assert _blas_threads("predict", "mnist", str(IMAGE), OMP_NUM_THREADS="2") == 2
