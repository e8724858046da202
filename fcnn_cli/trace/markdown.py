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
    architecture_reasoning,
    comparison_rows,
    fmt,
    fmt_new,
    fmt_shape,
    gate_rows,
    gate_sensitivity,
    gradient_check_warning,
    plural,
    relative,
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
                 "w_new": rf"$w^{{{l}}} - \eta \frac{{\partial C}}{{\partial w^{{{l}}}}}$"}
        lines += ["Too wide to print in full; min, max and mean of each array:", ""]
        lines += _md_table(["array", "shape", "min", "max", "mean"],
                           [_summary_row(names[name], values) for name, values in arrays])
        lines += [title.replace("|δ^l|", rf"$|\delta^{{{l}}}|$") + ":", ""]
        header = [*(["$n$"] if n > 1 else []), "$j$", f"$b^{{{l}}}_j$", f"$z^{{{l}}}_j$",
                  f"$a^{{{l}}}_j$", rf"$\delta^{{{l}}}_j$", _md_dC(f"b^{{{l}}}_j"),
                  f"new $b^{{{l}}}_j$"]
        rows = [[*([str(i + 1)] if n > 1 else []), label[j], fmt(layer.b[j]),
                 fmt(layer.z[i, j]), fmt(layer.a[i, j]), fmt(layer.delta[i, j]),
                 fmt(layer.dC_db[j]), fmt_new(layer.b_new[j], layer.b[j])]
                for i in range(n) for j in units]
        return lines + _md_table(header, rows)

    cols = range(1, layer.inputs + 1)
    lines += ["Forward: " + rf"$z^{{{l}}} = w^{{{l}}} a^{{{l - 1}}} + b^{{{l}}}$, "
              + rf"$a^{{{l}}} = f(z^{{{l}}})$", ""]
    header = ["$j$", *(f"$w^{{{l}}}_{{j{i}}}$" for i in cols), f"$b^{{{l}}}_j$"]
    for i in range(n):
        tag = f" (n={i + 1})" if n > 1 else ""
        header += [f"$z^{{{l}}}_j${tag}", f"$a^{{{l}}}_j${tag}"]
    rows = []
    for j in range(layer.units):
        row = [label[j], *(fmt(v) for v in layer.w[j]), fmt(layer.b[j])]
        for i in range(n):
            row += [fmt(layer.z[i, j]), fmt(layer.a[i, j])]
        rows.append(row)
    lines += _md_table(header, rows)

    lines += [rf"Backward: $\delta^{{{l}}} = \frac{{\partial C}}{{\partial z^{{{l}}}}}$, "
              rf"$\frac{{\partial C}}{{\partial w^{{{l}}}}} = \delta^{{{l}}} (a^{{{l - 1}}})^T$, "
              rf"$\frac{{\partial C}}{{\partial b^{{{l}}}}} = \delta^{{{l}}}$"
              + (r" (means over the $N$ examples)" if n > 1 else ""), ""]
    header = ["$j$", *((rf"$\delta^{{{i + 1},{l}}}_j$" if n > 1 else rf"$\delta^{{{l}}}_j$")
                       for i in range(n)),
              *(_md_dC(f"w^{{{l}}}_{{j{i}}}") for i in cols), _md_dC(f"b^{{{l}}}_j")]
    rows = [[label[j], *(fmt(layer.delta[i, j]) for i in range(n)),
             *(fmt(v) for v in layer.dC_dw[j]), fmt(layer.dC_db[j])]
            for j in range(layer.units)]
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
    return lines + _md_table(header, rows)


def trace_markdown(result: TraceResult) -> str:
    arch = "-".join(str(s) for s in result.architecture)
    lines = [f"# Forward trace: {arch} network, {result.cost_name} cost, "
             f"$\\eta = {fmt(result.lr)}$", ""]
    if result.description:
        lines += [result.description, ""]
    lines += result.header + ([""] if result.header else [])
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
    if result.comparisons:
        header, rows = comparison_rows(result)
        lines += ["## The same network under each cost", ""] + _md_table(header, rows)
    lines += [f"Gradient check: backprop against central finite differences on "
              f"{result.checked}: largest relative error {relative(result.max_rel_error)}.", ""]
    problem = gradient_check_warning(result)
    if problem:
        lines += [f"**Warning:** {problem}.", ""]
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
