"""forward-trace: the lecture's worked examples, with real numbers, on any small network.

A trace file (DESIGN §5) gives the inputs, the targets and every layer's weights; the
trace is one forward pass, one backward pass, one gradient-descent step and a gradient
check, all in float64.  Three built-in examples are not networks (`kind: softmax`,
`kind: gate`, `kind: architecture`); they are computed here too, so that every renderer
(rich tables in `ui.py`, markdown in `trace_markdown.py`, JSON here) only formats numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.errors import FcnnError, did_you_mean
from fcnn_cli.nn import ACTIVATIONS, COSTS, Network, make_activation, make_cost
from fcnn_cli.nn.activations import LeakyReLU, PReLU
from fcnn_cli.nn.gradcheck import central_difference, gradient_check, max_relative_error
from fcnn_cli.shipped import trace_examples

if TYPE_CHECKING:
    from fcnn_cli.model import Model

Array = np.ndarray

# Above this many parameters finite differences over every entry get slow (two forward
# passes each), so the check samples entries instead; see `_sampled_check`.
FULL_CHECK_LIMIT = 2000
# A layer wider than this (in units or inputs) is summarised rather than printed.
WIDE = 16

_TRACE_REQUIRED = ("x", "y", "lr", "layers")
_TRACE_OPTIONAL = ("activation", "cost", "description", "notes", "compare_costs")
_KIND_KEYS = {
    "softmax": (("x",), ("kind", "description", "notes")),
    "gate": (("x", "y", "z"), ("kind", "description", "notes", "nudge")),
    "architecture": (("shapes",), ("kind", "description", "notes")),
}


# --- symbols and numbers --------------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def sup(n: int | str) -> str:
    """`sup(2)` is '²': layer indices written as the lecture writes them."""
    return str(n).translate(_SUPERSCRIPTS)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _short(value: Any) -> str:
    """repr(value), cut to fit in a one-line error message."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def fmt(value: float) -> str:
    """A number to about four significant digits, without a misleading '-0'."""
    value = float(value)
    if value == 0:
        return "0"
    return f"{value:.4g}"


def fmt_new(new: float, old: float) -> str:
    """An updated value with enough digits to show that it moved (η·∂C/∂w is often tiny)."""
    for digits in range(4, 11):
        text = f"{float(new):.{digits}g}"
        if new == old or text != f"{float(old):.{digits}g}":
            return fmt(new) if digits == 4 else text
    return text


def fmt_array(values: Array) -> str:
    """A small array on one line: [0.5, 0.25] or [[1, 2], [3, 4]]."""
    values = np.asarray(values)
    if values.ndim == 0:
        return fmt(values)
    return "[" + ", ".join(fmt_array(v) for v in values) + "]"


def fmt_shape(a: Array) -> str:
    """An array's shape as the lecture writes it: 3×2."""
    return "×".join(str(s) for s in a.shape)


# --- parsed inputs ---------------------------------------------------------------------

@dataclass
class TraceSpec:
    """A network example: inputs, targets, weights (w^l is units_l × units_{l−1}), η."""

    x: Array
    y: Array
    w: list[Array]
    b: list[Array]
    activations: list[str]
    cost: str
    lr: float
    description: str = ""
    notes: str = ""
    compare_costs: list[str] = field(default_factory=list)

    def network(self, cost: str | None = None) -> Network:
        """A fresh float64 Network with copies of the weights (so a trace never edits them)."""
        acts = [make_activation(name, w.shape[0], np.float64)
                for name, w in zip(self.activations, self.w)]
        return Network([w.copy() for w in self.w], [b.copy() for b in self.b], acts,
                       make_cost(cost or self.cost))


@dataclass
class SoftmaxExample:
    """The lecture's softmax table: x_j, e^{x_j} and e^{x_j} / Σ_k e^{x_k}."""

    x: Array
    exp: Array
    p: Array
    description: str = ""
    notes: str = ""


