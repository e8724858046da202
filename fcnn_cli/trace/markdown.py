"""forward-trace as markdown (`--format markdown`): the lecture's symbols in LaTeX, plain text.

The numbers come from `compute.py`, and the rows shared with the rich tables in `ui.py`
from `formatting.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fcnn_cli.trace.examples import GateExample, SoftmaxExample
from fcnn_cli.trace.formatting import (
    WIDE,
    Array,
    alpha_rows,
    alpha_title,
    architecture_reasoning,
    delta_note,
    factor_arrays,
    fmt,
    fmt_new,
    fmt_old,
    fmt_shape,
    gate_rows,
    gate_sensitivity,
    gradient_check_warning,
    plural,
    relative,
    summary_rows,
    summary_thresholds,
    wide_layer_view,
)

if TYPE_CHECKING:
    from fcnn_cli.trace.compute import LayerTrace, TraceResult
    from fcnn_cli.trace.examples import ArchitectureExample


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _md_dC(symbol: str) -> str:
    return rf"$\frac{{\partial C}}{{\partial {symbol}}}$"


def _summary_row(name: str, values: Array) -> list[str]:
    return [name, fmt_shape(values), fmt(values.min()), fmt(values.max()), fmt(values.mean())]


def _md_layer(result: TraceResult, layer: LayerTrace) -> list[str]:
    l, n = layer.l, result.n
    label = [result.unit(l, j) for j in range(layer.units)]
    lines = [f"## Layer {l} ({layer.activation}, {plural(layer.units, 'unit')})", ""]
    if layer.wide:
        arrays, units, title = wide_layer_view(layer)
        names = {"w": f"$w^{{{l}}}$", "b": f"$b^{{{l}}}$", "z": f"$z^{{{l}}}$",
                 "a": f"$a^{{{l}}}$", "delta": rf"$\delta^{{{l}}}$",
                 "dC_dw": _md_dC(f"w^{{{l}}}"), "dC_db": _md_dC(f"b^{{{l}}}"),
                 "w_new": rf"$w^{{{l}}} - \eta \frac{{\partial C}}{{\partial w^{{{l}}}}}$",
                 **_md_factor_names(result, layer)}
        lines += ["Too wide to print in full; min, max and mean of each array:", ""]
        lines += _md_table(["array", "shape", "min", "max", "mean"],
                           [_summary_row(names[name], values) for name, values in arrays])
        lines += [title.replace("|δ^l|", rf"$|\delta^{{{l}}}|$") + ":", ""]
        factors = factor_arrays(layer)
        header = [*(["$n$"] if n > 1 else []), "$j$", f"$b^{{{l}}}_j$", f"$z^{{{l}}}_j$",
                  f"$a^{{{l}}}_j$", *(names[name] for name, _ in factors),
                  rf"$\delta^{{{l}}}_j$", _md_dC(f"b^{{{l}}}_j"), f"new $b^{{{l}}}_j$"]
        rows = [[*([str(i + 1)] if n > 1 else []), label[j],
                 fmt_old(layer.b[j], layer.b_new[j]), fmt(layer.z[i, j]), fmt(layer.a[i, j]),
                 *(fmt(v[i, j]) for _, v in factors), fmt(layer.delta[i, j]),
                 fmt(layer.dC_db[j]), fmt_new(layer.b_new[j], layer.b[j])]
                for i in range(n) for j in units]
        return lines + _md_delta_rule(result, layer) + _md_table(header, rows) \
            + _md_alpha(result, layer)

    cols = range(1, layer.inputs + 1)
    lines += ["Forward: " + rf"$z^{{{l}}} = w^{{{l}}} a^{{{l - 1}}} + b^{{{l}}}$, "
              + rf"$a^{{{l}}} = f(z^{{{l}}})$; " + _md_indices(result, layer), ""]
    header = ["$j$", *(f"$w^{{{l}}}_{{j{i}}}$" for i in cols), f"$b^{{{l}}}_j$"]
    for i in range(n):
        tag = f" (n={i + 1})" if n > 1 else ""
        header += [f"$z^{{{l}}}_j${tag}", f"$a^{{{l}}}_j${tag}"]
    rows = []
    for j in range(layer.units):
        row = [label[j], *(fmt_old(v, new) for v, new in zip(layer.w[j], layer.w_new[j])),
               fmt_old(layer.b[j], layer.b_new[j])]
        for i in range(n):
            row += [fmt(layer.z[i, j]), fmt(layer.a[i, j])]
        rows.append(row)
    lines += _md_table(header, rows)

    lines += [rf"Backward: $\delta^{{{l}}} = \frac{{\partial C}}{{\partial z^{{{l}}}}}$, "
              rf"$\frac{{\partial C}}{{\partial w^{{{l}}}}} = \delta^{{{l}}} (a^{{{l - 1}}})^T$, "
              rf"$\frac{{\partial C}}{{\partial b^{{{l}}}}} = \delta^{{{l}}}$"
              + (r" (means over the $N$ examples)" if n > 1 else ""), ""]
    lines += _md_delta_rule(result, layer)
    factors = factor_arrays(layer)
    names = _md_factor_names(result, layer)
    header = ["$j$"]
    for i in range(n):
        tag = f" (n={i + 1})" if n > 1 else ""
        header += [*(f"{names[name]}{tag}" for name, _ in factors),
                   rf"$\delta^{{{i + 1},{l}}}_j$" if n > 1 else rf"$\delta^{{{l}}}_j$"]
    header += [*(_md_dC(f"w^{{{l}}}_{{j{i}}}") for i in cols), _md_dC(f"b^{{{l}}}_j")]
    rows = []
    for j in range(layer.units):
        row = [label[j]]
        for i in range(n):
            row += [*(fmt(v[i, j]) for _, v in factors), fmt(layer.delta[i, j])]
        rows.append(row + [*(fmt(v) for v in layer.dC_dw[j]), fmt(layer.dC_db[j])])
    lines += _md_table(header, rows)

    if n > 1:
        per = result.per_example_dC_dw(l)
        lines += [rf"Per example: $\frac{{\partial C_n}}{{\partial w^{{{l}}}}} = "
                  rf"\delta^{{n,{l}}} (a^{{n,{l - 1}}})^T$; the step uses their mean "
                  rf"$\frac{{\eta}}{{N}} \sum_n$", ""]
        header = ["$n$", *(f"$\\frac{{\\partial C_n}}{{\\partial w^{{{l}}}_{{{j}{i}}}}}$"
                           for j in range(1, layer.units + 1) for i in cols)]
        rows = [[str(i + 1), *(fmt(v) for v in per[i].reshape(-1))] for i in range(n)]
        lines += _md_table(header, rows)

    lines += [rf"Update ($\eta = {fmt(result.lr)}$): "
              rf"$w^{{{l}}} \to w^{{{l}}} - \eta \frac{{\partial C}}{{\partial w^{{{l}}}}}$, "
              rf"$b^{{{l}}} \to b^{{{l}}} - \eta \frac{{\partial C}}{{\partial b^{{{l}}}}}$", ""]
    header = ["$j$", *(f"new $w^{{{l}}}_{{j{i}}}$" for i in cols), f"new $b^{{{l}}}_j$"]
    rows = [[label[j], *(fmt_new(new, old) for new, old in zip(layer.w_new[j], layer.w[j])),
             fmt_new(layer.b_new[j], layer.b[j])]
            for j in range(layer.units)]
    return lines + _md_table(header, rows) + _md_alpha(result, layer)


def _md_factor_names(result: TraceResult, layer: LayerTrace) -> dict[str, str]:
    l = layer.l
    return {"dC_da": r"$\nabla_a C$", "wT_delta": rf"$(w^{{{l + 1}}})^T \delta^{{{l + 1}}}$",
            "f_prime": rf"$f'(z^{{{l}}})$"}


def _md_delta_rule(result: TraceResult, layer: LayerTrace) -> list[str]:
    """The equation that forms δ^l from the factors in the table, and what to know about it."""
    if not factor_arrays(layer):
        return []
    l = layer.l
    factor = _md_factor_names(result, layer)["dC_da" if layer.dC_da is not None else "wT_delta"]
    factor = factor.strip("$")
    product = (rf"(J^{{{l}}})^T {factor}" if layer.activation == "softmax"
               else rf"{factor} \odot f'(z^{{{l}}})")
    equation = rf"$\delta^{{{l}}} = {product}" + (
        rf" = a^{{{l}}} - y$" if layer.delta_rule == "a - y" else "$")
    note = delta_note(layer)
    return [f"Factors: {equation}" + (f" ({note})" if note else "") + ".", ""]


def _md_indices(result: TraceResult, layer: LayerTrace) -> str:
    """The meaning of w's indices, as the lecture writes them."""
    l = layer.l
    below = "input $x_k$" if l == 1 else f"neuron $k$ of layer {l - 1}"
    text = rf"$w^{{{l}}}_{{jk}}$ connects {below} to neuron $j$ of layer {l}"
    if l == len(result.layers) and l > 1:
        text += (r" (the lecture's output-layer $w^{L}_{kj}$ names the output neuron $k$: "
                 "the same weight, the letters swapped)")
    return text


