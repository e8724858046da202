"""Several gradient-descent steps on the same examples (`forward-trace --steps K`), and the
numbers every renderer shows for them and for side-by-side variants.

Convention: K steps are K plain updates p ← p − η ∂C/∂p (every weight, bias and PReLU
slope; the trace's own η) on the same examples. `cost_history` is [C_0, …, C_K], C_0
before any update and C_k after k of them. The layer tables of the trace show the K-th
step's pass: the weights after K − 1 updates, their z, a, δ and gradients, and w_new, the
K-th update; `a_after` is the output a^L after all K updates (C_K's output).

Each step is one vectorised backward pass over all N examples (the cost comes from that
same pass's output), so K steps cost K passes; the steps themselves are sequential.
Nothing here prints: the terminal chart is drawn in ui.py from `chart_grid`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.errors import FcnnError
from fcnn_cli.trace.compute import to_float64, trace_network
from fcnn_cli.trace.formatting import fmt, fmt_array, sup

if TYPE_CHECKING:
    from fcnn_cli.nn import Network
    from fcnn_cli.trace.compute import TraceResult
    from fcnn_cli.trace.formatting import Array

MAX_STEPS = 100_000  # at a tiny network's ~30 µs a pass, a few seconds


def whole_steps(value: object) -> int | None:
    """`value` as a whole number of steps from 1 to MAX_STEPS, or None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        steps = int(value) if value.is_integer() else None
    else:
        try:
            steps = int(str(value).strip())
        except ValueError:
            return None
    return steps if steps is not None and 1 <= steps <= MAX_STEPS else None


def check_steps(text: str) -> int:
    """`--steps` as typed: a whole number from 1 to MAX_STEPS, or one line saying what to
    give instead (click's own message would come with a usage block)."""
    steps = whole_steps(text)
    if steps is None:
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise FcnnError(f"--steps {shown!r}: give a whole number of gradient-descent steps "
                        f"from 1 to {MAX_STEPS:,}, e.g. --steps 150")
    return steps


def descend(net: Network, x: Array, y: Array, lr: float, steps: int) -> list[float]:
    """`steps` plain updates of `net` in place (it must be the caller's own copy); the cost
    before each update."""
    costs = []
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is said in one line
        for k in range(steps):
            grads, trace = net.backprop(x, y)
            cost = float(net.cost.fn(trace.activations[-1], y))
            _check_finite(cost, k, net, lr)
            costs.append(cost)
            for p, g in zip(net.params(), net.grads_list(grads)):
                p -= lr * g
    return costs


def _check_finite(cost: float, done: int, net: Network, lr: float) -> None:
    if not math.isfinite(cost):
        raise FcnnError(f"the {net.cost.name} cost is no longer finite after {done} "
                        f"step{'' if done == 1 else 's'} with η = {fmt(lr)}: the weights "
                        "diverged; use a smaller η or fewer --steps")


