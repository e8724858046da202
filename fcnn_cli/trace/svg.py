"""forward-trace as a drawing (`--format svg`): hand-written SVG, no plotting library.

A network is drawn layer by layer, left to right: the inputs x = a⁰, one column of
neurons per layer l = 1..L, the targets y and the cost C.  Each circle shows z^l, a^l and
δ^l, and under it the two factors whose product is δ^l (∇_a C or (w^{l+1})ᵀδ^{l+1}, and
f′(z^l)) and b → b − η ∂C/∂b.  Each edge carries w → w − η ∂C/∂w and ∂C/∂w, turned along
the edge at a spot where no other edge passes (`placement.py`); when a layer has too many
edges for that, its weights are listed beside the drawing instead, and the drawing says
so.  A column with more than DRAW_MAX units is one box of summaries (min, max, mean and
the five units with the largest |δ|), and the small layers next to it become rows of
numbers, so that a 784-800-800-10 model stays compact.  Under the network: one summary
line per layer, and, where they apply, the cost per step (--steps), the variants side by
side, and the example on the model's decision regions (two-input models).  Numbers are
formatted by `formatting.py`, so they read exactly as the terminal tables print them.
"""

from __future__ import annotations

import math
import re
import textwrap
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.trace.compute import TraceResult
from fcnn_cli.trace.examples import GateExample, SoftmaxExample
from fcnn_cli.trace.formatting import (
    Array,
    architecture_reasoning,
    delta_equation,
    factor_arrays,
    factor_symbol,
    fmt,
    fmt_new,
    fmt_old,
    gate_sensitivity,
    gradient_check_line,
    gradient_check_warning,
    notation,
    plural,
    summary_rows,
    summary_thresholds,
    sup,
    top_delta_units,
    unicode_script,
)
from fcnn_cli.trace.placement import Box, place_labels

if TYPE_CHECKING:
    from fcnn_cli.model import Model
    from fcnn_cli.trace.compute import LayerTrace
    from fcnn_cli.trace.examples import ArchitectureExample

# Beyond this many units a column is one summary box (the terminal's limit is WIDE = 16,
# but 16 circles with every edge labelled no longer read as a picture).
DRAW_MAX = 10

INK, GREY, LIGHT = "#1f2328", "#59636e", "#d0d7de"
SERIES = ("#0969da", "#cf222e", "#1a7f37", "#8250df", "#bf8700", "#1b7c83")
STYLE = f"""
text {{ font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; font-size: 11px;
  fill: {INK}; font-variant-numeric: tabular-nums; }}
.title {{ font-size: 15px; font-weight: bold; }}
.cap {{ font-size: 12px; font-weight: bold; }}
.small {{ font-size: 10px; fill: {GREY}; }}
.rule {{ font-size: 10px; fill: #8250df; }}
.factor {{ font-size: 10px; fill: #8250df; }}
.z {{ fill: {GREY}; }}
.in {{ font-size: 10.5px; }}
.a {{ font-weight: bold; }}
.delta {{ fill: #b3186d; }}
.new {{ fill: #1a7f37; }}
.grad {{ fill: #b3186d; }}
.wl {{ font-size: 10px; }}
.neuron {{ fill: #f6f8fa; stroke: #57606a; stroke-width: 1.5; }}
.value {{ fill: #eef4fb; stroke: #8c959f; }}
.box {{ fill: #f6f8fa; stroke: #8c959f; }}
.cost {{ fill: #fff8e6; stroke: #bf8700; }}
.plate {{ fill: #ffffff; fill-opacity: 0.93; stroke-width: 0.8; }}
.pos {{ stroke: #4a78b0; }}
.neg {{ stroke: #d9822b; }}
.link {{ stroke: #8c959f; stroke-dasharray: 4 3; fill: none; }}
.fan {{ stroke: #afb8c1; }}
.thick {{ stroke: #afb8c1; stroke-width: 12; stroke-linecap: round; }}
.axis {{ stroke: #8c959f; fill: none; }}
.grid {{ stroke: #eaeef2; fill: none; }}
.series {{ fill: none; stroke-width: 1.8; stroke-linejoin: round; }}
.alarm {{ fill: #ffebe9; stroke: #cf222e; stroke-width: 2; }}
.alarm-head {{ font-size: 13px; font-weight: bold; fill: #a40e26; }}
.alarm-text {{ font-size: 11px; fill: #a40e26; }}
.failed {{ font-size: 10px; font-weight: bold; fill: #cf222e; }}
"""

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
R = 46            # a neuron's radius: room for three lines such as "δ³ = -2.138e-06"
GAPS = (250, 300, 350, 400)  # between two columns of neurons, tried in turn until the
#                               edges' turned labels fit
LABEL_MAX = 36    # more edges than this between two columns are listed, never labelled
LISTED_GAP = 220  # a gap whose edges are not labelled (their weights listed beside)
LINE = 15         # one line of text in boxes and captions
BELOW = 12        # one line of the small text under a neuron
EM = 0.62         # a character's mean advance in DejaVu Sans, in font sizes (digits: 0.64)


def text_width(text: str, size: float = 11) -> float:
    """About how wide `text` is drawn at `size` px: enough to lay out and to measure the
    drawing's extent (SVG cannot measure text before it is shown)."""
    return len(text) * size * EM


# --- SVG pieces --------------------------------------------------------------------------

def _attrs(attrs: dict[str, object]) -> str:
    # keyword names use _ where SVG uses - (text_anchor -> text-anchor); class_ is class
    return "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(str(v))}"'
                   for k, v in attrs.items() if v is not None)


def _text(x: float, y: float, content: str, cls: str | None = None,
          anchor: str = "middle", **attrs: object) -> str:
    attributes = _attrs({"class": cls, "text_anchor": anchor, **attrs})
    return f'<text x="{x:.1f}" y="{y:.1f}"{attributes}>{content}</text>'


def _span(content: str, cls: str) -> str:
    return f'<tspan class="{cls}">{escape(content)}</tspan>'


def _tip(lines: list[str], *children: str, cls: str | None = None, **attrs: object) -> str:
    """A group whose tooltip is `lines`: what a viewer shows when the pointer rests on it."""
    return (f"<g{_attrs({'class': cls, **attrs})}><title>{escape(chr(10).join(lines))}</title>"
            f"{''.join(children)}</g>")


def _line(x1: float, y1: float, x2: float, y2: float, cls: str, width: float = 1.0,
          **attrs: object) -> str:
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{cls}"'
            f' stroke-width="{width:.2g}"{_attrs(attrs)}/>')


def _rect(x: float, y: float, w: float, h: float, cls: str, rx: float = 6) -> str:
    return (f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}"'
            f' class="{cls}"/>')


def _document(width: float, height: float, title: str, body: list[str], top: float = 0) -> str:
    """The SVG file; `top` > 0 leaves out the band above it (the title and description,
    which a page that embeds the drawing prints itself)."""
    height -= top
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}"'
            f' viewBox="0 {top:.0f} {width:.0f} {height:.0f}" role="img">\n'
            f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n"
            f'<rect y="{top:.0f}" width="100%" height="100%" fill="#ffffff"/>\n'
            + "\n".join(body) + "\n</svg>\n")


def _notation(text: str) -> str:
    """Text in the lecture's notation, escaped, with w^l and a^{l−1} raised (and C_n
    lowered): Unicode superscripts where they exist, a shifted smaller tspan otherwise."""
    out = []
    for kind, piece in notation(text):
        script = unicode_script(kind, piece) if kind else None
        if not kind or script is not None:
            out.append(escape(script if script is not None else piece))
        else:
            shift = "super" if kind == "sup" else "sub"
            out.append(f'<tspan baseline-shift="{shift}" font-size="75%">{escape(piece)}'
                       "</tspan>")
    return "".join(out)


def _alarm(result: TraceResult, x: float, y: float, width: float) -> tuple[list[str], float]:
    """A red box saying that the gradient check failed and what that means, as loud as
    the terminal's warning; nothing when it passed. Returns the parts and their height."""
    problem = gradient_check_warning(result)
    if problem is None:
        return [], 0.0
    lines = _lines(f"Gradient check FAILED: {problem}.", int(width / 6.4))
    height = LINE * (len(lines) + 1) + 14
    parts = [_rect(x, y, width, height, "alarm", 4),
             _text(x + 12, y + 20, "⚠ The gradients below are not trustworthy", "alarm-head",
                   "start")]
    parts += [_text(x + 12, y + 20 + (i + 1) * LINE, escape(line), "alarm-text", "start")
              for i, line in enumerate(lines)]
    return parts, height


