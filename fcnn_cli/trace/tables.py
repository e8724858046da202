"""A layer's trace as tables: (title, header, rows) of text cells, for every renderer.

The terminal (`ui.py`, through rich) and the HTML page (`html_out.py`) print the same
tables from here, so the two never disagree about a number or a heading.
"""

from __future__ import annotations

from fcnn_cli.trace.compute import LayerTrace, TraceResult
from fcnn_cli.trace.formatting import (
    WIDE,
    alpha_rows,
    alpha_title,
    delta_equation,
    delta_note,
    factor_arrays,
    factor_symbol,
    fmt,
    fmt_new,
    fmt_old,
    summary_rows,
    summary_thresholds,
    sup,
    wide_layer_view,
)

TableData = tuple[str, list[str], list[list[str]]]  # title, column names, rows


def inputs_table(result: TraceResult) -> TableData:
    """The inputs x = a⁰ and targets y, one row per example (or their statistics when wide)."""
    x, y, n = result.x, result.y, result.n
    if x.shape[1] <= WIDE:
        header = ["n", *(f"x{k + 1}" for k in range(x.shape[1])),
                  *(f"y{k + 1}" for k in range(y.shape[1]))]
        rows = [[str(i + 1), *(fmt(v) for v in x[i]), *(fmt(v) for v in y[i])] for i in range(n)]
    else:
        header = ["array", "shape", "min", "max", "mean"]
        rows = [[name, "×".join(map(str, v.shape)), fmt(v.min()), fmt(v.max()), fmt(v.mean())]
                for name, v in (("x", x), ("y", y))]
    return f"inputs x = a⁰ and targets y (N = {n})", header, rows


def layer_tables(result: TraceResult, layer: LayerTrace) -> list[TableData]:
    """Every table of one layer: in full, or summarised when the layer is wide."""
    return _wide_layer_tables(result, layer) if layer.wide else _full_layer_tables(result, layer)


def _wide_layer_tables(result: TraceResult, layer: LayerTrace) -> list[TableData]:
    """Summaries of the arrays too wide to print, then one row per unit (or the 5 with the
    largest |δ| when there are more than WIDE units)."""
    n, L = result.n, sup(layer.l)
    arrays, units, title = wide_layer_view(layer)
    label = [result.unit(layer.l, j) for j in range(layer.units)]
    factors = factor_arrays(layer)
    names = {"w": f"w{L}", "b": f"b{L}", "z": f"z{L}", "a": f"a{L}", "delta": f"δ{L}",
             "dC_dw": f"∂C/∂w{L}", "dC_db": f"∂C/∂b{L}", "w_new": f"w{L} − η∂C/∂w{L}",
             "dC_da": factor_symbol(layer), "wT_delta": factor_symbol(layer),
             "f_prime": f"f′(z{L})"}
    summary = (
        "too wide to print in full: min, max and mean of each array",
        ["array", "shape", "min", "max", "mean"],
        [[names[name], "×".join(map(str, v.shape)), fmt(v.min()), fmt(v.max()), fmt(v.mean())]
         for name, v in arrays])
    keys = [*(["n"] if n > 1 else []), "j"]
    rows = [[*([str(i + 1)] if n > 1 else []), label[j], fmt(layer.z[i, j]), fmt(layer.a[i, j]),
             *(fmt(v[i, j]) for _, v in factors), fmt(layer.delta[i, j])]
            for i in range(n) for j in units]
    header = [*keys, f"z{L}", f"a{L}", *(names[name] for name, _ in factors), f"δ{L}"]
    note = delta_note(layer) if factors else None
    rows_title = (title.replace("^l", L) + (f"; {delta_equation(layer)}" if factors else "")
                  + (f"; {note}" if note else ""))
    # The biases in a table of their own, so that neither table needs wrapped labels.
    biases = (f"biases of these units: b{L} → b{L} − η∂C/∂b{L}",
              ["j", f"b{L}", f"∂C/∂b{L}", f"new b{L}"],
              [[label[j], fmt_old(layer.b[j], layer.b_new[j]), fmt(layer.dC_db[j]),
                fmt_new(layer.b_new[j], layer.b[j])] for j in units])
    return [summary, (rows_title, header, rows), biases, *_alpha_tables(result, layer)]


def _alpha_tables(result: TraceResult, layer: LayerTrace) -> list[TableData]:
    """A PReLU layer's slopes α, their gradient and their step (none for other layers)."""
    header, rows = alpha_rows(result, layer)
    return [(alpha_title(result, layer), header, rows)] if rows else []


