"""Everything rich: progress bars, epoch tables, metric tables, z/a/δ tables, errors."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from fcnn_cli.metrics import Report
    from fcnn_cli.summary import ModelSummary
    from fcnn_cli.training import EpochRow, Outcome
    from fcnn_cli.tuning.plan import Plan
    from fcnn_cli.tuning.search import SearchOutcome, TrialRow

_out = Console(highlight=False, emoji=False)  # ":name:" in a file name stays text
_err = Console(stderr=True, highlight=False, emoji=False)


def warn(message: str) -> None:
    _err.print(f"warning: {message}", markup=False, soft_wrap=True)


def _num(value: float, digits: int = 4) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.{digits}f}" if abs(value) < 10**5 else f"{value:.{digits}g}"


def _pct(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{100 * value:.2f}%"


EPOCH_HEADER = (f"{'epoch':>9}  {'train loss':>10}  {'train acc':>9}  {'val loss':>9}  "
                f"{'val acc':>8}  {'lr':>9}  {'seconds':>7}  {'samples/s':>9}")


def epoch_line(row: EpochRow) -> str:
    mark = " *" if row.improved else ""
    return (f"{row.epoch:>4}/{row.epochs:<4}  {_num(row.train_loss):>10}  "
            f"{_pct(row.train_accuracy):>9}  {_num(row.val_loss):>9}  {_pct(row.val_accuracy):>8}"
            f"  {row.lr:>9.3g}  {row.seconds:>7.2f}  {row.samples_per_s:>9,.0f}{mark}")


def _start_line(summary: dict[str, Any]) -> str:
    arch = "-".join(map(str, summary["architecture"]))
    line = (f"training {summary['name']}: {arch} on {summary['train']:,} examples "
            f"(validation {summary['val']:,}, test {summary['test']:,})")
    if summary.get("pictures"):
        line += f"; picture files prepared as {summary['pictures']}"
    if summary.get("augment"):
        line += f"; each epoch's training pictures deformed: {summary['augment']}"
    if summary.get("resumed_at"):
        epoch, batch = summary["resumed_at"]
        line += f"; resumed at epoch {epoch}, batch {batch + 1}"
    return line


class PlainReporter:
    """One plain line per epoch: for pipes, files and CI logs (no redrawing)."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout

    def say(self, line: str) -> None:
        try:
            print(line, file=self.stream, flush=True)
        except BrokenPipeError:
            # The reader went away (`fcnn train ... | head`): keep training, stop printing.
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())

    def warn(self, message: str) -> None:
        warn(message)

    def loading(self, done: int, total: int) -> None:
        if done == total:
            self.say(f"read {total:,} images")

    def start(self, summary: dict[str, Any]) -> None:
        self.say(_start_line(summary))
        self.say(EPOCH_HEADER)

    def epoch_start(self, epoch: int, epochs: int, batches: int, samples: int) -> None:
        pass

    def batch(self, done: int, batches: int, seen: int) -> None:
        pass

    def epoch_end(self, row: EpochRow) -> None:
        self.say(epoch_line(row))

    def finish(self) -> None:
        pass


class QuietReporter(PlainReporter):
    def loading(self, done: int, total: int) -> None:
        pass

    def start(self, summary: dict[str, Any]) -> None:
        pass

    def epoch_end(self, row: EpochRow) -> None:
        pass


