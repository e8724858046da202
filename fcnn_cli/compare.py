"""`fcnn compare`: the learning curves of several trained models on shared axes, and a
table of their final numbers.

Everything comes from the model files alone (each one's per-epoch history and stored
config, as `fcnn info` reads them). Every model is drawn on the same scale: a validation
loss that moves between 2.316 and 2.337 looks flat beside one that falls from 2.3 to 0.1,
as it should. The terminal summary is drawn in ui.py; the page (`--out`) is built here in
the style of `fcnn report`, its figure drawn by `figures.compared_curves`.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fcnn_cli.errors import FcnnError
from fcnn_cli.model import Model
from fcnn_cli.summary import BARS, ModelSummary, summarize

# The per-epoch series compared, in the order shown: (history key, words).
SERIES = (("train_loss", "training loss"), ("val_loss", "validation loss"),
          ("train_accuracy", "training accuracy"), ("val_accuracy", "validation accuracy"))
MAX_MODELS = 12


@dataclass
class Compared:
    """One model as compared: its name as shown, where it came from, what it says."""

    name: str
    source: str
    summary: ModelSummary

    def series(self, key: str) -> list[float]:
        return list(self.summary.history.get(key, []))


def load_all(models: Sequence[str | Path | Model]) -> list[Compared]:
    """Each model (a file, a shipped name or a Model), named so that no two look alike;
    fewer than two, or more than MAX_MODELS, is an error."""
    from fcnn_cli.api import load_model

    if len(models) < 2:
        raise FcnnError(f"compare needs at least two models, got {len(models)}; e.g. "
                        "fcnn compare runs/a.h5 runs/b.h5")
    if len(models) > MAX_MODELS:
        raise FcnnError(f"compare draws at most {MAX_MODELS} models at once, got "
                        f"{len(models)}; compare fewer")
    loaded = [(m, m.source or f"model {i}") if isinstance(m, Model) else (load_model(m), str(m))
              for i, m in enumerate(models, start=1)]
    compared = [Compared(_name(model, source), source, summarize(model))
                for model, source in loaded]
    names = [c.name for c in compared]
    for c in compared:  # two runs of one recipe share a name: the file tells them apart
        if names.count(c.name) > 1:
            c.name = c.source
    return compared


def _name(model: Model, source: str) -> str:
    return Path(source).stem if source.lower().endswith(".h5") else source


# --- the numbers -------------------------------------------------------------------------

def final_rows(compared: list[Compared]) -> tuple[list[str], list[list[str]]]:
    """One row per model: its final epoch's losses and accuracies, the best epoch (by what
    its training monitored), epochs, training time and parameters."""
    header = ["model", "train loss", "val loss", "train acc.", "val acc.", "best epoch",
              "epochs", "seconds", "parameters"]
    rows = []
    for c in compared:
        s = c.summary
        final = s.final
        best = str(s.best_epoch) if s.best_epoch else "—"
        rows.append([c.name, _loss(final.get("train_loss")), _loss(final.get("val_loss")),
                     _percent(final.get("train_accuracy")), _percent(final.get("val_accuracy")),
                     best, str(s.epochs) if s.epochs else "—",
                     f"{s.training_seconds:.3g}" if s.epochs else "—", f"{s.parameters:,}"])
    return header, rows


def best_note(compared: list[Compared]) -> str:
    """Which metric each model's best epoch was counted by."""
    by: dict[str, list[str]] = {}
    for c in compared:
        if c.summary.best_epoch:
            by.setdefault(c.summary.monitor.replace("_", " "), []).append(c.name)
    if not by:
        return ""
    if len(by) == 1:
        return f"best epoch: the lowest {next(iter(by))}" if "loss" in next(iter(by)) \
            else f"best epoch: the highest {next(iter(by))}"
    return "best epoch, by what each training monitored: " + "; ".join(
        f"{', '.join(names)}: {metric}" for metric, names in by.items())


def _loss(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.4g}"


def _percent(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:.2%}"


def shared_range(compared: list[Compared], key: str) -> tuple[float, float] | None:
    """The lowest and highest finite value of `key` over every model, or None if none."""
    values = [v for c in compared for v in c.series(key) if math.isfinite(v)]
    return (min(values), max(values)) if values else None


