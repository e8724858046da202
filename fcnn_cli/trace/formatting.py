"""The number and label helpers that every renderer of a trace shares (terminal tables in
`ui.py`, markdown, SVG and HTML), so that all of them print the same digits."""

from __future__ import annotations

import math
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


# The most significant digits a number and its update are printed with: a float64 holds
# about 16, and a change below the 12th digit is rounding noise of the step itself.
MAX_DIGITS = 12


def fmt_pair(old: float, new: float) -> tuple[str, str]:
    """A number and its update, printed by one rule: both to the same decimal place, the
    finer of the larger one's 4th significant digit and the change's first significant
    digit (so that a small step η·∂C/∂w shows, rounded like everything else), at most
    MAX_DIGITS significant digits; zeros that both end in are dropped from both.
    2 → 2.000875 prints 2.0000 → 2.0009, 4 → 4.0005 prints 4.0000 → 4.0005, and
    0.5 → 0.3 prints 0.5 → 0.3.  An unchanged number, and a step from or to exactly 0
    (whose digits say nothing of the other's), print as `fmt` prints them."""
    old, new = float(old), float(new)
    if old == new or old == 0 or new == 0 or not (math.isfinite(old) and math.isfinite(new)):
        return fmt(old), fmt(new)
    top = math.floor(math.log10(max(abs(old), abs(new))))
    change = math.floor(math.log10(abs(new - old)))
    place = max(min(top - 3, change), top - MAX_DIGITS + 1)  # 10^place: the last digit shown
    if -5 <= top < 6:
        texts = [f"{v:.{max(0, -place)}f}" for v in (old, new)]
    else:  # very small or large: the same digits as mantissas, 2.0000e-7 → 2.0009e-7
        texts = [f"{v:.{top - place}e}" for v in (old, new)]
    return _drop_common_zeros(texts[0], texts[1])


def _drop_common_zeros(a: str, b: str) -> tuple[str, str]:
    """Drop the trailing zeros of two decimals' fractions, as many from each as both have
    (0.5000 and 0.3000 → 0.5 and 0.3, but 2.0000 and 2.0009 stay), and a '-' before 0."""
    (ma, _, ea), (mb, _, eb) = a.partition("e"), b.partition("e")
    if "." in ma and "." in mb:
        common = min(len(ma) - len(ma.rstrip("0")), len(mb) - len(mb.rstrip("0")))
        ma, mb = ma[:len(ma) - common].rstrip("."), mb[:len(mb) - common].rstrip(".")
    out = []
    for mantissa, exponent in ((ma, ea), (mb, eb)):
        if mantissa.startswith("-") and not mantissa.strip("-0."):
            mantissa = mantissa[1:]
        out.append(compact(f"{mantissa}e{exponent}") if exponent else mantissa)
    return out[0], out[1]


def fmt_old(old: float, new: float) -> str:
    """A number that is about to be updated to `new`, printed as `fmt_pair` prints it."""
    return fmt_pair(old, new)[0]


def fmt_new(new: float, old: float) -> str:
    """An updated number, printed as `fmt_pair` prints it (the same digits as its old value)."""
    return fmt_pair(old, new)[1]


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


# Activations with a kink at z = 0, and f′(0) there as nn/activations defines it.
_KINKED = {"relu": "0", "leaky-relu": "the leak slope", "prelu": "the slope α"}
# The finite differences nudge each parameter by 1e-5 (nn/gradcheck.py); a z that close
# to 0 may cross it, so "at the kink" is |z| within this margin (scaled by the inputs).
_KINK_MARGIN = 1e-4


def kink_units(result: TraceResult) -> list[tuple[int, int, float]]:
    """(layer, unit, z) of every ReLU-like unit whose z sits at the kink, within the
    finite-difference step: there f′ is a convention and the two sides disagree."""
    found = []
    for layer in result.layers:
        if layer.activation not in _KINKED:
            continue
        scale = 1.0 + float(np.abs(result.layer_input(layer.l)).max(initial=0.0))
        near = np.abs(layer.z) <= _KINK_MARGIN * scale
        for j in np.flatnonzero(near.any(axis=0)):
            nearest = int(np.argmin(np.abs(layer.z[:, j])))
            found.append((layer.l, int(j), float(layer.z[nearest, j])))
    return found


