"""forward-trace as one self-contained page (`--format html`): the drawing, then the tables.

The tables hold the same rows as the terminal's (`ui.py`): per layer w and b; z, a and δ;
∂C/∂w and ∂C/∂b; the updated w and b; then the cost and the gradient check.  Everything
is inline (the SVG, one `<style>`), with no script and no link, so the file can be mailed,
archived or printed as it is.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from fcnn_cli.trace.compute import TraceResult
from fcnn_cli.trace.examples import GateExample, SoftmaxExample
from fcnn_cli.trace.formatting import (
    architecture_reasoning,
    comparison_rows,
    fmt,
    gate_rows,
    gate_sensitivity,
    gradient_check_warning,
    plural,
    sup,
)
from fcnn_cli.trace.svg import trace_svg
from fcnn_cli.trace.tables import inputs_table, layer_tables

if TYPE_CHECKING:
    from fcnn_cli.trace.examples import ArchitectureExample

# Light background and dark text on screen and on paper; tables never split across pages.
STYLE = """
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #1f2328;
  background: #ffffff; margin: 2em; max-width: 1200px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
h3 { font-size: 0.95em; margin: 1em 0 0.3em; }
figure { margin: 1em 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 0.3em 0 0.8em; font-variant-numeric: tabular-nums;
  break-inside: avoid; }
th, td { border: 1px solid #d0d7de; padding: 0.2em 0.6em; text-align: right; }
th { background: #f6f8fa; } td:first-child, th:first-child { text-align: left; }
p.note { color: #59636e; } p.warning { color: #9a6700; font-weight: bold; }
@media print { body { margin: 0; } figure svg { max-width: 100%; } }
"""


def _table(title: str, header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    caption = f"<h3>{escape(title)}</h3>" if title else ""
    return f"{caption}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _page(title: str, parts: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _p(text: str, cls: str | None = None) -> str:
    return f'<p class="{cls}">{escape(text)}</p>' if cls else f"<p>{escape(text)}</p>"


def _network_page(result: TraceResult) -> str:
    arch = "-".join(map(str, result.architecture))
    title = f"Forward trace: {arch} network · {result.cost_name} cost · η = {fmt(result.lr)}"
    parts = [f"<h1>{escape(title)}</h1>"]
    parts += [_p(line) for line in ([result.description] if result.description else [])
              + result.header]
    parts.append(f"<figure>{trace_svg(result)}</figure>")
    n = result.n
    parts.append(_table(*inputs_table(result)))
    for layer in result.layers:
        parts.append(f"<h2>layer {layer.l}: {escape(layer.activation)}, "
                     f"{plural(layer.units, 'unit')} (w{sup(layer.l)} is "
                     f"{layer.units}×{layer.inputs})</h2>")
        parts += [_table(*table) for table in layer_tables(result, layer)]
    mean = f" (mean over the N = {n} examples)" if n > 1 else ""
    parts.append(_p(f"cost C = {fmt(result.cost)}  [{result.cost_name}{mean}]"))
    if result.comparisons:
        parts.append(_table("the same network under each cost", *comparison_rows(result)))
    parts.append(_p(f"gradient check: backprop vs central finite differences on "
                    f"{result.checked}: largest relative error {result.max_rel_error:.2e}"))
    problem = gradient_check_warning(result)
    if problem:
        parts.append(_p(f"warning: {problem}", "warning"))
    if result.notes:
        parts.append(_p(result.notes, "note"))
    return _page(title, parts)


def _example_page(example: SoftmaxExample | GateExample | ArchitectureExample) -> str:
    if isinstance(example, SoftmaxExample):
        title = "Softmax"
        rows = [[str(j + 1), fmt(x), f"{e:.2f}", f"{p:.2f}"]
                for j, (x, e, p) in enumerate(zip(example.x, example.exp, example.p))]
        rows.append(["total", "", f"{example.exp.sum():.2f}", f"{example.p.sum():.2f}"])
        body = [_table("", ["node j", "xⱼ", "e^xⱼ", "e^xⱼ / Σₖ e^xₖ"], rows)]
    elif isinstance(example, GateExample):
        g = example
        title = "Gates: f(x, y, z) = (x + y)·z"
        body = [_p(f"inputs: x = {fmt(g.x)}, y = {fmt(g.y)}, z = {fmt(g.z)}"),
                _table("", *gate_rows(g)), _p(gate_sensitivity(g))]
    else:
        title = "Find the architecture"
        rows = [[f"w{sup(l)}", f"{r}×{c}", f"{r} (layer {l})", f"{c} (layer {l - 1})"]
                for l, (r, c) in enumerate(example.shapes, start=1)]
        body = [_table("", ["weights", "shape", "rows = neurons of layer l",
                            "columns = neurons of layer l−1"], rows),
                _p(architecture_reasoning(example))]
    parts = [f"<h1>{escape(title)}</h1>"]
    parts += [_p(example.description)] if example.description else []
    parts += [f"<figure>{trace_svg(example)}</figure>", *body]
    parts += [_p(example.notes, "note")] if example.notes else []
    return _page(title, parts)


def trace_html(shown: TraceResult | SoftmaxExample | GateExample | ArchitectureExample) -> str:
    """`fcnn forward-trace ... --format html`: one page holding the drawing and the tables."""
    return _network_page(shown) if isinstance(shown, TraceResult) else _example_page(shown)