def _stats_rows(x: float, y: float, rows: list[tuple[str, Array]], label: float = 124
                ) -> list[str]:
    """A small table of min, max and mean, label column left and numbers right-aligned
    (`label`: where the first column of numbers ends; the table is label + 140 wide)."""
    cols = (x + label, x + label + 70, x + label + 140)
    out = [_text(c, y, h, "small", "end") for c, h in zip(cols, ("min", "max", "mean"))]
    for i, (name, values) in enumerate(rows, start=1):
        yy = y + i * LINE
        out.append(_text(x, yy, escape(name), anchor="start"))
        out += [_text(c, yy, fmt(v), anchor="end")
                for c, v in zip(cols, (values.min(), values.max(), values.mean()))]
    return out


def _table(x: float, y: float, header: list[str], rows: list[list[str]], size: float = 10.5
           ) -> tuple[list[str], float, float]:
    """A table of text, first column left-aligned and the others right-aligned; returns
    the parts, its width and its height."""
    cells = [header, *rows]
    widths = [max(text_width(str(r[c]), size) for r in cells if c < len(r)) + 14
              for c in range(len(header))]
    parts, yy = [], y
    for i, row in enumerate(cells):
        cx = x
        for c, cell in enumerate(row):
            anchor = "start" if c == 0 else "end"
            at = cx if c == 0 else cx + widths[c] - 4
            parts.append(_text(at, yy, _notation(str(cell)), "small" if i == 0 else "wl",
                               anchor))
            cx += widths[c]
        yy += LINE
    line = _line(x, y + 4, x + sum(widths), y + 4, "grid")
    return [line, *parts], sum(widths), LINE * len(cells)


# --- the factors of δ ------------------------------------------------------------------

def _factor(result: TraceResult, layer: LayerTrace) -> tuple[str, Array | None]:
    """The factor δ^l is f′(z^l) times: (w^{l+1})ᵀδ^{l+1} below the output, ∇_a C at it."""
    factors = factor_arrays(layer)
    return factor_symbol(layer), factors[0][1] if factors else None


def delta_rule(result: TraceResult, layer: LayerTrace) -> str:
    """How δ^l is formed from its factors, as the tables write it (and where the output
    pair cancels, the a − y it cancels to); for softmax, what its f′ is."""
    if not factor_arrays(layer):
        return f"δ{sup(layer.l)} = ∂C/∂z{sup(layer.l)}"
    return delta_equation(layer) + (" (f′: J's diagonal)" if layer.activation == "softmax"
                                    else "")


def _per_example(values: Array | None, j: int, symbol: str) -> str:
    """One unit's value, or one per example when the batch has several."""
    if values is None:
        return f"{symbol}: —"
    if values.shape[0] == 1:
        return f"{symbol} = {fmt(values[0, j])}"
    return f"{symbol} = " + ", ".join(f"{fmt(v)} (n={n + 1})" for n, v in enumerate(values[:, j]))


def _slopes(layer: LayerTrace) -> tuple[Array, Array, Array] | None:
    """A PReLU layer's α, ∂C/∂α and α_new, one per unit; None for other layers."""
    if layer.alpha is None or layer.dC_dalpha is None or layer.alpha_new is None:
        return None
    shape = (layer.units,)
    return tuple(np.broadcast_to(np.asarray(v, dtype=np.float64).reshape(-1)
                                 if np.size(v) > 1 else np.asarray(v).reshape(()), shape)
                 for v in (layer.alpha, layer.dC_dalpha, layer.alpha_new))


def _below(result: TraceResult, layer: LayerTrace, j: int) -> list[tuple[str, str]]:
    """The lines under neuron j: δ's two factors, b → b − η∂C/∂b, and α for PReLU."""
    L = sup(layer.l)
    name, factor = _factor(result, layer)
    lines = []
    if factor is not None:
        lines.append((f"{name} = {fmt(factor[0, j])}", "factor"))
    if layer.f_prime is not None:
        lines.append((f"f′(z{L}) = {fmt(layer.f_prime[0, j])}", "factor"))
    lines.append((f"b = {fmt_old(layer.b[j], layer.b_new[j])} → "
                  f"{fmt_new(layer.b_new[j], layer.b[j])}", "small"))
    slopes = _slopes(layer)
    if slopes is not None:
        alpha, grad, new = (float(v[j]) for v in slopes)
        lines += [(f"α = {fmt_old(alpha, new)} → {fmt_new(new, alpha)}", "small"),
                  (f"∂C/∂α = {fmt(grad)}", "grad small")]
    return lines


# --- networks: the layout ----------------------------------------------------------------

@dataclass
class Column:
    """One column of the drawing: its left edge, width and the centres of its items
    (one per unit, or a single centre when the column is a box); `kind` is "inputs",
    "neurons", "rows" (a small layer beside summary boxes), "box", "targets" or "cost"."""

    x: float
    width: float
    ys: list[float]
    kind: str
    box: tuple[float, float] | None = None   # (top, height) of a box or a block of rows

    @property
    def out_x(self) -> float:
        """Where edges leave this column's items."""
        return self.mid + R if self.kind == "neurons" else self.right

    @property
    def in_x(self) -> float:
        """Where edges reach this column's items."""
        return self.mid - R if self.kind == "neurons" else self.x

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def mid(self) -> float:
        return self.x + self.width / 2


def boxed(result: TraceResult) -> bool:
    """Whether the drawing summarises (some column wider than DRAW_MAX): then every small
    layer is a block of rows beside the boxes, not a column of circles."""
    return max(result.architecture) > DRAW_MAX


def _spacing(result: TraceResult) -> float:
    """Between the centres of two neurons: the circle and the lines under it."""
    below = max(len(_below(result, layer, 0)) for layer in result.layers)
    return 2 * R + 10 + below * BELOW + 16


def _neuron_layout(result: TraceResult, top: float, gaps: list[float]) -> list[Column]:
    """Inputs, one column of circles per layer (`gaps[l − 1]` left of layer l), targets and
    cost, centred on one line."""
    spacing = _spacing(result)
    counts = [result.x.shape[1], *(layer.units for layer in result.layers)]
    mid = top + max(counts) * spacing / 2 - 10
    columns, x = [], 30.0
    for i, count in enumerate(counts):
        ys = [mid + (j - (count - 1) / 2) * spacing for j in range(count)]
        columns.append(Column(x, 96 if i == 0 else 2 * R, ys, "inputs" if i == 0 else "neurons"))
        x = columns[-1].right + (gaps[i] if i < len(gaps) else 0)
    targets = Column(columns[-1].right + 70, 120, columns[-1].ys, "targets")
    cost = Column(targets.right + 60, 130, [(min(targets.ys) + max(targets.ys)) / 2], "cost")
    return [*columns, targets, cost]


# --- networks: neurons and their edges ---------------------------------------------------

def _neuron(result: TraceResult, layer: LayerTrace, j: int, cx: float, cy: float) -> str:
    L = sup(layer.l)
    name, factor = _factor(result, layer)
    tip = [f"layer l = {layer.l}, neuron j = {result.unit(layer.l, j)} ({layer.activation})",
           _per_example(layer.z, j, f"z{L}"), _per_example(layer.a, j, f"a{L}"),
           _per_example(factor, j, name), _per_example(layer.f_prime, j, f"f′(z{L})"),
           _per_example(layer.delta, j, f"δ{L}"), delta_rule(result, layer),
           f"b{L} = {fmt(layer.b[j])}", f"∂C/∂b{L} = {fmt(layer.dC_db[j])}",
           f"b{L} new = {fmt_new(layer.b_new[j], layer.b[j])}"]
    below = [_text(cx, cy + R + 13 + i * BELOW, escape(text), cls)
             for i, (text, cls) in enumerate(_below(result, layer, j))]
    return _tip(tip,
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{R}" class="neuron"/>',
                _text(cx, cy - 11, escape(f"z{L} = {fmt(layer.z[0, j])}"), "in z"),
                _text(cx, cy + 4, escape(f"a{L} = {fmt(layer.a[0, j])}"), "in a"),
                _text(cx, cy + 19, escape(f"δ{L} = {fmt(layer.delta[0, j])}"), "in delta"),
                *below, cls="neuron-group", data_unit=f"{layer.l},{j + 1}")


