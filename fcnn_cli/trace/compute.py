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
from fcnn_cli.nn.activations import Activation, LeakyReLU, PReLU
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
    # The factors of δ^l, as backprop multiplies them (set by `trace_network`):
    # δ^L = ∇_a C ⊙ f′(z^L) for the output layer, δ^l = ((w^{l+1})ᵀ δ^{l+1}) ⊙ f′(z^l) below.
    f_prime: Array | None = None     # f′(z^l), N × units (softmax: its Jacobian's diagonal)
    dC_da: Array | None = None       # ∇_a C, output layer only, N × units
    wT_delta: Array | None = None    # (w^{l+1})ᵀ δ^{l+1}, hidden layers only, N × units
    alpha: Array | None = None       # PReLU layers only: the slopes α^l (units,)
    dC_dalpha: Array | None = None   # ∂C/∂α^l, the batch mean (units,)
    alpha_new: Array | None = None   # α^l − η ∂C/∂α^l
    # How δ^l was formed: "a - y" (fused output pair), "dC_da * f_prime" (elementwise),
    # "J^T dC_da" (softmax output with another cost) or "wT_delta * f_prime" (hidden layer).
    delta_rule: str = ""

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
    # --steps K (trace/steps.py): C_0 … C_K, C_0 before any update; the layers above are
    # the K-th step's pass (the weights after K − 1 updates, w_new the K-th update).
    cost_history: list[float] | None = None
    steps: int = 1
    a_after: Array | None = None     # with --steps: the output a^L after all K updates
    label: str = ""                  # a variant's name, e.g. "cost: cross-entropy"

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
    for l, layer in enumerate(layers):
        _add_factors(net, layer, y, trace.deltas[l + 1] if l + 1 < len(layers) else None,
                     grads.alpha.get(l), lr)
    return TraceResult(x, y, net.cost.name, cost, lr, layers, error, checked)


def _add_factors(net: Network, layer: LayerTrace, y: Array, delta_above: Array | None,
                 dC_dalpha: Array | None, lr: float) -> None:
    """The factors whose product is δ^l, from the network's own code paths (the cost's
    `grad_a`, the activation's `prime`, the product `backprop` forms), not a second copy
    of the equations: δ^L = ∇_a C ⊙ f′(z^L), δ^l = ((w^{l+1})ᵀ δ^{l+1}) ⊙ f′(z^l)."""
    act = net.activations[layer.l - 1]
    layer.f_prime = _f_prime(act, layer.z, layer.a)
    if delta_above is None:
        layer.dC_da = net.cost.grad_a(layer.a, y)
        factor = "dC_da"
    else:
        layer.wT_delta = delta_above @ net.w[layer.l]    # (w^{l+1})ᵀ δ^{l+1}, as in backprop
        factor = "wT_delta"
    if delta_above is None and net.cost.fused_with == act.name:
        layer.delta_rule = "a - y"
    else:
        layer.delta_rule = f"{factor} * f_prime" if act.elementwise else f"J^T {factor}"
    if isinstance(act, PReLU):
        layer.alpha = np.array(act.alpha, dtype=np.float64)
        layer.dC_dalpha = (np.zeros_like(layer.alpha) if dC_dalpha is None
                           else np.asarray(dC_dalpha, dtype=np.float64))
        layer.alpha_new = layer.alpha - lr * layer.dC_dalpha


def _f_prime(act: Activation, z: Array, a: Array) -> Array:
    """f′(z) elementwise; for softmax, which couples its outputs, the diagonal of its
    Jacobian ∂a_j/∂z_j = a_j(1 − a_j), read off its own `backward` one unit at a time."""
    if act.elementwise:
        return act.prime(z, a)
    columns = [act.backward(z, a, np.broadcast_to(np.eye(z.shape[1])[j], z.shape))[:, j]
               for j in range(z.shape[1])]
    return np.stack(columns, axis=1)


def compute_trace(spec: TraceSpec, steps: int | None = None) -> TraceResult:
    """The trace of a parsed example: with `steps` (or the file's `steps:`) K updates and
    their cost history; with `vary:` one result per variant, the first holding the others
    in `comparisons`."""
    steps = steps if steps is not None else spec.steps
    results = [_run(variant, steps) for variant in spec.variants or [spec]]
    result = results[0]
    result.description, result.notes = spec.description, spec.notes
    result.comparisons = results[1:]
    return result


def _run(spec: TraceSpec, steps: int | None) -> TraceResult:
    """One variant's trace; a variant's failure names the variant."""
    from fcnn_cli.trace.steps import trace_steps

    try:
        if steps is None:
            result = trace_network(spec.network(), spec.x, spec.y, spec.lr)
        else:
            result = trace_steps(spec.network(), spec.x, spec.y, spec.lr, steps)
    except FcnnError as error:
        if not spec.label:
            raise
        raise FcnnError(f"variant {spec.label}: {error.message}", error.exit_code) from None
    result.label = spec.label
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


