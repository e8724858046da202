"""Activation functions f and their derivatives f'.

Each activation maps a batch of weighted inputs z (rows are examples) to
activations a = f(z), and turns ∂C/∂a into δ = ∂C/∂z in `backward`.  For every
elementwise activation that is the lecture's Hadamard product ∂C/∂a ⊙ f'(z);
softmax couples its outputs, so its `backward` is a Jacobian-vector product.
"""

from __future__ import annotations

import numpy as np

Array = np.ndarray


class Activation:
    """f, f' and the backward step δ = ∂C/∂a ⊙ f'(z)."""

    name: str = ""
    elementwise: bool = True

    def f(self, z: Array) -> Array:
        raise NotImplementedError

    def prime(self, z: Array, a: Array) -> Array:
        """f'(z), elementwise; `a = f(z)` is passed so it need not be recomputed."""
        raise NotImplementedError

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a * self.prime(z, a)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Activation):
    name = "linear"

    def f(self, z: Array) -> Array:
        return z.copy()

    def prime(self, z: Array, a: Array) -> Array:
        return np.ones_like(z)


def _sigmoid(z: Array) -> Array:
    # exp of -|z| never overflows: σ(z) = 1/(1+e^-z) for z ≥ 0, e^z/(1+e^z) for z < 0.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


class Sigmoid(Activation):
    name = "sigmoid"

    def f(self, z: Array) -> Array:
        return _sigmoid(z)

    def prime(self, z: Array, a: Array) -> Array:
        return a * (1 - a)


class Tanh(Activation):
    name = "tanh"

    def f(self, z: Array) -> Array:
        return np.tanh(z)

    def prime(self, z: Array, a: Array) -> Array:
        return 1 - a * a


class ReLU(Activation):
    name = "relu"

    def f(self, z: Array) -> Array:
        return np.maximum(z, 0)

    def prime(self, z: Array, a: Array) -> Array:
        return (z > 0).astype(z.dtype)


class LeakyReLU(Activation):
    name = "leaky-relu"

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = slope

    def f(self, z: Array) -> Array:
        return np.where(z > 0, z, self.slope * z)

    def prime(self, z: Array, a: Array) -> Array:
        return np.where(z > 0, 1, self.slope).astype(z.dtype)

    def __repr__(self) -> str:
        return f"LeakyReLU(slope={self.slope})"


class PReLU(Activation):
    """Leaky ReLU whose negative slope α_j is learned, one per unit.

    a_j = z_j for z_j > 0, α_j z_j otherwise, so ∂a_j/∂α_j = min(z_j, 0).
    """

    name = "prelu"

    def __init__(self, alpha: Array) -> None:
        self.alpha = alpha

    def f(self, z: Array) -> Array:
        return np.where(z > 0, z, self.alpha * z)

    def prime(self, z: Array, a: Array) -> Array:
        return np.where(z > 0, 1, self.alpha).astype(z.dtype)

    def alpha_grad(self, z: Array, grad_a: Array) -> Array:
        """∂C/∂α as a batch mean, given each example's ∂C/∂a."""
        return (grad_a * np.minimum(z, 0)).mean(axis=0)

    def __repr__(self) -> str:
        return f"PReLU(units={self.alpha.shape[0]})"


class Swish(Activation):
    name = "swish"

    def f(self, z: Array) -> Array:
        return z * _sigmoid(z)

    def prime(self, z: Array, a: Array) -> Array:
        s = _sigmoid(z)
        return s + a * (1 - s)  # d/dz zσ(z) = σ + zσ(1−σ) = σ + a(1−σ)


class Softmax(Activation):
    name = "softmax"
    elementwise = False

    def f(self, z: Array) -> Array:
        e = np.exp(z - z.max(axis=1, keepdims=True))  # shifting by max(z) keeps exp finite
        return e / e.sum(axis=1, keepdims=True)

    def prime(self, z: Array, a: Array) -> Array:
        raise TypeError("softmax has a Jacobian, not an elementwise derivative; use backward()")

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        # J = diag(a) − a aᵀ, so Jᵀg = a ⊙ (g − (g·a)), one row per example.
        return a * (grad_a - (grad_a * a).sum(axis=1, keepdims=True))


NAMES = ("linear", "sigmoid", "tanh", "relu", "leaky-relu", "prelu", "swish", "softmax")


def make_activation(name: str, units: int, dtype: np.dtype | type = np.float32,
                    slope: float = 0.01) -> Activation:
    """The activation called `name` for a layer of `units` neurons."""
    simple: dict[str, type[Activation]] = {
        "linear": Linear, "sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU,
        "swish": Swish, "softmax": Softmax,
    }
    if name in simple:
        return simple[name]()
    if name == "leaky-relu":
        return LeakyReLU(slope)
    if name == "prelu":
        return PReLU(np.full(units, slope, dtype=dtype))
    raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(NAMES)}")