@dataclass
class GateExample:
    """f(x, y, z) = (x + y)·z as two gates, with local and chained gradients."""

    x: float
    y: float
    z: float
    q: float
    f: float
    df_dq: float
    df_dz: float
    dq_dx: float
    dq_dy: float
    df_dx: float
    df_dy: float
    nudge_name: str
    nudge_by: float
    f_nudged: float
    description: str = ""
    notes: str = ""

    @property
    def nudged_value(self) -> float:
        return {"x": self.x, "y": self.y, "z": self.z}[self.nudge_name] + self.nudge_by


@dataclass
class ArchitectureExample:
    """Weight shapes → layer sizes: w^l has one row per neuron of l, one column per l−1."""

    shapes: list[tuple[int, int]]
    sizes: list[int]
    description: str = ""
    notes: str = ""


Example = TraceSpec | SoftmaxExample | GateExample | ArchitectureExample


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


# --- loading ---------------------------------------------------------------------------

def gradient_check_warning(result: TraceResult, tolerance: float = 1e-4) -> str | None:
    """What a failed gradient check most likely means, or None when it passed."""
    if result.max_rel_error <= tolerance:
        return None
    return (f"backprop and finite differences disagree (relative error "
            f"{result.max_rel_error:.2e} > {tolerance:g}): outputs saturated at 0 or 1 make "
            "the cost flat or clipped there, so the numerical gradient is not trustworthy; "
            "try smaller weights or inputs")


def list_examples() -> list[tuple[str, str]]:
    """(name, one-line description) of every built-in example."""
    out = []
    for name, path in trace_examples().items():
        data = _parse_yaml(path.read_text("utf-8"), f"example {name!r}")
        description = data.get("description", "") if isinstance(data, dict) else ""
        out.append((name, str(description).strip().splitlines()[0] if description else ""))
    return out


def load(name_or_path: str) -> Example:
    """A built-in example by name, or a trace file by path."""
    path = Path(name_or_path)
    if path.suffix.lower() in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise FcnnError(f"trace file {name_or_path} not found; give a YAML trace file "
                            "(DESIGN §5) or an example name from `fcnn forward-trace --list`")
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise FcnnError(f"cannot read trace file {name_or_path}: {error}") from None
        return parse_document(_parse_yaml(text, str(path)), str(path))
    examples = trace_examples()
    if name_or_path not in examples:
        raise FcnnError(f"unknown example {name_or_path!r}{did_you_mean(name_or_path, examples)}; "
                        "run `fcnn forward-trace --list` to see the examples, or give a "
                        "path to a .yaml trace file")
    text = examples[name_or_path].read_text("utf-8")
    return parse_document(_parse_yaml(text, f"example {name_or_path!r}"),
                          f"example {name_or_path!r}")


def _parse_yaml(text: str, source: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error).strip().splitlines()[0]
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FcnnError(f"{source}{where}: malformed YAML ({problem}); "
                        "check the indentation and brackets there") from None




def _check_keys(data: dict, required: tuple[str, ...], optional: tuple[str, ...],
                where: str) -> None:
    allowed = (*required, *optional)
    for key in data:
        if key not in allowed:
            raise FcnnError(f"{where}: unknown key {key!r}{did_you_mean(str(key), allowed)}; "
                            f"allowed keys: {', '.join(allowed)}")
    for key in required:
        if key not in data:
            raise FcnnError(f"{where}: missing key {key!r}; required keys: {', '.join(required)}")


