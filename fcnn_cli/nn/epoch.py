"""One pass over the training data in mini-batches: backprop, then one optimiser step each.

The caller owns the order of the examples (`perm`) so that a resumed run can replay
an epoch from any batch; `on_batch` may stop the epoch early by returning False.
The inputs `x` are an (N, I) array of ready inputs, or `RawInputs`: rows kept as stored
(uint8 pixels) and normalised only as they are taken.
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


class RawInputs:
    """Training inputs kept as stored, normalised row by row as batches are taken.

    Pixels stay uint8 (a quarter of float32's memory, and a quarter of the bytes an epoch
    moves when it gathers its examples); a batch gets x = (raw − offset) / scale. The
    arithmetic is exactly the data pipeline's: float32 subtraction then float32 division,
    in that order, so a batch holds the very numbers that normalising everything up front
    gave (and that predict gives a model's inputs). A division, not a multiplication by
    1/scale, because the two differ in the last bit for some pixels.
    """

    def __init__(self, raw: Array, offset: Array, scale: Array,
                 dtype: np.dtype | type = np.float32) -> None:
        if raw.ndim != 2:
            raise ValueError(f"raw inputs must be (N, I) rows, got shape {raw.shape}")
        self.raw = raw
        self.offset = np.asarray(offset, np.float32)  # shape () or (I,)
        self.scale = np.asarray(scale, np.float32)
        self.dtype = np.dtype(dtype)
        # x − 0 is x exactly, so a zero offset (scale by pixel_max, or none) skips a pass.
        self._shift = bool(np.any(self.offset != 0))

    def __len__(self) -> int:
        return len(self.raw)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.raw.shape

    def __getitem__(self, rows: Array) -> Array:
        """The normalised rows `rows`, as a new (n, I) array of `dtype`."""
        raw = self.raw[rows]
        return self.normalize(raw, np.empty(raw.shape, self.dtype))

    def normalize(self, raw: Array, out: Array) -> Array:
        """Writes (raw − offset) / scale into `out` (raw's shape, any float dtype); returns it.

        Computed in float32 whatever `out` holds, so a float64 network sees the float32
        inputs widened, as it would from data normalised up front and then converted.
        """
        np.copyto(out, raw)                     # uint8 → float: exact
        if self._shift:
            np.subtract(out, self.offset, out, dtype=np.float32)
        return np.divide(out, self.scale, out, dtype=np.float32)


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