def _below_box(result: TraceResult, layer: LayerTrace, cx: float, cy: float) -> Box:
    """Where the lines under a neuron are drawn, for the edge labels to keep clear of."""
    lines = _below(result, layer, 0)
    width = max(text_width(text, 10) for text, _ in lines) + 4
    height = len(lines) * BELOW + 4
    return Box(cx, cy + R + 5 + height / 2, width, height)


def _edge_texts(result: TraceResult, layer: LayerTrace, j: int, k: int) -> tuple[str, str, str]:
    w, w_new = layer.w[j, k], layer.w_new[j, k]
    return fmt_old(w, w_new), f" → {fmt_new(w_new, w)}", f"∂C/∂w = {fmt(layer.dC_dw[j, k])}"


def _edge_tip(result: TraceResult, layer: LayerTrace, j: int, k: int) -> list[str]:
    L, where = sup(layer.l), f"[{result.unit(layer.l, j)},{k + 1}]"
    w, w_new = layer.w[j, k], layer.w_new[j, k]
    return [f"w{L}{where} = {fmt(w)} (from unit {k + 1} of layer {layer.l - 1} to unit "
            f"{result.unit(layer.l, j)} of layer {layer.l})",
            f"∂C/∂w{L}{where} = {fmt(layer.dC_dw[j, k])}",
            f"w{L}{where} new = {fmt_new(w_new, w)}"]


def _label_size(texts: tuple[str, str, str]) -> tuple[float, float]:
    return max(text_width(texts[0] + texts[1], 10), text_width(texts[2], 10)) + 10, 27.0


def _edge_labels(result: TraceResult, layer: LayerTrace, src: Column, dst: Column
                 ) -> list[Box] | None:
    """Where each edge's label goes (edges in row order: w[j, k] for j, then k), or None
    when the edges are too many to label them all unambiguously."""
    edges = [(src.out_x, yk, dst.in_x, yj) for yj in dst.ys for yk in src.ys]
    if len(edges) > LABEL_MAX:
        return None
    sizes = [_label_size(_edge_texts(result, layer, j, k))
             for j in range(len(dst.ys)) for k in range(len(src.ys))]
    boxes: list[Box] = []
    circles = []
    for col, lay in ((src, result.layers[layer.l - 2] if layer.l > 1 else None), (dst, layer)):
        for y in col.ys:
            if lay is None:
                boxes.append(Box(col.mid, y, col.width, 32))
            else:
                circles.append((col.mid, y, R))
                boxes.append(_below_box(result, lay, col.mid, y))
    return place_labels(edges, sizes, boxes, circles)


def _edges(result: TraceResult, layer: LayerTrace, src: Column, dst: Column,
           labels: list[Box] | None) -> list[str]:
    """Every edge of layer l, width ∝ |w|, with its label (w → w_new and ∂C/∂w) on it when
    `labels` places them; the lines first, so that no line crosses a label."""
    biggest = float(np.abs(layer.w).max()) or 1.0
    lines, texts = [], []
    for j, yj in enumerate(dst.ys):
        for k, yk in enumerate(src.ys):
            w = layer.w[j, k]
            tip = _edge_tip(result, layer, j, k)
            cls = "pos" if w >= 0 else "neg"
            lines.append(_tip(tip, _line(src.out_x, yk, dst.in_x, yj, f"{cls} edge",
                                         0.8 + 2.2 * abs(w) / biggest),
                              data_w=f"{layer.l},{j + 1},{k + 1}"))
            if labels is not None:
                box = labels[j * len(src.ys) + k]
                texts.append(_edge_label(box, _edge_texts(result, layer, j, k), cls, tip,
                                         f"{layer.l},{j + 1},{k + 1}"))
    return lines + texts


def _edge_label(box: Box, texts: tuple[str, str, str], cls: str, tip: list[str],
                which: str) -> str:
    """w → w_new over ∂C/∂w on a white plate edged in the edge's colour, turned along it."""
    w, new, grad = texts
    return _tip(tip,
                f'<rect x="{-box.w / 2:.1f}" y="{-box.h / 2:.1f}" width="{box.w:.1f}"'
                f' height="{box.h:.1f}" rx="3" class="plate {cls}"/>',
                _text(0, -2, escape(w) + _span(new, "new"), "wl"),
                _text(0, 10, escape(grad), "wl grad"),
                cls="edge-label", data_w=which,
                transform=f"translate({box.cx:.1f} {box.cy:.1f}) rotate({box.angle:.2f})")


def _weight_list(result: TraceResult, layer: LayerTrace, x: float, y: float
                 ) -> tuple[list[str], float, float]:
    """Every weight of layer l as a table (when its edges are too many to label)."""
    L = sup(layer.l)
    rows = [[f"[{result.unit(layer.l, j)},{k + 1}]", fmt_old(layer.w[j, k], layer.w_new[j, k]),
             fmt_new(layer.w_new[j, k], layer.w[j, k]), fmt(layer.dC_dw[j, k])]
            for j in range(layer.units) for k in range(layer.inputs)]
    parts, width, height = _table(x, y + LINE, [f"w{L}[j,k]", "w", "→ w − η∂C/∂w", "∂C/∂w"],
                                  rows)
    head = _text(x, y, escape(f"w{L}: {layer.units * layer.inputs} weights, too many to "
                              "label on the edges"), "cap", "start")
    return [head, *parts], max(width, text_width("w¹: 100 weights, too many to label on "
                                                 "the edges", 12)), height + LINE


def _inputs(result: TraceResult, col: Column) -> list[str]:
    if col.box:
        top, height = col.box
        x = result.x
        return [_tip([f"x: {fmt(x.min())} … {fmt(x.max())}, mean {fmt(x.mean())}"],
                     _rect(col.x, top, col.width, height, "value"),
                     _text(col.x + 12, top + 18, f"{x.shape[1]} inputs", "cap", "start"),
                     *_stats_rows(col.x + 12, top + 18 + LINE, [("x = a⁰", x)], 84))]
    parts = []
    for k, cy in enumerate(col.ys):
        values = ", ".join(fmt(v) for v in result.x[:, k])
        parts.append(_tip([f"x{str(k + 1).translate(SUB)} = a⁰ = {values}"],
                          _rect(col.x, cy - 16, col.width, 32, "value"),
                          _text(col.mid, cy + 4, escape(f"x{str(k + 1).translate(SUB)} = "
                                                        f"{fmt(result.x[0, k])}"))))
    return parts


def _targets(result: TraceResult, out: Column, col: Column) -> list[str]:
    y = result.y
    if col.box:
        top, height = col.box
        return [_rect(col.x, top, col.width, height, "value"),
                _text(col.x + 12, top + 18, f"{y.shape[1]} targets", "cap", "start"),
                *_stats_rows(col.x + 12, top + 18 + LINE, [("y", y)], 84),
                _line(out.right, out.ys[0], col.x, out.ys[0], "link")]
    parts = []
    for j, cy in enumerate(col.ys):
        label = result.unit(len(result.layers), j)
        shown = f"y{str(j + 1).translate(SUB)} = {fmt(y[0, j])}"
        if result.class_names and j < len(result.class_names):
            shown += f"  ({result.class_names[j]})"
        parts += [_line(out.out_x, cy, col.x, cy, "link"),
                  _tip([f"target y{str(j + 1).translate(SUB)} for unit {label}: "
                        + ", ".join(fmt(v) for v in y[:, j])],
                       _rect(col.x, cy - 16, col.width, 32, "value"),
                       _text(col.mid, cy + 4, escape(shown)))]
    return parts


