"""Two BLAS routines NumPy does not offer, from the BLAS NumPy itself loaded.

- `gemm`: C ← α·op(A)·op(B) + β·C. NumPy's `matmul` always overwrites its output
  (β = 0), so an optimiser step had to write the gradient to a buffer and read it back
  in separate passes. With β the step is the product: plain SGD is w ← w − (η/N) δaᵀ
  (β = 1) and momentum v ← μv − (η/N) δaᵀ (β = μ); the gradient is never written out.
- `axpy`: y ← α·x + y, which OpenBLAS runs on its own threads for long vectors. A NumPy
  ufunc runs on one core while the GEMMs use all of them (Amdahl); handing the pass to
  threads of our own is no cure, as BLAS's idle threads keep spinning on the cores for a
  while after each product and the two fight for them (measured: an epoch of workload B
  took 1.33× longer on two cores). BLAS's own threads have no one to fight.

NumPy's wheels carry OpenBLAS with its CBLAS functions exported under a build-dependent
prefix and suffix; this module finds them with ctypes in the library NumPy loaded (so
`threadpoolctl` limits their threads too), and ctypes lets go of the GIL during a call.
Where none is found (another BLAS, another platform) both are None and the caller keeps
NumPy's way, with the same results to float32 precision.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Callable
from typing import Any

import numpy as np

# Prefixes and suffixes of the CBLAS names in different OpenBLAS builds, and their integer
_BUILDS = (("scipy_cblas_", "64_", ctypes.c_int64), ("cblas_", "64_", ctypes.c_int64),
           ("scipy_cblas_", "", ctypes.c_int), ("cblas_", "", ctypes.c_int))
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_REALS = {np.dtype(np.float32): ("s", ctypes.c_float), np.dtype(np.float64): ("d", ctypes.c_double)}

Gemm = Callable[[float, np.ndarray, bool, np.ndarray, bool, float, np.ndarray], None]
Axpy = Callable[[float, np.ndarray, np.ndarray], None]


def _numpy_blas_files() -> list[str]:
    """The OpenBLAS shared libraries inside NumPy's wheel (Linux: numpy.libs, macOS: .dylibs)."""
    here = os.path.dirname(np.__file__)
    patterns = [os.path.join(here, os.pardir, "numpy.libs", "*openblas*"),
                os.path.join(here, ".dylibs", "*openblas*")]
    return sorted(f for pattern in patterns for f in glob.glob(pattern))


def _declare(function: Any, real: type, integer: type, routine: str) -> Any:
    function.restype = None
    if routine == "gemm":  # order, transA, transB, M, N, K, α, A, lda, B, ldb, β, C, ldc
        function.argtypes = [ctypes.c_int] * 3 + [integer] * 3 + [
            real, ctypes.c_void_p, integer, ctypes.c_void_p, integer, real, ctypes.c_void_p,
            integer]
    else:  # n, α, x, incx, y, incy
        function.argtypes = [integer, real, ctypes.c_void_p, integer, ctypes.c_void_p, integer]
    return function


def _load() -> dict[tuple[str, np.dtype], Any]:
    for path in _numpy_blas_files():
        try:
            library = ctypes.CDLL(path)  # already loaded by NumPy: the same copy
        except OSError:
            continue
        for prefix, suffix, integer in _BUILDS:
            try:
                return {(routine, dtype): _declare(getattr(library, f"{prefix}{letter}{routine}"
                                                                    f"{suffix}"),
                                                   real, integer, routine)
                        for routine in ("gemm", "axpy")
                        for dtype, (letter, real) in _REALS.items()}
            except AttributeError:
                continue
    return {}


_FUNCTIONS = _load()


def _gemm(alpha: float, a: np.ndarray, trans_a: bool, b: np.ndarray, trans_b: bool,
          beta: float, c: np.ndarray) -> None:
    """c ← alpha·op(a)·op(b) + beta·c for C-contiguous 2-D arrays of one float dtype,
    op(x) = xᵀ where asked. The caller keeps the shapes right: nothing is checked here."""
    m, n = c.shape
    k = a.shape[0] if trans_a else a.shape[1]
    _FUNCTIONS["gemm", c.dtype](_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS,
                                _TRANS if trans_b else _NO_TRANS, m, n, k, alpha, a.ctypes.data,
                                a.shape[1], b.ctypes.data, b.shape[1], beta, c.ctypes.data, n)


def _axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """y ← alpha·x + y for C-contiguous arrays of one shape and float dtype (unchecked)."""
    _FUNCTIONS["axpy", y.dtype](y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)


gemm: Gemm | None = _gemm if _FUNCTIONS else None
axpy: Axpy | None = _axpy if _FUNCTIONS else None
