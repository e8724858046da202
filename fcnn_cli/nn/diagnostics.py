"""How each layer learns: per-layer numbers measured on a fixed probe batch after each epoch.

- speed of learning, Nielsen's (ch. 5) ‖∂C/∂b^l‖: the Euclidean (L2) norm of the vector
  ∂C/∂b^l = (1/P) Σ_n δ^{n,l}, the probe batch's mean error of layer l (P examples, no
  dropout). A layer whose speed is far below the next one's barely learns: its
  gradients vanish on the way back.
- saturated fraction (sigmoid, tanh): the fraction of the layer's units whose f′(z) is
  below SATURATION × the largest f′ (at z = 0) on more than half of the probe rows.
  δ^l carries the factor f′(z^l), so such a unit hardly learns.
- dead fraction (relu, leaky-relu, prelu): the fraction of units with z ≤ 0 on every
  probe row. A dead ReLU's f′ is 0 everywhere: no gradient reaches its weights again.
- update ratio: ‖Δw^l‖_F / ‖w^l‖_F, the Frobenius norm of the epoch's last optimiser step
  on w^l over that of w^l just before the step. A rule of thumb (Karpathy) wants about
  10⁻³: far below, the layer barely moves; far above, it jumps about.

Only NumPy: training records these, `fcnn info` and `fcnn report` show them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .network import Network

Array = np.ndarray

SATURATION = 0.1        # a sigmoid/tanh unit's f'(z) below 10 % of f''s maximum counts as saturated
PRIME_MAX = {"sigmoid": 0.25, "tanh": 1.0}   # the maximum of f' (at z = 0)
PROBE_SIZE = 500        # training examples in the fixed, seeded probe batch
RECTIFIERS = ("relu", "leaky-relu", "prelu")
PROBE_STREAM = 5        # the probe batch's random stream: [seed, PROBE_STREAM]
SERIES = ("speed", "saturated", "dead", "update_ratio")

# Warnings: a layer "mostly" dead or saturated, and an update ratio two orders of
# magnitude either side of the 10⁻³ rule of thumb.
MOSTLY = 0.5
RATIO_LOW, RATIO_HIGH = 1e-5, 1e-1


def saturated_fraction(activation: str, z: Array, a: Array) -> float | None:
    """The fraction of units whose f′(z) < SATURATION·max f′ on more than half of the rows
    (z, a: (rows, units)); None when `activation` is not sigmoid or tanh."""
    if activation not in PRIME_MAX:
        return None
    rows, units = a.shape
    if rows == 0:
        return math.nan
    prime = a * (1 - a) if activation == "sigmoid" else 1 - a * a
    low = np.count_nonzero(prime < SATURATION * PRIME_MAX[activation], axis=0)
    return np.count_nonzero(2 * low > rows) / units


def dead_fraction(activation: str, z: Array) -> float | None:
    """The fraction of units with z ≤ 0 on every row (z: (rows, units)); None unless
    `activation` is relu, leaky-relu or prelu."""
    if activation not in RECTIFIERS:
        return None
    if z.shape[0] == 0:
        return math.nan
    return np.count_nonzero(np.all(z <= 0, axis=0)) / z.shape[1]


def measure(net: Network, x: Array, y: Array) -> list[dict[str, float | None]]:
    """Each layer's speed of learning, saturated and dead fractions on the batch (x, y),
    first hidden layer first; one backprop with dropout off."""
    grads, trace = net.backprop(x, y)
    rows = []
    for l, act in enumerate(net.activations):
        rows.append({
            # ∂C/∂b^l is the batch mean of δ^l: Network.backprop's grad_b.
            "speed": _norm(grads.b[l]),
            "saturated": saturated_fraction(act.name, trace.zs[l], trace.activations[l + 1]),
            "dead": dead_fraction(act.name, trace.zs[l]),
        })
    return rows


def update_ratio(before: Array, after: Array) -> float:
    """‖after − before‖_F / ‖before‖_F (NaN when both are zero, inf for a step from 0)."""
    before = np.asarray(before, dtype=np.float64)
    step, size = _norm(np.asarray(after, dtype=np.float64) - before), _norm(before)
    if size == 0.0:
        return math.nan if step == 0.0 else math.inf
    return step / size


def _norm(x: Array) -> float:
    """The Euclidean (Frobenius) norm, summed in float64; quicker than np.linalg.norm on
    the small arrays of a small network, measured every epoch."""
    flat = np.asarray(x, dtype=np.float64).ravel()
    return math.sqrt(float(np.dot(flat, flat)))


def probe_rows(n: int, seed: int) -> Array:
    """The probe batch: up to PROBE_SIZE of `n` training rows, drawn once from `seed`,
    in increasing order (the same rows every epoch, and after a resume)."""
    rng = np.random.default_rng([seed, PROBE_STREAM])
    return np.sort(rng.choice(n, size=min(n, PROBE_SIZE), replace=False))


def empty_series(net: Network) -> list[dict[str, Any]]:
    """One record per layer, each series empty (None where the activation has none)."""
    return [{"layer": l, "units": int(w.shape[0]), "activation": act.name, "speed": [],
             "saturated": [] if act.name in PRIME_MAX else None,
             "dead": [] if act.name in RECTIFIERS else None, "update_ratio": []}
            for l, (w, act) in enumerate(zip(net.w, net.activations), start=1)]


def record(series: list[dict[str, Any]], epoch: int, measured: list[dict[str, float | None]],
           ratios: list[float]) -> None:
    """Append epoch `epoch`'s (0-based) numbers to each layer's series; epochs missing
    before it (a run resumed from a checkpoint that kept none) are NaN, so index e is
    always epoch e + 1."""
    for layer, row, ratio in zip(series, measured, ratios):
        for key, value in (*row.items(), ("update_ratio", ratio)):
            values = layer[key]
            if values is None:
                continue
            del values[epoch:]  # (never twice for one epoch)
            values.extend([math.nan] * (epoch - len(values)))
            values.append(math.nan if value is None else float(value))


def _last(values: list[float] | None) -> float:
    return values[-1] if values else math.nan


def _median(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return float(np.median(finite)) if finite else math.nan


FITTED = 0.95  # a final training accuracy from which saturated units are confident ones


def fitted(train_accuracy: Any) -> bool:
    """True when the last epoch classified at least FITTED of the training examples right:
    saturated units then are the solution (confident units), not a brake on learning."""
    values = [] if train_accuracy is None else list(train_accuracy)
    return bool(values) and float(values[-1]) >= FITTED


def advice(series: list[dict[str, Any]], fused_output: bool = False, fitted: bool = False
           ) -> list[str]:
    """One line per worrying layer, with what to try: most units dead or saturated at the
    last epoch, or a median update ratio outside [RATIO_LOW, RATIO_HIGH]. The median over
    the epochs, not the last one: a decaying learning rate rightly ends with tiny steps.
    `fused_output`: the output layer's f′ cancels out of δ^L (sigmoid with cross-entropy),
    so its saturation is confidence, not a problem. `fitted`: see `fitted()`."""
    lines = []
    for i, layer in enumerate(series):
        l, units, act = layer["layer"], layer["units"], layer["activation"]
        output = i == len(series) - 1
        where = f"layer {l} ({units} {act} unit{'s' * (units != 1)})"
        dead = _last(layer.get("dead"))
        if dead > MOSTLY:
            lines.append(f"{where}: {dead:.0%} of the units are dead (z ≤ 0 on every probe "
                         "example at the last epoch) and learn no more; try a lower learning "
                         "rate, he init, or leaky-relu")
        saturated = _last(layer.get("saturated"))
        if saturated > MOSTLY and not fitted and not (output and fused_output):
            fix = ("the cross-entropy cost, whose δ^L = a − y has no f′(z) factor to slow "
                   "the outputs that are wrong" if output else
                   f"glorot init, standardised inputs (data.normalize: standardize), or relu "
                   f"instead of {act}")
            lines.append(f"{where}: {saturated:.0%} of the units are saturated (f′(z) below "
                         f"{SATURATION:.0%} of its maximum on most probe examples at the last "
                         f"epoch) and learn slowly; try {fix}")
        ratio = _median(layer.get("update_ratio") or [])
        if ratio < RATIO_LOW:
            lines.append(f"{where}: its weights barely move (median update ratio "
                         f"‖Δw‖/‖w‖ {ratio:.1e}, about 1e-3 is healthy); try a higher learning "
                         "rate, or relu and he init if its gradients vanish")
        elif ratio > RATIO_HIGH:
            lines.append(f"{where}: its weights jump (median update ratio ‖Δw‖/‖w‖ "
                         f"{ratio:.1e}, about 1e-3 is healthy); try a lower learning rate")
    return lines