def _captions(result: TraceResult, cols: list[Column], y: float,
              listed: set[int]) -> list[str]:
    """Over each column its name, the activation and how δ is formed; over each gap w^l's
    shape (and, where its edges are unlabelled, where its weights are listed)."""
    L = len(result.layers)
    parts = [_text(cols[0].mid, y, "inputs x = a⁰", "cap")]
    for layer, col, prev in zip(result.layers, cols[1:], cols):
        l, S = layer.l, sup(layer.l)
        between = (prev.right + col.x) / 2
        parts += [_text(col.mid, y, f"layer l = {l}" + (" = L" if l == L else ""), "cap"),
                  _text(col.mid, y + LINE, escape(f"{layer.activation}: z{S}, a{S}, δ{S}"),
                        "small"),
                  _text(col.mid, y + 2 * LINE, escape(delta_rule(result, layer)), "rule"),
                  _text(between, y + LINE, escape(f"w{S}  ({layer.units}×{layer.inputs})"),
                        "cap")]
        if l in listed:
            parts += [_text(between, y + 3 * LINE + 4, "too many edges to label:", "failed"),
                      _text(between, y + 4 * LINE + 4,
                            escape(f"w{S} is listed at the right →"), "failed")]
    parts += [_text(cols[-2].mid, y, "targets y", "cap"), _text(cols[-1].mid, y, "cost", "cap")]
    return parts


def _cost(result: TraceResult, targets: Column, col: Column, link: bool = True) -> list[str]:
    cy = col.ys[0]
    lines = [_text(col.mid, cy - 6, escape(f"C = {fmt(result.cost)}"), "cap"),
             _text(col.mid, cy + 10, escape(result.cost_name), "small")]
    if result.n > 1:
        lines.append(_text(col.mid, cy + 24, escape(f"mean over N = {result.n}"), "small"))
    links = [_line(targets.right, y, col.x, cy, "link") for y in targets.ys] if link else []
    return [*links, _tip([f"C = {fmt(result.cost)} ({result.cost_name})"],
                         _rect(col.x, cy - 28, col.width, 62, "cost"), *lines)]


@dataclass
class Drawn:
    """Parts of the drawing and how far they reach (for the picture's size)."""

    parts: list[str] = field(default_factory=list)
    right: float = 0.0
    bottom: float = 0.0

    def add(self, parts: list[str], right: float, bottom: float) -> None:
        self.parts += parts
        self.right, self.bottom = max(self.right, right), max(self.bottom, bottom)


def _labelled_layout(result: TraceResult, top: float
                     ) -> tuple[list[Column], dict[int, list[Box] | None]]:
    """The columns, with each layer's gap widened step by step until every edge label
    fits (crossing edges leave room only further from the crossings); a layer whose
    labels fit in none of GAPS gets no labels (None), its weights listed instead."""
    gaps = [GAPS[0]] * len(result.layers)
    tries = [0] * len(result.layers)
    while True:
        cols = _neuron_layout(result, top, gaps)
        labels = {layer.l: _edge_labels(result, layer, src, dst)
                  for layer, src, dst in zip(result.layers, cols, cols[1:])}
        failed = [l for l, placed in labels.items()
                  if placed is None and tries[l - 1] + 1 < len(GAPS)]
        if not failed:
            break
        for l in failed:
            tries[l - 1] += 1
            gaps[l - 1] = GAPS[tries[l - 1]]
    listed = [l for l, placed in labels.items() if placed is None]
    if not listed:
        return cols, labels
    for l in listed:   # unlabelled edges need no room: the narrowest gap
        gaps[l - 1] = LISTED_GAP
    cols = _neuron_layout(result, top, gaps)
    return cols, {layer.l: None if layer.l in listed else _edge_labels(result, layer, src, dst)
                  for layer, src, dst in zip(result.layers, cols, cols[1:])}


def _neuron_network(result: TraceResult, caption_y: float) -> Drawn:
    """A small network: every neuron a circle, every edge labelled or its layer listed."""
    top = caption_y + 3 * LINE + 10
    cols, labels = _labelled_layout(result, top)
    listed = {l for l, placed in labels.items() if placed is None}
    if listed:   # room under the captions for the note that says where the weights are
        top += 2 * LINE
        cols, labels = _labelled_layout(result, top)
    out = Drawn()
    spacing = _spacing(result)
    bottom = max(y for c in cols for y in c.ys) + spacing / 2 + 4
    out.add(_captions(result, cols, caption_y, listed), cols[-1].right, bottom)
    for layer, src, dst in zip(result.layers, cols, cols[1:]):
        out.parts += _edges(result, layer, src, dst, labels[layer.l])
    out.parts += _inputs(result, cols[0])
    for layer, col in zip(result.layers, cols[1:-2]):
        out.parts += [_neuron(result, layer, j, col.mid, y) for j, y in enumerate(col.ys)]
        out.add([], col.mid + 60, 0)   # (the lines under a neuron reach past its circle)
    out.parts += _targets(result, cols[-3], cols[-2])
    out.parts += _cost(result, cols[-2], cols[-1])
    x = cols[-1].right + 40
    y = caption_y
    for layer in result.layers:
        if layer.l in listed:
            parts, width, height = _weight_list(result, layer, x, y)
            out.add(parts, x + width, y + height)
            y += height + LINE
    return out


# --- networks too wide to draw unit by unit ----------------------------------------------

BOX_W = 310       # a summary box
ROW = 22          # one unit of a small layer drawn as a row of numbers
BOX_GAP = 90      # between two columns in a summarised drawing


def _box_rows(result: TraceResult, layer: LayerTrace) -> list[tuple[str, Array]]:
    L = sup(layer.l)
    name, factor = _factor(result, layer)
    rows = [(f"w{L}", layer.w), (f"∂C/∂w{L}", layer.dC_dw), (f"w{L} new", layer.w_new),
            (f"z{L}", layer.z), (f"a{L}", layer.a)]
    rows += [(f"f′(z{L})", layer.f_prime)] if layer.f_prime is not None else []
    rows += [(name, factor)] if factor is not None else []
    return rows + [(f"δ{L}", layer.delta), (f"∂C/∂b{L}", layer.dC_db)]


def _box_height(result: TraceResult, layer: LayerTrace) -> float:
    return LINE * (2 + 1 + len(_box_rows(result, layer)) + 2 + 5) + 30


def _wide_box(result: TraceResult, layer: LayerTrace, col: Column) -> str:
    """A layer too wide to draw: its arrays' min, max and mean, and the five units with the
    largest |δ| with their z, a, f′(z) and δ."""
    L, (top, height) = sup(layer.l), col.box or (0.0, 0.0)
    x = col.x + 12
    parts = [_rect(col.x, top, col.width, height, "box"),
             _text(x, top + 18, f"{plural(layer.units, 'unit')} · {layer.activation}",
                   "cap", "start"),
             _text(x, top + 18 + LINE, escape(f"w{L} is {layer.units}×{layer.inputs}; "
                                              f"b{L} min {fmt(layer.b.min())}, "
                                              f"max {fmt(layer.b.max())}"), "small", "start")]
    rows = _box_rows(result, layer)
    y = top + 18 + 2.4 * LINE
    parts += _stats_rows(x, y, rows)
    y += (len(rows) + 1) * LINE + 6
    example = " (example 1)" if result.n > 1 else ""
    parts.append(_text(x, y, escape(f"the 5 units with the largest |δ{L}|{example}"),
                       "small", "start"))
    cols = (x + 106, x + 168, x + 222, x + 286)
    arrays = [(f"z{L}", layer.z, "z"), (f"a{L}", layer.a, "a"),
              ("f′", layer.f_prime, "factor"), (f"δ{L}", layer.delta, "delta")]
    parts += [_text(x, y + LINE, "j", "small", "start")]
    parts += [_text(c, y + LINE, escape(h), "small", "end") for c, (h, _, _) in zip(cols, arrays)]
    for i, j in enumerate(top_delta_units(layer), start=2):
        yy = y + i * LINE
        parts.append(_text(x, yy, escape(result.unit(layer.l, int(j))), anchor="start"))
        parts += [_text(c, yy, fmt(v[0, j]) if v is not None else "—", cls, "end")
                  for c, (_, v, cls) in zip(cols, arrays)]
    tip = [f"layer l = {layer.l}: {layer.units} units, {layer.activation}",
           delta_rule(result, layer),
           *(f"{name}: min {fmt(v.min())}, max {fmt(v.max())}, mean {fmt(v.mean())}"
             for name, v in ((f"b{L}", layer.b), (f"b{L} new", layer.b_new)))]
    return _tip(tip, *parts)