def shared_bars(compared: list[Compared], key: str, width: int) -> list[str]:
    """Each model's `key` per epoch as bars on one scale and one time axis: the same
    epochs per column for every model (averaged where there are more epochs than
    columns), so a shorter run draws a shorter line. Blank where a value is missing."""
    span = shared_range(compared, key)
    longest = max(len(c.series(key)) for c in compared)
    if span is None or not longest:
        return ["" for _ in compared]
    low, high = span
    per = max(1, math.ceil(longest / width))
    lines = []
    for c in compared:
        values = c.series(key)
        cells = []
        for start in range(0, len(values), per):
            chunk = [v for v in values[start:start + per] if math.isfinite(v)]
            cells.append(_bar(sum(chunk) / len(chunk), low, high) if chunk else " ")
        lines.append("".join(cells))
    return lines


NO_CURVES = ("no model records a training history (an imported model has none): there are no "
             "learning curves to draw")


def has_curves(compared: list[Compared]) -> bool:
    return any(shared_range(compared, key) is not None for key, _ in SERIES)


def epochs_per_column(compared: list[Compared], width: int) -> int:
    longest = max((len(c.series("train_loss")) for c in compared), default=0)
    return max(1, math.ceil(longest / width))


def _bar(value: float, low: float, high: float) -> str:
    if high <= low:
        return BARS[len(BARS) // 2]
    return BARS[round((value - low) / (high - low) * (len(BARS) - 1))]


# --- the page ----------------------------------------------------------------------------

@dataclass
class Comparison:
    """What `api.compare` returns: the models as compared, and the page if one was written."""

    models: list[Compared]
    page: Path | None = None


def compare(models: Sequence[str | Path | Model], out: str | Path | None = None) -> Comparison:
    """Load every model and, with `out`, write the page; `out` is checked first (never
    one of the models, never a folder's own name clash), before any model is read."""
    from fcnn_cli.atomic import replaced
    from fcnn_cli.outputs import output_path

    path = None
    if out is not None:
        files = [("a model", m) for m in models if not isinstance(m, Model) and Path(m).is_file()]
        path = output_path(out, "--out", files, name="compare.html", example="compare.html")
    compared = load_all(models)
    if path is not None:
        page = build_page(compared)
        with replaced(path) as temporary:
            temporary.write_text(page, encoding="utf-8")
    return Comparison(compared, path)


def build_page(compared: list[Compared]) -> str:
    """One self-contained page: the overlaid curves and the table of final numbers."""
    from fcnn_cli import __version__, figures
    from fcnn_cli.report import PAGE, SECTION, STYLE

    figures.pyplot()  # the install hint before any work, when matplotlib is missing
    curves = {key: [c.series(key) for c in compared] for key, _ in SERIES}
    header, rows = final_rows(compared)
    table = ("<div class=\"wide\"><table><tr>" + "".join(f"<th>{_text(h)}</th>" for h in header)
             + "</tr>" + "".join("<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row)
                                 + "</tr>" for row in rows) + "</table></div>")
    caption = ("Each model's loss and accuracy after each epoch, every model on the same "
               "axes: solid lines validation, dashed lines training.")
    drawn = (f"<figure>{figures.compared_curves([c.name for c in compared], curves)}"
             f"<figcaption>{_text(caption)}</figcaption></figure>" if has_curves(compared)
             else f"<p class=\"notice\">{_text(NO_CURVES.capitalize())}.</p>")
    sections = [("curves", "Learning curves", drawn),
                ("final", "Final numbers", table + _table_note(compared))]
    nav = "".join(f'<a href="#{key}">{heading}</a>' for key, heading, _ in sections)
    body = "\n".join(SECTION.substitute(id=key, heading=heading, body=content)
                     for key, heading, content in sections)
    names = ", ".join(c.name for c in compared)
    return PAGE.substitute(title=_text(f"Comparing {len(compared)} models"),
                           subtitle=_text(names), nav=nav, notice="", sections=body,
                           style=STYLE, version=_text(__version__))


def _table_note(compared: list[Compared]) -> str:
    note = best_note(compared) or "no best epoch recorded"
    return (f"<p class=\"subtitle\">The last epoch's numbers; {_text(note)}; seconds: the "
            "time spent training.</p>")


def _text(value: object) -> str:
    return html.escape(str(value), quote=True)
