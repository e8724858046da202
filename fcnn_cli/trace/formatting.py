"""The number and label helpers that every renderer of a trace shares (terminal tables in
`ui.py`, markdown, SVG and HTML), so that all of them print the same digits."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from fcnn_cli.trace.compute import LayerTrace, TraceResult
    from fcnn_cli.trace.examples import ArchitectureExample, GateExample

Array = np.ndarray

# A layer wider than this (in units or inputs) is summarised rather than printed.
WIDE = 16

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def sup(n: int | str) -> str:
    """`sup(2)` is '²': layer indices written as the lecture writes them."""
    return str(n).translate(_SUPERSCRIPTS)


# The lecture's plain-text notation: w^l, a^{l−1}, δ^{n,l}, C_n, Σ_{k}. A `_` is a subscript
# only after a one-letter symbol (C_n, x_1), so that file names such as my_model.h5 stay.
_SCRIPT = re.compile(r"\^\{([^{}]*)\}|\^(\w+)|_\{([^{}]*)\}|(?<!\w\w)(?<=\w)_(\w)(?!\w)")
_UNICODE_SUP = dict(zip("0123456789+-−=()abcdefghijklmnoprstuvwxyzαβγδθ",
                        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵅᵝᵞᵟᶿ"))
_UNICODE_SUB = dict(zip("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))


def notation(text: str) -> list[tuple[str, str]]:
    """`text` in pieces of (kind, text), kind "" for plain text, "sup" for what follows a
    `^` (one word, or `{…}`) and "sub" for what follows a `_`: for renderers that can raise
    and lower text (HTML, SVG) rather than print the carets."""
    pieces, at = [], 0
    for match in _SCRIPT.finditer(text):
        if match.start() > at:
            pieces.append(("", text[at:match.start()]))
        sup, sup_word, sub, sub_char = match.groups()
        if sup is not None or sup_word is not None:
            pieces.append(("sup", sup if sup is not None else sup_word))
        else:
            pieces.append(("sub", sub if sub is not None else sub_char))
        at = match.end()
    if at < len(text):
        pieces.append(("", text[at:]))
    return pieces


def unicode_script(kind: str, text: str) -> str | None:
    """A superscript or subscript in Unicode characters (ˡ, ⁿ, ₖ), or None when one of
    its characters has no such form."""
    table = _UNICODE_SUP if kind == "sup" else _UNICODE_SUB
    if not text or any(c not in table and c not in ",′" for c in text):
        return None
    return "".join(table.get(c, c) for c in text)


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"



def compact(text: str) -> str:
    """A number's exponent without its padding zero and '+' (2.138e-06 -> 2.138e-6,
    1e+05 -> 1e5): the same digits in fewer columns, so narrow tables need not wrap."""
    mantissa, e, exponent = text.partition("e")
    if not e:
        return text
    sign = "-" if exponent.startswith("-") else ""
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def relative(error: float) -> str:
    """A relative error to three significant digits, exponent short (3.01e-6, 1)."""
    return compact(f"{error:.3g}")


def fmt(value: float) -> str:
    """A number to about four significant digits, without a misleading '-0'."""
    value = float(value)
    if value == 0:
        return "0"
    return compact(f"{value:.4g}")


def fmt_new(new: float, old: float) -> str:
    """An updated value with enough digits to show that it moved (η·∂C/∂w is often tiny)."""
    for digits in range(4, 11):
        text = compact(f"{float(new):.{digits}g}")
        if new == old or text != compact(f"{float(old):.{digits}g}"):
            return fmt(new) if digits == 4 else text
    return text


def fmt_array(values: Array) -> str:
    """A small array on one line: [0.5, 0.25] or [[1, 2], [3, 4]]."""
    values = np.asarray(values)
    if values.ndim == 0:
        return fmt(values)
    return "[" + ", ".join(fmt_array(v) for v in values) + "]"


def fmt_shape(a: Array) -> str:
    """An array's shape as the lecture writes it: 3×2."""
    return "×".join(str(s) for s in a.shape)


def gradient_check_line(result: TraceResult) -> str:
    """The gradient check's outcome, as the terminal, the drawing and the page state it."""
    return (f"gradient check: backprop vs central finite differences on {result.checked}: "
            f"largest relative error {relative(result.max_rel_error)}")


def gradient_check_warning(result: TraceResult, tolerance: float = 1e-4) -> str | None:
    """What a failed gradient check most likely means, or None when it passed."""
    if result.max_rel_error <= tolerance:
        return None
    return (f"backprop and finite differences disagree (relative error "
            f"{relative(result.max_rel_error)} > {tolerance:g}): outputs saturated at 0 or 1 make "
            "the cost flat or clipped there, so the numerical gradient is not trustworthy; "
            "try smaller weights or inputs")