def weights_title(result: TraceResult, layer: LayerTrace) -> str:
    """The weight table's title, with the meaning of its indices stated: the lecture's
    w^l_{jk} (j in layer l, k in layer l−1); its output-layer w^L_{kj} swaps the letters."""
    l, L = layer.l, sup(layer.l)
    below = "input xₖ" if l == 1 else f"neuron of layer {l - 1}"
    title = f"weights w{L}[j,k] = w{L}ⱼₖ (j: neuron of layer {l}, k: {below}) and biases b{L}[j]"
    if l == len(result.layers) and l > 1:
        title += (f"; where the lecture writes the output layer's weights w{L}ₖⱼ (k: output "
                  f"neuron), its k is this j and its j this k")
    return title


def summary_table(result: TraceResult) -> TableData:
    """The closing summary: one row per layer, the thresholds in the title."""
    header, rows = summary_rows(result)
    return f"per-layer summary ({summary_thresholds(result)})", header, rows


def _full_layer_tables(result: TraceResult, layer: LayerTrace) -> list[TableData]:
    """w and b; each example's z, a, δ; the batch-mean gradients; the updated w and b.

    Matrices keep the lecture's orientation (row j = neuron j of layer l, column k =
    neuron k of layer l−1), and examples go down the page, so tables stay narrow."""
    l, n, L, P = layer.l, result.n, sup(layer.l), sup(layer.l - 1)
    cols = [f"k={k}" for k in range(1, layer.inputs + 1)]
    units = range(layer.units)
    label = [result.unit(layer.l, j) for j in units]
    tables = [(
        weights_title(result, layer), ["j", *cols, f"b{L}"],
        [[label[j], *(fmt_old(v, new) for v, new in zip(layer.w[j], layer.w_new[j])),
          fmt_old(layer.b[j], layer.b_new[j])] for j in units])]

    example = ["n"] if n > 1 else []
    factors = factor_arrays(layer)
    rule = delta_equation(layer) if factors else f"δ{L} = ∂C/∂z{L}"
    note = delta_note(layer) if factors else None
    title = (f"z{L} = w{L}a{P} + b{L}, a{L} = f(z{L}), {rule}"
             + (" (each example n has its own)" if n > 1 else "") + (f"; {note}" if note else ""))
    factor_names = {"dC_da": factor_symbol(layer), "wT_delta": factor_symbol(layer),
                    "f_prime": f"f′(z{L})"}
    tables.append((
        title, [*example, "j", f"z{L}", f"a{L}", *(factor_names[k] for k, _ in factors), f"δ{L}"],
        [[*([str(i + 1)] if n > 1 else []), label[j], fmt(layer.z[i, j]),
          fmt(layer.a[i, j]), *(fmt(v[i, j]) for _, v in factors), fmt(layer.delta[i, j])]
         for i in range(n) for j in units]))

    if n > 1:
        per = result.per_example_dC_dw(l)
        tables.append((
            f"each example's ∂Cₙ/∂w{L}[j,k] = δ{L}[j]·a{P}[k] and ∂Cₙ/∂b{L}[j] = δ{L}[j]",
            ["n", "j", *cols, f"∂Cₙ/∂b{L}"],
            [[str(i + 1), label[j], *(fmt(v) for v in per[i, j]), fmt(layer.delta[i, j])]
             for i in range(n) for j in units]))
    title = (f"∂C/∂w{L}[j,k] and ∂C/∂b{L}[j], the means over the N = {n} examples" if n > 1
             else f"∂C/∂w{L} = δ{L}(a{P})ᵀ [j,k] and ∂C/∂b{L} = δ{L}")
    tables.append((
        title, ["j", *cols, f"∂C/∂b{L}"],
        [[label[j], *(fmt(v) for v in layer.dC_dw[j]), fmt(layer.dC_db[j])] for j in units]))
    w_step, b_step = ((f"η/N Σₙ ∂Cₙ/∂w{L}", f"η/N Σₙ ∂Cₙ/∂b{L}") if n > 1
                      else (f"η∂C/∂w{L}", f"η∂C/∂b{L}"))
    tables.append((
        f"update, η = {fmt(result.lr)}: w{L} → w{L} − {w_step}, b{L} → b{L} − {b_step}",
        ["j", *cols, f"new b{L}"],
        [[label[j], *(fmt_new(new, old) for new, old in zip(layer.w_new[j], layer.w[j])),
          fmt_new(layer.b_new[j], layer.b[j])] for j in units]))
    return tables + _alpha_tables(result, layer)
