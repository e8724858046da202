"""forward-trace as a drawing (`--format svg`): hand-written SVG, no plotting library.

A network is drawn layer by layer, left to right: the inputs x = a⁰, one column of
neurons per layer l = 1..L (each circle shows z^l, a^l and δ^l), the targets y and the cost
C.  Every edge carries its weight and the updated weight; `<title>` tooltips add ∂C/∂w,
∂C/∂b and, with several examples, each example's own z, a and δ.  A column with more than
DRAW_MAX units is drawn as one box of summaries (min, max, mean and the five units with
the largest |δ|), so a 784-800-800-10 model stays a few kilobytes.  The numbers are
formatted by `formatting.py`, so they read exactly as the terminal tables print them.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.trace.compute import TraceResult
from fcnn_cli.trace.examples import GateExample, SoftmaxExample
from fcnn_cli.trace.formatting import (
    Array,
    architecture_reasoning,
    fmt,
    fmt_new,
    gate_sensitivity,
    gradient_check_line,
    gradient_check_warning,
    notation,
    plural,
    sup,
    top_delta_units,
    unicode_script,
)

if TYPE_CHECKING:
    from fcnn_cli.trace.compute import LayerTrace
    from fcnn_cli.trace.examples import ArchitectureExample

# Beyond this many units a column is one summary box (the terminal's limit is WIDE = 16,
# but 16 circles with every edge labelled no longer read as a picture).
DRAW_MAX = 10

INK, GREY, LIGHT = "#1f2328", "#59636e", "#d0d7de"
STYLE = f"""
text {{ font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; font-size: 11px;
  fill: {INK}; font-variant-numeric: tabular-nums; }}