def _md_alpha(result: TraceResult, layer: LayerTrace) -> list[str]:
    header, rows = alpha_rows(result, layer)
    return [alpha_title(result, layer) + ":", ""] + _md_table(header, rows) if rows else []


def _md_summary(result: TraceResult) -> list[str]:
    _, rows = summary_rows(result)
    header = ["layer", "$f$", r"mean $\lvert\delta^l\rvert$",
              r"$\lVert \partial C / \partial b^l \rVert$", "saturated", "dead"]
    return ["## Per-layer summary", "", f"Counted as {summary_thresholds(result)}.", ""] \
        + _md_table(header, rows)


def trace_markdown(result: TraceResult) -> str:
    arch = "-".join(str(s) for s in result.architecture)
    lines = [f"# Forward trace: {arch} network, {result.cost_name} cost, "
             f"$\\eta = {fmt(result.lr)}$", ""]
    if result.description:
        lines += [result.description, ""]
    lines += result.header + ([""] if result.header else [])
    lines += _steps_said(result)
    n = result.n
    if result.x.shape[1] <= WIDE:
        lines += _md_table(["$n$", *(f"$x_{{{i + 1}}}$" for i in range(result.x.shape[1])),
                            *(f"$y_{{{k + 1}}}$" for k in range(result.y.shape[1]))],
                           [[str(i + 1), *(fmt(v) for v in result.x[i]),
                             *(fmt(v) for v in result.y[i])] for i in range(n)])
    else:
        lines += _md_table(["array", "shape", "min", "max", "mean"],
                           [_summary_row("$x$", result.x), _summary_row("$y$", result.y)])
    for layer in result.layers:
        lines += _md_layer(result, layer)
    lines += [f"Cost $C = {fmt(result.cost)}$ ({result.cost_name}"
              + (f", mean over the N = {n} examples)" if n > 1 else ")"), ""]
    lines += _steps_and_variants(result)
    lines += [f"Gradient check: backprop against central finite differences on "
              f"{result.checked}: largest relative error {relative(result.max_rel_error)}.", ""]
    problem = gradient_check_warning(result)
    if problem:
        lines += [f"**Warning:** {problem}.", ""]
    lines += _md_summary(result)
    if result.notes:
        lines += [result.notes, ""]
    return "\n".join(lines)