class LiveReporter(PlainReporter):
    """An epoch bar and a batch bar (samples/s, ETA) above a growing table of epochs."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description:>7}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"),
            TimeRemainingColumn(), console=_out, transient=True)
        self.last_draw = 0.0
        self.reading: Any = None

    def loading(self, done: int, total: int) -> None:
        if self.reading is None:
            self.reading = self.progress.add_task("images", total=total, rate="")
            self.progress.start()
        self.progress.update(self.reading, completed=done)
        if done == total:
            self.progress.stop()
            self.progress.remove_task(self.reading)
            _out.print(f"read {total:,} images", markup=False)

    def start(self, summary: dict[str, Any]) -> None:
        _out.print(_start_line(summary), markup=False)
        _out.print(EPOCH_HEADER, style="bold", markup=False)
        self.epochs = self.progress.add_task("epochs", total=None, rate="")
        self.batches = self.progress.add_task("batches", total=None, rate="")
        self.progress.start()

    def epoch_start(self, epoch: int, epochs: int, batches: int, samples: int) -> None:
        self.progress.update(self.epochs, total=epochs, completed=epoch - 1)
        self.progress.reset(self.batches, total=batches, rate="")
        self.started = time.perf_counter()

    def batch(self, done: int, batches: int, seen: int) -> None:
        now = time.perf_counter()
        if now - self.last_draw < 0.1 and done < batches:  # redrawing is costlier than a batch
            return
        self.last_draw = now
        rate = seen / max(now - self.started, 1e-9)
        self.progress.update(self.batches, completed=done, rate=f"{rate:,.0f} samples/s")

    def epoch_end(self, row: EpochRow) -> None:
        self.progress.update(self.epochs, completed=row.epoch)
        self.progress.console.print(epoch_line(row), markup=False,
                                    style="green" if row.improved else None)

    def finish(self) -> None:
        self.progress.stop()


def make_reporter(quiet: bool) -> PlainReporter:
    if quiet:
        return QuietReporter()
    return LiveReporter() if _out.is_terminal else PlainReporter()


def training_summary(outcome: Outcome) -> None:
    h = outcome.model.history
    epochs = len(h.get("train_loss", []))
    total = float(np.sum(h["seconds"])) if epochs else 0.0
    why = "early stopping" if outcome.stopped_early else "all epochs"
    _out.print(f"trained {epochs} epoch{'s' * (epochs != 1)} in {total:.1f} s ({why}); "
               f"best validation at epoch {outcome.best_epoch or '—'}", markup=False)
    test = outcome.test
    if test is not None and "per_output" in test:
        errors = "; ".join(f"{name}: MAE {_num(m['mae'])}, R² {_num(m['r2'], 3)}"
                           for name, m in test["per_output"].items())
        _out.print(f"test: loss {_num(test['loss'])}; {errors}", markup=False)
    elif test is not None:
        _out.print(f"test: loss {_num(test['loss'])}, accuracy {_pct(test['accuracy'])}",
                   markup=False)
    _out.print(f"model saved to {outcome.output}", markup=False)


FINISHED = ("complete", "pruned", "failed")


def _short_key(key: str) -> str:
    return key.removeprefix("training.").removeprefix("model.").removeprefix("data.")


def _column_names(keys: list[str]) -> list[str]:
    """Each key's last part (`lr`, `units`), or more of it where two would read the same."""
    last = [key.rsplit(".", 1)[-1] for key in keys]
    return [name if last.count(name) == 1 else _short_key(key) for name, key in zip(last, keys)]


def _metric_value(metric: str, value: float | None) -> str:
    """A validation accuracy as a percentage, a loss as a number."""
    if value is None:
        return "—"
    return _pct(value) if metric == "val_accuracy" else _num(value)