.title {{ font-size: 15px; font-weight: bold; }}
.cap {{ font-size: 12px; font-weight: bold; }}
.small {{ font-size: 10px; fill: {GREY}; }}
.z {{ fill: {GREY}; }}
.in {{ font-size: 10.5px; }}
.a {{ font-weight: bold; }}
.delta {{ fill: #b3186d; }}
.new {{ fill: #1a7f37; }}
.grad {{ fill: #b3186d; }}
.neuron {{ fill: #f6f8fa; stroke: #57606a; stroke-width: 1.5; }}
.value {{ fill: #eef4fb; stroke: #8c959f; }}
.box {{ fill: #f6f8fa; stroke: #8c959f; }}
.cost {{ fill: #fff8e6; stroke: #bf8700; }}
.pos {{ stroke: #4a78b0; }}
.neg {{ stroke: #d9822b; }}
.link {{ stroke: #8c959f; stroke-dasharray: 4 3; fill: none; }}
.fan {{ stroke: #afb8c1; }}
.thick {{ stroke: #afb8c1; stroke-width: 12; stroke-linecap: round; }}
.alarm {{ fill: #ffebe9; stroke: #cf222e; stroke-width: 2; }}
.alarm-head {{ font-size: 13px; font-weight: bold; fill: #a40e26; }}
.alarm-text {{ font-size: 11px; fill: #a40e26; }}
.failed {{ font-size: 10px; font-weight: bold; fill: #cf222e; }}
"""

SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
R = 48            # a neuron's radius: room for three lines such as "δ³ = -2.138e-06"
SPACING = 124     # between the centres of two neurons of a column
LINE = 15         # one line of text in boxes and captions


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


def _tip(lines: list[str], *children: str) -> str:
    """A group whose tooltip is `lines`: what a viewer shows when the pointer rests on it."""
    return f"<g><title>{escape(chr(10).join(lines))}</title>{''.join(children)}</g>"


def _line(x1: float, y1: float, x2: float, y2: float, cls: str, width: float = 1.0) -> str:
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{cls}"'
            f' stroke-width="{width:.2g}"/>')


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


def _stats_rows(x: float, y: float, rows: list[tuple[str, Array]]) -> list[str]:
    """A small table of min, max and mean, label column left and numbers right-aligned."""
    cols = (x + 110, x + 180, x + 250)
    out = [_text(c, y, h, "small", "end") for c, h in zip(cols, ("min", "max", "mean"))]
    for i, (label, values) in enumerate(rows, start=1):
        yy = y + i * LINE
        out.append(_text(x, yy, escape(label), anchor="start"))
        out += [_text(c, yy, fmt(v), anchor="end")
                for c, v in zip(cols, (values.min(), values.max(), values.mean()))]
    return out


# --- networks ----------------------------------------------------------------------------

@dataclass
class Column:
    """One column of the drawing: its left edge, width and the centres of its items
    (one per unit, or a single centre when the column is a box)."""

    x: float
    width: float
    ys: list[float]
    box: tuple[float, float] | None = None   # (top, height) when drawn as a summary box
    neurons: bool = False                     # circles of radius R, not boxes

    @property
    def out_x(self) -> float:
        """Where edges leave this column's items."""
        return self.mid + R if self.neurons else self.right

    @property
    def in_x(self) -> float:
        """Where edges reach this column's items."""
        return self.mid - R if self.neurons else self.x

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def mid(self) -> float:
        return self.x + self.width / 2


def _box_height(layer: LayerTrace | None) -> float:
    # caption (2 lines) + stats table (header + z, a, δ, b) + top-5 title, header and rows
    return LINE * (2 + 5 + 2 + 5) + 24 if layer is not None else LINE * 4 + 20


def _column_heights(result: TraceResult) -> list[float]:
    inputs = result.x.shape[1]
    heights = [inputs * float(SPACING) if inputs <= DRAW_MAX else _box_height(None)]
    for layer in result.layers:
        heights.append(layer.units * SPACING if layer.units <= DRAW_MAX else _box_height(layer))
    return heights


def _layout(result: TraceResult, top: float, height: float) -> list[Column]:
    """x positions and item centres of the inputs, every layer, the targets and the cost.
    Columns of neurons are centred on the drawing's height; summary boxes share one line
    near its top, so that the boxes sit under their captions and the edges' statistics
    (not half a screen below them, next to a tall column of output neurons)."""
    mid = top + height / 2
    widths = [96 if result.x.shape[1] <= DRAW_MAX else 280]
    widths += [2 * R if layer.units <= DRAW_MAX else 280 for layer in result.layers]
    counts = [result.x.shape[1], *(layer.units for layer in result.layers)]
    sizes = _column_heights(result)
    boxed = [h for h, count in zip(sizes, counts) if count > DRAW_MAX]
    box_mid = top + max(boxed, default=0.0) / 2
    columns, x = [], 30.0
    for i, (width, count, heights) in enumerate(zip(widths, counts, sizes)):
        if i:
            x += 300 if widths[i] > 2 * R or widths[i - 1] > 96 else 210
        if count <= DRAW_MAX:
            ys = [mid + (j - (count - 1) / 2) * SPACING for j in range(count)]
            columns.append(Column(x, width, ys, neurons=i > 0))
        else:
            columns.append(Column(x, width, [box_mid], (box_mid - heights / 2, heights)))
        x += width
    if columns[-1].box:  # a wide output layer: one box of target summaries
        targets = Column(x + 70, 280, [box_mid],
                         (box_mid - _box_height(None) / 2, _box_height(None)))
    else:
        targets = Column(x + 70, 120, columns[-1].ys)
    cost = Column(targets.right + 60, 130, [(min(targets.ys) + max(targets.ys)) / 2])
    return [*columns, targets, cost]


def _per_example(values: Array, j: int, symbol: str) -> str:
    """z, a or δ of unit j: one number, or one per example when the batch has several."""
    if values.shape[0] == 1:
        return f"{symbol} = {fmt(values[0, j])}"
    return f"{symbol} = " + ", ".join(f"{fmt(v)} (n={n + 1})" for n, v in enumerate(values[:, j]))


def _neuron(result: TraceResult, layer: LayerTrace, j: int, cx: float, cy: float) -> str:
    L = sup(layer.l)
    tip = [f"layer l = {layer.l}, neuron j = {result.unit(layer.l, j)} ({layer.activation})",
           _per_example(layer.z, j, f"z{L}"), _per_example(layer.a, j, f"a{L}"),
           _per_example(layer.delta, j, f"δ{L}"),
           f"b{L} = {fmt(layer.b[j])}", f"∂C/∂b{L} = {fmt(layer.dC_db[j])}",
           f"b{L} new = {fmt_new(layer.b_new[j], layer.b[j])}"]
    return _tip(tip,
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{R}" class="neuron"/>',
                _text(cx, cy - 11, escape(f"z{L} = {fmt(layer.z[0, j])}"), "in z"),
                _text(cx, cy + 4, escape(f"a{L} = {fmt(layer.a[0, j])}"), "in a"),
                _text(cx, cy + 19, escape(f"δ{L} = {fmt(layer.delta[0, j])}"), "in delta"),
                _text(cx, cy + R + 13, escape(f"b = {fmt(layer.b[j])} → "
                                              f"{fmt_new(layer.b_new[j], layer.b[j])}"), "small"))


def _wide_box(result: TraceResult, layer: LayerTrace, col: Column) -> str:
    L, (top, height) = sup(layer.l), col.box or (0.0, 0.0)
    x = col.x + 12
    parts = [_rect(col.x, top, col.width, height, "box"),
             _text(x, top + 18, f"{plural(layer.units, 'unit')} · {layer.activation}",
                   "cap", "start"),
             _text(x, top + 18 + LINE, escape(f"w{L} is {layer.units}×{layer.inputs}; "
                                              f"b{L} min {fmt(layer.b.min())}, "
                                              f"max {fmt(layer.b.max())}"), "small", "start")]
    y = top + 18 + 2.4 * LINE
    parts += _stats_rows(x, y, [(f"z{L}", layer.z), (f"a{L}", layer.a), (f"δ{L}", layer.delta),
                                (f"∂C/∂b{L}", layer.dC_db)])
    y += 5 * LINE + 8
    example = " (example 1)" if result.n > 1 else ""
    parts.append(_text(x, y, escape(f"the 5 units with the largest |δ{L}|{example}"),
                       "small", "start"))
    cols = (x + 110, x + 180, x + 250)
    parts += [_text(x, y + LINE, "j", "small", "start")]
    parts += [_text(c, y + LINE, escape(h), "small", "end")
              for c, h in zip(cols, (f"z{L}", f"a{L}", f"δ{L}"))]
    for i, j in enumerate(top_delta_units(layer), start=2):
        yy = y + i * LINE
        parts.append(_text(x, yy, escape(result.unit(layer.l, int(j))), anchor="start"))
        parts += [_text(c, yy, fmt(v[0, j]), cls, "end") for c, v, cls in
                  zip(cols, (layer.z, layer.a, layer.delta), ("z", "a", "delta"))]
    tip = [f"layer l = {layer.l}: {layer.units} units, {layer.activation}",
           *(f"{name}: min {fmt(v.min())}, max {fmt(v.max())}, mean {fmt(v.mean())}"
             for name, v in ((f"b{L}", layer.b), (f"b{L} new", layer.b_new)))]
    return _tip(tip, *parts)


def _inputs(result: TraceResult, col: Column) -> list[str]:
    if col.box:
        top, height = col.box
        x = result.x
        return [_tip([f"x: {fmt(x.min())} … {fmt(x.max())}, mean {fmt(x.mean())}"],
                     _rect(col.x, top, col.width, height, "value"),
                     _text(col.x + 12, top + 18, f"{x.shape[1]} inputs", "cap", "start"),
                     *_stats_rows(col.x + 12, top + 18 + LINE, [("x = a⁰", x)]))]
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
                *_stats_rows(col.x + 12, top + 18 + LINE, [("y", y)]),
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


def _edge_label_ys(src: Column, dst: Column, t: float) -> list[float]:
    return sorted(a + t * (b - a) for a in src.ys for b in dst.ys)


def _edges(result: TraceResult, layer: LayerTrace, src: Column, dst: Column) -> list[str]:
    """Every edge of layer l with w → w_new on it, or one thick edge (or a fan) when either
    end is a summary box; the label of each edge sits a quarter of the way along, so the
    labels of one source fan out and those of different sources stay apart."""
    L = sup(layer.l)
    x1, x2 = src.out_x, dst.in_x
    stats = [f"w{L} is {layer.units}×{layer.inputs}"] + [
        f"{name}: min {fmt(v.min())}, max {fmt(v.max())}, mean {fmt(v.mean())}"
        for name, v in ((f"w{L}", layer.w), (f"∂C/∂w{L}", layer.dC_dw),
                        (f"w{L} new", layer.w_new))]
    if src.box and dst.box:
        return [_tip(stats, _line(x1, src.ys[0], x2, dst.ys[0], "thick"))]
    if src.box or dst.box:   # a fan between a box and a column of individual units
        pairs = ([(src.ys[0], y) for y in dst.ys] if src.box else [(y, dst.ys[0]) for y in src.ys])
        return [_tip(stats, *(_line(x1, a, x2, b, "fan") for a, b in pairs))]
    t = 0.25
    ys = _edge_label_ys(src, dst, t)
    labelled = min((b - a for a, b in zip(ys, ys[1:])), default=99) >= 16
    biggest = float(np.abs(layer.w).max()) or 1.0
    lines, labels = [], []
    for j, yj in enumerate(dst.ys):
        for k, yk in enumerate(src.ys):
            w, w_new = layer.w[j, k], layer.w_new[j, k]
            where = f"[{result.unit(layer.l, j)},{k + 1}]"
            tip = [f"w{L}{where} = {fmt(w)}", f"∂C/∂w{L}{where} = {fmt(layer.dC_dw[j, k])}",
                   f"w{L}{where} new = {fmt_new(w_new, w)}"]
            width = 0.8 + 2.2 * abs(w) / biggest
            lines.append(_tip(tip, _line(x1, yk, x2, yj, "pos" if w >= 0 else "neg", width)))
            if labelled:
                lx, ly = x1 + t * (x2 - x1), yk + t * (yj - yk) + 4
                labels.append(_tip(tip, *_edge_label(lx, ly, fmt(w), fmt_new(w_new, w))))
    # every line first and the labels on top, so that no line crosses a label
    return lines + labels


def _edge_label(x: float, y: float, w: str, w_new: str) -> tuple[str, str]:
    """"w → w_new" on a white plate, so that the lines it sits on do not cut its digits."""
    width = 6.3 * (len(w) + len(w_new) + 3) + 6
    plate = (f'<rect x="{x - width / 2:.1f}" y="{y - 11:.1f}" width="{width:.1f}" height="15"'
             ' rx="3" fill="#ffffff" fill-opacity="0.9"/>')
    return plate, _text(x, y, escape(w) + _span(f" → {w_new}", "new"))


def _captions(result: TraceResult, cols: list[Column], y: float) -> list[str]:
    L = len(result.layers)
    parts = [_text(cols[0].mid, y, "inputs x = a⁰", "cap")]
    for layer, col, prev in zip(result.layers, cols[1:], cols):
        l, S = layer.l, sup(layer.l)
        parts += [_text(col.mid, y, f"layer l = {l}" + (" = L" if l == L else ""), "cap"),
                  _text(col.mid, y + LINE, escape(f"{layer.activation}: z{S}, a{S}, δ{S}"),
                        "small"),
                  _text((prev.right + col.x) / 2, y + LINE,
                        escape(f"w{S}  ({layer.units}×{layer.inputs})"), "cap")]
        if prev.box or col.box:   # one edge stands for them all: say what they hold
            parts += _stats_rows((prev.right + col.x) / 2 - 130, y + 2 * LINE + 8,
                                 [(f"w{S}", layer.w), (f"∂C/∂w{S}", layer.dC_dw),
                                  (f"w{S} new", layer.w_new)])
    parts += [_text(cols[-2].mid, y, "targets y", "cap"), _text(cols[-1].mid, y, "cost", "cap")]
    return parts


def _cost(result: TraceResult, targets: Column, col: Column) -> list[str]:
    cy = col.ys[0]
    lines = [_text(col.mid, cy - 6, escape(f"C = {fmt(result.cost)}"), "cap"),
             _text(col.mid, cy + 10, escape(result.cost_name), "small")]
    if result.n > 1:
        lines.append(_text(col.mid, cy + 24, escape(f"mean over N = {result.n}"), "small"))
    links = [_line(targets.right, y, col.x, cy, "link") for y in targets.ys]
    return [*links, _tip([f"C = {fmt(result.cost)} ({result.cost_name})"],
                         _rect(col.x, cy - 28, col.width, 62, "cost"), *lines)]


def network_svg(result: TraceResult, standalone: bool = True) -> str:
    """The network of a trace, layer by layer, with every number the tables print; with a
    red box on top when the gradient check failed. `standalone=False` leaves out what a
    page embedding the drawing says itself: the title, the header lines, the check."""
    arch = "-".join(map(str, result.architecture))
    title = f"Forward trace: {arch} network · {result.cost_name} cost · η = {fmt(result.lr)}"
    notes = [*result.header] if standalone else []
    if result.n > 1:
        notes.append(f"N = {result.n} examples: the drawing shows example n = 1; the tooltips "
                     "(hover) list every example's z, a and δ")
    first = 44 if standalone else 20  # the first line of notes
    alarm, alarm_height = (_alarm(result, 24, first + LINE * len(notes) - 4, 760) if standalone
                           else ([], 0.0))
    caption_y = first - 4 + LINE * len(notes) + alarm_height + (30 if alarm else 16)
    summarised = any(c.box for c in _layout(result, 0, 0)[:-2])
    top = caption_y + 2 * LINE + 24 + (4 * LINE + 12 if summarised else 0)
    height = max(_column_heights(result)) + 20
    cols = _layout(result, top, height)
    body = [_text(24, 26, escape(title), "title", "start")] if standalone else []
    body += [_text(24, first + i * LINE, escape(n), "small", "start")
             for i, n in enumerate(notes)]
    body += alarm
    body += _captions(result, cols, caption_y)
    for layer, src, dst in zip(result.layers, cols, cols[1:]):
        body += _edges(result, layer, src, dst)
    body += _inputs(result, cols[0])
    for layer, col in zip(result.layers, cols[1:-2]):
        if col.box:
            body.append(_wide_box(result, layer, col))
        else:
            body += [_neuron(result, layer, j, col.mid, y) for j, y in enumerate(col.ys)]
    body += _targets(result, cols[-3], cols[-2])
    body += _cost(result, cols[-2], cols[-1])
    bottom = top + height + 24
    legend = ("circles: z = w a + b, a = f(z) in bold, δ = ∂C/∂z in magenta · edges: w → "
              "w − η ∂C/∂w in green, width ∝ |w|, blue w ≥ 0, orange w < 0 · hover for ∂C/∂w, "
              "∂C/∂b and the update")
    failed = bool(alarm)  # (both drawn only when standalone)
    check = gradient_check_line(result) + (" — FAILED (see the red box above)" if failed else "")
    body.append(_text(24, bottom, escape(legend), "small", "start"))
    if standalone:
        body.append(_text(24, bottom + LINE, escape(check), "failed" if failed else "small",
                          "start"))
    widest = max([len(legend), *((len(title) * 1.4, len(check)) if standalone else ())])
    width = max(cols[-1].right + 30, 24 + 5.6 * widest, 24 + 760 + 24 if alarm else 0)
    return _document(width, bottom + (LINE + 16 if standalone else 12), title, body)


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
    body.append(_text(24, top + tallest + 50, escape(f"{arch}: {total} parameters"), "cap",
                      "start"))
    body += _wrapped(24, top + tallest + 70, architecture_reasoning(example), 150)
    width = max(40 + len(sizes) * 230, 900)
    return _document(width, top + tallest + 120, "Find the architecture", body,
                     0 if standalone else 56)


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
              standalone: bool = True) -> str:
    """`fcnn forward-trace ... --format svg`: a trace's network, or a non-network example
    (`standalone=False`: without what the HTML page around it already says)."""
    if isinstance(result, TraceResult):
        return network_svg(result, standalone)
    return example_svg(result, standalone)