def example_markdown(example: SoftmaxExample | GateExample | ArchitectureExample) -> str:
    lines: list[str] = []
    if isinstance(example, SoftmaxExample):
        lines += ["# Softmax", ""]
        rows = [[str(j + 1), fmt(x), fmt(e), fmt(p)]
                for j, (x, e, p) in enumerate(zip(example.x, example.exp, example.p))]
        rows.append(["total", "", f"{example.exp.sum():.2f}", f"{example.p.sum():.2f}"])
        lines += _md_table(["node $j$", "$x_j$", "$e^{x_j}$", r"$e^{x_j} / \sum_k e^{x_k}$"],
                           rows)
    elif isinstance(example, GateExample):
        g = example
        lines += ["# Gates: $f(x, y, z) = (x + y) z$", "",
                  f"Inputs: $x = {fmt(g.x)}$, $y = {fmt(g.y)}$, $z = {fmt(g.z)}$", ""]
        lines += _md_table(*gate_rows(g, latex=True))
        lines += [gate_sensitivity(g), ""]
    else:
        lines += ["# Find the architecture", ""]
        lines += _md_table(["weights", "shape", "neurons in layer $l$ (rows)",
                            "neurons in layer $l-1$ (columns)"],
                           [[f"$w^{{{l}}}$", f"{r}×{c}", f"{r} (layer {l})",
                             f"{c} (layer {l - 1})"]
                            for l, (r, c) in enumerate(example.shapes, start=1)])
        lines += [architecture_reasoning(example), ""]
    body = lines
    if example.description:
        body = [lines[0], "", example.description, *lines[1:]]
    if example.notes:
        body += [example.notes, ""]
    return "\n".join(body)


# --- trace steps and variants ---

def _steps_said(result: TraceResult) -> list[str]:
    """What the tables show, when there are steps or variants."""
    from fcnn_cli.trace.steps import shown_step

    said = shown_step(result)
    return [said, ""] if said else []


def _steps_and_variants(result: TraceResult) -> list[str]:
    """The variants in columns, and C at about ten of the steps, one column per variant."""
    from fcnn_cli.trace.steps import cost_rows, variant_rows

    lines = []
    if result.comparisons:
        lines += ["## The variants side by side", ""] + _md_table(*variant_rows(result))
    if result.cost_history is not None:
        lines += [f"## The cost after each step ({result.steps} in all)", ""]
        lines += _md_table(*cost_rows(result))
    return lines
