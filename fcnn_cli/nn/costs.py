"""Cost functions C(a, y), their gradients ∇_a C, and the fused output error δ^L.

`fn` is the mean over the N examples of the per-example cost; `grad_a` is each
example's own ∇_a C_n (rows are examples), so δ^{n,L} = ∇_a C_n ⊙ f'(z^{n,L}).
"""

from __future__ import annotations

import numpy as np

from .activations import Activation

Array = np.ndarray


class Cost:
    name: str = ""
    # The output activation for which δ^L collapses to a − y (see `delta`).
    fused_with: str | None = None

    def fn(self, a: Array, y: Array) -> float:
        raise NotImplementedError

    def grad_a(self, a: Array, y: Array) -> Array:
        raise NotImplementedError

    def delta(self, activation: Activation, z: Array, a: Array, y: Array) -> Array:
        """δ^L = ∇_a C ⊙ f'(z^L), or exactly a − y where the pair cancels."""
        if activation.name == self.fused_with:
            return a - y
        return activation.backward(z, a, self.grad_a(a, y))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _eps(a: Array) -> float:
    return float(np.finfo(a.dtype).tiny) if a.dtype.kind == "f" else 1e-300


def _clip_open_unit(a: Array) -> Array:
    eps = float(np.finfo(a.dtype).eps)
    return np.clip(a, eps, 1 - eps)


class Quadratic(Cost):
    """C = ½ Σ_j (y_j − a_j)²."""

    name = "quadratic"

    def fn(self, a: Array, y: Array) -> float:
        return float(0.5 * np.sum((a - y) ** 2, dtype=np.float64) / a.shape[0])

    def grad_a(self, a: Array, y: Array) -> Array:
        return a - y


class CrossEntropy(Cost):
    """Binary cross-entropy per output: C = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]."""

    name = "cross-entropy"
    fused_with = "sigmoid"  # σ'(z) = a(1 − a) cancels the denominator of ∇_a C

    def fn(self, a: Array, y: Array) -> float:
        eps = _eps(a)
        terms = y * np.log(np.maximum(a, eps)) + (1 - y) * np.log(np.maximum(1 - a, eps))
        return float(-np.sum(terms, dtype=np.float64) / a.shape[0])

    def grad_a(self, a: Array, y: Array) -> Array:
        a = _clip_open_unit(a)  # a saturated at exactly 0 or 1 would divide by zero
        return (a - y) / (a * (1 - a))


class LogLikelihood(Cost):
    """C = −Σ_j y_j ln a_j, which is −ln a_y for a one-hot target y."""

    name = "log-likelihood"
    fused_with = "softmax"  # the softmax Jacobian turns −y/a into a − y

    def fn(self, a: Array, y: Array) -> float:
        terms = y * np.log(np.maximum(a, _eps(a)))
        return float(-np.sum(terms, dtype=np.float64) / a.shape[0])

    def grad_a(self, a: Array, y: Array) -> Array:
        return -y / _clip_open_unit(a)


NAMES = ("quadratic", "cross-entropy", "log-likelihood")


def make_cost(name: str) -> Cost:
    costs: dict[str, type[Cost]] = {
        "quadratic": Quadratic, "cross-entropy": CrossEntropy, "log-likelihood": LogLikelihood,
    }
    if name not in costs:
        raise ValueError(f"unknown cost {name!r}; expected one of {', '.join(NAMES)}")
    return costs[name]()