def _row_columns(result: TraceResult, layer: LayerTrace) -> list[tuple[str, list[str], str]]:
    """The columns of a small layer drawn as rows: (heading, one cell per unit, class)."""
    L, units = sup(layer.l), range(layer.units)
    name, factor = _factor(result, layer)
    out = [("j", [result.unit(layer.l, j) for j in units], ""),
           (f"z{L}", [fmt(layer.z[0, j]) for j in units], "z"),
           (f"a{L}", [fmt(layer.a[0, j]) for j in units], "a")]
    if layer.f_prime is not None:
        out.append((f"f′(z{L})", [fmt(layer.f_prime[0, j]) for j in units], "factor"))
    if factor is not None:
        out.append((name, [fmt(factor[0, j]) for j in units], "factor"))
    out += [(f"δ{L}", [fmt(layer.delta[0, j]) for j in units], "delta"),
            (f"b{L} → b{L} − η∂C/∂b{L}",
             [f"{fmt_old(layer.b[j], layer.b_new[j])} → {fmt_new(layer.b_new[j], layer.b[j])}"
              for j in units], "")]
    slopes = _slopes(layer)
    if slopes is not None:
        alpha, grad, new = slopes
        out += [(f"α{L} → new", [f"{fmt_old(alpha[j], new[j])} → {fmt_new(new[j], alpha[j])}"
                                 for j in units], ""),
                ("∂C/∂α", [fmt(grad[j]) for j in units], "grad")]
    if layer.l == len(result.layers):
        out.append(("y", [fmt(result.y[0, j]) for j in units], ""))
    return out


def _row_widths(columns: list[tuple[str, list[str], str]]) -> list[float]:
    return [max(text_width(t) for t in [head, *cells]) + 14 for head, cells, _ in columns]


def _rows_width(result: TraceResult, layer: LayerTrace) -> float:
    return 20 + sum(_row_widths(_row_columns(result, layer)))


def _unit_rows(result: TraceResult, layer: LayerTrace, col: Column) -> list[str]:
    """A small layer beside summary boxes: one row of numbers per unit, a dot where its
    edges meet it."""
    columns = _row_columns(result, layer)
    widths = _row_widths(columns)
    top = (col.box or (0.0, 0.0))[0]
    x0 = col.x + 20
    parts = [_rect(col.x + 12, top, col.width - 12, ROW * (layer.units + 1) + 6, "box", 4)]
    x = x0
    for (head, cells, cls), width in zip(columns, widths):
        first = x == x0
        at = x + 4 if first else x + width - 6
        anchor = "start" if first else "end"
        parts.append(_text(at, top + 16, _notation(head), "small", anchor))
        for cell, y in zip(cells, col.ys):
            parts.append(_text(at, y + 4, escape(cell), cls or None, anchor))
        x += width
    L, name = sup(layer.l), _factor(result, layer)[0]
    for j, y in enumerate(col.ys):
        tip = [f"layer l = {layer.l}, unit j = {result.unit(layer.l, j)} ({layer.activation})",
               _per_example(layer.z, j, f"z{L}"), _per_example(layer.a, j, f"a{L}"),
               _per_example(layer.delta, j, f"δ{L}"), delta_rule(result, layer),
               _per_example(_factor(result, layer)[1], j, name)]
        parts.append(_tip(tip, f'<circle cx="{col.x + 6:.1f}" cy="{y:.1f}" r="6"'
                               ' class="neuron"/>'))
    return parts


def _boxed_layout(result: TraceResult, top: float) -> list[Column]:
    """Summary boxes and blocks of rows side by side, their tops on one line; the cost
    goes under the last column."""
    inputs = result.x.shape[1]
    if inputs > DRAW_MAX:
        height = LINE * 4 + 20
        columns = [Column(30, 240, [top + height / 2], "box", (top, height))]
    else:
        ys = [top + 24 + k * 30 for k in range(inputs)]
        columns = [Column(30, 96, ys, "inputs")]
    for layer in result.layers:
        x = columns[-1].right + BOX_GAP
        if layer.units > DRAW_MAX:
            height = _box_height(result, layer)
            columns.append(Column(x, BOX_W, [top + 40], "box", (top, height)))
        else:
            ys = [top + ROW * (j + 1) + 12 for j in range(layer.units)]
            columns.append(Column(x, _rows_width(result, layer), ys, "rows",
                                  (top, ROW * (layer.units + 1) + 6)))
    return columns


def _boxed_edges(result: TraceResult, layer: LayerTrace, src: Column, dst: Column
                 ) -> list[str]:
    """One thick edge between two boxes, a fan between a box and units, and every edge
    between two small layers (their weights listed)."""
    L = sup(layer.l)
    stats = [f"w{L} is {layer.units}×{layer.inputs}"] + [
        f"{name}: min {fmt(v.min())}, max {fmt(v.max())}, mean {fmt(v.mean())}"
        for name, v in ((f"w{L}", layer.w), (f"∂C/∂w{L}", layer.dC_dw),
                        (f"w{L} new", layer.w_new))]
    x1, x2 = src.out_x, dst.in_x
    if src.kind == "box" and dst.kind == "box":
        return [_tip(stats, _line(x1, src.ys[0], x2, dst.ys[0], "thick"))]
    pairs = [(a, b) for b in dst.ys for a in src.ys]
    return [_tip(stats, *(_line(x1, a, x2 if dst.kind != "rows" else dst.x, b, "fan")
                          for a, b in pairs))]


def _boxed_network(result: TraceResult, caption_y: float) -> Drawn:
    top = caption_y + 3 * LINE + 10
    cols = _boxed_layout(result, top)
    out = Drawn()
    L = len(result.layers)
    out.parts += _boxed_captions(result, cols, caption_y)
    for layer, src, dst in zip(result.layers, cols, cols[1:]):
        out.parts += _boxed_edges(result, layer, src, dst)
    first = cols[0]
    if first.kind == "box":
        out.parts += _inputs(result, Column(first.x, first.width, first.ys, "box", first.box))
    else:
        out.parts += _inputs_small(result, first)
    listed: list[LayerTrace] = []
    for layer, col in zip(result.layers, cols[1:]):
        if col.kind == "box":
            out.parts.append(_wide_box(result, layer, col))
        else:
            out.parts += _unit_rows(result, layer, col)
            if col.kind == "rows" and cols[layer.l - 1].kind != "box":
                listed.append(layer)
        box = col.box or (top, 0.0)
        out.add([], col.right, box[0] + box[1])
    last = cols[-1]
    below = (last.box or (top, 0.0))
    y = below[0] + below[1] + 14
    if last.kind == "box":   # the targets' summary under the output box, the cost beside
        targets = Column(last.x, 240, [y + 40], "targets", (y, LINE * 4 + 20))
        out.parts += _targets(result, last, targets)[:-1]
        cost = Column(last.x + 250, 130, [y + 34], "cost")
        out.add(_cost(result, targets, cost, link=False), cost.right, y + 80)
    else:
        w = result.layers[-1]
        Lw = sup(L)
        out.parts.append(_text(last.x + 12, y + 12, escape(f"w{Lw} ({w.units}×{w.inputs})"),
                               "small", "start"))
        out.parts += _stats_rows(last.x + 12, y + 12 + LINE,
                                 [(f"w{Lw}", w.w), (f"∂C/∂w{Lw}", w.dC_dw),
                                  (f"w{Lw} new", w.w_new)])
        cost = Column(last.x + 300, 130, [y + 40], "cost")
        out.add(_cost(result, last, cost, link=False), max(cost.right, last.right),
                y + 12 + 5 * LINE)
    x, y = out.right + 40, caption_y
    for layer in listed:
        parts, width, height = _weight_list(result, layer, x, y)
        out.add(parts, x + width, y + height)
        x += width + 30
    return out


def _inputs_small(result: TraceResult, col: Column) -> list[str]:
    parts = []
    for k, cy in enumerate(col.ys):
        values = ", ".join(fmt(v) for v in result.x[:, k])
        parts.append(_tip([f"x{str(k + 1).translate(SUB)} = a⁰ = {values}"],
                          _rect(col.x, cy - 11, col.width, 22, "value", 4),
                          _text(col.mid, cy + 4, escape(f"x{str(k + 1).translate(SUB)} = "
                                                        f"{fmt(result.x[0, k])}"))))
    return parts