def top_delta_units(layer: LayerTrace, k: int = 5) -> Array:
    """The k units of a wide layer with the largest |δ| (largest over the examples)."""
    return np.argsort(-np.abs(layer.delta).max(axis=0), kind="stable")[:k]


def wide_layer_view(layer: LayerTrace) -> tuple[list[tuple[str, Array]], Array, str]:
    """For a layer too wide to print: the arrays to summarise (by JSON name), the units to
    show one per row, and a title for those rows.  The weight matrices are always
    summarised; the per-unit vectors only when there are more than WIDE units, and then
    the rows are the five units with the largest |δ|."""
    arrays = [("w", layer.w), ("dC_dw", layer.dC_dw), ("w_new", layer.w_new)]
    if layer.units <= WIDE:
        return arrays, np.arange(layer.units), "every unit"
    arrays += [("b", layer.b), ("z", layer.z), ("a", layer.a), ("delta", layer.delta),
               ("dC_db", layer.dC_db)]
    return arrays, top_delta_units(layer), "the 5 units with the largest |δ^l|"


def comparison_rows(result: TraceResult) -> tuple[list[str], list[list[str]]]:
    """One row per cost (this trace's first, then `comparisons`): C, δ^L and ∂C/∂w^l, ∂C/∂b^l."""
    L = len(result.layers)
    header = ["cost", "C", f"δ{sup(L)}"]
    for l in range(1, L + 1):
        header += [f"∂C/∂w{sup(l)}", f"∂C/∂b{sup(l)}"]
    rows = []
    for r in [result, *result.comparisons]:
        row = [r.cost_name, fmt(r.cost), fmt_array(r.layers[-1].delta)]
        for layer in r.layers:
            row += [fmt_array(layer.dC_dw), fmt_array(layer.dC_db)]
        rows.append(row)
    return header, rows


def gate_rows(g: GateExample, latex: bool = False) -> tuple[list[str], list[list[str]]]:
    """The circuit node by node: its value, its local gradient, and ∂f/∂node by the chain rule."""
    def d(top: str, bottom: str) -> str:
        return rf"\frac{{\partial {top}}}{{\partial {bottom}}}" if latex else f"∂{top}/∂{bottom}"

    def m(text: str) -> str:
        return f"${text}$" if latex else text

    times = r" \cdot " if latex else "·"
    header = ["node", "forward value", "local gradient", "gradient of f (chain rule)"]
    rows = [
        [m("x"), fmt(g.x), m(f"{d('q', 'x')} = {fmt(g.dq_dx)}"),
         m(f"{d('f', 'x')} = {d('f', 'q')}{times}{d('q', 'x')} = {fmt(g.df_dx)}")],
        [m("y"), fmt(g.y), m(f"{d('q', 'y')} = {fmt(g.dq_dy)}"),
         m(f"{d('f', 'y')} = {d('f', 'q')}{times}{d('q', 'y')} = {fmt(g.df_dy)}")],
        [m("z"), fmt(g.z), m(f"{d('f', 'z')} = q = {fmt(g.df_dz)}"),
         m(f"{d('f', 'z')} = {fmt(g.df_dz)}")],
        [m("q = x + y"), fmt(g.q), m(f"{d('f', 'q')} = z = {fmt(g.df_dq)}"),
         m(f"{d('f', 'q')} = {fmt(g.df_dq)}")],
        [m(f"f = q{times}z"), fmt(g.f), "", m(f"{d('f', 'f')} = 1")],
    ]
    return header, rows


def gate_sensitivity(g: GateExample) -> str:
    old = {"x": g.x, "y": g.y, "z": g.z}[g.nudge_name]
    grad = {"x": g.df_dx, "y": g.df_dy, "z": g.df_dz}[g.nudge_name]
    return (f"Sensitivity check: {g.nudge_name}: {fmt(old)} → {fmt(g.nudged_value)} changes f "
            f"by {fmt(g.f_nudged - g.f)} (f: {fmt(g.f)} → {fmt(g.f_nudged)}); the gradient "
            f"∂f/∂{g.nudge_name} = {fmt(grad)} predicted {fmt(grad * g.nudge_by)}.")


def architecture_reasoning(example: ArchitectureExample) -> str:
    arch = "-".join(str(s) for s in example.sizes)
    return (f"w^l has one row per neuron of layer l and one column per neuron of layer l−1, "
            f"so the inputs are w¹'s {example.sizes[0]} columns and each layer l has as many "
            f"neurons as w^l has rows: the network is {arch}.")
