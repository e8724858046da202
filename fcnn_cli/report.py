"""`fcnn report`: one self-contained HTML page about a trained model.

The page has the model card (architecture, data, training settings, the resolved config),
the learning curves, how each layer learned (the diagnostics training records: speed of
learning, saturated and dead units, update ratios), the evaluation on one split (the
numbers `fcnn eval` gives), the most confident mistakes, and what the first layer learned
(picture inputs) or, for a model with two inputs, its decision boundary and a heat map of
each hidden unit; a regression model gets predicted-vs-true plots and its per-output
errors instead of the classification parts.
Every figure is inline SVG (drawn by `figures`, the module that owns matplotlib, imported
here only when a page is built) and the style is one inline `<style>` block: the file can
be mailed, archived or printed with nothing fetched from anywhere.

The page is put together with `string.Template`: it is one page whose sections are short
functions returning HTML, with no loops or conditionals inside the markup that would be
worth a template engine, and the standard library's templates need no new dependency.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

import numpy as np

from fcnn_cli.boundary import has_two_inputs
from fcnn_cli.errors import FcnnError
from fcnn_cli.evaluation import SPLITS
from fcnn_cli.metrics import Report
from fcnn_cli.model import Model
from fcnn_cli.summary import ModelSummary, summarize

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from fcnn_cli.data.table import RowNames

MISTAKES = 24        # pictures in the mistakes grid
WORST_ROWS = 10      # rows in the worst-rows table of non-picture data
WORST_FEATURES = 8   # feature columns in that table
WEIGHT_UNITS = 64    # first-layer units drawn

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title — fcnn report</title>
<style>$style</style>
</head>
<body>
<header>
<h1>$title</h1>
<p class="subtitle">$subtitle</p>
<nav>$nav</nav>
</header>
$notice
$sections
<footer>Written by fcnn $version. Every figure is inline; this page fetches nothing.</footer>
</body>
</html>
""")

SECTION = Template("""<section id="$id">
<h2>$heading</h2>
$body
</section>""")

