"""A fully-connected feed-forward network and the four equations of backpropagation.

Lecture notation, vectorised over a mini-batch whose rows are examples:
`w[l-1]` is w^l with shape (units_l, units_{l-1}), so w^l[j, i] connects neuron i
of layer l−1 to neuron j of layer l.  For a batch A^{l-1} of shape (N, units_{l-1})
the column-vector rule z^l = w^l a^{l-1} + b^l becomes Z^l = A^{l-1} (w^l)^T + b^l.
Python lists are 0-based, so layer l (1..L) lives at index l − 1 of `w`, `b`, `zs`
and `deltas`, while `activations[0]` is the input a^0 = x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .activations import Activation, PReLU, make_activation
from .costs import Cost, make_cost
from .init import init_layer

Array = np.ndarray


@dataclass
class Gradients:
    """Batch means ∂C/∂w^l, ∂C/∂b^l (and ∂C/∂α^l for PReLU layers, keyed by index)."""

    w: list[Array]
    b: list[Array]
    alpha: dict[int, Array] = field(default_factory=dict)


@dataclass
class Trace:
    """Every layer's z^l, a^l and per-example δ^l from one forward and backward pass."""

    zs: list[Array]
    activations: list[Array]
    deltas: list[Array]


class Network:
    def __init__(self, w: list[Array], b: list[Array], activations: list[Activation],
                 cost: Cost, dropout: list[float] | None = None) -> None:
        self.w = w
        self.b = b
        self.activations = activations
        self.cost = cost
        self.dropout = dropout or [0.0] * len(w)

    @classmethod
    def create(cls, sizes: list[int], activations: list[str], cost: str = "log-likelihood",
               init: str = "he", rng: np.random.Generator | None = None,
               dtype: np.dtype | type = np.float32, dropout: list[float] | None = None,
               slope: float = 0.01) -> Network:
        """A new network with `sizes` = [I, units_1, ..., units_L] and fresh weights."""
        rng = rng if rng is not None else np.random.default_rng()
        layers = [init_layer(init, n_in, n_out, rng, dtype)
                  for n_in, n_out in zip(sizes[:-1], sizes[1:])]
        acts = [make_activation(name, units, dtype, slope)
                for name, units in zip(activations, sizes[1:])]
        return cls([w for w, _ in layers], [b for _, b in layers], acts, make_cost(cost), dropout)

    @property
    def sizes(self) -> list[int]:
        return [self.w[0].shape[1]] + [w.shape[0] for w in self.w]

    @property
    def dtype(self) -> np.dtype:
        return self.w[0].dtype

    def params(self) -> list[Array]:
        """Every trainable array, in the order `grads_list` gives their gradients."""
        alphas = [act.alpha for act in self.activations if isinstance(act, PReLU)]
        return [*self.w, *self.b, *alphas]

    def decays(self) -> list[bool]:
        """Which of `params()` take L2 weight decay: the weights, never biases or slopes."""
        return [True] * len(self.w) + [False] * (len(self.params()) - len(self.w))

    def grads_list(self, grads: Gradients) -> list[Array]:
        return [*grads.w, *grads.b, *(grads.alpha[i] for i in sorted(grads.alpha))]

    def feedforward(self, x: Array, rng: np.random.Generator | None = None
                    ) -> tuple[list[Array], list[Array], list[Array | None]]:
        """zs, activations and dropout masks; dropout runs only when `rng` is given."""
        a = np.asarray(x, dtype=self.dtype)
        zs, activations, masks = [], [a], []
        last = len(self.w) - 1
        for l, (w, b, act) in enumerate(zip(self.w, self.b, self.activations)):
            z = a @ w.T + b                                  # z^l = w^l a^{l-1} + b^l
            a = act.f(z)                                     # a^l = f(z^l)
            mask = None
            if rng is not None and l < last and self.dropout[l] > 0:
                keep = 1.0 - self.dropout[l]
                # Inverted dropout: scaling the kept units by 1/keep now means
                # inference needs no rescaling.
                mask = (rng.random(a.shape, dtype=self.dtype) < keep) / self.dtype.type(keep)
                mask = mask.astype(self.dtype, copy=False)
            zs.append(z)
            activations.append(a)
            masks.append(mask)
            if mask is not None:
                a = a * mask
        return zs, activations, masks

    def predict(self, x: Array) -> Array:
        """The output activations a^L, no dropout."""
        a = np.asarray(x, dtype=self.dtype)
        for w, b, act in zip(self.w, self.b, self.activations):
            a = act.f(a @ w.T + b)
        return a

    def cost_value(self, x: Array, y: Array) -> float:
        return self.cost.fn(self.predict(x), np.asarray(y, dtype=self.dtype))

    def backprop(self, x: Array, y: Array, rng: np.random.Generator | None = None
                 ) -> tuple[Gradients, Trace]:
        """Gradients of the batch-mean cost, and the z, a, δ of every layer."""
        y = np.asarray(y, dtype=self.dtype)
        zs, activations, masks = self.feedforward(x, rng)
        n, L = y.shape[0], len(self.w)
        inputs = [activations[0]] + [a if m is None else a * m
                                     for a, m in zip(activations[1:], masks)]
        grad_w: list[Array] = [np.empty(0)] * L
        grad_b: list[Array] = [np.empty(0)] * L
        grad_alpha: dict[int, Array] = {}
        deltas: list[Array] = [np.empty(0)] * L

        act, z, a = self.activations[-1], zs[-1], activations[-1]
        if self.cost.fused_with == act.name:
            grad_a = None
            delta = a - y                                    # δ^L = a − y (fused pair)
        else:
            grad_a = self.cost.grad_a(a, y)
            delta = act.backward(z, a, grad_a)               # δ^L = ∇_a C ⊙ f'(z^L)
        for l in range(L - 1, -1, -1):
            act = self.activations[l]
            if l < L - 1:
                grad_a = deltas[l + 1] @ self.w[l + 1]       # (w^{l+1})^T δ^{l+1}
                if masks[l] is not None:
                    grad_a = grad_a * masks[l]
                delta = act.backward(zs[l], activations[l + 1], grad_a)  # δ^l = (..) ⊙ f'(z^l)
            if isinstance(act, PReLU) and grad_a is not None:
                grad_alpha[l] = act.alpha_grad(zs[l], grad_a)
            deltas[l] = delta
            grad_b[l] = delta.mean(axis=0)                   # ∂C/∂b^l = δ^l
            grad_w[l] = delta.T @ inputs[l] / n              # ∂C/∂w^l = δ^l (a^{l-1})^T
        return Gradients(grad_w, grad_b, grad_alpha), Trace(zs, activations, deltas)

    def __repr__(self) -> str:
        layers = ", ".join(f"{w.shape[0]} {act.name}" for w, act in zip(self.w, self.activations))
        return f"Network({self.sizes[0]} → {layers}; cost={self.cost.name}, dtype={self.dtype})"