def trace_steps(net: Network, x: Array, y: Array, lr: float, steps: int) -> TraceResult:
    """K = `steps` updates of `net` (edited in place) on x, y: the trace of the K-th
    step's pass, with `cost_history` [C_0, …, C_K] and `a_after` set."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    history = descend(net, x, y, lr, steps - 1)
    with np.errstate(over="ignore", invalid="ignore"):
        _check_finite(net.cost_value(x, y), steps - 1, net, lr)  # (one forward pass)
        result = trace_network(net, x, y, lr)  # its arrays are net's own: update a copy
    after = to_float64(net)
    descend(after, x, y, lr, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        final = after.cost_value(x, y)
    _check_finite(final, steps, net, lr)
    result.cost_history = [*history, float(result.cost), float(final)]
    result.steps = steps
    result.a_after = after.predict(x)
    return result


# --- what the renderers show ----------------------------------------------------------

def shown_step(result: TraceResult) -> str:
    """Which pass and which variant the layer tables show ("" for a plain one-step trace)."""
    said = []
    if result.cost_history is not None:
        K = result.steps
        said.append(f"{K} gradient-descent step{'' if K == 1 else 's'} on the same "
                    f"example{'s' if result.n > 1 else ''}: the tables show step {K}'s pass "
                    f"(the weights after {K - 1} update{'' if K == 2 else 's'}; w_new is "
                    f"update {K})")
    if result.comparisons:
        others = ", ".join(r.label for r in result.comparisons)
        said.append(f"the tables show the variant {result.label}; side by side below with "
                    f"{others}")
    return "; ".join(said) + "." if said else ""


def after_steps(result: TraceResult) -> str:
    """One line: the cost and output after the K steps, from C_0."""
    history = result.cost_history or []
    if not history:
        return ""
    K = result.steps
    L = len(result.layers)
    return (f"after {K} step{'' if K == 1 else 's'}: C = {fmt(history[-1])} (C₀ = "
            f"{fmt(history[0])} before any step), a{sup(L)} = {_small(result.a_after)}")


def chosen_steps(steps: int, count: int = 11) -> list[int]:
    """About `count` evenly spaced steps from 0 to K (both ends kept): the rows of the
    markdown table of C."""
    return sorted({round(s) for s in np.linspace(0, steps, min(count, steps + 1))})


def cost_rows(result: TraceResult) -> tuple[list[str], list[list[str]]]:
    """C after k steps at the chosen k, one column per variant (this trace first)."""
    runs = [result, *result.comparisons]
    header = ["step k", *(_label(r) for r in runs)]
    rows = [[str(k), *(fmt(r.cost_history[k]) if r.cost_history else "" for r in runs)]
            for k in chosen_steps(result.steps)]
    return header, rows


def variant_rows(result: TraceResult) -> tuple[list[str], list[list[str]]]:
    """The variants side by side, one column each (this trace first): the cost, the output
    a^L, δ^L and each layer's gradient sizes; with steps, C_0 and C_K and the output after
    K steps."""
    runs = [result, *result.comparisons]
    L = len(result.layers)
    rows: list[list[str]] = []

    def row(name: str, cells: list[str]) -> None:
        rows.append([name, *cells])

    if result.cost_history:
        K = result.steps
        row("C₀ (at the start)", [fmt(r.cost_history[0]) for r in runs])
        row(f"C after {K} step{'' if K == 1 else 's'}", [fmt(r.cost_history[-1]) for r in runs])
        row(f"a{sup(L)} after {K} step{'' if K == 1 else 's'}", [_small(r.a_after) for r in runs])
        row(f"C of step {K}'s pass", [fmt(r.cost) for r in runs])
    else:
        row("C", [fmt(r.cost) for r in runs])
    row(f"a{sup(L)}", [_small(r.layers[-1].a) for r in runs])
    row(f"δ{sup(L)}", [_small(r.layers[-1].delta) for r in runs])
    for l in range(1, L + 1):
        row(f"‖∂C/∂w{sup(l)}‖", [_norm(r, l, "dC_dw") for r in runs])
        row(f"‖∂C/∂b{sup(l)}‖", [_norm(r, l, "dC_db") for r in runs])
    return ["", *(_label(r) for r in runs)], rows


def _label(result: TraceResult) -> str:
    return result.label or result.cost_name


def _small(values: Array | None) -> str:
    """A few numbers as they are; many as their mean and range."""
    if values is None:
        return ""
    if values.size == 1:
        return fmt(float(values.flat[0]))
    if values.size <= 4:
        return fmt_array(values[0] if values.shape[0] == 1 else values)
    return f"mean {fmt(float(values.mean()))} ({fmt(float(values.min()))} … " \
           f"{fmt(float(values.max()))})"


def _norm(result: TraceResult, l: int, name: str) -> str:
    """‖·‖₂ (Frobenius for w) of layer l's gradient; '—' where the variant has no layer l."""
    if l > len(result.layers):
        return "—"
    return fmt(float(np.linalg.norm(getattr(result.layers[l - 1], name))))


def relative_histories(runs: list[TraceResult]) -> tuple[list[list[float]], bool]:
    """Each run's cost history, divided by its C_0 where the runs' costs differ in kind
    (quadratic and cross-entropy have no common scale; each one's fall from its start
    does); True when so divided."""
    histories = [r.cost_history or [] for r in runs]
    kinds = {r.cost_name for r in runs}
    if len(kinds) < 2 or any(not h or not h[0] > 0 for h in histories):
        return histories, False
    return [[c / h[0] for c in h] for h in histories], True


def chart_grid(histories: list[list[float]], width: int, height: int
               ) -> tuple[list[list[int | None]], float, float, list[int]]:
    """Cost-per-step curves on one shared scale as a character grid: rows top to bottom,
    each cell the index of the curve drawn there (None: empty; a later curve drawn over an
    earlier one). Column c shows step k_c, evenly spaced from 0 to the last step (a step
    spans several columns when there are fewer steps than columns); a
    column's mark reaches to the previous column's, so a sudden drop shows as a line.
    Returns the grid, the lowest and highest cost and the step of each column."""
    finite = [v for h in histories for v in h if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    span = high - low or 1.0
    longest = max(len(h) for h in histories)
    columns = max(2, width)  # a few steps are drawn as wide as many
    at = [round(c * (longest - 1) / max(1, columns - 1)) for c in range(columns)]
    grid: list[list[int | None]] = [[None] * columns for _ in range(height)]
    for index, history in enumerate(histories):
        previous = None
        for c, k in enumerate(at):
            if k >= len(history) or not math.isfinite(history[k]):
                previous = None
                continue
            r = height - 1 - round((history[k] - low) / span * (height - 1))
            top, bottom = (r, r) if previous is None else (min(r, previous), max(r, previous))
            for row in range(top, bottom + 1):
                grid[row][c] = index
            previous = r
    return grid, low, high, at
