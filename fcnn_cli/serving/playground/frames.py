"""One frame of the playground as JSON: what a snapshot of the network computes over the
input plane (the decision boundary, every unit's picture), its weights and the Trainer's
diagnostics, ready for the page.

Pictures are raw uint8 bytes in standard base64, row-major, row 0 the top of the plane
(the largest x2), column 0 the left (the smallest x1), as `boundary.grid_inputs` lays
the grid out. Each grid goes through `Model.prepare` (the splits' normaliser) and the
network in one batched forward pass, as `boundary.compute_field` does.
"""

from __future__ import annotations

import base64
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.boundary import Extent, compute_field, grid_inputs, unit_range
from fcnn_cli.errors import FcnnError

if TYPE_CHECKING:
    from fcnn_cli.model import Model
    from fcnn_cli.nn import Network

HISTORY_POINTS = 500   # a frame's loss curves: at most this many epochs (the last one kept)
CURVE_DIGITS = 5       # ... each value to this many significant digits


def number(value: Any) -> float | None:
    """A float for JSON: NaN and infinities are null."""
    value = float(value)
    return value if math.isfinite(value) else None


def b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.uint8).tobytes()).decode()


def quantised(t: np.ndarray) -> np.ndarray:
    """Values in [0, 1] as 0–255 (NaN: the middle)."""
    t = np.nan_to_num(np.asarray(t, np.float64), nan=0.5, posinf=1.0, neginf=0.0)
    return np.rint(255 * np.clip(t, 0.0, 1.0)).astype(np.uint8)


def boundary_json(model: Model, extent: Extent, cells: int) -> dict[str, Any] | None:
    """The output over a cells × cells grid: p(second class) for two classes, else the
    class index with its probability as `confidence`; None where the outputs are not
    finite (a network on its way to diverging)."""
    try:
        field = compute_field(model, extent, cells)
    except FcnnError:
        return None
    if field.kind == "classes":
        assert field.confidence is not None
        return {"kind": "classes", "values": b64(field.values.astype(np.uint8)),
                "confidence": b64(quantised(field.confidence))}
    return {"kind": "probability", "values": b64(quantised(field.values)), "confidence": None}


def neurons_json(model: Model, extent: Extent, cells: int) -> list[dict[str, Any]]:
    """Every unit's a^l_j over a cells × cells grid, layer 0 (the normalised inputs)
    to the output layer, each mapped to 0–255 over `boundary.unit_range`."""
    net = model.network
    _, _, rows = grid_inputs(extent, cells)
    with np.errstate(over="ignore", invalid="ignore"):
        _, activations, _ = net.feedforward(model.prepare(rows))
    names = ["linear", *(act.name for act in net.activations)]
    out = []
    for l, (a, name) in enumerate(zip(activations, names)):
        a = np.asarray(a, np.float64)
        low, high = np.array([unit_range(a[:, j], name) for j in range(a.shape[1])]).T
        levels = quantised((a - low) / (high - low)).T   # one row per unit
        out += [{"layer": l, "unit": j + 1, "image": b64(levels[j])}
                for j in range(a.shape[1])]
    return out


def weights_json(net: Network) -> list[dict[str, Any]]:
    """w^l (units_l × units_{l−1}) and b^l of each layer l from 1."""
    def values(array: np.ndarray) -> list[Any]:
        listed = array.tolist()
        return listed if np.isfinite(array).all() else _clean(listed)

    return [{"layer": l, "w": values(w), "b": values(b)}
            for l, (w, b) in enumerate(zip(net.w, net.b), start=1)]


def _clean(value: Any) -> Any:
    return [_clean(v) for v in value] if isinstance(value, list) else number(value)


def diagnostics_json(series: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Each layer's last recorded speed, saturated and dead fractions and update ratio
    (the Trainer's own `state.diagnostics`); None before the first epoch."""
    if not series or not series[0]["speed"]:
        return None

    def last(values: list[float] | None) -> float | None:
        return None if not values else number(values[-1])

    return [{"layer": layer["layer"], "speed": last(layer["speed"]),
             "saturated": last(layer["saturated"]), "dead": last(layer["dead"]),
             "update_ratio": last(layer["update_ratio"])} for layer in series]


def thinned(history: dict[str, list[float]], most: int = HISTORY_POINTS
            ) -> dict[str, list[float | None]]:
    """The history at no more than `most` epochs spread evenly, the first and the last
    always among them, to CURVE_DIGITS significant digits (a curve needs no more; the
    exact numbers are `Session.history()`)."""
    n = len(history["epoch"])
    if n <= most:
        rows: Any = range(n)
    else:
        rows = np.unique(np.rint(np.linspace(0, n - 1, most)).astype(int)).tolist()
    return {key: [_short(values[i]) if key != "epoch" else values[i] for i in rows]
            for key, values in history.items()}


def _short(value: float) -> float | None:
    value = float(value)
    return float(f"{value:.{CURVE_DIGITS}g}") if math.isfinite(value) else None
