"""The inspector: one unit of the network on one example, for the weights a frame shows.

Every number comes from `fcnn_cli.trace.compute.trace_model`, the code behind `fcnn
forward-trace --model` (a float64 forward pass, backprop and one plain gradient step),
run on the frame's snapshot model with the point's true label as the target; this module
only picks one unit's numbers and writes the lecture's equations with them, formatted as
forward-trace formats them (`fmt`, `fmt_pair`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.errors import FcnnError, clipped
from fcnn_cli.trace.formatting import fmt, fmt_pair

if TYPE_CHECKING:
    from fcnn_cli.serving.playground.session import Session, Snapshot
    from fcnn_cli.trace.compute import LayerTrace, TraceResult

SPLITS = ("test", "train")


def inspect(session: Session, snapshot: Snapshot, layer: int, unit: int, point: str
            ) -> dict[str, Any]:
    """The contract's inspector object for unit `unit` (from 1) of layer `layer` (1 to L)
    on `point` ("test:0", "train:17"), or one FcnnError line."""
    from fcnn_cli.trace.compute import trace_model

    model = snapshot.model
    sizes = model.network.sizes
    l, j = _layer_unit(layer, unit, sizes)
    split, index = _point(point, session.points)
    row = session.points[split][index]
    x = np.asarray(session.dataset.x_train[row]).reshape(1, -1)
    label = (model.class_names or [])[int(session.dataset.y_train[row])]
    state = session.state
    result = trace_model(model, x, target=label, lr=state.lr)
    trace = result.layers[l - 1]
    k_prev = result.layer_input(l)[0]
    values = {key: _at(getattr(trace, key), j)
              for key in ("z", "a", "f_prime", "dC_da", "wT_delta", "delta")}
    return {
        "epoch": snapshot.epoch,
        "point": {"split": split, "index": index, "x": [float(v) for v in x[0]], "label": label},
        "layer": l, "unit": j + 1, "activation": trace.activation, "eta": result.lr,
        "optimizer": state.optimizer, "batch": state.batch, **values,
        "delta_rule": trace.delta_rule,
        "dC_db": float(trace.dC_db[j]), "b": float(trace.b[j]), "b_new": float(trace.b_new[j]),
        "incoming": [{"from": k + 1, "a_prev": float(k_prev[k]), "w": float(trace.w[j, k]),
                      "dC_dw": float(trace.dC_dw[j, k]), "w_new": float(trace.w_new[j, k])}
                     for k in range(trace.inputs)],
        "cost": result.cost, "y": result.y[0].tolist(), "header": _header(result.header),
        "equations": equations(result, l, j),
        "note": _note(session),
    }


def _header(lines: list[str]) -> list[str]:
    """forward-trace's lines about the prediction and the target, worded for the page: its
    "which model, which file" line and the command-line option it names left out."""
    return [line.replace(" (--lr)", " (the playground's η)") for line in lines
            if not line.startswith("model ")]


def _layer_unit(layer: Any, unit: Any, sizes: list[int]) -> tuple[int, int]:
    last = len(sizes) - 1
    l = _whole(layer, "layer")
    if not 1 <= l <= last:
        extra = "; layer 0 is the inputs, which compute nothing" if l == 0 else ""
        raise FcnnError(f"layer {l} is not in this network: give 1 to {last}{extra}")
    j = _whole(unit, "unit")
    if not 1 <= j <= sizes[l]:
        raise FcnnError(f"unit {j} is not in layer {l}: it has units 1 to {sizes[l]}")
    return l, j - 1


def _whole(value: Any, name: str) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?[0-9]{1,6}", text):
        raise FcnnError(f"{name} is {clipped(text, 20)!r}; give a whole number")
    return int(text)


def _point(point: str, points: dict[str, np.ndarray]) -> tuple[str, int]:
    split, _, index = str(point).partition(":")
    if split not in SPLITS or not re.fullmatch(r"[0-9]{1,7}", index):
        raise FcnnError(f"point is {clipped(str(point), 30)!r}; give test:N or train:N "
                        "(N counts from 0)")
    count = len(points[split])
    if int(index) >= count:
        where = f"0 to {count - 1}" if count else "none"
        raise FcnnError(f"point {split}:{index} is not there: the {split} split has {count} "
                        f"points ({where})")
    return split, int(index)


def _at(values: np.ndarray | None, j: int) -> float | None:
    return None if values is None else float(values[0, j])


def _note(session: Session) -> str:
    state = session.state
    note = (f"one example's gradient and the plain gradient-descent step w − η ∂C/∂w; "
            f"training averages η/N Σ over mini-batches of N = {state.batch}")
    if state.optimizer == "adam":
        note += " (and Adam scales each step)"
    if state.l2 > 0:
        note += f", and L2 decay (λ = {fmt(state.l2)}) shrinks each weight too"
    if any(p > 0 for p in state.dropout) and state.layers:
        note += "; no dropout here (training drops units at random)"
    return note


# --- the lecture's equations, with the numbers --------------------------------------

def _sym(name: str, l: int | str, *sub: int) -> str:
    """A symbol as the lecture writes it in text: z^2_1, w^2_{1,12}."""
    subscript = ",".join(str(s) for s in sub)
    sub_text = subscript if len(subscript) == 1 else "{" + subscript + "}"
    sup_text = str(l) if len(str(l)) == 1 else "{" + str(l) + "}"
    return f"{name}^{sup_text}_{sub_text}"


def _p(value: float) -> str:
    """A number as a factor: in parentheses."""
    return f"({fmt(value)})"


def equations(result: TraceResult, l: int, j: int) -> list[dict[str, str]]:
    """z, a, the factors of δ and δ, ∂C/∂b, each ∂C/∂w_jk and the update, each as
    {name, lecture, numbers}."""
    layer = result.layers[l - 1]
    a_prev = result.layer_input(l)[0]
    n = j + 1
    terms = " + ".join(f"{_p(layer.w[j, k])}{_p(a_prev[k])}" for k in range(layer.inputs))
    out = [
        {"name": "z", "lecture": "z^l_j = Σ_k w^l_jk a^{l−1}_k + b^l_j",
         "numbers": f"{_sym('z', l, n)} = {terms} + {_p(layer.b[j])} = {fmt(layer.z[0, j])}"},
        {"name": "a", "lecture": "a^l_j = f(z^l_j)",
         "numbers": _activation_numbers(layer, l, j)},
        *_delta_equations(result, layer, l, j),
        {"name": "dC_db", "lecture": "∂C/∂b^l_j = δ^l_j",
         "numbers": f"∂C/∂{_sym('b', l, n)} = {fmt(layer.dC_db[j])}"},
        {"name": "dC_dw", "lecture": "∂C/∂w^l_jk = a^{l−1}_k δ^l_j",
         "numbers": "; ".join(
             f"∂C/∂{_sym('w', l, n, k + 1)} = {_p(a_prev[k])}{_p(layer.delta[0, j])} = "
             f"{fmt(layer.dC_dw[j, k])}" for k in range(layer.inputs))},
        {"name": "update", "lecture": "w′ = w − η ∂C/∂w,  b′ = b − η ∂C/∂b",
         "numbers": "; ".join(_updates(result, layer, l, j))},
    ]
    return out


def _activation_numbers(layer: LayerTrace, l: int, j: int) -> str:
    a = f"{_sym('a', l, j + 1)} = "
    if layer.activation == "softmax":
        return f"{a}softmax(z^{l})_{j + 1} = {fmt(layer.a[0, j])}"
    return f"{a}{layer.activation}({fmt(layer.z[0, j])}) = {fmt(layer.a[0, j])}"


def _delta_equations(result: TraceResult, layer: LayerTrace, l: int, j: int
                     ) -> list[dict[str, str]]:
    """δ^l_j by the rule backprop used, and the factor from above for a hidden layer."""
    n, delta = j + 1, fmt(layer.delta[0, j])
    d = _sym("δ", l, n)
    rule = layer.delta_rule
    fp = None if layer.f_prime is None else layer.f_prime[0, j]
    if rule == "a - y":
        return [{"name": "delta", "lecture": "δ^L_j = a^L_j − y_j (the cost's and the output's "
                 "derivatives cancel)",
                 "numbers": f"{d} = {fmt(layer.a[0, j])} − {fmt(result.y[0, j])} = {delta}"}]
    if rule == "dC_da * f_prime":
        assert layer.dC_da is not None and fp is not None
        return [{"name": "delta", "lecture": "δ^L_j = ∂C/∂a^L_j · f′(z^L_j)",
                 "numbers": f"{d} = {_p(layer.dC_da[0, j])}{_p(fp)} = {delta}"}]
    if rule == "J^T dC_da":
        return [{"name": "delta", "lecture": "δ^L = (J^L)ᵀ ∇_a C (softmax couples its outputs)",
                 "numbers": f"{d} = ((J^{l})ᵀ ∇_a C)_{n} = {delta}"}]
    above = result.layers[l]          # layer l + 1
    assert layer.wT_delta is not None
    terms = " + ".join(f"{_p(above.w[i, j])}{_p(above.delta[0, i])}"
                       for i in range(above.units))
    factor = {"name": "wT_delta", "lecture": "((w^{l+1})ᵀ δ^{l+1})_j = Σ_i w^{l+1}_ij δ^{l+1}_i",
              "numbers": f"((w^{l + 1})ᵀ δ^{l + 1})_{n} = {terms} = {fmt(layer.wT_delta[0, j])}"}
    if rule == "wT_delta * f_prime" and fp is not None:
        return [factor, {"name": "delta", "lecture": "δ^l_j = ((w^{l+1})ᵀ δ^{l+1})_j · f′(z^l_j)",
                         "numbers": f"{d} = {_p(layer.wT_delta[0, j])}{_p(fp)} = {delta}"}]
    return [factor, {"name": "delta", "lecture": "δ^l = (J^l)ᵀ (w^{l+1})ᵀ δ^{l+1}",
                     "numbers": f"{d} = ((J^{l})ᵀ (w^{l + 1})ᵀ δ^{l + 1})_{n} = {delta}"}]


def _updates(result: TraceResult, layer: LayerTrace, l: int, j: int) -> list[str]:
    eta = _p(result.lr)

    def one(name: str, old: float, grad: float, new: float) -> str:
        shown_old, shown_new = fmt_pair(old, new)
        return f"{name}′ = {shown_old} − {eta}{_p(grad)} = {shown_new}"

    lines = [one(_sym("b", l, j + 1), layer.b[j], layer.dC_db[j], layer.b_new[j])]
    lines += [one(_sym("w", l, j + 1, k + 1), layer.w[j, k], layer.dC_dw[j, k],
                  layer.w_new[j, k]) for k in range(layer.inputs)]
    return lines
