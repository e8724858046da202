"""The built-in worked examples and trace files (DESIGN §5): parsing and validation.

A trace file gives the inputs, the targets and every layer's weights.  Three built-in
examples are not networks (`kind: softmax`, `kind: gate`, `kind: architecture`); their
few numbers are computed here, as they are parsed.

Every key of a trace file, with an example of each (YAML; a number may be written 1e-3):

A network (no `kind:`):
    x: [[0.5, -1]]               required: the inputs, one row per example ([0.5, -1]
                                 is one row)
    y: [[0]]                     required: the targets, one row per example, one number
                                 per output unit (one-hot for softmax)
    lr: 0.01                     required: η, the step w → w − η·∂C/∂w (≥ 0)
    layers:                      required: w^l (one row per neuron of layer l, one column
      - {w: [[1, 2], [3, 4]], b: [0, 0]}         per neuron of layer l−1), b^l (default
      - {w: [[5, 6]], b: [0], activation: sigmoid}   zeros) and its activation (default
                                                     the file's `activation:`)
    activation: sigmoid          every layer's activation unless the layer names its own
                                 (default sigmoid); sigmoid, tanh, relu, leaky-relu,
                                 prelu (slopes start at 0.01), swish, linear, softmax
    cost: quadratic              quadratic (default), cross-entropy or log-likelihood
    description: "2-3-1 …"       one line: the title of the trace and of `--list`
    notes: "Assumed: …"          text printed after the trace
    steps: 150                   take this many gradient-descent steps on the same
                                 examples (as `--steps`): the cost after each, the tables
                                 of the last step
    vary: {cost: [quadratic, cross-entropy]}
                                 the same trace under each value of ONE of activation,
                                 cost, lr or layers (2 to 8 values), side by side:
                                 vary: {lr: [0.15, 1.5]}, vary: {activation: [sigmoid,
                                 relu]}, vary: {layers: [[{w: [[2]], b: [2]}],
                                 [{w: [[0.6]], b: [0.9]}]]} (then no `layers:`)
    compare_costs: [cross-entropy]
                                 short for vary: {cost: [COST, cross-entropy]}, COST
                                 being the file's `cost:`; not with `vary:`

Not a network (`kind:` names which; each also takes `description:` and `notes:`):
    kind: softmax                the lecture's softmax table, from
    x: [2, 1, -1]                x_j: e^{x_j} and e^{x_j} / Σ_k e^{x_k}
    kind: gate                   f(x, y, z) = (x + y)·z as an add and a multiply gate:
    x: -2                        forward values, local gradients and the chain rule,
    y: 5                         then a sensitivity check that moves one input:
    z: -4
    nudge: {x: 1}                the input to move and by how much (default {x: 1})
    kind: architecture           the layer sizes from the shapes of w¹ … w^L
    shapes: [[4, 2], [1, 4], [2, 1]]   [rows, columns] of each w^l: 2-4-1-2
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from fcnn_cli.errors import FcnnError, did_you_mean
from fcnn_cli.nn import ACTIVATIONS, COSTS, Network, make_activation, make_cost
from fcnn_cli.shipped import trace_examples
from fcnn_cli.trace.formatting import Array, fmt, fmt_array, fmt_shape, plural, sup

_TRACE_REQUIRED = ("x", "y", "lr", "layers")
_TRACE_OPTIONAL = ("activation", "cost", "description", "notes", "compare_costs", "vary",
                   "steps")
# What `vary:` may vary, one at a time, and the most variants shown side by side.
VARY_KEYS = ("activation", "cost", "lr", "layers")
MAX_VARIANTS = 8
_KIND_KEYS = {
    "softmax": (("x",), ("kind", "description", "notes")),
    "gate": (("x", "y", "z"), ("kind", "description", "notes", "nudge")),
    "architecture": (("shapes",), ("kind", "description", "notes")),
}
_MAX_EXP = math.log(np.finfo(np.float64).max)  # ≈ 709.78: e^x overflows above


def _short(value: Any) -> str:
    """repr(value), cut to fit in a one-line error message."""
    from fcnn_cli.yamlfile import shown

    return shown(value)


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
    steps: int | None = None     # the file's `steps:` (None: one step, no cost history)
    label: str = ""              # this variant's name, e.g. "cost: cross-entropy"
    variants: list[TraceSpec] = field(default_factory=list)  # `vary:`, this spec first

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

def list_examples() -> list[tuple[str, str]]:
    """(name, one-line description) of every built-in example."""
    out = []
    for name, path in trace_examples().items():
        data = _parse_yaml(path, f"example {name!r}")
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
        from fcnn_cli.yamlfile import read_yaml  # its limits: size, aliases, nesting

        return parse_document(read_yaml(path, "trace file"), str(path))
    examples = trace_examples()
    if name_or_path not in examples:
        raise FcnnError(f"unknown example {name_or_path!r}{did_you_mean(name_or_path, examples)}; "
                        "run `fcnn forward-trace --list` to see the examples, or give a "
                        "path to a .yaml trace file")
    return parse_document(_parse_yaml(examples[name_or_path], f"example {name_or_path!r}"),
                          f"example {name_or_path!r}")


def _parse_yaml(path: Path, source: str) -> Any:
    """A built-in example's document (a user's trace file goes through read_yaml)."""
    from fcnn_cli.yamlfile import parse

    return parse(path.read_text("utf-8"), source)


def _check_keys(data: dict, required: tuple[str, ...], optional: tuple[str, ...],
                where: str) -> None:
    allowed = (*required, *optional)
    for key in data:
        if key not in allowed:
            raise FcnnError(f"{where}: unknown key {_short(key)}"
                            f"{did_you_mean(str(key)[:80], allowed)}; "
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
    if not isinstance(kind, str) or kind not in _KIND_KEYS:
        hint = did_you_mean(str(kind)[:80], list(_KIND_KEYS))
        raise FcnnError(f"{source}: unknown kind {_short(kind)}{hint}; "
                        f"expected one of {', '.join(_KIND_KEYS)} (or no kind for a network)")
    required, optional = _KIND_KEYS[kind]
    _check_keys(data, required, optional, source)
    text = {key: _text(data.get(key), key, source) for key in ("description", "notes")}
    if kind == "softmax":
        x = _vector(data["x"], "x", source)
        if x.max() > _MAX_EXP:  # the table shows e^x itself, unshifted
            raise FcnnError(f"{source}: x entry {int(x.argmax()) + 1}: e^{x.max():g} is past the "
                            f"largest number (e^x overflows above x = {_MAX_EXP:.2f}); use "
                            "smaller inputs")
        return softmax_example(x, **text)
    if kind == "gate":
        values = {key: _number(data[key], key, source) for key in ("x", "y", "z")}
        nudge = data.get("nudge", {"x": 1})
        if not (isinstance(nudge, dict) and len(nudge) == 1 and next(iter(nudge)) in values):
            raise FcnnError(f"{source}: nudge must name one input and a step, e.g. nudge: {{x: 1}}")
        (name, step), = nudge.items()
        gate = gate_example(**values, nudge_name=name,
                            nudge_by=_number(step, f"nudge {name}", source), **text)
        if not all(map(math.isfinite, (gate.q, gate.f, gate.df_dz, gate.f_nudged))):
            raise FcnnError(f"{source}: (x + y)·z overflows with these inputs; use smaller "
                            "numbers")
        return gate
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
        raise FcnnError(f"{source}: {where}: {_short(value)} is not a finite number")
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
    """A DESIGN §5 trace file (plus optional description, notes, steps and vary, or its
    shorthand compare_costs), validated."""
    vary = _vary_mapping(data, source)
    required = tuple(k for k in _TRACE_REQUIRED if k != vary)  # vary's values stand for it
    optional = (*_TRACE_OPTIONAL, *(k for k in _TRACE_REQUIRED if k == vary))
    _check_keys(data, required, optional, source)
    default_act = _name(data.get("activation", "sigmoid"), ACTIVATIONS, "activation", source)
    cost = _name(data.get("cost", "quadratic"), COSTS, "cost", source)
    compare = data.get("compare_costs") or []
    if not isinstance(compare, list):
        raise FcnnError(f"{source}: compare_costs must be a list of cost names")
    compare = [_name(c, COSTS, "cost in compare_costs", source) for c in compare]
    lr = _lr(data["lr"], "lr", source) if "lr" in data else 0.0  # else: the first variant's
    x = _matrix(data["x"], "x", source, flat_is_row=True)
    y = _matrix(data["y"], "y", source, flat_is_row=True)
    if vary == "layers":  # the first variant's weights stand for the spec's own
        ws, bs, acts, _ = _layers(data["vary"]["layers"][0], default_act, x, y, source,
                                  "vary: layers entry 1")
    else:
        ws, bs, acts, _ = _layers(data["layers"], default_act, x, y, source, "layers")
    steps = None if data.get("steps") is None else _steps(data["steps"], source)
    spec = TraceSpec(x, y, ws, bs, acts, cost, lr,
                     _text(data.get("description"), "description", source),
                     _text(data.get("notes"), "notes", source), compare, steps)
    if compare:  # the shorthand: this cost, then each other one
        costs = list(dict.fromkeys([cost, *compare]))
        spec.variants = [replace(spec, cost=c, label=f"cost: {c}") for c in costs]
    elif vary is not None:
        spec.variants = _variants(spec, data, default_act, source)
    if spec.variants:
        first = spec.variants[0]
        spec.w, spec.b, spec.activations = first.w, first.b, first.activations
        spec.cost, spec.lr, spec.label = first.cost, first.lr, first.label
    return spec


def _steps(value: Any, source: str) -> int:
    from fcnn_cli.trace.steps import MAX_STEPS, whole_steps

    steps = whole_steps(value) if isinstance(value, (int, float)) else None
    if steps is None:
        raise FcnnError(f"{source}: steps must be a whole number from 1 to {MAX_STEPS:,} "
                        f"(the gradient-descent steps to take), got {_short(value)}")
    return steps


def _lr(value: Any, where: str, source: str) -> float:
    lr = _number(value, where, source)
    if lr < 0:
        raise FcnnError(f"{source}: {where} (η) must be ≥ 0, got {lr}")
    return lr


def _layers(layers: Any, default_act: str, x: Array, y: Array, source: str, key: str
            ) -> tuple[list[Array], list[Array], list[str], list[bool]]:
    """w, b and activation of each layer, checked to chain and to fit x and y; and which
    layers name their own activation (a varied activation leaves those alone)."""
    if not isinstance(layers, list) or not layers:
        raise FcnnError(f"{source}: {key} must be a non-empty list of {{w: [[..]], b: [..]}}")
    ws, bs, acts, own = [], [], [], []
    for l, layer in enumerate(layers, start=1):
        where = f"{source}: {key}: layer {l}" if key != "layers" else f"{source}: layer {l}"
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
        own.append("activation" in layer)
        ws.append(w)
        bs.append(b)
    _fits(ws, x, y, source)
    return ws, bs, acts, own


def _fits(ws: list[Array], x: Array, y: Array, source: str) -> None:
    sizes = architecture_of([(w.shape[0], w.shape[1]) for w in ws], source)
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


_VARY_EXAMPLE = "e.g. vary: {cost: [quadratic, cross-entropy]} or vary: {lr: [0.15, 1.5]}"


def _vary_mapping(data: dict, source: str) -> str | None:
    """The one thing `vary:` varies (its values checked later), or None without `vary:`."""
    vary = data.get("vary")
    if vary is None:
        return None
    if data.get("compare_costs"):
        raise FcnnError(f"{source}: give vary or compare_costs, not both (compare_costs: "
                        "[cross-entropy] is short for vary: {cost: [quadratic, "
                        "cross-entropy]})")
    if not isinstance(vary, dict) or not vary:
        raise FcnnError(f"{source}: vary must map one of {', '.join(VARY_KEYS)} to a list "
                        f"of its values, {_VARY_EXAMPLE}; got {_short(vary)}")
    if len(vary) > 1:
        raise FcnnError(f"{source}: vary names {len(vary)} things "
                        f"({', '.join(map(str, vary))}); vary one thing at a time, "
                        f"{_VARY_EXAMPLE}")
    (key, values), = vary.items()
    if key not in VARY_KEYS:
        raise FcnnError(f"{source}: vary: unknown key {_short(key)}"
                        f"{did_you_mean(str(key)[:80], VARY_KEYS)}; it may vary one of "
                        f"{', '.join(VARY_KEYS)}")
    if not isinstance(values, list) or not 2 <= len(values) <= MAX_VARIANTS:
        raise FcnnError(f"{source}: vary: {key} must be a list of 2 to {MAX_VARIANTS} values "
                        f"to compare, e.g. vary: {{{key}: {_VARY_VALUES[key]}}}; got "
                        f"{_short(values)}")
    if key == "layers" and "layers" in data:
        raise FcnnError(f"{source}: give the weights once: either layers: or vary: {{layers: "
                        "[...]}} (each entry of vary's list is a whole layers: list)")
    return key


_VARY_VALUES = {"activation": "[sigmoid, relu]", "cost": "[quadratic, cross-entropy]",
                "lr": "[0.15, 1.5]", "layers": "[[{w: [[2]], b: [2]}], [{w: [[0.6]], b: [0.9]}]]"}


def _variants(spec: TraceSpec, data: dict, default_act: str, source: str) -> list[TraceSpec]:
    """One TraceSpec per value of the `vary:` key, each labelled with its value."""
    (key, values), = data["vary"].items()
    where = f"vary: {key}"
    if key == "cost":
        names = [_name(v, COSTS, f"cost in {where}", source) for v in values]
        _distinct(names, where, source)
        return [replace(spec, cost=c, label=f"cost: {c}") for c in names]
    if key == "lr":
        rates = [_lr(v, f"{where} entry {i}", source) for i, v in enumerate(values, start=1)]
        _distinct(rates, where, source)
        return [replace(spec, lr=r, label=f"η = {fmt(r)}") for r in rates]
    if key == "activation":
        names = [_name(v, ACTIVATIONS, f"activation in {where}", source) for v in values]
        _distinct(names, where, source)
        own = _layers(data["layers"], default_act, spec.x, spec.y, source, "layers")[3]
        if all(own):
            raise FcnnError(f"{source}: {where} changes nothing: every layer names its own "
                            "activation; remove the layers' activation keys (the varied one "
                            "replaces the file's default), or vary layers")
        return [replace(spec, activations=[a if o else name for a, o in zip(spec.activations, own)],
                        label=f"activation: {name}") for name in names]
    out = []
    for i, layers in enumerate(values, start=1):
        ws, bs, acts, _ = _layers(layers, default_act, spec.x, spec.y, source,
                                  f"{where} entry {i}")
        out.append(replace(spec, w=ws, b=bs, activations=acts, label=_weights_label(i, ws, bs)))
    return out


def _distinct(values: list, where: str, source: str) -> None:
    seen = [v for i, v in enumerate(values) if v in values[:i]]
    if seen:
        raise FcnnError(f"{source}: {where} lists {_short(seen[0])} twice; give each value "
                        "once")


def _weights_label(i: int, ws: list[Array], bs: list[Array]) -> str:
    """`weights: w¹ = 2, b¹ = 2` for a network of a few numbers; `weights #2` otherwise."""
    if sum(w.size + b.size for w, b in zip(ws, bs)) > 4:
        return f"weights #{i}"
    parts = []
    for l, (w, b) in enumerate(zip(ws, bs), start=1):
        parts += [f"w{sup(l)} = {_flat(w)}", f"b{sup(l)} = {_flat(b)}"]
    return "weights: " + ", ".join(parts)


def _flat(values: Array) -> str:
    return fmt(float(values.flat[0])) if values.size == 1 else fmt_array(values)


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
