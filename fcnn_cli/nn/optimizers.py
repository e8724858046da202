"""Optimisers (one `update` each) and learning-rate schedules.

Every optimiser updates a list of parameter arrays in place from their
batch-mean gradients.  L2 weight decay adds λw to the gradient of each weight
matrix (never to biases), the lecture's C = C_0 + (λ/2) Σ w².
"""

from __future__ import annotations

import math

import numpy as np

Array = np.ndarray


class Optimizer:
    name = ""

    def __init__(self, lr: float, l2: float = 0.0) -> None:
        self.lr = lr
        self.l2 = l2

    def update(self, params: list[Array], grads: list[Array], decays: list[bool]) -> None:
        for i, (p, g, decay) in enumerate(zip(params, grads, decays)):
            if decay and self.l2:
                g = g + self.l2 * p
            self._step(i, p, g)

    def _step(self, i: int, p: Array, g: Array) -> None:
        raise NotImplementedError

    def state(self) -> dict[str, Array]:
        """Arrays and counters needed to resume exactly where training stopped."""
        return {}

    def load_state(self, state: dict[str, Array]) -> None:
        pass


class SGD(Optimizer):
    """w → w − η ∂C/∂w, optionally with (Nesterov) momentum v → μv − η∂C/∂w."""

    name = "sgd"

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False,
                 l2: float = 0.0) -> None:
        super().__init__(lr, l2)
        self.momentum = momentum
        self.nesterov = nesterov
        self.velocity: dict[int, Array] = {}

    def _step(self, i: int, p: Array, g: Array) -> None:
        if not self.momentum:
            p -= self.lr * g                                  # w → w − η/N Σ_n ∂C_n/∂w
            return
        v = self.velocity.setdefault(i, np.zeros_like(p))
        v *= self.momentum
        v -= self.lr * g
        if self.nesterov:
            p += self.momentum * v - self.lr * g              # look ahead along v
        else:
            p += v

    def state(self) -> dict[str, Array]:
        return {f"velocity/{i}": v for i, v in self.velocity.items()}

    def load_state(self, state: dict[str, Array]) -> None:
        self.velocity = {int(k.split("/")[1]): v.copy() for k, v in state.items()
                         if k.startswith("velocity/")}


class Adam(Optimizer):
    name = "adam"

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, l2: float = 0.0) -> None:
        super().__init__(lr, l2)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m: dict[int, Array] = {}
        self.v: dict[int, Array] = {}
        self.t = 0

    def update(self, params: list[Array], grads: list[Array], decays: list[bool]) -> None:
        self.t += 1
        super().update(params, grads, decays)

    def _step(self, i: int, p: Array, g: Array) -> None:
        m = self.m.setdefault(i, np.zeros_like(p))
        v = self.v.setdefault(i, np.zeros_like(p))
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        # Bias correction folded into the step size, as in Kingma & Ba (2015), §2.
        step = self.lr * math.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        p -= step * m / (np.sqrt(v) + self.eps)

    def state(self) -> dict[str, Array]:
        state = {f"m/{i}": m for i, m in self.m.items()}
        state.update({f"v/{i}": v for i, v in self.v.items()})
        state["t"] = np.array(self.t)
        return state

    def load_state(self, state: dict[str, Array]) -> None:
        self.m = {int(k[2:]): a.copy() for k, a in state.items() if k.startswith("m/")}
        self.v = {int(k[2:]): a.copy() for k, a in state.items() if k.startswith("v/")}
        self.t = int(state.get("t", 0))


def make_optimizer(name: str, lr: float, l2: float = 0.0, momentum: float = 0.0,
                   nesterov: bool = False, beta1: float = 0.9, beta2: float = 0.999,
                   eps: float = 1e-8) -> Optimizer:
    if name == "sgd":
        return SGD(lr, momentum, nesterov, l2)
    if name == "adam":
        return Adam(lr, beta1, beta2, eps, l2)
    raise ValueError(f"unknown optimizer {name!r}; expected sgd or adam")


def scheduled_lr(name: str, lr: float, epoch: int, epochs: int, gamma: float = 0.5,
                 step_size: int = 10, min_lr: float = 0.0) -> float:
    """The learning rate for `epoch` (0-based) under schedule `name`."""
    if name == "constant":
        return lr
    if name == "step":
        return lr * gamma ** (epoch // step_size)
    if name == "exponential":
        return lr * gamma ** epoch
    if name == "cosine":
        return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * epoch / max(epochs, 1)))
    raise ValueError(f"unknown schedule {name!r}; expected constant, step, exponential or cosine")