def parse_document(data: Any, source: str) -> Example:
    """A parsed YAML document → an example, validated; every problem is one FcnnError line."""
    if not isinstance(data, dict):
        raise FcnnError(f"{source}: expected a mapping with keys {', '.join(_TRACE_REQUIRED)} "
                        f"(see DESIGN §5), got {type(data).__name__}")
    kind = data.get("kind")
    if kind is None:
        return parse_trace(data, source)
    if kind not in _KIND_KEYS:
        hint = did_you_mean(str(kind), list(_KIND_KEYS))
        raise FcnnError(f"{source}: unknown kind {kind!r}{hint}; "
                        f"expected one of {', '.join(_KIND_KEYS)} (or no kind for a network)")
    required, optional = _KIND_KEYS[kind]
    _check_keys(data, required, optional, source)
    text = {key: _text(data.get(key), key, source) for key in ("description", "notes")}
    if kind == "softmax":
        return softmax_example(_vector(data["x"], "x", source), **text)
    if kind == "gate":
        values = {key: _number(data[key], key, source) for key in ("x", "y", "z")}
        nudge = data.get("nudge", {"x": 1})
        if not (isinstance(nudge, dict) and len(nudge) == 1 and next(iter(nudge)) in values):
            raise FcnnError(f"{source}: nudge must name one input and a step, e.g. nudge: {{x: 1}}")
        (name, step), = nudge.items()
        return gate_example(**values, nudge_name=name,
                            nudge_by=_number(step, f"nudge {name}", source), **text)
    shapes = data["shapes"]
    if not (isinstance(shapes, list) and shapes):
        raise FcnnError(f"{source}: shapes must be a list of [rows, columns], one per layer")
    pairs = []
    for l, shape in enumerate(shapes, start=1):
        if not (isinstance(shape, list) and len(shape) == 2
                and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)):
            raise FcnnError(f"{source}: shapes entry {l} (w{sup(l)}) must be [rows, columns] "
                            f"of positive integers, got {_short(shape)}")
        pairs.append((shape[0], shape[1]))
    return ArchitectureExample(pairs, architecture_of(pairs, source), **text)


def _text(value: Any, key: str, source: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FcnnError(f"{source}: {key} must be text, got {type(value).__name__}")
    return value.strip()


def _number(value: Any, where: str, source: str) -> float:
    # PyYAML reads 1e-3 (no dot) as a string; accept it as the number the user meant.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FcnnError(f"{source}: {where}: expected a number, got {_short(value)}")
    try:
        number = float(value)
    except ValueError:
        raise FcnnError(f"{source}: {where}: expected a number, got {_short(value)}") from None
    if not math.isfinite(number):
        raise FcnnError(f"{source}: {where}: {value!r} is not a finite number")
    return number


def _vector(value: Any, name: str, source: str) -> Array:
    if not isinstance(value, list) or not value:
        raise FcnnError(f"{source}: {name} must be a non-empty list of numbers, "
                        f"got {_short(value)}")
    return np.array([_number(v, f"{name} entry {i}", source)
                     for i, v in enumerate(value, start=1)])


def _matrix(value: Any, name: str, source: str, flat_is_row: bool = False) -> Array:
    """A list of equal-length rows of numbers; with `flat_is_row`, [1, 2] means [[1, 2]]."""
    if flat_is_row and isinstance(value, list) and value and not isinstance(value[0], list):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(r, list) for r in value):
        raise FcnnError(f"{source}: {name} must be a list of rows, e.g. [[1, 2], [3, 4]], "
                        f"got {_short(value)}")
    width = len(value[0])
    for i, row in enumerate(value, start=1):
        if len(row) != width:
            raise FcnnError(f"{source}: {name} has ragged rows: row {i} has "
                            f"{plural(len(row), 'number')} but row 1 has {width}; "
                            "every row needs the same count")
    if width == 0:
        raise FcnnError(f"{source}: {name} has empty rows")
    return np.array([[_number(v, f"{name} row {i} column {j}", source)
                      for j, v in enumerate(row, start=1)]
                     for i, row in enumerate(value, start=1)])


def architecture_of(shapes: list[tuple[int, int]], source: str) -> list[int]:
    """[I, units_1, ..., units_L] from the shapes of w¹..w^L, or the first link that breaks."""
    sizes = [shapes[0][1]]
    for l, (rows, cols) in enumerate(shapes, start=1):
        if cols != sizes[-1]:
            raise FcnnError(
                f"{source}: layer {l}: w{sup(l)} is {rows}×{cols} but layer {l - 1} has "
                f"{plural(sizes[-1], 'neuron')} (w{sup(l - 1)} is "
                f"{shapes[l - 2][0]}×{shapes[l - 2][1]}); "
                f"w{sup(l)} needs {sizes[-1]} columns, one per neuron of layer {l - 1}")
        sizes.append(rows)
    return sizes


