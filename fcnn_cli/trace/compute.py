"""The computation of a trace: one forward pass, one backward pass, one gradient-descent
step and a gradient check, all in float64, into one `TraceResult` that every output
(terminal tables, JSON, markdown, SVG, HTML) only formats."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.errors import FcnnError, did_you_mean
from fcnn_cli.nn import Network, make_activation, make_cost
from fcnn_cli.nn.activations import LeakyReLU, PReLU
from fcnn_cli.nn.gradcheck import central_difference, gradient_check, max_relative_error
from fcnn_cli.trace.examples import (
    ArchitectureExample,
    GateExample,
    SoftmaxExample,
    TraceSpec,
    _number,
    load,
)
from fcnn_cli.trace.formatting import WIDE, Array, fmt

if TYPE_CHECKING:
    from fcnn_cli.model import Model

# Above this many parameters finite differences over every entry get slow (two forward
# passes each), so the check samples entries instead; see `_sampled_check`.
FULL_CHECK_LIMIT = 2000


# --- the computed trace ----------------------------------------------------------------

@dataclass
class LayerTrace:
    """Everything about layer l (numbered from 1): rows of z, a, δ are examples."""

    l: int
    activation: str
    w: Array
    b: Array
    z: Array
    a: Array
    delta: Array
    dC_dw: Array
    dC_db: Array
    w_new: Array
    b_new: Array

    @property
    def units(self) -> int:
        return self.w.shape[0]

    @property
    def inputs(self) -> int:
        return self.w.shape[1]

    @property
    def wide(self) -> bool:
        return self.units > WIDE or self.inputs > WIDE


@dataclass
class TraceResult:
    x: Array
    y: Array
    cost_name: str
    cost: float
    lr: float
    layers: list[LayerTrace]
    max_rel_error: float
    checked: str                     # which parameters the gradient check covered
    description: str = ""
    notes: str = ""
    comparisons: list[TraceResult] = field(default_factory=list)
    header: list[str] = field(default_factory=list)   # extra lines, e.g. the model's prediction
    class_names: list[str] | None = None               # the output units' labels, if known

    @property
    def architecture(self) -> list[int]:
        return [self.layers[0].inputs] + [layer.units for layer in self.layers]

    @property
    def n(self) -> int:
        return self.x.shape[0]

    def unit(self, l: int, j: int) -> str:
        """Unit j (0-based) of layer l as shown: numbered from 1, with its class if it has one."""
        if l == len(self.layers) and self.class_names and j < len(self.class_names):
            return f"{j + 1} ({self.class_names[j]})"
        return str(j + 1)

    def layer_input(self, l: int) -> Array:
        """a^{l−1}: the input of layer l (the network's x for layer 1)."""
        return self.x if l == 1 else self.layers[l - 2].a

    def per_example_dC_dw(self, l: int) -> Array:
        """∂C_n/∂w^l = δ^{n,l} (a^{n,l−1})ᵀ for each example n: shape (N, units_l, units_{l−1})."""
        return np.einsum("nj,ni->nji", self.layers[l - 1].delta, self.layer_input(l))


# --- the trace -------------------------------------------------------------------------

def trace_network(net: Network, x: Array, y: Array, lr: float) -> TraceResult:
    """Forward, backward, one step w − η·∂C/∂w and a gradient check, on a float64 network."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    grads, trace = net.backprop(x, y)
    cost = net.cost_value(x, y)
    if not math.isfinite(cost):
        raise FcnnError(f"the {net.cost.name} cost is not finite for these weights and inputs "
                        "(cross-entropy and log-likelihood need outputs in (0, 1): use a sigmoid "
                        "or softmax output layer)")
    n_params = sum(p.size for p in net.params())
    if n_params <= FULL_CHECK_LIMIT:
        error, checked = gradient_check(net, x, y), f"all {n_params} parameters"
    else:
        error, checked = _sampled_check(net, x, y)
    layers = [
        LayerTrace(l + 1, act.name, w, b, trace.zs[l], trace.activations[l + 1],
                   trace.deltas[l], gw, gb, w - lr * gw, b - lr * gb)
        for l, (w, b, act, gw, gb) in enumerate(zip(net.w, net.b, net.activations,
                                                    grads.w, grads.b))
    ]
    return TraceResult(x, y, net.cost.name, cost, lr, layers, error, checked)


def compute_trace(spec: TraceSpec) -> TraceResult:
    result = trace_network(spec.network(), spec.x, spec.y, spec.lr)
    result.description, result.notes = spec.description, spec.notes
    result.comparisons = [trace_network(spec.network(cost), spec.x, spec.y, spec.lr)
                          for cost in spec.compare_costs]
    return result


def _sampled_check(net: Network, x: Array, y: Array, per_array: int = 10,
                   eps: float = 1e-5) -> tuple[float, str]:
    """Finite differences on a sample of each array: its `per_array` largest gradients
    (where an error would show) and as many random entries (where it might hide)."""
    grads, _ = net.backprop(x, y)
    rng = np.random.default_rng(0)
    worst, count = 0.0, 0
    for p, g in zip(net.params(), net.grads_list(grads)):
        flat = p.reshape(-1)   # a view: nudging it nudges the network's own array
        largest = np.argsort(-np.abs(g.reshape(-1)))[:per_array]
        randoms = rng.choice(flat.size, size=min(per_array, flat.size), replace=False)
        chosen = np.unique(np.concatenate([largest, randoms]))
        numeric = np.array([central_difference(net, x, y, flat, int(i), eps) for i in chosen])
        worst = max(worst, max_relative_error([g.reshape(-1)[chosen]], [numeric]))
        count += chosen.size
    total = sum(p.size for p in net.params())
    return worst, (f"{count:,} of {total:,} parameters (each array's largest gradients and a "
                   "random few)")


def to_float64(net: Network) -> Network:
    """A float64 copy of `net` (a trace is computed in float64), slopes included."""
    acts = []
    for act, w in zip(net.activations, net.w):
        if isinstance(act, PReLU):
            acts.append(PReLU(np.asarray(act.alpha, dtype=np.float64).copy()))
        elif isinstance(act, LeakyReLU):
            acts.append(LeakyReLU(act.slope))
        else:
            acts.append(make_activation(act.name, w.shape[0], np.float64))
    return Network([np.asarray(w, dtype=np.float64).copy() for w in net.w],
                   [np.asarray(b, dtype=np.float64).copy() for b in net.b],
                   acts, make_cost(net.cost.name))


# --- a trained model on one real input -------------------------------------------------

def build(name_or_path: str) -> TraceResult | SoftmaxExample | GateExample | ArchitectureExample:
    """What `fcnn forward-trace NAME_OR_FILE` shows: a computed trace, or a non-network example."""
    example = load(name_or_path)
    return compute_trace(example) if isinstance(example, TraceSpec) else example


def trace_model(model: Model, given: str | Path | np.ndarray, target: str | None = None,
                lr: float | None = None) -> TraceResult:
    """The trace of a trained model on one input in raw units: a file (image, one-row .npy
    or .csv) or an array holding one example."""
    from fcnn_cli.inputs import as_rows, iter_batches

    if isinstance(given, np.ndarray):
        rows, names, empty = as_rows(given, model, "the array"), ["the array"], [False]
    else:
        batches = list(iter_batches([given], model, workers=1))
        rows = np.concatenate([batch.x for batch in batches])
        names = [name for batch in batches for name in batch.names]
        empty = [flag for batch in batches for flag in batch.looked_empty]
    if len(rows) != 1:
        what = "the array" if isinstance(given, np.ndarray) else given
        raise FcnnError(f"{what} holds {len(rows)} inputs; forward-trace follows one example: "
                        "give a single image or a one-row .npy/.csv")
    net = to_float64(model.network)
    x = np.asarray(model.prepare(rows), dtype=np.float64)
    out = net.predict(x)[0]
    header = [f"model {model.display_name} on {names[0]}"]
    if empty[0]:
        header.append("warning: the image looked empty (no ink found)")
    if model.class_names is not None:
        names = model.class_names
        predicted = int(np.argmax(out))
        header.append(f"prediction: {names[predicted]!r} (a = {fmt(out[predicted])})")
        if target is None:
            index = predicted
            header.append(f"target y: {names[index]!r}, the predicted class (give --target "
                          "LABEL to see the gradients that would push towards another)")
        else:
            index = _class_index(target, names)
            header.append(f"target y: {names[index]!r} (one-hot)")
        y = np.zeros((1, out.shape[0]))
        y[0, index] = 1.0
    else:
        values_out = model.in_target_units(out[None, :].astype(np.float32))[0]
        header.append("prediction: " + ", ".join(
            f"{name} = {fmt(v)}" for name, v in zip(model.output_names, values_out)))
        if target is None:
            raise FcnnError(f"{model.display_name} is a regression model: give --target with "
                            f"{out.shape[0]} comma-separated numbers")
        values = [_number(v, "--target", "--target") for v in target.split(",")]
        if len(values) != out.shape[0]:
            raise FcnnError(f"--target has {len(values)} numbers but the model has "
                            f"{out.shape[0]} outputs; give one number per output")
        y = np.array([values])
        if model.target_normalizer is not None:  # the network learned standardised targets
            y = np.asarray(model.target_normalizer(y), dtype=np.float64)
            header.append(f"target y: {target} in the targets' units, standardised to "
                          f"{', '.join(fmt(v) for v in y[0])} as in training")
    if lr is not None:
        eta, why = lr, " (--lr)"
    elif (configured := _configured_lr(model.config_text)) is not None:
        eta, why = configured, " (the model's configured learning rate)"
    else:
        eta, why = 0.1, " (the model records none; choose with --lr)"
    header.append(f"update: one plain gradient-descent step with η = {fmt(eta)}{why}")
    result = trace_network(net, x, y, eta)
    result.header, result.class_names = header, model.class_names
    return result


def _class_index(target: str, names: list[str]) -> int:
    if target in names:
        return names.index(target)
    if target.isdigit() and int(target) < len(names):
        return int(target)
    raise FcnnError(f"--target {target!r} is not one of the model's classes "
                    f"({', '.join(names)}){did_you_mean(target, names)}")


def _configured_lr(config_text: str) -> float | None:
    """The learning rate the model was trained with, or None where it records none."""
    from fcnn_cli.yamlfile import parse

    try:
        lr = parse(config_text, "the model's stored config")["training"]["optimizer"]["lr"]
        return float(lr)
    except (FcnnError, KeyError, TypeError, ValueError):
        return None