def gradient_check_warning(result: TraceResult, tolerance: float = 1e-4) -> str | None:
    """What a failed gradient check most likely means, or None when it passed."""
    if result.max_rel_error <= tolerance:
        return None
    disagree = (f"backprop and finite differences disagree (relative error "
                f"{relative(result.max_rel_error)} > {tolerance:g})")
    kinks = kink_units(result)
    if kinks:
        l, j, z = kinks[0]
        act = result.layers[l - 1].activation
        more = f" (and {plural(len(kinks) - 1, 'more unit')})" if len(kinks) > 1 else ""
        return (f"{disagree}: unit {j + 1} of layer {l} ({act}) has z = {fmt(z)}{more}, at "
                f"the kink of {act}, where f′ is not defined: backprop uses f′(0) = "
                f"{_KINKED[act]} by convention, while the finite differences straddle the "
                "kink and average the slopes of both sides; this is not an error in "
                "backprop; move z off 0 (another bias or input) to compare them")
    return (f"{disagree}: outputs saturated at 0 or 1 make the cost flat or clipped there, "
            "so the numerical gradient is not trustworthy; try smaller weights or inputs")



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
    arrays += [("b", layer.b), ("z", layer.z), ("a", layer.a), *factor_arrays(layer),
               ("delta", layer.delta), ("dC_db", layer.dC_db)]
    return arrays, top_delta_units(layer), "the 5 units with the largest |δ^l|"


# --- the factors of δ and the closing summary ---------------------------------------------

def factor_arrays(layer: LayerTrace) -> list[tuple[str, Array]]:
    """The factors of δ^l by JSON name, in the order they multiply: ∇_a C or
    (w^{l+1})ᵀδ^{l+1}, then f′(z^l); empty for a LayerTrace built without them."""
    factor = layer.dC_da if layer.dC_da is not None else layer.wT_delta
    if factor is None or layer.f_prime is None:
        return []
    return [("dC_da" if layer.dC_da is not None else "wT_delta", factor),
            ("f_prime", layer.f_prime)]


def factor_symbol(layer: LayerTrace) -> str:
    """∇ₐC for the output layer, (w^{l+1})ᵀδ^{l+1} for a hidden one (terminal symbols)."""
    if layer.dC_da is not None:
        return "∇ₐC"
    return f"(w{sup(layer.l + 1)})ᵀδ{sup(layer.l + 1)}"


def delta_equation(layer: LayerTrace) -> str:
    """How δ^l is formed from its factors, in the lecture's symbols (terminal text)."""
    L, factor = sup(layer.l), factor_symbol(layer)
    product = f"(J{L})ᵀ{factor}" if layer.activation == "softmax" else f"{factor} ⊙ f′(z{L})"
    if layer.delta_rule == "a - y":
        return f"δ{L} = {product} = a{L} − y"
    return f"δ{L} = {product}"


def delta_note(layer: LayerTrace) -> str | None:
    """What a student should know about the factors of this layer's δ, or None."""
    diagonal = "the f′ column is J's diagonal aⱼ(1 − aⱼ), shown for reference"
    if layer.delta_rule == "a - y" and layer.activation == "sigmoid":
        return ("sigmoid output with cross-entropy: ∇ₐC = (a − y)/(a(1 − a)) and f′(z) = "
                "a(1 − a) cancel, so δ = ∇ₐC ⊙ f′(z) = a − y exactly (computed so): a "
                "saturated output does not slow learning")
    if layer.delta_rule == "a - y":
        return ("softmax output with log-likelihood: ∇ₐC = −y/a through the softmax Jacobian "
                f"J = diag(a) − aaᵀ gives δ = Jᵀ∇ₐC = a − y exactly (computed so); {diagonal}")
    if layer.activation == "softmax":
        return ("softmax couples its outputs: δ = Jᵀ∇ₐC with the Jacobian J = diag(a) − aaᵀ, "
                f"not a product ⊙; {diagonal}")
    if layer.activation == "prelu":
        return "PReLU: f′(z) = 1 for z > 0, the unit's slope α otherwise"
    return None