def _name(value: Any, names: tuple[str, ...], what: str, where: str) -> str:
    if value not in names:
        hint = did_you_mean(str(value), names)
        raise FcnnError(f"{where}: unknown {what} {_short(value)}{hint}; "
                        f"expected one of {', '.join(names)}")
    return value


def parse_trace(data: dict, source: str) -> TraceSpec:
    """A DESIGN §5 trace file (plus optional description, notes, compare_costs), validated."""
    _check_keys(data, _TRACE_REQUIRED, _TRACE_OPTIONAL, source)
    default_act = _name(data.get("activation", "sigmoid"), ACTIVATIONS, "activation", source)
    cost = _name(data.get("cost", "quadratic"), COSTS, "cost", source)
    compare = data.get("compare_costs") or []
    if not isinstance(compare, list):
        raise FcnnError(f"{source}: compare_costs must be a list of cost names")
    compare = [_name(c, COSTS, "cost in compare_costs", source) for c in compare]
    lr = _number(data["lr"], "lr", source)
    if lr < 0:
        raise FcnnError(f"{source}: lr (η) must be ≥ 0, got {lr}")
    layers = data["layers"]
    if not isinstance(layers, list) or not layers:
        raise FcnnError(f"{source}: layers must be a non-empty list of {{w: [[..]], b: [..]}}")
    ws, bs, acts = [], [], []
    for l, layer in enumerate(layers, start=1):
        where = f"{source}: layer {l}"
        if not isinstance(layer, dict):
            raise FcnnError(f"{where}: expected a mapping like {{w: [[1, 2]], b: [0]}}, "
                            f"got {_short(layer)}")
        _check_keys(layer, ("w",), ("b", "activation"), where)
        w = _matrix(layer["w"], f"layer {l}: w{sup(l)}", source)
        b = (np.zeros(w.shape[0]) if layer.get("b") is None
             else _vector(layer["b"], f"layer {l}: b{sup(l)}", source))
        if b.shape[0] != w.shape[0]:
            raise FcnnError(f"{where}: b{sup(l)} has {plural(b.shape[0], 'number')} but "
                            f"w{sup(l)} is {fmt_shape(w)} ({plural(w.shape[0], 'neuron')}); "
                            "give one bias per row of w")
        acts.append(_name(layer.get("activation", default_act), ACTIVATIONS, "activation", where))
        ws.append(w)
        bs.append(b)
    sizes = architecture_of([(w.shape[0], w.shape[1]) for w in ws], source)
    x = _matrix(data["x"], "x", source, flat_is_row=True)
    y = _matrix(data["y"], "y", source, flat_is_row=True)
    if x.shape[1] != sizes[0]:
        raise FcnnError(f"{source}: x is {fmt_shape(x)} ({x.shape[1]} inputs per example) but "
                        f"w¹ is {fmt_shape(ws[0])} and needs {sizes[0]} inputs per example")
    if y.shape[1] != sizes[-1]:
        L = len(ws)
        raise FcnnError(f"{source}: y is {fmt_shape(y)} ({y.shape[1]} targets per example) but the "
                        f"output layer {L} has {plural(sizes[-1], 'unit')} "
                        f"(w{sup(L)} is {fmt_shape(ws[-1])}); give one target per output unit")
    if y.shape[0] != x.shape[0]:
        raise FcnnError(f"{source}: x has {plural(x.shape[0], 'row')} but y has "
                        f"{plural(y.shape[0], 'row')}; give one target row per input row "
                        "(one row per example)")
    return TraceSpec(x, y, ws, bs, acts, cost, lr,
                     _text(data.get("description"), "description", source),
                     _text(data.get("notes"), "notes", source), compare)


# --- the non-network examples ----------------------------------------------------------

def softmax_example(x: Array, description: str = "", notes: str = "") -> SoftmaxExample:
    # Plain e^x, not shifted by max(x): the lecture's table shows e^x itself.
    exp = np.exp(x)
    return SoftmaxExample(x, exp, exp / exp.sum(), description, notes)