def _boxed_captions(result: TraceResult, cols: list[Column], y: float) -> list[str]:
    L = len(result.layers)
    parts = [_text(cols[0].x, y, "inputs x = a⁰", "cap", "start")]
    for layer, col, prev in zip(result.layers, cols[1:], cols):
        l, S = layer.l, sup(layer.l)
        parts += [_text(col.x, y, f"layer l = {l}" + (" = L" if l == L else "")
                        + (", targets y and cost C" if l == L else ""), "cap", "start"),
                  _text(col.x, y + LINE, escape(f"{layer.activation}: z{S}, a{S}, δ{S}"),
                        "small", "start"),
                  _text(col.x, y + 2 * LINE, escape(delta_rule(result, layer)), "rule",
                        "start"),
                  _text((prev.right + col.x) / 2, y + 3 * LINE + 2,
                        escape(f"w{S}"), "cap"),
                  _text((prev.right + col.x) / 2, y + 4 * LINE + 2,
                        escape(f"{layer.units}×{layer.inputs}"), "small")]
    return parts


# --- under the network: summaries, cost per step, variants, the decision regions ---------

def _summaries(result: TraceResult, x: float, y: float) -> tuple[list[str], float, float]:
    """The closing per-layer summary, as the tables print it, with its thresholds."""
    header, rows = summary_rows(result)
    parts, width, height = _table(x, y + LINE + 10, header, rows)
    note = summary_thresholds(result)
    parts += [_text(x, y + 10, "per-layer summary", "cap", "start"),
              _text(x, y + LINE + 10 + height, escape(note), "small", "start")]
    return ([f'<g class="summary">{"".join(parts)}</g>'],
            max(width, text_width(note, 10)), height + 2 * LINE + 10)


def _runs(result: TraceResult) -> list[TraceResult]:
    return [result, *result.comparisons]


def _run_label(result: TraceResult) -> str:
    return result.label or result.cost_name


@dataclass
class _Scale:
    """The cost chart's plot area and its axes: steps 0..K across, the cost up (its
    logarithm where `log`), from `low` to `high`."""

    left: float
    top: float
    K: int
    low: float
    high: float
    log: bool
    width: float = 300.0
    height: float = 150.0

    def x(self, k: float) -> float:
        return self.left + self.width * k / max(self.K, 1)

    def y(self, cost: float) -> float:
        value = math.log10(cost) if self.log else cost
        return self.top + self.height * (self.high - value) / (self.high - self.low)


def _scale(histories: list[Array], left: float, top: float) -> _Scale:
    """Shared axes for every history: logarithmic when the costs span over two decades."""
    finite = np.concatenate([h[np.isfinite(h)] for h in histories])
    low, high = float(finite.min()), float(finite.max())
    log = low > 0 and high / low > 100
    if log:
        low, high = math.log10(low), math.log10(high)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    return _Scale(left, top, max(len(h) for h in histories) - 1, low, high, log)