def _param(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class TrialsDisplay:
    """`fcnn tune`'s trials as the storage holds them: a live table in a terminal (the
    latest trials, running ones with their epochs so far), one plain line per finished
    trial otherwise. `show` may be called from another thread."""

    SHOWN = 20  # rows of the live table

    def __init__(self, live: bool | None = None) -> None:
        self.live = _out.is_terminal if live is None else live
        self.live_view: Any = None
        self.printed: set[int] | None = None

    def start(self, plan: Plan) -> None:
        from fcnn_cli.tuning.study import shown_url

        self.budget, self.metric = plan.trials, plan.metric
        _out.print(f"study {plan.study} in {shown_url(plan.url)}: {plan.trials} trials, "
                   f"scored on {plan.metric.replace('_', ' ')}", markup=False, soft_wrap=True)
        if self.live:
            from rich.live import Live

            self.live_view = Live(Text("starting the first trial…"), console=_out,
                                  refresh_per_second=4)
            self.live_view.start()

    def close(self) -> None:
        if self.live_view is not None:
            self.live_view.stop()
            self.live_view = None

    def show(self, rows: list[TrialRow]) -> None:
        if self.live_view is not None:
            self.live_view.update(self.table(rows))
            return
        if self.printed is None:  # trials from earlier runs: counted, not listed
            self.printed = {r.number for r in rows if r.state in FINISHED}
            if self.printed:
                n = len(self.printed)
                _out.print(f"continuing the study: {n} earlier trial{'s' * (n != 1)}",
                           markup=False)
        for row in sorted(rows, key=lambda r: r.number):
            if row.state in FINISHED and row.number not in self.printed:
                self.printed.add(row.number)
                _out.print(self._line(row, rows), markup=False, soft_wrap=True)

    def _value(self, value: float | None) -> str:
        return _metric_value(self.metric, value)

    def _best(self, rows: list[TrialRow]) -> TrialRow | None:
        from fcnn_cli.tuning.search import best_of

        return best_of(rows, self.metric == "val_accuracy")

    def _line(self, row: TrialRow, rows: list[TrialRow]) -> str:
        names = _column_names(list(row.params))
        params = " ".join(f"{n}={_param(v)}" for n, v in zip(names, row.params.values()))
        best = self._best(rows)
        lead = f" (best {self._value(best.value)}, trial {best.number})" if best else ""
        note = f"  {row.note}" if row.note else ""
        return (f"trial {row.number:>3}  {row.state:<8}  {self.metric.replace('_', ' ')} "
                f"{self._value(row.value)}{lead}  {row.epochs} epochs  "
                f"{row.seconds or 0:.1f} s  {params}{note}")

    def table(self, rows: list[TrialRow]) -> Table:
        from rich import box

        finished = sum(r.state in FINISHED and r.state != "failed" for r in rows)
        best = self._best(rows)
        title = f"{finished} of {self.budget} trials"
        if best is not None:
            title += f" · best {self._value(best.value)} (trial {best.number})"
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        keys = list(dict.fromkeys(k for r in rows for k in r.params))
        for name in ("trial", "state", *_column_names(keys)):
            table.add_column(name, no_wrap=True)
        for name in (self.metric.replace("_", " "), "epochs", "s"):
            table.add_column(name, justify="right", no_wrap=True)
        table.add_column("note")
        shown = sorted(rows, key=lambda r: r.number)
        older = [r for r in shown[:-self.SHOWN] if r.state not in FINISHED]  # still running
        for row in older + shown[-self.SHOWN:]:
            style = "bold green" if best is not None and row.number == best.number else \
                {"pruned": "dim", "failed": "red", "running": "cyan"}.get(row.state)
            epochs = f"{row.epochs}/{row.planned}" if row.planned else str(row.epochs)
            table.add_row(str(row.number), row.state,
                          *[_param(row.params[k]) if k in row.params else "" for k in keys],
                          self._value(row.value), epochs, f"{row.seconds or 0:.1f}", row.note,
                          style=style)
        return table


def tune_summary(outcome: SearchOutcome) -> None:
    """How the search went, its best trial and what mattered most."""
    counts = ", ".join(f"{outcome.count(s)} {s}" for s in FINISHED if outcome.count(s))
    _out.print(f"study {outcome.plan.study}: {len(outcome.rows)} trials ({counts or 'none'})",
               markup=False)
    pruned = outcome.count("pruned")
    if pruned:
        _out.print(f"pruning stopped {pruned} trial{'s' * (pruned != 1)} early; their "
                   f"remaining epochs would have taken up to {outcome.saved_seconds:.1f} s "
                   f"more (trials trained for {outcome.trained_seconds:.1f} s in all)",
                   markup=False, soft_wrap=True)
    best = outcome.best
    if best is None:
        _out.print("no trial has completed yet", markup=False)
        return
    metric = outcome.plan.metric
    table = Table(title=f"best: trial {best.number}, {metric.replace('val_', 'validation ')} "
                        f"{_metric_value(metric, best.value)}", title_justify="left")
    table.add_column("key", no_wrap=True)
    table.add_column("value")
    table.add_column("importance", justify="right")
    for key, value in best.params.items():
        weight = outcome.importances.get(key)
        table.add_row(key, _param(value), "—" if weight is None else f"{weight:.2f}")
    _out.print(table)
    if outcome.best_config is not None:
        _out.print(f"best config written to {outcome.best_config}; train it with: "
                   f"fcnn train {outcome.best_config}", markup=False, soft_wrap=True)


def eval_report(report: Report, title: str) -> None:
    if report.per_output is not None:
        _out.print(f"{title}: loss {_num(report.loss)}", markup=False)
        per_output = Table(title="per output, in the targets' units", title_justify="left")
        for column in ("output", "MAE", "RMSE", "R²"):
            per_output.add_column(column, justify="left" if column == "output" else "right")
        for name, m in report.per_output.items():
            r2 = "n/a" if m["r2"] is None else _num(m["r2"], 3)
            per_output.add_row(Text(name), _num(m["mae"]), _num(m["rmse"]), r2)
        _out.print(per_output)
        return
    _out.print(f"{title}: accuracy {_pct(report.accuracy)}, loss {_num(report.loss)}",
               markup=False)
    per_class = Table(title="per class", title_justify="left")
    for column in ("class", "precision", "recall", "F1", "support"):
        per_class.add_column(column, justify="left" if column == "class" else "right")
    for name, m in report.per_class().items():
        per_class.add_row(Text(name), _num(m["precision"], 3), _num(m["recall"], 3),
                          _num(m["f1"], 3), f"{m['support']:,}")
    _out.print(per_class)
    confusion = Table(title="confusion matrix (rows: true class, columns: predicted)",
                      title_justify="left")
    confusion.add_column("true \\ pred")
    for name in report.class_names:
        confusion.add_column(Text(name), justify="right")
    for i, name in enumerate(report.class_names):
        confusion.add_row(Text(name), *(f"[bold]{v}[/bold]" if i == j else (str(v) if v else "·")
                                  for j, v in enumerate(report.confusion[i])))
    _out.print(confusion)


class PredictionOutput:
    """`fcnn predict`'s results: a table, or past `table_rows` of them plain aligned lines,
    printed as they come (rich takes seconds over a table of thousands of rows, and a
    table shows nothing until the last row is in). The first column names the input."""

    def __init__(self, columns: list[str], numbers: bool = False, table_rows: int = 100
                 ) -> None:
        self.columns = columns
        self.numbers = numbers  # every column but the first holds a number: align right
        self.table_rows = table_rows
        self.rows: list[list[str]] = []
        self.widths: list[int] = []  # of each column, once streaming

    def add(self, cells: list[str]) -> None:
        self.rows.append(cells)
        if not self.widths:
            if len(self.rows) <= self.table_rows:
                return
            self.widths = [max(len(row[i]) for row in [self.columns, *self.rows])
                           for i in range(len(self.columns))]
            self._line(self.columns)
        for row in self.rows:
            self._line(row)
        self.rows.clear()

    def close(self) -> None:
        if self.widths:
            return
        table = Table(show_lines=False)
        # the inputs' names stay whole up to 40 characters; the other columns wrap first
        names = min(40, max((len(row[0]) for row in self.rows), default=5))
        for i, column in enumerate(self.columns):
            table.add_column(Text(column), overflow="fold", min_width=names if i == 0 else None,
                             justify="right" if self.numbers and i else "left")
        for row in self.rows:
            table.add_row(*(Text(cell) for cell in row))
        _out.print(table)

    def _line(self, cells: list[str]) -> None:
        print("  ".join(f"{cell:>{width}}" if self.numbers and i else f"{cell:<{width}}"
                        for i, (cell, width) in enumerate(zip(cells, self.widths))).rstrip())


@contextlib.contextmanager
def batch_progress(at_least: int = 256) -> Iterator[Callable[[int, int], None]]:
    """A progress callback (done, total) that draws a bar on stderr once a batch has
    `at_least` inputs; short batches stay quiet (and never load rich.progress)."""
    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if total < at_least:
            return
        if bar is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            bar = Progress(BarColumn(), MofNCompleteColumn(), TextColumn("inputs, ETA"),
                           TimeRemainingColumn(), console=_err, transient=True)
            bar.start()
            bar.add_task("", total=total)
        bar.update(bar.task_ids[0], completed=done)

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


def name_table(kind: str, rows: list[tuple[str, str]]) -> None:
    """Names with a description each (`fcnn config list`)."""
    table = Table(show_lines=False)
    table.add_column(kind, no_wrap=True)
    table.add_column("what it is")
    for name, description in rows:
        table.add_row(Text(name), Text(description))
    _out.print(table)


def show_image(name: str, pixels: np.ndarray, what: str = "what the network sees") -> None:
    """Draw a picture in the terminal, two pixel rows per character (▀: top fg, bottom bg):
    a 2-D array in gray, an (H, W, 3) array in colour; titled `name — what (size)`."""
    colour = pixels.ndim == 3
    grid = pixels / max(float(pixels.max()), 1e-9)
    levels = np.clip(grid * 255, 0, 255).astype(int)  # (a negative value is no colour)
    if not colour:
        levels = levels[..., None].repeat(3, axis=2)  # gray: the same level in R, G and B
    if len(levels) % 2:
        levels = np.concatenate([levels, np.zeros((1, *levels.shape[1:]), dtype=int)])
    lines = []
    for top, bottom in zip(levels[0::2].tolist(), levels[1::2].tolist()):
        lines.append("".join(f"[rgb({t[0]},{t[1]},{t[2]}) on rgb({b[0]},{b[1]},{b[2]})]▀[/]"
                             for t, b in zip(top, bottom)))
    kind = " RGB" if colour else ""
    _out.print(f"{name} — {what} ({pixels.shape[0]}×{pixels.shape[1]}{kind}):",
               markup=False, soft_wrap=True)
    for line in lines:  # soft_wrap: a picture wider than the console is not folded
        _out.print(line, soft_wrap=True)


def model_info(summary: ModelSummary) -> None:
    """`fcnn info`: the layers, how training went, and the learning curves as bars."""
    s = summary
    arch = "-".join(map(str, s.architecture))
    _out.print(f"{s.name or 'model'}: {arch}, {s.parameters:,} parameters, cost {s.cost}",
               markup=False)
    table = Table(show_lines=False)
    for column in ("layer", "units", "activation", "dropout", "parameters"):
        table.add_column(column, justify="left" if column == "activation" else "right")
    table.add_row("0", f"{s.architecture[0]:,}", "input", "", "")
    for layer in s.layers:
        table.add_row(str(layer.layer), f"{layer.units:,}", layer.activation,
                      f"{layer.dropout:g}" if layer.dropout else "", f"{layer.parameters:,}")
    _out.print(table)
    for line in _training_lines(s):
        _out.print(line, markup=False, soft_wrap=True)


def _training_lines(s: ModelSummary) -> list[str]:
    from fcnn_cli.summary import column_of, sparkline

    sizes = s.split_sizes
    split = (f" (train {sizes['train']:,}, validation {sizes['val']:,}, test "
             f"{sizes['test']:,})" if sizes else "")
    lines = [f"trained on {s.dataset or 'unknown data'}{split} for {s.epochs} epoch"
             f"{'' if s.epochs == 1 else 's'} in {s.training_seconds:.1f} s",
             f"optimiser {s.optimizer}; learning rate {s.schedule}"]
    if s.best_epoch:
        lines.append(f"best epoch {s.best_epoch} by {s.monitor}: " + _metrics(s.best))
    if s.final:
        lines.append(f"last epoch {s.epochs}: " + _metrics(s.final))
    lines.append(f"written {s.created or 'at an unknown time'} by fcnn "
                 f"{s.fcnn_version or '(an older version)'}")
    if not s.epochs:
        return lines + ["no training history: the curves are not known"]
    lines.append("learning curves (epoch 1 on the left; each bar scaled lowest to highest)")
    history = s.history
    for key, label in (("train_loss", "train loss"), ("val_loss", "val loss"),
                       ("train_accuracy", "train accuracy"), ("val_accuracy", "val accuracy"),
                       ("lr", "learning rate")):
        values = list(history.get(key, []))
        bars, _, _ = sparkline(values)
        if bars:  # the first epoch's value on the left, the last one's on the right
            pct = "accuracy" in key
            lines.append(f"  {label:<15}{_value(values[0], pct):>9} {bars} "
                         f"{_value(values[-1], pct)}")
            if key == s.monitor and s.best_epoch:
                lines.append(" " * 27 + " " * column_of(s.best_epoch, s.epochs) +
                             f"↑ best, epoch {s.best_epoch}")
    return lines


def _metrics(row: dict[str, float]) -> str:
    parts = []
    for key, label in (("train_loss", "train loss"), ("val_loss", "val loss"),
                       ("val_accuracy", "val accuracy")):
        value = row.get(key)
        if value is not None and value == value:  # not NaN
            parts.append(f"{label} {_value(value, 'accuracy' in key)}")
    return ", ".join(parts)


def _value(value: float, percent: bool) -> str:
    return f"{value:.2%}" if percent else f"{value:.4g}"


def show_augmented(pictures: np.ndarray) -> None:
    """`api.augmented`'s (rows, copies, H, W[, C]) pictures as one drawing, a dark line
    between neighbours."""
    rows, copies, h, w = pictures.shape[:4]
    gap = max(1, h // 14)
    sheet = np.full(((h + gap) * rows - gap, (w + gap) * copies - gap, *pictures.shape[4:]),
                    pictures.max() * 0.15)
    for r in range(rows):
        for c in range(copies):
            sheet[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = \
                pictures[r, c]
    show_image("training pictures", sheet,
               f"as they are (left) and {copies - 1} deformed copies as data.augment draws them")


# --- forward-trace tables ---
# The renderers of `fcnn forward-trace`; the numbers all come from fcnn_cli.trace.

if TYPE_CHECKING:
    from rich.console import Group

    from fcnn_cli.trace import (
        ArchitectureExample,
        GateExample,
        SoftmaxExample,
        TraceResult,
    )


def _say(*parts: Any) -> None:
    # markup=False (and Text cells): a trace file's notes or a class name such as "[cat]"
    # would otherwise be read as rich tags.
    _out.print(*parts, markup=False, soft_wrap=True)


def _trace_table(title: str, header: list[str], rows: list[list[str]],
                 text: bool = False) -> Group:
    """A table under a bold title line (a table's own title would be cut to its width);
    numbers align right, a first column of labels (or every column, with `text`) left."""
    from rich.console import Group
    from rich.text import Text

    table = Table()
    for i, name in enumerate(header):
        # fold, never "…": a narrow terminal may wrap a number but must not hide its digits
        table.add_column(Text(name), justify="left" if i == 0 or text else "right",
                         overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return Group(*([Text(title, style="bold")] if title else []), table)


def print_example_list(examples: list[tuple[str, str]]) -> None:
    """`fcnn forward-trace --list`: each built-in example with its one-line description."""
    from rich.text import Text

    table = Table(title=Text("Built-in examples: fcnn forward-trace NAME"), title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("description")
    for name, description in examples:
        table.add_row(Text(name), Text(description))
    _say(table)


def print_trace(result: TraceResult) -> None:
    """One forward pass, backward pass and update, one panel per layer (`--format table`)."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.text import Text

    from fcnn_cli.trace import comparison_rows, fmt, gradient_check_warning, plural, sup
    from fcnn_cli.trace.tables import inputs_table, layer_tables

    arch = "-".join(map(str, result.architecture))
    _out.rule(Text(f"Forward trace: {arch} network · {result.cost_name} cost · "
                   f"η = {fmt(result.lr)}"))
    for line in ([result.description] if result.description else []) + result.header:
        _say(line)
    n = result.n
    _say(_trace_table(*inputs_table(result)))
    for layer in result.layers:
        tables = [_trace_table(*table) for table in layer_tables(result, layer)]
        _say(Panel(Group(*tables), expand=False, title=Text(
            f"layer {layer.l}: {layer.activation}, {plural(layer.units, 'unit')} "
            f"(w{sup(layer.l)} is {layer.units}×{layer.inputs})")))
    mean = f" (mean over the N = {n} examples)" if n > 1 else ""
    _say(f"cost C = {fmt(result.cost)}  [{result.cost_name}{mean}]")
    if result.comparisons:
        header, rows = comparison_rows(result)
        _say(_trace_table("the same network under each cost", header, rows))
    _say(f"gradient check: backprop vs central finite differences on {result.checked}: "
         f"largest relative error {result.max_rel_error:.2e}")
    problem = gradient_check_warning(result)
    if problem:
        warn(problem)
    if result.notes:
        _say("")
        _say(result.notes)


def print_trace_example(example: SoftmaxExample | GateExample | ArchitectureExample
                        ) -> None:
    """The built-in examples that are not networks: softmax, gate, architecture."""
    from fcnn_cli.trace import (
        GateExample,
        SoftmaxExample,
        architecture_reasoning,
        fmt,
        gate_rows,
        gate_sensitivity,
        sup,
    )

    if isinstance(example, SoftmaxExample):
        title = "Softmax"
        # Two decimals, as the lecture's table prints them.
        rows = [[str(j + 1), fmt(x), f"{e:.2f}", f"{p:.2f}"]
                for j, (x, e, p) in enumerate(zip(example.x, example.exp, example.p))]
        rows.append(["total", "", f"{example.exp.sum():.2f}", f"{example.p.sum():.2f}"])
        body: list[Any] = [_trace_table("", ["node j", "xⱼ", "e^xⱼ", "e^xⱼ / Σₖ e^xₖ"], rows)]
    elif isinstance(example, GateExample):
        g = example
        title = "Gates: f(x, y, z) = (x + y)·z"
        body = [f"inputs: x = {fmt(g.x)}, y = {fmt(g.y)}, z = {fmt(g.z)}",
                _trace_table("", *gate_rows(g), text=True), gate_sensitivity(g)]
    else:
        title = "Find the architecture"
        rows = [[f"w{sup(l)}", f"{r}×{c}", f"{r} (layer {l})", f"{c} (layer {l - 1})"]
                for l, (r, c) in enumerate(example.shapes, start=1)]
        body = [_trace_table("", ["weights", "shape", "rows = neurons of layer l",
                                  "columns = neurons of layer l−1"], rows, text=True),
                architecture_reasoning(example)]
    _out.rule(title)
    if example.description:
        _say(example.description)
    for part in body:
        _say(part)
    if example.notes:
        _say("")
        _say(example.notes)