STYLE = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1a1a1a; background: #fff; max-width: 1000px; margin: 2rem auto; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; }
h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2.2rem; }
.subtitle { color: #555; margin-top: 0; }
nav a { margin-right: 1rem; color: #1f5fa8; text-decoration: none; }
.notice { background: #fff6e0; border-left: 4px solid #e0a800; padding: 0.5rem 0.8rem; }
table { border-collapse: collapse; margin: 0.6rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e4e4e4; text-align: right; }
th { background: #f5f5f5; }
th:first-child, td:first-child { text-align: left; }
table.card td { text-align: left; }
table.card th { text-align: left; width: 11rem; }
.wide { overflow-x: auto; }
.wide table { font-size: 13px; }
table.nowrap th, table.nowrap td { white-space: nowrap; }
.headline { font-size: 1.15rem; }
figure { margin: 1rem 0; }
figure svg { max-width: 100%; height: auto; }
figure svg image { image-rendering: pixelated; }
figcaption { color: #555; font-size: 13px; }
.panels { display: flex; flex-wrap: wrap; gap: 0 1.5rem; }
.panels figure { flex: 1 1 290px; margin: 0.5rem 0; }
figure.smooth svg image { image-rendering: auto; }
.unit-grid { display: flex; flex-wrap: wrap; gap: 0.5rem; }
.unit { display: flex; flex-direction: column; align-items: center; font-size: 12px;
        color: #555; }
.unit img { border: 1px solid #bbb; }
.scale { white-space: nowrap; }
.scale .bar { display: inline-block; width: 5rem; height: 0.7rem; vertical-align: middle;
              border: 1px solid #bbb;
              background: linear-gradient(to right, #f59322, #fff, #0877bd); }
ul.advice { background: #fff6e0; border-left: 4px solid #e0a800;
            padding: 0.4rem 0.8rem 0.4rem 2rem; }
pre { background: #f7f7f7; padding: 0.7rem; font-size: 12px; overflow-x: auto; }
pre.config { columns: 3 15rem; column-gap: 2rem; }
footer { margin-top: 3rem; color: #777; font-size: 12px; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  nav { display: none; }
  figure, table, tr, pre { break-inside: avoid; page-break-inside: avoid; }
  h2 { break-after: avoid; page-break-after: avoid; }
  pre { white-space: pre-wrap; }
}
"""


@dataclass
class Evaluated:
    """One split run through the model: the eval numbers and the rows behind them."""

    report: Report
    x: np.ndarray        # raw inputs (N, *input_shape)
    labels: np.ndarray   # class indices (N,), or regression targets (N, K)
    values: np.ndarray   # class probabilities (N, classes), or outputs in target units (N, K)
    index: np.ndarray    # each row's position in the data as read
    row_names: RowNames | None = None  # how the file names its rows (a CSV's row numbers)


def default_path(model: str | Path) -> Path:
    """`<stem>.report.html` beside a model file; in the current folder for a shipped
    model given by name (its own folder is inside the installed package)."""
    path = Path(model)
    if path.is_file():
        return path.with_name(f"{path.stem}.report.html")
    return Path(f"{path.stem}.report.html")


def write(model: Model, out: str | Path, data: str | None = None, split: str | None = None,
          warn: Callable[[str], None] | None = None) -> Path:
    """Build the page for `model` on `split` of its data (or on `data`), write it to `out`
    atomically, and return `out`; `warn` hears why an evaluation was left out."""
    from fcnn_cli.atomic import replaced
    from fcnn_cli.outputs import output_path

    # a folder holds <model>.report.html; never written over the model or the data
    out = output_path(out, "--out", name=default_path(model.source or "model").name, inputs={
        "the model": model.source or None,
        "the data": data if data is not None and Path(data).exists() else None})
    page = build(model, data, split, warn)
    with replaced(out) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return out


def build(model: Model, data: str | None = None, split: str | None = None,
          warn: Callable[[str], None] | None = None) -> str:
    """The report page as HTML text (the rows evaluated as `fcnn eval` chooses them)."""
    if split is not None and split not in SPLITS:
        raise FcnnError(f"--split {split!r} is not one of {', '.join(SPLITS)}")
    from fcnn_cli import figures  # matplotlib: only now, and only for the pages it draws

    figures.pyplot()  # the install hint before any work, when matplotlib is missing
    evaluated, notice = _evaluated(model, data, split, warn)
    summary = summarize(model)
    sections = [("card", "Model card", _card(model, summary))]
    if summary.epochs:
        sections.append(("curves", "Learning curves", _curves(model, summary, figures)))
    if model.diagnostics:
        sections.append(("diagnostics", "How each layer learns", _diagnostics(model, figures)))
    if evaluated is not None:
        sections += _evaluation_sections(model, evaluated, figures)
    if has_two_inputs(model):
        sections.append(("decision-boundary", "Decision boundary",
                          _boundary(model, evaluated, data, figures)))
    if _picture_shape(model) is not None:
        sections.append(("weights", "What the first layer learned", _weights(model, figures)))
    return _page(model, summary, notice, sections)


def _page(model: Model, summary: ModelSummary, notice: str,
          sections: list[tuple[str, str, str]]) -> str:
    nav = "".join(f'<a href="#{key}">{heading}</a>' for key, heading, _ in sections)
    body = "\n".join(SECTION.substitute(id=key, heading=heading, body=content)
                     for key, heading, content in sections)
    kind = f"{len(model.class_names)} classes" if model.class_names else "regression"
    subtitle = f"{'-'.join(map(str, model.architecture))} network, {kind}"
    return PAGE.substitute(title=_text(_name(model, summary)), subtitle=_text(subtitle),
                           nav=nav, notice=notice, sections=body, style=STYLE,
                           version=_text(model.fcnn_version or "(version not recorded)"))


# --- evaluation: the same rows, outputs and metrics as `fcnn eval` ---------------------

def _evaluated(model: Model, data: str | None, split: str | None,
               warn: Callable[[str], None] | None) -> tuple[Evaluated | None, str]:
    """The evaluation, or None and the page's notice saying why it is left out. Data or a
    split the user asked for that cannot be scored is an error (no page); only the
    model's own data, asked for by nobody, may be left out, and then `warn` is told."""
    try:
        return evaluate(model, data, split), ""
    except FcnnError as error:
        if data is not None or split is not None:
            raise
        left_out = f"evaluation, {'mistakes' if model.is_classifier else 'worst rows'}"
        if warn is not None:
            warn(f"the report leaves out the {left_out}: {error.message}")
        return None, (f'<p class="notice">Left out: {left_out}, because the data could not '
                      f"be used: {_text(error.message)}</p>")


def evaluate(model: Model, data: str | None, split: str | None) -> Evaluated:
    """The rows `fcnn eval` scores (`split` of the model's own dataset, or `data`) run
    through the model as `fcnn eval` runs them (the report's numbers are eval's), keeping
    the rows and outputs the mistakes need."""
    from fcnn_cli.evaluation import choose_rows, labelled, score

    rows = choose_rows(model, data, split)
    x, labels = rows.x, rows.labels
    report, a = score(model, x, labels)
    labelled(report, rows)
    if model.class_names is None:
        values = model.in_target_units(a)
    else:
        values = np.hstack([1 - a, a]) if a.shape[1] == 1 else a
    return Evaluated(report, x, labels, values, rows.index, rows.row_names)


def _evaluation_sections(model: Model, ev: Evaluated, figures: ModuleType
                         ) -> list[tuple[str, str, str]]:
    if model.is_classifier:
        sections = [("evaluation", "Evaluation", _classification(ev, figures)),
                    ("mistakes", "Mistakes", _mistakes(model, ev, figures))]
    else:
        sections = [("evaluation", "Evaluation", _regression(ev, figures)),
                    ("mistakes", "Worst rows", _worst_rows(model, ev))]
    return sections


def _classification(ev: Evaluated, figures: ModuleType) -> str:
    report = ev.report
    per_class = report.per_class()
    rows = "".join(
        f"<tr><td>{_text(name)}</td><td>{m['precision']:.3f}</td><td>{m['recall']:.3f}</td>"
        f"<td>{m['f1']:.3f}</td><td>{m['support']:,}</td></tr>"
        for name, m in per_class.items())
    macro = {key: np.mean([m[key] for m in per_class.values()])
             for key in ("precision", "recall", "f1")}
    rows += (f"<tr><th>macro average</th><th>{macro['precision']:.3f}</th>"
             f"<th>{macro['recall']:.3f}</th><th>{macro['f1']:.3f}</th>"
             f"<th>{report.n:,}</th></tr>")
    table = ('<div class="wide"><table><tr><th>class</th><th>precision</th><th>recall</th>'
             f"<th>F1</th><th>support</th></tr>{rows}</table></div>")
    picture = figures.confusion(report.confusion, report.class_names)
    caption = ("Confusion matrix: rows are the true classes, columns the predicted ones; "
               "each cell counts examples, its colour is the share of the true class.")
    return (f"{_headline(report)}"
            f'<p class="headline">accuracy <b>{report.accuracy:.2%}</b>, '
            f"loss {report.loss:.4f}</p>{table}{_figure(picture, caption)}")


def _regression(ev: Evaluated, figures: ModuleType) -> str:
    report = ev.report
    per_output = report.per_output or {}
    rows = "".join(
        f"<tr><td>{_text(name)}</td><td>{m['mae']:.4g}</td><td>{m['rmse']:.4g}</td>"
        f"<td>{'—' if m['r2'] is None else format(m['r2'], '.3f')}</td></tr>"
        for name, m in per_output.items())
    table = ('<div class="wide"><table><tr><th>output</th><th>MAE</th><th>RMSE</th>'
             f"<th>R²</th></tr>{rows}</table></div><p>Errors in the targets' units.</p>")
    names = list(per_output)
    picture = figures.predicted_vs_true(ev.values, ev.labels.astype(np.float64), names)
    caption = "Predicted against true for each output; points on the dashed line are exact."
    return (f"{_headline(report)}<p class=\"headline\">loss {report.loss:.4f} "
            "(on the standardised targets the network was trained on)</p>"
            f"{table}{_figure(picture, caption)}")


def _headline(report: Report) -> str:
    which = (f"All {report.n:,} {report.unit} of {_text(report.data)}" if report.split == "all"
             else f"The {_text(report.split)} split of {_text(report.data)}, {report.n:,} of "
                  f"{report.total:,} {report.unit}")
    return f"<p>{which} (the numbers <code>fcnn eval</code> gives).</p>"


# --- mistakes ----------------------------------------------------------------------------

def _mistakes(model: Model, ev: Evaluated, figures: ModuleType) -> str:
    shape = _picture_shape(model)
    if shape is None:
        return _worst_rows(model, ev)
    predicted = ev.values.argmax(axis=1)
    confidence = ev.values[np.arange(len(predicted)), predicted]
    wrong = np.flatnonzero(predicted != ev.labels)
    if len(wrong) == 0:
        return "<p>No mistakes on this split.</p>"
    chosen = wrong[np.argsort(-confidence[wrong], kind="stable")[:MISTAKES]]
    names = model.output_names
    captions = [_caption(names[ev.labels[i]], names[predicted[i]], confidence[i])
                for i in chosen]
    pictures = ev.x[chosen].reshape(len(chosen), *shape)
    picture = figures.picture_grid(pictures, captions, model.pixel_max)
    which = (f"All {len(wrong):,} wrong predictions" if len(chosen) == len(wrong) else
             f"The {len(chosen)} most confident of {len(wrong):,} wrong predictions")
    caption = (f"{which} ({len(wrong) / len(predicted):.2%} of the split), most confident "
               "first, as the pictures were given to the network; p is the probability of "
               "the predicted class.")
    return _figure(picture, caption)


def _caption(true: str, predicted: str, probability: float) -> str:
    # Two short lines: one line would run into the next picture's caption.
    if len(true) + len(predicted) > 12:
        return f"true {true}\n→ pred {predicted} (p {probability:.2f})"
    return f"true {true} → pred {predicted}\n(p {probability:.2f})"


def _worst_rows(model: Model, ev: Evaluated) -> str:
    """The rows the model gets most wrong: its most confident wrong predictions (right
    ones are no mistakes, however unsure), or the largest squared error on the targets as
    the network saw them. Each row is named as its file names it (see `_row_heads`)."""
    if model.is_classifier:
        predicted = ev.values.argmax(axis=1)
        wrong = np.flatnonzero(predicted != ev.labels)
        if len(wrong) == 0:
            return f"<p>No wrong predictions on these {ev.report.n:,} rows.</p>"
        confidence = ev.values[wrong, predicted[wrong]]
        order = wrong[np.argsort(-confidence, kind="stable")[:WORST_ROWS]]
        heads = ["true", "predicted", "p(predicted)", "p(true)"]
        cells = [_class_cells(model, ev, i) for i in order]
        which = (f"All {len(wrong):,} wrong predictions" if len(order) == len(wrong) else
                 f"The {len(order)} most confident of {len(wrong):,} wrong predictions")
        intro = (f"{which} ({len(wrong) / len(ev.labels):.2%} of the rows), most confident "
                 "first.")
    else:
        error = _standardised_error(model, ev)
        order = np.argsort(-error, kind="stable")[:WORST_ROWS]
        names = model.output_names
        heads = [*(f"true {n}" for n in names), *(f"predicted {n}" for n in names)]
        cells = [[*(_number(v) for v in ev.labels[i]), *(_number(v) for v in ev.values[i])]
                 for i in order]
        intro = "The rows with the largest squared error."
    row_heads, row_cells, how = _row_heads(ev, order)
    features = model.feature_names or [f"x{j}" for j in range(ev.x[0].size)]
    shown = features[:WORST_FEATURES]  # a printed page has room for about a dozen columns
    head = "".join(f"<th>{_text(h)}</th>" for h in [*row_heads, *heads, *shown])
    body = "".join(
        "<tr>" + "".join(f"<td>{_text(c)}</td>" for c in
                         [*named, *row, *(_number(v) for v in ev.x[i].ravel()[:len(shown)])])
        + "</tr>" for i, named, row in zip(order, row_cells, cells))
    more = (f" The first {len(shown)} of {len(features)} features are shown."
            if len(shown) < len(features) else "")
    return (f"<p>{intro} Features in the units of the data; {how}.{more}</p>"
            f'<div class="wide"><table><tr>{head}</tr>{body}</table></div>')


def _row_heads(ev: Evaluated, order: np.ndarray) -> tuple[list[str], list[list[str]], str]:
    """The columns that say which row each is, their cells, and how to read them: a CSV's
    row number (as a spreadsheet shows it) and its id column; else the position in the
    data as read."""
    if ev.row_names is not None:
        names = ev.row_names.of(ev.index[order])
        heads = list(names)
        cells = [[names[h][k] for h in heads] for k in range(len(order))]
        ids = [h for h in heads if h != "CSV row"]
        named = f" and <i>{_text(ids[0])}</i> is the file's own id column" if ids else ""
        return heads, cells, ("<i>CSV row</i> is the row as a spreadsheet numbers it (the "
                              f"header is row 1){named}")
    return (["example"], [[str(ev.index[k])] for k in order],
            "<i>example</i> counts from 0 in the data as read")


def _class_cells(model: Model, ev: Evaluated, i: int) -> list[str]:
    names = model.output_names
    predicted = int(ev.values[i].argmax())
    return [names[ev.labels[i]], names[predicted], f"{ev.values[i, predicted]:.3f}",
            f"{ev.values[i, ev.labels[i]]:.3f}"]


def _standardised_error(model: Model, ev: Evaluated) -> np.ndarray:
    """Each row's squared error summed over outputs, in the units the network was trained
    on, so that an output with large numbers does not drown the others."""
    scale = model.target_normalizer
    y = ev.labels.astype(np.float64)
    p = ev.values.astype(np.float64)
    if scale is not None:
        y, p = scale(y), scale(p)
    return ((p - y) ** 2).sum(axis=1)


def _number(value: Any) -> str:
    return f"{float(value):.4g}"


# --- first layer -------------------------------------------------------------------------

def _picture_shape(model: Model) -> tuple[int, ...] | None:
    """The shape of one input as a picture, or None when the inputs are not pictures."""
    if model.image is not None:
        return tuple(model.image.shape)
    shape = tuple(model.input_shape)
    return shape if len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3)) else None


def _weights(model: Model, figures: ModuleType) -> str:
    shape = _picture_shape(model)
    assert shape is not None
    w = model.network.w[0].astype(np.float64)
    strongest = np.argsort(-np.linalg.norm(w, axis=1), kind="stable")[:WEIGHT_UNITS]
    chosen = w[strongest].reshape(len(strongest), *shape)
    if chosen.ndim == 4:  # colour pictures: one map per unit, the channels averaged
        chosen = chosen.mean(axis=3)
    picture = figures.first_layer(chosen.reshape(len(chosen), -1), chosen.shape[1:3])
    which = ("every first-layer unit" if len(strongest) == len(w) else
             f"the {len(strongest)} first-layer units (of {len(w):,}) with the largest "
             "incoming weights")
    caption = (f"Incoming weights of {which}, each drawn as a picture: red pixels raise "
               "the unit's input z, blue ones lower it.")
    return _figure(picture, caption)


# --- model card and learning curves ------------------------------------------------------

def _card(model: Model, summary: ModelSummary) -> str:
    s = summary
    rows = [
        ("name", _name(model, summary)),
        ("architecture", "-".join(map(str, s.architecture))),
        ("layers", _layers(model, summary)),
        ("parameters", f"{s.parameters:,}"),
        ("cost", s.cost),
        ("data", _data(summary)),
        ("epochs trained", str(s.epochs) if s.epochs else "not recorded"),
        ("optimiser", s.optimizer),
        ("learning rate", s.schedule),
        ("training time", _duration(s.training_seconds) if s.epochs else "not recorded"),
        ("created", s.created or "not recorded"),
        ("fcnn version", s.fcnn_version or "not recorded"),
    ]
    table = "".join(f"<tr><th>{key}</th><td>{_text(value)}</td></tr>" for key, value in rows)
    text = model.config_text.strip() or "(the model carries no training config)"
    return (f'<table class="card">{table}</table>'
            f'<h3>Resolved config</h3><pre class="config">{_text(text)}</pre>')


def _name(model: Model, summary: ModelSummary) -> str:
    return summary.name or Path(model.source or "model").stem


def _layers(model: Model, summary: ModelSummary) -> str:
    """`784 inputs (28×28) → 800 relu, dropout 0.1 → … → 10 softmax`."""
    shape = "×".join(map(str, model.input_shape))
    inputs = f"{summary.architecture[0]} inputs" + (f" ({shape})" if len(model.input_shape) > 1
                                                     else "")
    return " → ".join([inputs, *(f"{layer.units} {layer.activation}"
                                 + (f", dropout {layer.dropout:g}" if layer.dropout else "")
                                 for layer in summary.layers)])


def _data(summary: ModelSummary) -> str:
    where = summary.dataset or "not recorded"
    if summary.split_sizes is None:
        return f"{where}; split sizes not recorded"
    sizes = ", ".join(f"{count:,} {part}" for part, count in summary.split_sizes.items())
    return f"{where}; {sizes}"


def _duration(total: float) -> str:
    if total < 60:
        return f"{total:.3g} s"
    minutes, rest = divmod(round(total), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {rest} s"


def _curves(model: Model, summary: ModelSummary, figures: ModuleType) -> str:
    best, label = summary.best_epoch, f"best {summary.monitor.replace('_', ' ')}"
    picture = figures.learning_curves(model.history, best, label)
    kept = (" The saved weights are that epoch's (early stopping)." if summary.kept_best and best
            else "")
    where = f" The dashed line marks the {label}, at epoch {best}.{kept}" if best else ""
    measured = "Loss and accuracy" if model.is_classifier else "Loss"
    missing = ("" if model.diagnostics else
               "<p>This model carries no per-layer diagnostics (how each layer learns): the "
               "fcnn that trained it did not record them. Train it again to see them.</p>")
    return _figure(picture, f"{measured} after each epoch.{where}") + missing


# --- small pieces ------------------------------------------------------------------------

def _figure(svg: str, caption: str, css: str = "") -> str:
    kind = f' class="{css}"' if css else ""
    return f"<figure{kind}>{svg}<figcaption>{_text(caption)}</figcaption></figure>"


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)


# --- how each layer learns (the diagnostics training records) ----------------------------

RATIO_TARGET = 1e-3            # the update ratio's rule of thumb (Karpathy)
RATIO_BAND = (1e-4, 1e-2)      # within ×10 of it: shaded as "about 10⁻³"


def _diagnostics(model: Model, figures: ModuleType) -> str:
    from fcnn_cli.nn import diagnostics as nd

    series = model.diagnostics
    probe = f"a fixed probe batch of up to {nd.PROBE_SIZE} training examples"
    panels = [_figure(figures.speed_of_learning(series), (
        "Speed of learning ‖∂C/∂bˡ‖: the Euclidean norm of δˡ averaged over "
        f"{probe}, the same ones after every epoch (Nielsen, chapter 5); log scale. A layer "
        "far below the layers after it learns far more slowly: its gradients vanish on the "
        "way back."))]
    if any(layer.get(key) is not None for layer in series for key in ("saturated", "dead")):
        panels.append(_figure(figures.unit_fractions(series), (
            "Saturated (solid): the share of a sigmoid or tanh layer's units whose f′(z) is "
            f"below {nd.SATURATION:.0%} of its maximum on more than half of the probe "
            "examples. Dead (dashed): the share of a relu, leaky-relu or prelu layer's units "
            "with z ≤ 0 on every probe example. Other activations have neither.")))
    panels.append(_figure(figures.update_ratios(series, RATIO_BAND, RATIO_TARGET), (
        "Update ratio ‖Δwˡ‖/‖wˡ‖ (Frobenius norms) of each epoch's last step; log scale. "
        "The dashed line is the rule of thumb's 10⁻³, the band ×10 either side of it; "
        f"training warns when a layer's median is below {nd.RATIO_LOW:.0e} or above "
        f"{nd.RATIO_HIGH:.0e}.")))
    neither = "" if len(panels) == 3 else (
        "<p>No layer here is sigmoid, tanh or of the relu family, so none can saturate or "
        "die: the saturated and dead units are not drawn.</p>")
    return (f"{_diagnostics_table(series)}{_advice(model)}{neither}"
            f'<div class="panels">{"".join(panels)}</div>')


def _diagnostics_table(series: list[dict[str, Any]]) -> str:
    """The last epoch's numbers per layer, with each layer's speed relative to the output
    layer's: the "100× slower" of the lecture, as a number."""
    last = len(series) - 1
    out_speed = _final(series[last]["speed"])
    rows = ""
    for i, layer in enumerate(series):
        speed = _final(layer["speed"])
        relative = speed / out_speed if out_speed > 0 and np.isfinite(speed) else float("nan")
        name = "output layer" if i == last else f"hidden layer {layer['layer']}"
        rows += (f"<tr><td>{name}</td><td>{layer['units']:,} {_text(layer['activation'])}</td>"
                 f"<td>{_sci(speed)}</td><td>{_times(relative)}</td>"
                 f"<td>{_share(layer.get('saturated'))}</td><td>{_share(layer.get('dead'))}</td>"
                 f"<td>{_sci(_median(layer['update_ratio']))}</td></tr>")
    epochs = max(len(layer["speed"]) for layer in series)
    return (f"<p>Measured after each of the {epochs:,} epochs; the table gives the last "
            "epoch's values (the update ratio's median over the epochs).</p>"
            '<div class="wide"><table class="nowrap"><tr><th>layer</th><th>units</th>'
            "<th>speed ‖∂C/∂b‖</th><th>vs output layer</th><th>saturated</th><th>dead</th>"
            f"<th>update ratio</th></tr>{rows}</table></div>")


def _advice(model: Model) -> str:
    from fcnn_cli.nn import diagnostics as nd

    net = model.network
    lines = nd.advice(model.diagnostics, net.cost.fused_with == net.activations[-1].name,
                      fitted=nd.fitted(model.history.get("train_accuracy")))
    items = "".join(f"<li>{_text(line)}</li>" for line in lines)
    return f'<ul class="advice">{items}</ul>' if lines else ""


def _final(values: list[float] | None) -> float:
    finite = [v for v in values or [] if np.isfinite(v)]
    return float(finite[-1]) if finite else float("nan")


def _median(values: list[float]) -> float:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.median(finite)) if finite else float("nan")


def _sci(value: float) -> str:
    return "—" if not np.isfinite(value) else f"{value:.2e}"


def _times(value: float) -> str:
    return "—" if not np.isfinite(value) else f"{value:.3g}×"


def _share(values: list[float] | None) -> str:
    return "—" if values is None else (f"{_final(values):.0%}"
                                       if np.isfinite(_final(values)) else "—")


# --- decision boundary of a two-input model ----------------------------------------------

MAX_POINTS = 2000   # points of each split drawn at most (a seeded sample beyond)
MAX_UNIT_MAPS = 64  # heat maps drawn per hidden layer


def _boundary(model: Model, ev: Evaluated | None, data: str | None,
              figures: ModuleType) -> str:
    from fcnn_cli import boundary

    train = _training_points(model, ev, data)
    test = (_points(ev.x), ev.labels) if ev is not None else (np.zeros((0, 2)), np.zeros(0))
    every = np.concatenate([train[0], test[0]])
    try:
        field = boundary.compute_field(model, boundary.extent_of(model, every))
    except FcnnError as error:  # outputs that overflow: the rest of the page still stands
        return f'<p class="notice">Not drawn: {_text(error.message)}</p>'
    names = model.feature_names if model.feature_names and len(model.feature_names) == 2 \
        else ["x1", "x2"]
    split = ev.report.split if ev is not None else "test"
    label = "all points" if split == "all" else f"{split} points"
    picture = figures.decision_regions(field, boundary.region_rgb(field), _sampled(train),
                                       _sampled(test), names, model.output_names, label)
    parts = [_figure(picture, _boundary_caption(model, field, train, test, label), "smooth")]
    parts += [_unit_maps(maps, activation, l, names)
              for l, (maps, activation) in enumerate(zip(field.hidden, field.activations), 1)]
    return "".join(parts)


def _unit_maps(maps: np.ndarray, activation: str, layer: int, names: list[str]) -> str:
    """One small heat map per unit of a hidden layer, aˡⱼ over the plane, as PNG tiles
    that wrap to the page's width (a phone shows three or four to a row)."""
    from fcnn_cli.boundary import png_uri, unit_rgb
    from fcnn_cli.trace.formatting import sup

    units = maps.shape[2]
    shown = min(units, MAX_UNIT_MAPS)
    side = 88 if shown <= 16 else 64  # CSS pixels: many units, smaller maps
    tiles = "".join(
        f'<div class="unit"><img class="unit-map" data-layer="{layer}" data-unit="{j + 1}" '
        f'src="{png_uri(unit_rgb(maps[:, :, j], activation), 64)}" width="{side}" height="{side}" '
        f'alt="hidden layer {layer}, unit {j + 1}"><span>unit {j + 1}</span></div>'
        for j in range(shown))
    low, high = ("0", "1") if activation == "sigmoid" else ("−1", "1") \
        if activation == "tanh" else ("−max|a|", "+max|a|")
    scale = (f'<span class="scale">{low} <span class="bar"></span> {high}</span>')
    which = f" (the first {shown})" if shown < units else ""
    spans = ("the colours span the activation's whole range, so a flat map is a unit that "
             "is saturated or unused" if activation in ("sigmoid", "tanh") else
             "each map spans ±max|a| of its own unit; white is 0, so a dead unit is all white")
    caption = (f"Hidden layer {layer}: what each of its {units} {activation} units "
               f"computes{which}, a{sup(layer)}ⱼ over the same plane as above ({names[0]} "
               f"across, {names[1]} up). Orange low, blue high; {spans}.")
    return (f'<figure class="units" data-layer="{layer}"><div class="unit-grid">{tiles}</div>'
            f"<figcaption>{_text(caption)} {scale}</figcaption></figure>")


def _points(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(len(x), 2)


def _training_points(model: Model, ev: Evaluated | None, data: str | None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The training split of the model's own data (none when the page scores other data,
    or scores the training split itself, or the data cannot be read)."""
    from fcnn_cli.evaluation import choose_rows

    none = (np.zeros((0, 2)), np.zeros(0))
    if data is not None or (ev is not None and ev.report.split in ("train", "all")):
        return none
    try:
        rows = choose_rows(model, None, "train")
    except FcnnError:
        return none
    return _points(rows.x), rows.labels


def _sampled(points: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    x, y = points
    if len(x) <= MAX_POINTS:
        return x, y
    chosen = np.sort(np.random.default_rng(0).choice(len(x), MAX_POINTS, replace=False))
    return x[chosen], y[chosen]


def _boundary_caption(model: Model, field: Any, train: tuple[np.ndarray, np.ndarray],
                      test: tuple[np.ndarray, np.ndarray], label: str) -> str:
    from fcnn_cli.boundary import GRID

    names = model.output_names
    if field.kind == "probability":
        what = (f"The probability the model gives class {names[1]} at each point of the "
                "input plane (white: ½, the decision boundary, drawn as a line)")
    elif field.kind == "classes":
        what = ("The class the model predicts at each point of the input plane, paler "
                "where it is less sure")
    else:
        more = f" (the first of its {len(names)} outputs)" if len(names) > 1 else ""
        what = f"The model's output {names[0]}{more} over the input plane, with contour lines"
    shown = [f"{len(x):,}" + (f" (a sample of {MAX_POINTS:,})" if len(x) > MAX_POINTS else "")
             for x, _ in (train, test)]
    marks = [f"circles are the {shown[0]} training points"] if len(train[0]) else []
    marks += [f"triangles the {shown[1]} {label}"] if len(test[0]) else []
    coloured = f", coloured by their true {'class' if model.is_classifier else 'value'}"
    points = f"; {' and '.join(marks)}{coloured}" if marks else ""
    return (f"{what}, computed on a {GRID} × {GRID} grid over the data's range in the "
            f"inputs' own units{points}.")