def gate_example(x: float, y: float, z: float, nudge_name: str = "x", nudge_by: float = 1.0,
                 description: str = "", notes: str = "") -> GateExample:
    def f(x: float, y: float, z: float) -> float:
        return (x + y) * z

    q = x + y
    df_dq, df_dz = z, q            # the multiply gate swaps its inputs
    dq_dx = dq_dy = 1.0            # the add gate passes the gradient through
    nudged = {"x": x, "y": y, "z": z}
    nudged[nudge_name] += nudge_by
    return GateExample(x, y, z, q, f(x, y, z), df_dq, df_dz, dq_dx, dq_dy,
                       df_dq * dq_dx, df_dq * dq_dy, nudge_name, nudge_by, f(**nudged),
                       description, notes)


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
    return worst, f"{count} of {total} parameters (each array's largest gradients and a random few)"


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


# --- JSON ------------------------------------------------------------------------------

def trace_json(result: TraceResult) -> dict:
    """Exactly the DESIGN §5 object."""
    return {
        "architecture": result.architecture,
        "x": result.x.tolist(),
        "y": result.y.tolist(),
        "cost_name": result.cost_name,
        "cost": result.cost,
        "lr": result.lr,
        "layers": [{
            "l": layer.l, "activation": layer.activation,
            "w": layer.w.tolist(), "b": layer.b.tolist(),
            "z": layer.z.tolist(), "a": layer.a.tolist(), "delta": layer.delta.tolist(),
            "dC_dw": layer.dC_dw.tolist(), "dC_db": layer.dC_db.tolist(),
            "w_new": layer.w_new.tolist(), "b_new": layer.b_new.tolist(),
        } for layer in result.layers],
        "gradient_check": {"max_rel_error": result.max_rel_error},
    }


def example_json(example: SoftmaxExample | GateExample | ArchitectureExample) -> dict:
    """The non-network examples as JSON (DESIGN §5 covers only traces; these add `kind`)."""
    if isinstance(example, SoftmaxExample):
        return {"kind": "softmax", "x": example.x.tolist(), "exp": example.exp.tolist(),
                "exp_total": float(example.exp.sum()), "softmax": example.p.tolist(),
                "softmax_total": float(example.p.sum())}
    if isinstance(example, GateExample):
        return {"kind": "gate", "function": "f = (x + y) * z",
                "inputs": {"x": example.x, "y": example.y, "z": example.z},
                "forward": {"q": example.q, "f": example.f},
                "local": {"df_dq": example.df_dq, "df_dz": example.df_dz,
                          "dq_dx": example.dq_dx, "dq_dy": example.dq_dy},
                "chained": {"df_dx": example.df_dx, "df_dy": example.df_dy,
                            "df_dz": example.df_dz},
                "nudge": {"input": example.nudge_name, "by": example.nudge_by,
                          "f_after": example.f_nudged,
                          "change": example.f_nudged - example.f}}
    return {"kind": "architecture", "shapes": [list(s) for s in example.shapes],
            "architecture": example.sizes}


# --- text shared by the renderers (ui.py and trace_markdown.py) ------------------------

def top_delta_units(layer: LayerTrace, k: int = 5) -> Array:
    """The k units of a wide layer with the largest |δ| (largest over the examples)."""
    return np.argsort(-np.abs(layer.delta).max(axis=0), kind="stable")[:k]


def wide_layer_view(layer: LayerTrace) -> tuple[list[tuple[str, Array]], Array, str]:
    """For a layer too wide to print: the arrays to summarise (by JSON name), the units to
    show one per row, and a title for those rows.  The weight matrices are always
    summarised; the per-unit vectors only when there are more than WIDE units, and then
    the rows are the five units with the largest |δ|."""
    arrays = [("w", layer.w), ("dC_dw", layer.dC_dw), ("w_new", layer.w_new)]
    if layer.units <= WIDE:
        return arrays, np.arange(layer.units), "every unit"
    arrays += [("b", layer.b), ("z", layer.z), ("a", layer.a), ("delta", layer.delta),
               ("dC_db", layer.dC_db)]
    return arrays, top_delta_units(layer), "the 5 units with the largest |δ^l|"