# --- the per-layer summary that closes a trace -----------------------------------------

@dataclass
class LayerSummary:
    """One layer in one line: how large its δ is, and how many units saturated or died."""

    l: int
    activation: str
    units: int
    mean_abs_delta: float            # mean of |δ^l| over examples and units
    dC_db_norm: float                # ‖∂C/∂b^l‖₂
    saturated: int | None            # units saturated on most examples; None if f cannot saturate
    dead: int | None                 # units with z ≤ 0 on every example; None unless ReLU-like
    saturation_below: float | None   # the f′ threshold of `saturated`: SATURATION × max f′


def layer_summaries(result: TraceResult) -> list[LayerSummary]:
    """Each layer's summary, with nn/diagnostics' definitions of saturated and dead units
    (the same ones training records), so a trace and `fcnn info` count alike."""
    from fcnn_cli.nn.diagnostics import (
        PRIME_MAX,
        SATURATION,
        dead_fraction,
        saturated_fraction,
    )

    summaries = []
    for layer in result.layers:
        saturated = saturated_fraction(layer.activation, layer.z, layer.a)
        dead = dead_fraction(layer.activation, layer.z)
        peak = PRIME_MAX.get(layer.activation)
        summaries.append(LayerSummary(
            layer.l, layer.activation, layer.units, float(np.abs(layer.delta).mean()),
            float(np.linalg.norm(layer.dC_db)),
            None if saturated is None else round(saturated * layer.units),
            None if dead is None else round(dead * layer.units),
            None if peak is None else SATURATION * peak))
    return summaries


# --- a trained model on one real input -------------------------------------------------

def build(name_or_path: str, steps: int | None = None
          ) -> TraceResult | SoftmaxExample | GateExample | ArchitectureExample:
    """What `fcnn forward-trace NAME_OR_FILE [--steps K]` shows: a computed trace, or a
    non-network example (which takes no steps)."""
    example = load(name_or_path)
    if isinstance(example, TraceSpec):
        return compute_trace(example, steps)
    if steps is not None:
        raise FcnnError(f"--steps goes with a network; {name_or_path} is a "
                        f"{type(example).__name__.removesuffix('Example').lower()} example, "
                        "not a network to train")
    return example


def trace_model(model: Model, given: str | Path | np.ndarray, target: str | None = None,
                lr: float | None = None, steps: int | None = None) -> TraceResult:
    """The trace of a trained model on one input in raw units: a file (image, one-row .npy
    or .csv) or an array holding one example; with `steps`, K updates on it (trace/steps.py)."""
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
        y = _class_target(model, out, target, header)
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
    taken = "one plain gradient-descent step" if steps is None else (
        f"{steps} plain gradient-descent step{'' if steps == 1 else 's'}")
    header.append(f"update: {taken} with η = {fmt(eta)}{why}")
    if steps is None:
        result = trace_network(net, x, y, eta)
    else:
        from fcnn_cli.trace.steps import trace_steps

        result = trace_steps(net, x, y, eta, steps)
    result.header, result.class_names = header, model.class_names
    if model.class_names is not None and out.shape[0] == 1:
        result.class_names = model.class_names[1:]   # the one unit is the second class's
    return result


def _class_target(model: Model, out: Array, target: str | None, header: list[str]) -> Array:
    """y for a classifier, with the header lines that say the prediction and the target.
    The prediction is `fcnn predict`'s: the class of the largest probability, where a
    single sigmoid output a is the probability of the second class (1 − a of the first)."""
    names = model.class_names or []
    probabilities = model.results(out[None, :])[0]
    predicted = int(np.argmax(probabilities))
    single = out.shape[0] == 1
    shown = f"a = {fmt(out[0])} {'>' if predicted else '≤'} 0.5" if single else \
        f"a = {fmt(out[predicted])}"
    header.append(f"prediction: {names[predicted]!r} ({shown})")
    index = predicted if target is None else _class_index(target, names)
    if single:
        header.append(f"the one sigmoid output a is the probability of {names[1]!r} (of "
                      f"{names[0]!r}: 1 − a), so y = 1 for {names[1]!r} and y = 0 for "
                      f"{names[0]!r}")
    if target is None:
        header.append(f"target y: {names[index]!r}, the predicted class (give --target "
                      "LABEL to see the gradients that would push towards another)")
    else:
        header.append(f"target y: {names[index]!r}" + (f" (y = {index})" if single
                                                        else " (one-hot)"))
    if single:
        return np.array([[float(index)]])
    y = np.zeros((1, out.shape[0]))
    y[0, index] = 1.0
    return y


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
