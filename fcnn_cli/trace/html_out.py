"""forward-trace as one self-contained page (`--format html`): the drawing, then the tables.

The tables hold the same rows as the terminal's (`ui.py`, `tables.py`): per layer w and b;
z, a, the two factors of δ and δ; ∂C/∂w and ∂C/∂b; the updated w and b; then the cost, the
per-layer summary and the gradient check.  With --steps a chart and a table of the cost
after each step, with variants a table with one column per variant, and for a two-input
model the example on its decision regions, each a section of its own.  Everything is
inline (the SVGs, one `<style>`), with no script and no link, so the file can be mailed,
archived or printed as it is.
"""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING

from fcnn_cli.trace.compute import TraceResult
from fcnn_cli.trace.examples import GateExample, SoftmaxExample
from fcnn_cli.trace.formatting import (
    architecture_reasoning,
    fmt,
    gate_rows,
    gate_sensitivity,
    gradient_check_line,
    gradient_check_warning,
    notation,
    plural,
    sup,
)
from fcnn_cli.trace.steps import cost_rows, variant_rows
from fcnn_cli.trace.svg import cost_chart_svg, trace_svg
from fcnn_cli.trace.tables import inputs_table, layer_tables, summary_table

if TYPE_CHECKING:
    from fcnn_cli.trace.examples import ArchitectureExample

PAGE_WIDTH = 1136  # what the page's 1200 px, less its margins, hold
SMALLEST = 0.85    # the least a drawing is scaled on screen: its 11 px text stays > 9 px

# Light background and dark text on screen and on paper; tables never split across pages.
STYLE = """
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #1f2328;
  background: #ffffff; margin: 2em; max-width: 1200px; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
h3 { font-size: 0.95em; margin: 1em 0 0.3em; }
figure { margin: 1em 0; overflow-x: auto; }
div.table { overflow-x: auto; }
figure.boundary svg { margin-left: 10px; }
/* on screen a drawing shrinks only so far (see _figure), then scrolls sideways */
figure svg { display: block; }
figcaption { color: #59636e; font-size: 0.9em; margin-bottom: 0.4em; }
table { border-collapse: collapse; margin: 0.3em 0 0.8em; font-variant-numeric: tabular-nums;
  break-inside: avoid; }
th, td { border: 1px solid #d0d7de; padding: 0.2em 0.6em; text-align: right; }
th { background: #f6f8fa; } td:first-child, th:first-child { text-align: left; }
p.note { color: #59636e; } p.failed { color: #a40e26; font-weight: bold; }
div.alarm { border: 2px solid #cf222e; background: #ffebe9; color: #a40e26; border-radius: 6px;
  padding: 0.6em 1em; margin: 1em 0; }
div.alarm strong { font-size: 1.1em; }
@media (max-width: 600px) { body { margin: 0.6em; } h1 { font-size: 1.2em; } }
@media print { body { margin: 0; }
  figure svg { min-width: 0 !important; max-width: 100% !important; } }
"""


def _notation(text: str) -> str:
    """Text in the lecture's notation as HTML: w^l, a^{l−1} and C_n with <sup> and <sub>
    (never the raw carets), everything else escaped."""
    return "".join(f"<{kind}>{escape(piece)}</{kind}>" if kind else escape(piece)
                   for kind, piece in notation(text))  # (kind: "sup" or "sub", the tags)