def alpha_rows(result: TraceResult, layer: LayerTrace) -> tuple[list[str], list[list[str]]]:
    """A PReLU layer's slopes: α, ∂C/∂α (the batch mean of ∂C/∂a·min(z, 0)) and the step."""
    L = sup(layer.l)
    slopes = (layer.alpha, layer.dC_dalpha, layer.alpha_new)
    rows = [] if any(v is None for v in slopes) else [
        [result.unit(layer.l, j), fmt_old(alpha, new), fmt(grad), fmt_new(new, alpha)]
        for j, (alpha, grad, new) in enumerate(zip(*slopes))]
    return ["j", f"α{L}", f"∂C/∂α{L}", f"new α{L}"], rows


def alpha_title(result: TraceResult, layer: LayerTrace) -> str:
    L = sup(layer.l)
    return (f"PReLU slopes α{L} (a = z for z > 0, αz otherwise): ∂C/∂α{L}[j] = mean over "
            f"the examples of ∂C/∂a{L}[j]·min(z{L}[j], 0), and α{L} → α{L} − η∂C/∂α{L}")


def summary_rows(result: TraceResult) -> tuple[list[str], list[list[str]]]:
    """One row per layer: mean |δ^l|, ‖∂C/∂b^l‖ and its saturated and dead units."""
    from fcnn_cli.trace.compute import layer_summaries

    rows = []
    last = len(result.layers)
    for s in layer_summaries(result):
        saturated = "—" if s.saturated is None else f"{s.saturated} of {s.units}"
        if s.saturated and s.l == last and result.layers[-1].delta_rule == "a - y":
            saturated += " (f′ cancels: harmless)"
        dead = "—" if s.dead is None else f"{s.dead} of {s.units}"
        rows.append([str(s.l), s.activation, fmt(s.mean_abs_delta), fmt(s.dC_db_norm),
                     saturated, dead])
    return ["layer", "f", "mean |δˡ|", "‖∂C/∂bˡ‖", "saturated", "dead"], rows


def summary_thresholds(result: TraceResult) -> str:
    """The definitions behind the summary's counts, with the thresholds as numbers."""
    from fcnn_cli.nn.diagnostics import PRIME_MAX, SATURATION

    many = result.n > 1
    limits = ", ".join(f"{name} {fmt(SATURATION * peak)}" for name, peak in PRIME_MAX.items())
    return (f"saturated: f′(z) below {SATURATION:.0%} of its maximum ({limits})"
            + (" on more than half of the examples" if many else "")
            + "; dead: z ≤ 0" + (" on every example" if many else "")
            + " (relu, leaky-relu, prelu); — where the activation can be neither")


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
    before, after = fmt_pair(old, g.nudged_value)
    f_before, f_after = fmt_pair(g.f, g.f_nudged)
    return (f"Sensitivity check: {g.nudge_name}: {before} → {after} changes f "
            f"by {fmt(g.f_nudged - g.f)} (f: {f_before} → {f_after}); the gradient "
            f"∂f/∂{g.nudge_name} = {fmt(grad)} predicted {fmt(grad * g.nudge_by)}.")


def architecture_reasoning(example: ArchitectureExample) -> str:
    arch = "-".join(str(s) for s in example.sizes)
    return (f"w^l has one row per neuron of layer l and one column per neuron of layer l−1, "
            f"so the inputs are w¹'s {example.sizes[0]} columns and each layer l has as many "
            f"neurons as w^l has rows: the network is {arch}.")
