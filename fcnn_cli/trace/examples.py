"""The built-in worked examples and trace files (DESIGN §5): parsing and validation.

A trace file gives the inputs, the targets and every layer's weights.  Three built-in
examples are not networks (`kind: softmax`, `kind: gate`, `kind: architecture`); their
few numbers are computed here, as they are parsed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fcnn_cli.errors import FcnnError, did_you_mean
from fcnn_cli.nn import ACTIVATIONS, COSTS, Network, make_activation, make_cost
from fcnn_cli.shipped import trace_examples
from fcnn_cli.trace.formatting import Array, fmt_shape, plural, sup

_TRACE_REQUIRED = ("x", "y", "lr", "layers")
_TRACE_OPTIONAL = ("activation", "cost", "description", "notes", "compare_costs")
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