def comparison_rows(result: TraceResult) -> tuple[list[str], list[list[str]]]:
    """One row per cost (this trace's first, then `comparisons`): C, δ^L and ∂C/∂w^l, ∂C/∂b^l."""
    L = len(result.layers)
    header = ["cost", "C", f"δ{sup(L)}"]
    for l in range(1, L + 1):
        header += [f"∂C/∂w{sup(l)}", f"∂C/∂b{sup(l)}"]
    rows = []
    for r in [result, *result.comparisons]:
        row = [r.cost_name, fmt(r.cost), fmt_array(r.layers[-1].delta)]
        for layer in r.layers:
            row += [fmt_array(layer.dC_dw), fmt_array(layer.dC_db)]
        rows.append(row)
    return header, rows


def gate_rows(g: GateExample, latex: bool = False) -> tuple[list[str], list[list[str]]]:
    """The circuit node by node: its value, its local gradient, and ∂f/∂node by the chain rule."""
    def d(top: str, bottom: str) -> str:
        return rf"\frac{{\partial {top}}}{{\partial {bottom}}}" if latex else f"∂{top}/∂{bottom}"

    def m(text: str) -> str:
        return f"${text}$" if latex else text

    times = r" \cdot " if latex else "·"
    header = ["node", "forward value", "local gradient", "gradient of f (chain rule)"]
    rows = [
        [m("x"), fmt(g.x), m(f"{d('q', 'x')} = {fmt(g.dq_dx)}"),
         m(f"{d('f', 'x')} = {d('f', 'q')}{times}{d('q', 'x')} = {fmt(g.df_dx)}")],
        [m("y"), fmt(g.y), m(f"{d('q', 'y')} = {fmt(g.dq_dy)}"),
         m(f"{d('f', 'y')} = {d('f', 'q')}{times}{d('q', 'y')} = {fmt(g.df_dy)}")],
        [m("z"), fmt(g.z), m(f"{d('f', 'z')} = q = {fmt(g.df_dz)}"),
         m(f"{d('f', 'z')} = {fmt(g.df_dz)}")],
        [m("q = x + y"), fmt(g.q), m(f"{d('f', 'q')} = z = {fmt(g.df_dq)}"),
         m(f"{d('f', 'q')} = {fmt(g.df_dq)}")],
        [m(f"f = q{times}z"), fmt(g.f), "", m(f"{d('f', 'f')} = 1")],
    ]
    return header, rows


def gate_sensitivity(g: GateExample) -> str:
    old = {"x": g.x, "y": g.y, "z": g.z}[g.nudge_name]
    grad = {"x": g.df_dx, "y": g.df_dy, "z": g.df_dz}[g.nudge_name]
    return (f"Sensitivity check: {g.nudge_name}: {fmt(old)} → {fmt(g.nudged_value)} changes f "
            f"by {fmt(g.f_nudged - g.f)} (f: {fmt(g.f)} → {fmt(g.f_nudged)}); the gradient "
            f"∂f/∂{g.nudge_name} = {fmt(grad)} predicted {fmt(grad * g.nudge_by)}.")


def architecture_reasoning(example: ArchitectureExample) -> str:
    arch = "-".join(str(s) for s in example.sizes)
    return (f"w^l has one row per neuron of layer l and one column per neuron of layer l−1, "
            f"so the inputs are w¹'s {example.sizes[0]} columns and each layer l has as many "
            f"neurons as w^l has rows: the network is {arch}.")


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
    eta = lr if lr is not None else _configured_lr(model.config_text)
    header.append(f"update: one plain gradient-descent step with η = {fmt(eta)}"
                  + (" (--lr)" if lr is not None else " (the model's configured learning rate)"))
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


def _configured_lr(config_text: str) -> float:
    import yaml

    try:
        lr = yaml.safe_load(config_text)["training"]["optimizer"]["lr"]
        return float(lr)
    except (yaml.YAMLError, KeyError, TypeError, ValueError):
        return 0.1