def _table(title: str, header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{_notation(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    caption = f"<h3>{_notation(title)}</h3>" if title else ""
    return (f'{caption}<div class="table"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _page(title: str, parts: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")


def _p(text: str, cls: str | None = None, lecture: bool = False) -> str:
    """A paragraph; with `lecture`, written in the lecture's notation (w^l, C_n)."""
    inner = _notation(text) if lecture else escape(text)
    return f'<p class="{cls}">{inner}</p>' if cls else f"<p>{inner}</p>"


def _figure(svg: str) -> str:
    """The drawing shrunk to the page's width where it nearly fits (never below SMALLEST
    of its size: its 11 px text stays readable); one much wider keeps its size and scrolls
    sideways, and says so."""
    found = re.search(r'width="(\d+)"', svg)
    width = int(found.group(1)) if found else PAGE_WIDTH
    scrolls = width * SMALLEST > PAGE_WIDTH
    least = width if scrolls else round(width * SMALLEST)  # scrolling anyway: full size
    svg = svg.replace("<svg ", f'<svg style="width: 100%; min-width: {least}px; '
                               f'max-width: {width}px; height: auto" ', 1)
    caption = ("<figcaption>The drawing is wider than the page: scroll sideways to see all "
               "of it (hover over a neuron or an edge for its numbers).</figcaption>"
               if scrolls else "")
    return f"<figure>{caption}{svg}</figure>"


def _alarm(result: TraceResult) -> list[str]:
    """A red box at the top of the page when the gradient check failed: the terminal
    warns about it, and so must the page."""
    problem = gradient_check_warning(result)
    if problem is None:
        return []
    return ['<div class="alarm" role="alert"><strong>⚠ Gradient check failed: the gradients '
            "on this page are not trustworthy.</strong><br>"
            f"{escape(problem[0].upper() + problem[1:])}.</div>"]


def _steps_and_variants(result: TraceResult) -> list[str]:
    """With --steps, the cost after each step (a chart, and a table at about ten steps);
    with variants, one column each."""
    parts = []
    if result.cost_history:
        K = result.steps
        parts += [f"<h2>the cost after each of the {K} steps</h2>",
                  f"<figure>{cost_chart_svg(result)}</figure>",
                  _table("C after k steps (C₀: before any step)", *cost_rows(result))]
    if result.comparisons:
        parts += ["<h2>the variants side by side</h2>",
                  _table("one column per variant: the drawing and the layer tables show the "
                         "first", *variant_rows(result))]
    return parts


def _boundary(boundary: str | None) -> list[str]:
    if boundary is None:
        return []
    # (overflow visible: an axis label a pixel past the picture's edge keeps its sign)
    boundary = boundary.replace("<svg ", '<svg overflow="visible" ', 1)
    return ["<h2>the example on the model's decision regions</h2>",
            f'<figure class="boundary"><figcaption>ringed: the traced example x; dots: the '
            f"model's training data (where it is a built-in two-dimensional set)</figcaption>"
            f"{boundary}</figure>"]


def _network_page(result: TraceResult, boundary: str | None = None) -> str:
    arch = "-".join(map(str, result.architecture))
    title = f"Forward trace: {arch} network · {result.cost_name} cost · η = {fmt(result.lr)}"
    parts = [f"<h1>{escape(title)}</h1>"]
    parts += [_p(result.description, lecture=True)] if result.description else []
    parts += [_p(line) for line in result.header]  # (file names: no notation)
    parts += _alarm(result)
    parts.append(_figure(trace_svg(result, standalone=False, extras=False)))
    parts += _steps_and_variants(result)
    parts += _boundary(boundary)
    n = result.n
    parts.append(_table(*inputs_table(result)))
    for layer in result.layers:
        parts.append(f"<h2>layer {layer.l}: {escape(layer.activation)}, "
                     f"{plural(layer.units, 'unit')} (w{sup(layer.l)} is "
                     f"{layer.units}×{layer.inputs})</h2>")
        parts += [_table(*table) for table in layer_tables(result, layer)]
    mean = f" (mean over the N = {n} examples)" if n > 1 else ""
    parts.append(_p(f"cost C = {fmt(result.cost)}  [{result.cost_name}{mean}]"))
    parts.append(_table(*summary_table(result)))
    problem = gradient_check_warning(result)
    parts.append(_p(gradient_check_line(result) + (f" — FAILED: {problem}" if problem else ""),
                    "failed" if problem else None))
    if result.notes:
        parts.append(_p(result.notes, "note", lecture=True))
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
                _p(architecture_reasoning(example), lecture=True)]
    parts = [f"<h1>{escape(title)}</h1>"]
    parts += [_p(example.description, lecture=True)] if example.description else []
    parts += [_figure(trace_svg(example, standalone=False)), *body]
    parts += [_p(example.notes, "note", lecture=True)] if example.notes else []
    return _page(title, parts)


def trace_html(shown: TraceResult | SoftmaxExample | GateExample | ArchitectureExample,
               boundary: str | None = None) -> str:
    """`fcnn forward-trace ... --format html`: one page holding the drawing and the tables
    (`boundary`: a two-input model's decision regions with the example marked)."""
    if isinstance(shown, TraceResult):
        return _network_page(shown, boundary)
    return _example_page(shown)
