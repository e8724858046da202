"""One pass over the training data in mini-batches: backprop, then one optimiser step each.

The caller owns the order of the examples (`perm`) so that a resumed run can replay
an epoch from any batch; `on_batch` may stop the epoch early by returning False.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .network import Network
from .optimizers import Optimizer

Array = np.ndarray


class DivergenceError(ArithmeticError):
    """The cost or the weights stopped being finite numbers."""

    def __init__(self, batch: int) -> None:
        super().__init__(f"the cost became NaN or infinite at batch {batch}")
        self.batch = batch


@dataclass
class EpochStats:
    """Running sums over the batches seen so far (the cost as a sum over examples)."""

    cost_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    batches: int = 0

    @property
    def cost(self) -> float:
        return self.cost_sum / max(self.seen, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.seen, 1)


BatchCallback = Callable[[int, int, EpochStats], bool]


def predicted_classes(a: Array) -> Array:
    """Each row's class: the largest output, or output > ½ for a single sigmoid unit."""
    return (a[:, 0] > 0.5).astype(np.int64) if a.shape[1] == 1 else a.argmax(axis=1)


def count_correct(a: Array, y: Array) -> int:
    """How many rows' predicted class is the target's (y one-hot, or 0/1 for one unit)."""
    return int((predicted_classes(a) == predicted_classes(y)).sum())


def run_epoch(net: Network, optimizer: Optimizer, x: Array, y: Array, perm: Array,
              batch_size: int, start_batch: int = 0, stats: EpochStats | None = None,
              dropout_rng: np.random.Generator | None = None,
              on_batch: BatchCallback | None = None) -> EpochStats:
    """Train on x[perm] in batches of `batch_size`, starting at batch `start_batch`."""
    stats = stats if stats is not None else EpochStats()
    n_batches = -(-len(perm) // batch_size)
    params, decays = net.params(), net.decays()
    for i in range(start_batch, n_batches):
        idx = perm[i * batch_size:(i + 1) * batch_size]
        xb, yb = x[idx], y[idx]
        grads, trace = net.backprop(xb, yb, dropout_rng)
        out = trace.activations[-1]
        cost = net.cost.fn(out, yb)
        if not np.isfinite(cost):
            raise DivergenceError(i + 1)
        optimizer.update(params, net.grads_list(grads), decays)
        stats.cost_sum += cost * len(idx)
        stats.correct += count_correct(out, yb)
        stats.seen += len(idx)
        stats.batches = i + 1
        if on_batch is not None and not on_batch(i + 1, n_batches, stats):
            break
    return stats
