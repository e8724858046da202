"""The BLAS routines fcnn calls itself (`fcnn_cli.nn.blas`) compute what NumPy computes,
and training with the steps inside the products ends where the reference loop ends."""

from __future__ import annotations

import numpy as np
import pytest

from fcnn_cli.nn import SGD, Network, blas
from fcnn_cli.nn.epoch import run_epoch
from fcnn_cli.nn.fast import FOLD_MIN, EpochRunner

pytestmark = pytest.mark.skipif(blas.gemm is None, reason="NumPy's BLAS exports no CBLAS here")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("trans_a", "trans_b"), [(False, False), (True, False), (False, True)])
def test_gemm_adds_the_scaled_product_to_beta_times_its_output(dtype, trans_a, trans_b):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((7, 5) if trans_a else (5, 7)).astype(dtype)
    b = rng.standard_normal((4, 7) if trans_b else (7, 4)).astype(dtype)
    c = rng.standard_normal((5, 4)).astype(dtype)
    want = -0.5 * (a.T if trans_a else a) @ (b.T if trans_b else b) + 0.9 * c
    blas.gemm(-0.5, a, trans_a, b, trans_b, 0.9, c)
    np.testing.assert_allclose(c, want, rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_of_one_gives_numpys_sums_bit_for_bit(dtype):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 300, 301)).astype(dtype)
    want = y + x
    blas.axpy(1.0, x, y)
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("optimizer", [lambda: SGD(0.05, momentum=0.9), lambda: SGD(0.1),
                                       lambda: SGD(0.1, l2=1e-3),
                                       lambda: SGD(0.05, momentum=0.9, nesterov=True)])
def test_a_network_wide_enough_to_fold_trains_like_the_reference(optimizer):
    sizes = [300, FOLD_MIN // 300 + 1, 10]  # the first matrix folds, the second does not
    rng = np.random.default_rng(2)
    x = rng.standard_normal((96, sizes[0])).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 96)]
    nets = [Network.create(sizes, ["relu", "softmax"], "log-likelihood", "he",
                           np.random.default_rng(3)) for _ in range(2)]
    perm = np.random.default_rng(4).permutation(96)
    EpochRunner(nets[0], optimizer(), 16).run(x, y, perm)
    run_epoch(nets[1], optimizer(), x, y, perm, 16)
    for got, want in zip(nets[0].params(), nets[1].params()):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * float(np.abs(want).max()))