def _axes(scale: _Scale) -> list[str]:
    s = scale
    parts = [f'<rect x="{s.left:.1f}" y="{s.top:.1f}" width="{s.width:.1f}"'
             f' height="{s.height:.1f}" class="axis"/>']
    for value in _ticks(s.low, s.high, s.log):
        yy = s.top + s.height * (s.high - value) / (s.high - s.low)
        label = fmt(10 ** value) if s.log else fmt(value)
        parts += [_line(s.left, yy, s.left + s.width, yy, "grid"),
                  _text(s.left - 5, yy + 4, escape(label), "small", "end")]
    bottom = s.top + s.height
    for k in sorted({0, s.K // 2, s.K}):
        parts += [_line(s.x(k), bottom, s.x(k), bottom + 4, "axis"),
                  _text(s.x(k), bottom + 15, str(k), "small")]
    return [*parts, _text(s.left + s.width / 2, bottom + 29, "step k", "small")]


def _legend(runs: list[TraceResult], scale: _Scale) -> tuple[list[str], float]:
    """Each variant's colour, name and first and last cost, right of the plot."""
    x, parts, texts = scale.left + scale.width + 14, [], []
    for i, run in enumerate(runs):
        ly = scale.top + 8 + i * LINE
        text = f"{_run_label(run)}: {fmt(run.cost_history[0])} → {fmt(run.cost_history[-1])}"
        parts += [f'<line x1="{x:.1f}" y1="{ly - 4:.1f}" x2="{x + 20:.1f}" y2="{ly - 4:.1f}"'
                  f' stroke="{SERIES[i % len(SERIES)]}" stroke-width="2.5"/>',
                  _text(x + 26, ly, escape(text), "small", "start")]
        texts.append(text)
    return parts, 40 + max(text_width(t, 10) for t in texts)


def cost_chart(result: TraceResult, x: float = 0, y: float = 0
               ) -> tuple[list[str], float, float]:
    """C after each step, C_0 … C_K, one line per variant on shared axes (logarithmic when
    the costs span more than two decades), with a legend when there are several."""
    runs = [r for r in _runs(result) if r.cost_history]
    histories = [np.asarray(r.cost_history, dtype=np.float64) for r in runs]
    scale = _scale(histories, x + 62, y + 22)
    K = str(scale.K).translate(SUB)
    parts = [_text(x, y + 10, escape(f"cost C after each step (C₀ … C{K})" + (
        ", logarithmic axis" if scale.log else "")), "cap", "start"), *_axes(scale)]
    for i, (run, h) in enumerate(zip(runs, histories)):
        points = " ".join(f"{scale.x(k):.1f},{scale.y(c):.1f}" for k, c in enumerate(h)
                          if np.isfinite(c))
        tip = [f"{_run_label(run)}: C₀ = {fmt(h[0])}, C after {len(h) - 1} steps = "
               f"{fmt(h[-1])}"]
        parts.append(_tip(tip, f'<polyline points="{points}" class="series"'
                               f' stroke="{SERIES[i % len(SERIES)]}"/>', cls="cost-series",
                          data_label=_run_label(run), data_points=str(len(h))))
    if len(runs) > 1:
        legend, extra = _legend(runs, scale)
    else:   # one line: its last cost, where it ends
        last = f"C{K} = {fmt(histories[0][-1])}"
        legend = [_text(scale.left + scale.width + 8, scale.y(histories[0][-1]) + 4,
                        escape(last), "small", "start")]
        extra = 8 + text_width(last, 10)
    chart = f'<g class="cost-chart">{"".join(parts + legend)}</g>'
    return [chart], 62 + scale.width + extra, 22 + scale.height + 36


def _ticks(low: float, high: float, log: bool) -> list[float]:
    """Where the cost axis is labelled: each decade of a logarithmic axis (or a few of
    them), else its ends and middle."""
    if log:
        decades = list(range(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1))
        step = max(1, math.ceil(len(decades) / 5))
        return [float(d) for d in decades[::step]]
    return [low, (low + high) / 2, high]


def cost_chart_svg(result: TraceResult) -> str:
    """The cost-per-step chart alone, as its own picture (for the HTML page)."""
    parts, width, height = cost_chart(result, 10, 6)
    return _document(width + 30, height + 16, "cost per step", parts)


def _variants(result: TraceResult, x: float, y: float) -> tuple[list[str], float, float]:
    """The variants side by side, one column each (as the terminal prints them)."""
    from fcnn_cli.trace.steps import variant_rows

    header, rows = variant_rows(result)
    parts, width, height = _table(x, y + LINE + 10, ["", *header[1:]], rows)
    title = _text(x, y + 10, "the variants side by side", "cap", "start")
    return [f'<g class="variants">{title}{"".join(parts)}</g>'], width, height + LINE + 10


def boundary_picture(model: Model, result: TraceResult) -> str | None:
    """The model's decision regions with its own data (built-in 2-D sets) and the traced
    example marked, for a model with two inputs; None for any other model."""
    from fcnn_cli.boundary import boundary_svg, has_two_inputs, own_points

    if not has_two_inputs(model):
        return None
    point = np.asarray(model.normalizer.inverse(result.x[:1]), dtype=np.float64)[0]
    return boundary_svg(model, point=point, points=own_points(model))


def _embedded(svg: str, x: float, y: float) -> tuple[str, float, float]:
    """A standalone picture placed inside this one at (x, y); its width and height."""
    svg = re.sub(r"^\s*<\?xml[^>]*>\s*", "", svg)
    size = re.search(r'<svg\b[^>]*?\bwidth="([\d.]+)"[^>]*?\bheight="([\d.]+)"', svg)
    width, height = (float(size.group(1)), float(size.group(2))) if size else (240.0, 240.0)
    # (overflow visible: an axis label a pixel past its picture's edge keeps its sign)
    svg = re.sub(r"<svg\b", f'<svg x="{x:.1f}" y="{y:.1f}" overflow="visible"', svg, count=1)
    return svg, width, height


def _boundary(svg: str, x: float, y: float) -> tuple[list[str], float, float]:
    picture, width, height = _embedded(svg, x, y + LINE + 4)
    title = _text(x, y + 10, "the example x on the model's decision regions", "cap", "start")
    note = _text(x, y + LINE + 4 + height, "ringed: this example; dots: the model's "
                 "training data", "small", "start")
    return ([f'<g class="boundary">{title}{picture}{note}</g>'],
            max(width, text_width("the example x on the model's decision regions", 12)),
            height + 2 * LINE + 14)


def _footer(result: TraceResult, x: float, y: float, boundary: str | None,
            extras: bool) -> Drawn:
    """Under the network: the per-layer summaries, then side by side the cost per step,
    the variants and the decision regions (each where it applies)."""
    out = Drawn(bottom=y - 10)
    if not extras:   # (the page prints the summary as a table)
        return out
    parts, width, height = _summaries(result, x, y)
    out.add(parts, x + width, y + height)
    panels = []
    if result.cost_history:
        panels.append(cost_chart)
    if result.comparisons:
        panels.append(_variants)
    if boundary is not None:
        panels.append(lambda r, px, py: _boundary(boundary, px, py))
    px, py = x, y + height + 16
    for panel in panels:
        parts, width, height = panel(result, px, py)
        out.add(parts, px + width, py + height)
        px += width + 40
    return out


def network_svg(result: TraceResult, standalone: bool = True, boundary: str | None = None,
                extras: bool = True) -> str:
    """The network of a trace, layer by layer, with every number the tables print; with a
    red box on top when the gradient check failed. `standalone=False` leaves out what a
    page embedding the drawing says itself: the title, the header lines, the check;
    `extras=False` the cost chart, the variants and the decision regions (`boundary`, a
    standalone SVG), which such a page shows as figures of their own."""
    arch = "-".join(map(str, result.architecture))
    title = f"Forward trace: {arch} network · {result.cost_name} cost · η = {fmt(result.lr)}"
    notes = [*result.header] if standalone else []
    if result.steps > 1:
        notes.append(f"after {result.steps} gradient-descent steps on the same example(s): "
                     f"the numbers are step {result.steps}'s pass")
    if result.n > 1:
        notes.append(f"N = {result.n} examples: the drawing shows example n = 1; the tooltips "
                     "(hover) list every example's z, a and δ")
    first = 44 if standalone else 20  # the first line of notes
    alarm, alarm_height = (_alarm(result, 24, first + LINE * len(notes) - 4, 760) if standalone
                           else ([], 0.0))
    caption_y = first - 4 + LINE * len(notes) + alarm_height + (30 if alarm else 16)
    body = [_text(24, 26, escape(title), "title", "start")] if standalone else []
    body += [_text(24, first + i * LINE, escape(n), "small", "start")
             for i, n in enumerate(notes)]
    body += alarm
    drawn = (_boxed_network if boxed(result) else _neuron_network)(result, caption_y)
    footer = _footer(result, 24, drawn.bottom + 20, boundary, extras)
    body += drawn.parts + footer.parts
    bottom = footer.bottom + 22
    legend = [("circles: z = wa + b, a = f(z) in bold, δ = ∂C/∂z in magenta; under each, "
               "in violet, the two factors whose product is δ, and b → b − η ∂C/∂b"),
              ("edges: w → w − η ∂C/∂w in green over ∂C/∂w in magenta; width ∝ |w|, blue "
               "w ≥ 0, orange w < 0; hover for every example's numbers")]
    if boxed(result):
        legend = ["boxes: min, max and mean of each array of a layer too wide to draw; rows: "
                  "one unit each, with the two factors whose product is δ in violet"]
    failed = bool(alarm)  # (both drawn only when standalone)
    check = gradient_check_line(result) + (" — FAILED (see the red box above)" if failed else "")
    texts = [*legend, *([check] if standalone else [])]
    for i, text in enumerate(legend):
        body.append(_text(24, bottom + i * LINE, escape(text), "small", "start"))
    if standalone:
        body.append(_text(24, bottom + len(legend) * LINE, escape(check),
                          "failed" if failed else "small", "start"))
    widest = max([24 + text_width(t, 10) for t in texts]
                 + [24 + text_width(title, 15) if standalone else 0]
                 + [24 + text_width(n, 10) for n in notes])
    width = max(drawn.right, footer.right, widest, 24 + 760 if alarm else 0) + 24
    height = bottom + len(texts) * LINE + (4 if standalone else 0)
    return _document(width, height, title, body)


# --- the examples that are not networks ------------------------------------------------

def softmax_svg(example: SoftmaxExample, standalone: bool = True) -> str:
    """Three bar charts side by side: x_j, e^{x_j} and the probabilities e^{x_j} / Σ e^{x_k}."""
    n, row, top = len(example.x), 34, 92
    panels = [("scores xⱼ", example.x, [fmt(v) for v in example.x]),
              ("e^xⱼ", example.exp, [f"{v:.2f}" for v in example.exp]),
              ("e^xⱼ / Σₖ e^xₖ", example.p, [f"{v:.2f}" for v in example.p])]
    body = [_text(24, 26, "Softmax", "title", "start")] if standalone else []
    if standalone and example.description:
        body.append(_text(24, 46, _notation(example.description), "small", "start"))
    for i, (name, values, labels) in enumerate(panels):
        x0 = 70 + i * 300
        body.append(_text(x0 + 90, top - 14, _notation(name), "cap"))
        body += _bars(x0, top, row, values, labels)
        if i:  # the step from the previous panel, between the two titles
            step = "exp →" if i == 1 else f"÷ {example.exp.sum():.2f} →"
            body.append(_text(x0 - 40, top - 14, escape(step), "new"))
    body += [_text(24, top + j * row + row / 2 + 4, f"j = {j + 1}", "small", "start")
             for j in range(n)]
    total = f"total: Σ e^xⱼ = {example.exp.sum():.2f}, Σ probabilities = {example.p.sum():.2f}"
    body.append(_text(24, top + n * row + 22, _notation(total), "small", "start"))
    return _document(940, top + n * row + 44, "Softmax", body, 0 if standalone else 56)


def _bars(x0: float, top: float, row: float, values: Array, labels: list[str]) -> list[str]:
    """Horizontal bars from a zero line (negative values go left), each with its number."""
    span = max(float(np.abs(values).max()), 1e-12)
    negative = bool((values < 0).any())
    zero = x0 + (90 if negative else 0)
    scale = (90 if negative else 170) / span
    parts = [_line(zero, top - 4, zero, top + len(values) * row, "link")]
    for j, (v, label) in enumerate(zip(values, labels)):
        y = top + j * row + 6
        width = abs(v) * scale
        x = zero - width if v < 0 else zero
        parts.append(_tip([f"j = {j + 1}: {fmt(v)}"],
                          _rect(x, y, max(width, 1), row - 12, "value", 2),
                          _text(x - 4 if v < 0 else x + width + 4, y + row / 2 - 2, label,
                                anchor="end" if v < 0 else "start")))
    return parts


def gate_svg(g: GateExample, standalone: bool = True) -> str:
    """The circuit as a computation graph, micrograd-style: value nodes carry their value
    and ∂f/∂node, operation nodes the gate; edges carry the local gradients as tooltips."""
    nodes = {"x": (40, 80, g.x, g.df_dx), "y": (40, 180, g.y, g.df_dy),
             "z": (40, 300, g.z, g.df_dz), "q": (400, 130, g.q, g.df_dq),
             "f": (760, 215, g.f, 1.0)}
    ops = {"+": (300, 130), "×": (660, 215)}
    wires = [("x", "+", f"∂q/∂x = {fmt(g.dq_dx)}"), ("y", "+", f"∂q/∂y = {fmt(g.dq_dy)}"),
             ("+", "q", "q = x + y"), ("q", "×", f"∂f/∂q = z = {fmt(g.df_dq)}"),
             ("z", "×", f"∂f/∂z = q = {fmt(g.df_dz)}"), ("×", "f", "f = q · z")]
    body = [_text(24, 26, "Gates: f(x, y, z) = (x + y)·z", "title", "start")] if standalone else []
    if standalone and g.description:
        body.append(_text(24, 46, _notation(g.description), "small", "start"))
    for a, b, tip in wires:
        ax, ay = (nodes[a][0] + 180, nodes[a][1]) if a in nodes else (ops[a][0] + 22, ops[a][1])
        bx, by = (nodes[b][0], nodes[b][1]) if b in nodes else (ops[b][0] - 22, ops[b][1])
        body.append(_tip([tip], _line(ax, ay, bx, by, "pos", 1.5)))
    for op, (cx, cy) in ops.items():
        body.append(f'<circle cx="{cx}" cy="{cy}" r="22" class="neuron"/>')
        body.append(_text(cx, cy + 6, op, "title"))
    for name, (x, y, value, grad) in nodes.items():
        body.append(_tip([f"{name} = {fmt(value)}", f"∂f/∂{name} = {fmt(grad)}"],
                         _rect(x, y - 22, 180, 44, "value"),
                         _text(x + 24, y + 5, name, "cap"),
                         _line(x + 48, y - 22, x + 48, y + 22, "link"),
                         _text(x + 114, y - 4, escape(f"value {fmt(value)}"), "a"),
                         _text(x + 114, y + 13, escape(f"∂f/∂{name} = {fmt(grad)}"), "grad")))
    sensitivity = gate_sensitivity(g)
    body += _wrapped(24, 360, sensitivity, 150)
    return _document(980, 410, "Gates: f(x, y, z) = (x + y)·z", body, 0 if standalone else 52)


def _lines(text: str, width: int) -> list[str]:
    """A paragraph as lines of at most `width` characters (SVG text does not wrap); a word
    longer than that is a line of its own, never broken."""
    return textwrap.wrap(" ".join(text.split()), width, break_long_words=False,
                         break_on_hyphens=False) or [""]


def _wrapped(x: float, y: float, text: str, width: int) -> list[str]:
    """A paragraph in lines of at most `width` characters, in the lecture's notation."""
    return [_text(x, y + i * LINE, _notation(t), "small", "start")
            for i, t in enumerate(_lines(text, width))]


def architecture_svg(example: ArchitectureExample, standalone: bool = True) -> str:
    """The layers as boxes (height grows with the neurons), with w^l's shape and the
    parameter count on each link."""
    sizes, shapes = example.sizes, example.shapes
    top, tallest = 90, 220
    scale = tallest / max(sizes)
    body = [_text(24, 26, "Find the architecture", "title", "start")] if standalone else []
    if standalone and example.description:
        body.append(_text(24, 46, _notation(example.description), "small", "start"))
    mid = top + tallest / 2
    for l, size in enumerate(sizes):
        x, h = 40 + l * 230, max(size * scale, 40)
        name = "inputs (layer 0)" if l == 0 else f"layer {l}" + (" = L" if l == len(shapes) else "")
        body.append(_tip([f"{name}: {plural(size, 'neuron' if l else 'input')}"],
                         _rect(x, mid - h / 2, 110, h, "value" if l == 0 else "box"),
                         _text(x + 55, mid + 2, str(size), "title"),
                         _text(x + 55, mid + 16, "inputs" if l == 0 else "neurons", "small"),
                         _text(x + 55, mid + h / 2 + 16, escape(name), "small")))
        if l:
            rows, cols = shapes[l - 1]
            gx = x - 60
            body += [_line(x - 120, mid, x, mid, "link"),
                     _text(gx, mid - 26, escape(f"w{sup(l)}: {rows}×{cols}"), "cap"),
                     _text(gx, mid - 12, escape(f"{rows * cols} w + {rows} b"), "small")]
    total = sum(r * c + r for r, c in shapes)
    arch = "-".join(map(str, sizes))
    y = top + tallest + 50
    network, height = _numbered_network(example, y)
    body += network
    y += height
    body.append(_text(24, y, escape(f"{arch}: {total} parameters"), "cap", "start"))
    body += _wrapped(24, y + 20, architecture_reasoning(example), 150)
    width = max(40 + len(sizes) * 230, 900)
    return _document(width, y + 70, "Find the architecture", body, 0 if standalone else 56)


NUMBERED_MAX = 60   # weights numbered one by one on the edges (the lecture's 1…14) at most


def _numbered_network(example: ArchitectureExample, top: float) -> tuple[list[str], float]:
    """The network the shapes describe, a circle per neuron, each weight numbered on its
    edge as the lecture numbers them (w¹ row by row, then w², …) with its w^l_{jk}; or,
    where the edges cannot all be labelled clearly, the numbering listed beside."""
    sizes, shapes = example.sizes, example.shapes
    if max(sizes) > DRAW_MAX or sum(r * c for r, c in shapes) > NUMBERED_MAX:
        return [], 0.0
    step, r = 84.0, 13.0
    mid = top + 30 + (max(sizes) - 1) * step / 2
    centres = [[(95 + l * 230, mid + (j - (n - 1) / 2) * step) for j in range(n)]
               for l, n in enumerate(sizes)]
    edges, names, number = [], [], 0
    for l, (rows, cols) in enumerate(shapes, start=1):
        for j in range(rows):
            for k in range(cols):
                number += 1
                (x1, y1), (x2, y2) = centres[l - 1][k], centres[l][j]
                edges.append((x1 + r, y1, x2 - r, y2))
                names.append((number, f"w{sup(l)}{str(j + 1).translate(SUB)}"
                                      f"{str(k + 1).translate(SUB)}"))
    sizes_px = [(text_width(f"{n}: {name}", 10) + 8, 15.0) for n, name in names]
    circles = [(x, y, r) for layer in centres for x, y in layer]
    placed = place_labels(edges, sizes_px, circles=circles)
    parts = [_text(24, top + 4, "the network these shapes describe, its weights numbered "
                   "as the lecture numbers them (w¹ row by row, then w², …)", "cap", "start")]
    parts += [_line(*e, "pos edge", 1.2) for e in edges]
    parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" class="neuron"/>'
              for x, y, _ in circles]
    if placed is None:   # too crowded: the numbering as a list under the picture
        lines = _lines(", ".join(f"{n} = {name}" for n, name in names), 140)
        y = mid + (max(sizes) - 1) * step / 2 + 2 * r + 16
        parts += [_text(24, y + i * LINE, escape(t), "wl", "start") for i, t in enumerate(lines)]
        return parts, y - top + len(lines) * LINE + 24
    for box, (n, name) in zip(placed, names):
        parts.append(_tip([f"weight {n}: {name}"],
                          f'<rect x="{-box.w / 2:.1f}" y="{-box.h / 2:.1f}" width="{box.w:.1f}"'
                          f' height="{box.h:.1f}" rx="3" class="plate pos"/>',
                          _text(0, 4, escape(f"{n}: {name}"), "wl"),
                          cls="edge-label", data_w=str(n),
                          transform=f"translate({box.cx:.1f} {box.cy:.1f}) "
                                    f"rotate({box.angle:.2f})"))
    return parts, (max(sizes) - 1) * step + 2 * r + 70


def example_svg(example: SoftmaxExample | GateExample | ArchitectureExample,
                standalone: bool = True) -> str:
    """A non-network example drawn; `standalone=False` crops the title and description
    off the top, for a page that prints them itself."""
    if isinstance(example, SoftmaxExample):
        return softmax_svg(example, standalone)
    if isinstance(example, GateExample):
        return gate_svg(example, standalone)
    return architecture_svg(example, standalone)


def trace_svg(result: TraceResult | SoftmaxExample | GateExample | ArchitectureExample,
              standalone: bool = True, boundary: str | None = None,
              extras: bool = True) -> str:
    """`fcnn forward-trace ... --format svg`: a trace's network, or a non-network example
    (`standalone=False`: without what the HTML page around it already says; `boundary`:
    the model's decision regions with the example marked, from `boundary_picture`)."""
    if isinstance(result, TraceResult):
        return network_svg(result, standalone, boundary, extras)
    return example_svg(result, standalone)
