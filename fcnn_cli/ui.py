"""Everything rich: progress bars, epoch tables, metric tables, z/a/δ tables, errors."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console
from rich.table import Table
from rich.text import Text

from fcnn_cli.sanitize import visible

if TYPE_CHECKING:
    from fcnn_cli.compare import Compared
    from fcnn_cli.metrics import Report
    from fcnn_cli.summary import ModelSummary
    from fcnn_cli.training import EpochRow, Outcome
    from fcnn_cli.tuning.plan import Plan
    from fcnn_cli.tuning.search import SearchOutcome, TrialRow


class _SafeConsole(Console):
    """A Console that shows the control characters of the text it prints as escapes
    (`\\x1b`): a class or file name holding an escape sequence (clear the screen, set the
    window title) is shown, never obeyed. Every str and Text passes through `render_str`
    or `render`, however deep in a table or panel; the styles rich adds are not text, and
    newlines and tabs lay text out as usual."""

    def render_str(self, text: str, **options: Any) -> Text:
        return super().render_str(visible(text, keep="\n\t"), **options)

    def render(self, renderable: Any, options: Any = None) -> Any:
        if isinstance(renderable, Text) and visible(renderable.plain, "\n\t") != \
                renderable.plain:
            renderable = _visible_text(renderable)
        return super().render(renderable, options)


def _visible_text(text: Text) -> Text:
    """`text` with its control characters written as escapes, its styles kept."""
    shown, start = text.blank_copy(), 0
    for end, char in enumerate(text.plain):
        if char not in "\n\t" and visible(char) != char:
            shown.append_text(text[start:end])
            shown.append(visible(char))
            start = end + 1
    shown.append_text(text[start:])
    return shown


_out = _SafeConsole(highlight=False, emoji=False)  # ":name:" in a file name stays text
_err = _SafeConsole(stderr=True, highlight=False, emoji=False)


def warn(message: str) -> None:
    # in a terminal, wrapped between words (the terminal itself would cut through numbers)
    _err.print(f"warning: {message}", markup=False, soft_wrap=not _err.is_terminal)


def _num(value: float, digits: int = 4) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.{digits}f}" if abs(value) < 10**5 else f"{value:.{digits}g}"


def _pct(value: float) -> str:
    return "—" if value is None or math.isnan(value) else f"{100 * value:.2f}%"


# --- tables that fit the terminal ---
# rich squeezes a table wider than the terminal by wrapping its cells anywhere, which splits
# a number such as 3.442e-11 into "3.442e-1" and "1". So every table is laid out here: a
# cell wraps only between words, never inside one, and a table too wide loses its borders
# first, then goes on below in more tables that repeat its first (key) columns.

Cell = str | Text


def _soft_wrap() -> bool:
    """Lines of prose are wrapped between words in a terminal (rather than cut anywhere by
    the terminal); in a pipe or a log each stays one line, whole for grep."""
    return not _out.is_terminal


def _shown(cell: Cell) -> str:
    """A cell's text as the terminal will show it (control characters as escapes)."""
    return visible(str(cell), keep="\n\t")


def _longest_word(cell: Cell) -> int:
    from rich.cells import cell_len

    return max((cell_len(word) for word in _shown(cell).split()), default=0)


def _longest_line(cell: Cell) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in _shown(cell).split("\n")), default=0)


def _text(cell: Cell) -> Text:
    return cell if isinstance(cell, Text) else Text(cell)


class _Layout:
    """One table's cells and what each column needs: its natural width (longest line) and
    the least it can take (longest word, or `fold` for a first column of names)."""

    def __init__(self, header: list[Cell], rows: list[list[Cell]], justify: list[str],
                 styles: list[str | None], fold: int | None) -> None:
        self.header, self.rows, self.justify, self.styles = header, rows, justify, styles
        columns = [[h, *(row[i] for row in rows)] for i, h in enumerate(header)]
        self.natural = [max(_longest_line(c) for c in column) for column in columns]
        self.least = [max(_longest_word(c) for c in column) for column in columns]
        if fold is not None:
            self.least[0] = min(self.least[0], fold)

    def widths(self, columns: list[int], width: int, compact: bool, fold: bool = False
               ) -> list[int] | None:
        """Each of these columns' width in a table `width` terminal columns wide, or None if
        they cannot fit without breaking a word (with `fold`, the widest columns then fold
        their words, so that a name wider than the terminal leaves the numbers whole)."""
        widths = [self.natural[i] for i in columns]
        least = [1 if fold else self.least[i] for i in columns]
        overhead = 2 * len(columns) - 2 if compact else 3 * len(columns) + 1
        excess = sum(widths) + overhead - width
        while excess > 0:  # narrow the widest column that can still wrap between its words
            narrower = [k for k in range(len(widths)) if widths[k] > least[k]]
            if not narrower:  # (folding: one character a column, the least rich can do)
                return widths if fold else None
            widths[max(narrower, key=lambda k: widths[k])] -= 1
            excess -= 1
        return widths

    def table(self, columns: list[int], widths: list[int], compact: bool) -> Table:
        """These columns at these widths, with borders or (`compact`) without."""
        from rich import box

        style: dict[str, Any] = ({"box": box.SIMPLE_HEAD, "show_edge": False,
                                  "pad_edge": False, "padding": (0, 1, 0, 0)} if compact else {})
        table = Table(**style)
        for i, w in zip(columns, widths):
            table.add_column(_text(self.header[i]), justify=self.justify[i],
                             width=w, overflow="fold")
        for row, row_style in zip(self.rows, self.styles):
            table.add_row(*(_text(row[i]) for i in columns), style=row_style)
        return table


def fitted_tables(header: list[Cell], rows: list[list[Cell]], width: int | None = None,
                  justify: list[str] | None = None, keys: int = 1,
                  styles: list[str | None] | None = None, fold: int | None = None
                  ) -> list[Table]:
    """A table in `width` columns (the terminal's by default): as it is, else without its
    borders, else its columns in several tables, each repeating the first `keys` columns.
    Numbers and other words never break (but a first column of names may fold past `fold`
    characters); `justify` is per column ("left"/"right"), `styles` per row."""
    width = width or _out.width
    layout = _Layout(header, rows, justify or ["left"] * len(header),
                     styles or [None] * len(rows), fold)
    every = list(range(len(header)))
    for compact in (False, True):
        widths = layout.widths(every, width, compact)
        if widths is not None:
            return [layout.table(every, widths, compact)]
    keys = min(keys, len(header) - 1)
    tables, rest = [], every[keys:]
    while rest:
        take = len(rest)
        while take > 1 and layout.widths(every[:keys] + rest[:take], width, True) is None:
            take -= 1
        chosen = every[:keys] + rest[:take]
        # (None only when a word is about as wide as the terminal: then it folds, as it must)
        widths = layout.widths(chosen, width, True) or layout.widths(chosen, width, True, True)
        tables.append(layout.table(chosen, widths, True))
        rest = rest[take:]
    return tables


def _print_tables(title: str | None, header: list[Cell], rows: list[list[Cell]],
                  **layout: Any) -> None:
    """A title line and the table under it (a table's own title would be cut to the
    table's width), fitted to the terminal."""
    if title:
        _out.print(Text(title, style="bold"), soft_wrap=_soft_wrap())
    for table in fitted_tables(header, rows, **layout):
        _out.print(table)


EPOCH_HEADER = (f"{'epoch':>9}  {'train loss':>10}  {'train acc':>9}  {'val loss':>9}  "
                f"{'val acc':>8}  {'lr':>9}  {'seconds':>7}  {'samples/s':>9}")


def epoch_line(row: EpochRow, rate: bool = True) -> str:
    """One epoch's row under EPOCH_HEADER (without its samples/s where `rate` is False)."""
    mark = " *" if row.improved else ""
    speed = f"  {row.samples_per_s:>9,.0f}" if rate else ""
    return (f"{row.epoch:>4}/{row.epochs:<4}  {_num(row.train_loss):>10}  "
            f"{_pct(row.train_accuracy):>9}  {_num(row.val_loss):>9}  {_pct(row.val_accuracy):>8}"
            f"  {row.lr:>9.3g}  {row.seconds:>7.2f}{speed}{mark}")


def _with_rate() -> bool:
    """Whether a terminal is wide enough for the epoch rows' samples/s column (86 columns
    with the ' *' of an improved epoch); the batch bar shows the speed in any case."""
    return _out.width >= len(EPOCH_HEADER) + 2


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
            print(visible(line), file=self.stream, flush=True)  # a config's name: shown
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
        header = EPOCH_HEADER if _with_rate() else EPOCH_HEADER.rsplit("  ", 1)[0]
        _out.print(header, style="bold", markup=False)
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
        self.progress.console.print(epoch_line(row, _with_rate()), markup=False,
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
    sizes = outcome.model.split_sizes or {}
    best = ("no validation split" if sizes.get("val") == 0
            else f"best validation at epoch {outcome.best_epoch or '—'}")
    _out.print(f"trained {epochs} epoch{'s' * (epochs != 1)} in {total:.1f} s ({why}); {best}",
               markup=False)
    test = outcome.test
    if sizes.get("test") == 0:
        _out.print("no test split (data.test_fraction 0); score new data with: "
                   f"fcnn eval {outcome.output} --data PATH (or all of the training data "
                   "with --split all)", markup=False, soft_wrap=True)
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
        n = plan.earlier  # a study found in the storage is continued: say so, it is no default
        again = (f"; continuing the study: {n} earlier trial{'s' * (n != 1)} (--study NAME "
                 "starts a fresh one)") if n else ""
        _out.print(f"study {plan.study} in {shown_url(plan.url)}: {plan.trials} trials, "
                   f"scored on {plan.metric.replace('_', ' ')}{again}", markup=False,
                   soft_wrap=True)
        if n >= plan.trials:
            _out.print(f"nothing to run: the study already has {n} of --trials {plan.trials}; "
                       f"give --trials {n + plan.trials} to run {plan.trials} more",
                       markup=False, soft_wrap=True)
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
        if self.printed is None:  # trials from earlier runs: counted at start, not listed
            self.printed = {r.number for r in rows if r.state in FINISHED}
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
        # best so far: trials read in the same poll but numbered later are not yet "so far"
        best = self._best([r for r in rows if r.number <= row.number])
        lead = f" (best {self._value(best.value)}, trial {best.number})" if best else ""
        note = f"  {row.note}" if row.note else ""
        return (f"trial {row.number:>3}  {row.state:<8}  {self.metric.replace('_', ' ')} "
                f"{self._value(row.value)}{lead}  {row.epochs} epochs  "
                f"{row.seconds or 0:.1f} s  {params}{note}")

    def table(self, rows: list[TrialRow]) -> Group:
        """The title line and the trials' table, in as many tables as the terminal needs
        (each repeating the trial number)."""
        from rich.console import Group

        finished = sum(r.state in FINISHED and r.state != "failed" for r in rows)
        best = self._best(rows)
        title = f"{finished} of {self.budget} trials"
        if best is not None:
            title += f" · best {self._value(best.value)} (trial {best.number})"
        keys = list(dict.fromkeys(k for r in rows for k in r.params))
        header = ["trial", "state", *_column_names(keys), self.metric.replace("_", " "),
                  "epochs", "s", "note"]
        justify = ["left"] * (2 + len(keys)) + ["right"] * 3 + ["left"]
        shown = sorted(rows, key=lambda r: r.number)
        older = [r for r in shown[:-self.SHOWN] if r.state not in FINISHED]  # still running
        cells: list[list[Cell]] = []
        styles: list[str | None] = []
        for row in older + shown[-self.SHOWN:]:
            styles.append("bold green" if best is not None and row.number == best.number else
                          {"pruned": "dim", "failed": "red", "running": "cyan"}.get(row.state))
            epochs = f"{row.epochs}/{row.planned}" if row.planned else str(row.epochs)
            cells.append([str(row.number), row.state,
                          *[_param(row.params[k]) if k in row.params else "" for k in keys],
                          self._value(row.value), epochs, f"{row.seconds or 0:.1f}", row.note])
        return Group(Text(title), *fitted_tables(header, cells, justify=justify,
                                                 styles=styles))


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
    rows: list[list[Cell]] = []
    for key, value in best.params.items():
        weight = outcome.importances.get(key)
        rows.append([key, _param(value), "—" if weight is None else f"{weight:.2f}"])
    _print_tables(f"best: trial {best.number}, {metric.replace('val_', 'validation ')} "
                  f"{_metric_value(metric, best.value)}", ["key", "value", "importance"], rows,
                  justify=["left", "left", "right"])
    if outcome.best_config is not None:
        _out.print(f"best config written to {outcome.best_config}; train it with: "
                   f"fcnn train {outcome.best_config}", markup=False, soft_wrap=True)


def eval_report(report: Report, title: str) -> None:
    if report.per_output is not None:
        _out.print(f"{title}: loss {_num(report.loss)}", markup=False)
        rows: list[list[Cell]] = []
        for name, m in report.per_output.items():
            r2 = "n/a" if m["r2"] is None else _num(m["r2"], 3)
            rows.append([Text(name), _num(m["mae"]), _num(m["rmse"]), r2])
        _print_tables("per output, in the targets' units", ["output", "MAE", "RMSE", "R²"],
                      rows, justify=["left", "right", "right", "right"])
        return
    _out.print(f"{title}: accuracy {_pct(report.accuracy)}, loss {_num(report.loss)}",
               markup=False)
    rows = [[Text(name), _num(m["precision"], 3), _num(m["recall"], 3), _num(m["f1"], 3),
             f"{m['support']:,}"] for name, m in report.per_class().items()]
    _print_tables("per class", ["class", "precision", "recall", "F1", "support"], rows,
                  justify=["left"] + ["right"] * 4)
    rows = [[Text(name), *(Text(str(v), style="bold") if i == j else (str(v) if v else "·")
                           for j, v in enumerate(report.confusion[i]))]
            for i, name in enumerate(report.class_names)]
    # many classes do not fit across: the columns then go on below, by true class
    _print_tables("confusion matrix (rows: true class, columns: predicted)",
                  ["true \\ pred", *(Text(name) for name in report.class_names)], rows,
                  justify=["left"] + ["right"] * len(report.class_names))


def prediction_table(columns: list[str], rows: list[list[str]], numbers: bool) -> None:
    """`fcnn predict`'s results as a table (a short run's; fcnn_cli/predict_output.py prints
    a long one's as plain lines). The first column names the input; with `numbers` every
    other column holds a number, aligned right."""
    across = sum(max(len(c) for c in [name, *(r[i] for r in rows)])
                 for i, name in enumerate(columns)) + 3 * len(columns) + 1
    if not numbers and across > _out.width:
        # "7 0.981  9 0.012": one class and its probability a line, never torn apart
        rows = [[*row[:-1], row[-1].replace("  ", "\n")] for row in rows]
    justify = ["right" if numbers and i else "left" for i in range(len(columns))]
    # the inputs' names stay whole up to 40 characters; numbers never break
    for table in fitted_tables(columns, rows, justify=justify, fold=40):
        _out.print(table)


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


def show_image(name: str, pixels: np.ndarray, what: str = "what the network sees",
               size: str | None = None) -> None:
    """Draw a picture in the terminal, two pixel rows per character (▀: top fg, bottom bg):
    a 2-D array in gray, an (H, W, 3) array in colour; titled `name — what (size)`, the
    picture's own size unless `size` says otherwise (a sheet of pictures).
    Without colour (a pipe, NO_COLOR) each character is a shade of a gray ramp instead,
    and a picture wider than the terminal is drawn smaller."""
    colour = pixels.ndim == 3
    drawn = _to_width(pixels, _out.width)
    grid = drawn / max(float(drawn.max()), 1e-9)
    levels = np.clip(grid * 255, 0, 255).astype(int)  # (a negative value is no colour)
    if not colour:
        levels = levels[..., None].repeat(3, axis=2)  # gray: the same level in R, G and B
    if len(levels) % 2:
        levels = np.concatenate([levels, np.zeros((1, *levels.shape[1:]), dtype=int)])
    plain = _out.no_color or _out.color_system is None
    lines = [_shades(top, bottom) if plain else
             "".join(f"[rgb({t[0]},{t[1]},{t[2]}) on rgb({b[0]},{b[1]},{b[2]})]▀[/]"
                     for t, b in zip(top, bottom))
             for top, bottom in zip(levels[0::2].tolist(), levels[1::2].tolist())]
    kind = " RGB" if colour else ""
    size = size or f"{pixels.shape[0]}×{pixels.shape[1]}"
    _out.print(f"{name} — {what} ({size}{kind}):",
               markup=False, soft_wrap=_soft_wrap())
    for line in lines:  # soft_wrap: a picture never folds (and is no wider than the console)
        _out.print(line, soft_wrap=True)


# Without colour a half block is the same character everywhere: shades of ink instead.
SHADES = " .:-=+*#%@"


def _shades(top: list[list[int]], bottom: list[list[int]]) -> str:
    """One line of a picture without colour: each character the mean brightness of its
    two pixels (0..255 per channel), as a shade from SHADES."""
    means = (np.asarray(top).mean(axis=1) + np.asarray(bottom).mean(axis=1)) / (2 * 255)
    steps = np.rint(means * (len(SHADES) - 1)).astype(int)
    return "".join(SHADES[i] for i in steps)


def _to_width(pixels: np.ndarray, width: int) -> np.ndarray:
    """A picture at most `width` pixels wide (a pixel is a terminal column), area-averaged."""
    height, wide = pixels.shape[:2]
    if wide <= width:
        return pixels
    from fcnn_cli.data.images import thumbnail

    return thumbnail(pixels, max(1, width * max(height, wide) // wide))


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
        _out.print(line, markup=False, soft_wrap=_soft_wrap())


def _training_lines(s: ModelSummary) -> list[str]:
    from fcnn_cli.summary import column_of

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
    lines.append("learning curves (epoch 1 on the left; the bars span the [range] after them)")
    history = s.history
    names = (("train_loss", "train loss"), ("val_loss", "val loss"),
             ("train_accuracy", "train accuracy"), ("val_accuracy", "val accuracy"),
             ("lr", "learning rate"))
    curves = {key: _Curve(label, list(history.get(key, [])),
                          _percent if "accuracy" in key else _number)
              for key, label in names}
    drawn, width = _curve_lines(list(curves.values()))
    for key, line in zip(curves, drawn):
        if line:
            lines.append(line)
            if key == s.monitor and s.best_epoch:
                at = 27 + column_of(s.best_epoch, s.epochs, width)
                mark = f"best, epoch {s.best_epoch}"
                # the words on the arrow's left where the right would run off the terminal
                lines.append(" " * at + f"↑ {mark}" if at + len(mark) + 2 <= _out.width
                             else " " * (at - len(mark) - 1) + f"{mark} ↑")
    return lines + _diagnostic_lines(s)


@dataclass
class _Curve:
    """One sparkline of `fcnn info`: its label, one value per epoch, how a value is written,
    and its scale (log₁₀; or fixed, as 0 to 1 for fractions, instead of the values' own)."""

    label: str
    values: list[float]
    text: Callable[[float], str]
    log: bool = False
    scale: tuple[float, float] | None = None


def _number(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "—"


def _percent(value: float) -> str:
    return f"{value:.2%}" if math.isfinite(value) else "—"


def _fraction(value: float) -> str:
    """A fraction of a layer's units: 0%, 10.9%, 100%."""
    return f"{100 * value:.3g}%" if math.isfinite(value) else "—"


def _curve_lines(curves: list[_Curve], indent: int = 2, label: int = 15
                 ) -> tuple[list[str], int]:
    """A line per curve ("" for one with nothing to draw): label, first epoch's value, bars,
    last epoch's value and, in brackets, the range the bars span; the bars as wide as the
    terminal leaves (10 to 60 columns). Also the bars' width."""
    from fcnn_cli.summary import sparkline

    parts = []
    for c in curves:
        _, low, high = sparkline(c.values, 1, c.log, c.scale)
        parts.append(None if math.isnan(low) else
                     (c.text(c.values[0]), c.text(c.values[-1]), f"[{c.text(low)}, "
                      f"{c.text(high)}]"))
    shown = [p for p in parts if p is not None]
    last = max((len(p[1]) for p in shown), default=0)
    after = 1 + last + 2 + max((len(p[2]) for p in shown), default=0)
    width = max(10, min(60, _out.width - indent - label - 10 - after))
    lines = []
    for c, p in zip(curves, parts):
        if p is None:
            lines.append("")
            continue
        bars, _, _ = sparkline(c.values, width, c.log, c.scale)
        lines.append(f"{' ' * indent}{c.label:<{label}}{p[0]:>9} {bars} {p[1]:<{last}}  {p[2]}")
    return lines, width


# --- per-layer diagnostics ---
def _diagnostic_lines(s: ModelSummary) -> list[str]:
    """How each layer learned (fcnn_cli/nn/diagnostics.py): one block of sparklines per
    diagnostic, a line per layer that has it."""
    from fcnn_cli.nn.diagnostics import PROBE_SIZE, SATURATION

    if not s.diagnostics:
        return []
    probe = min(PROBE_SIZE, (s.split_sizes or {}).get("train", PROBE_SIZE))
    lines = [f"how each layer learned, after each epoch, on the same {probe} training examples"]
    blocks = (
        ("speed", "speed of learning ‖∂C/∂b‖: Euclidean norm of their mean δ; one log scale",
         _number, True, None),
        ("saturated", f"saturated units: f′(z) < {SATURATION:.0%} of its maximum on most of "
         "them", _fraction, False, (0.0, 1.0)),
        ("dead", "dead units: z ≤ 0 on every one of them", _fraction, False, (0.0, 1.0)),
        ("update_ratio", "update ratio ‖Δw‖/‖w‖ of each epoch's last step (~1e-3 is healthy); "
         "one log scale", _number, True, None))
    labels = {d["layer"]: f"layer {d['layer']} {d['activation']}" for d in s.diagnostics}
    label = max(15, *(len(text) + 1 for text in labels.values()))
    grouped: list[tuple[str, list[_Curve]]] = []
    for key, legend, text, log, scale in blocks:
        # one scale for all layers, so that a layer learning 100× slower shows lower bars
        every = [v for d in s.diagnostics for v in d.get(key) or [] if math.isfinite(v) and v > 0]
        scale = scale or ((min(every), max(every)) if every else None)
        grouped.append((legend, [_Curve(labels[d["layer"]], d[key], text, log, scale)
                                 for d in s.diagnostics if d.get(key)]))
    # drawn together, so that every block's bars are equally wide
    drawn = iter(_curve_lines([c for _, curves in grouped for c in curves], 4, label)[0])
    for legend, curves in grouped:
        block = [line for line in (next(drawn) for _ in curves) if line]
        if block:
            lines += [f"  {legend}", *block]
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
    between neighbours: each picture then its copies, drawn smaller to fit the terminal or,
    where that would leave them too small to read, a few to a line (a wider gap then
    separates one picture's lines from the next one's)."""
    rows, copies, h, w = pictures.shape[:4]
    each = f"{h}×{w} each"  # the pictures' own size, whatever size they are drawn at
    gap = max(1, h // 14)
    per_line, size = _sheet_layout(copies, w, gap, _out.width)
    if size < w:
        from fcnn_cli.data.images import thumbnail

        longest = max(1, size * max(h, w) // w)
        pictures = np.stack([np.stack([thumbnail(p, longest) for p in row])
                             for row in pictures.astype(np.float32)])
        h, w = pictures.shape[2:4]
    lines = -(-copies // per_line)  # of pictures, for each picture and its copies
    group = lines * (h + gap) + (2 * gap if lines > 1 else 0)
    sheet = np.full((group * rows - gap, (w + gap) * per_line - gap, *pictures.shape[4:]),
                    pictures.max() * 0.15)
    for r in range(rows):
        for c in range(copies):
            top, left = r * group + (c // per_line) * (h + gap), (c % per_line) * (w + gap)
            sheet[top:top + h, left:left + w] = pictures[r, c]
    show_image("training pictures", sheet,
               f"as they are (left) and {copies - 1} deformed copies as data.augment draws them",
               size=each)


def _sheet_layout(copies: int, width: int, gap: int, columns: int) -> tuple[int, int]:
    """How many pictures go on one line of the drawing, and how wide each is drawn: all of
    them, shrunk to fit `columns` down to two thirds of their `width`; else fewer."""
    for per_line in range(copies, 0, -1):
        size = min(width, (columns - (per_line - 1) * gap) // per_line)
        if size >= width * 2 // 3 or per_line == 1:
            return per_line, max(size, 1)
    return 1, width


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
    _out.print(*parts, markup=False, soft_wrap=_soft_wrap())


def _heading(title: str) -> None:
    """A rule with the title in it, or (where the title would be cut to fit) over it."""
    from rich.cells import cell_len

    if cell_len(title) + 4 <= _out.width:
        _out.rule(Text(title))
    else:
        _out.rule()
        _say(Text(title, style="bold"))


def _trace_table(title: str, header: list[str], rows: list[list[str]],
                 text: bool = False, width: int | None = None) -> Group:
    """A table under a bold title line (a table's own title would be cut to its width);
    numbers align right, a first column of labels (or every column, with `text`) left.
    Too wide for `width`, it goes on in more tables that repeat the example n and unit j."""
    from rich.console import Group
    from rich.text import Text

    justify = ["left" if i == 0 or text else "right" for i in range(len(header))]
    keys = 2 if header[:2] == ["n", "j"] else 1
    tables = fitted_tables(header, rows, width, justify, keys)
    # Inside a panel (`width` given) a long title wraps even in a pipe, where prose lines
    # otherwise stay whole: the panel would cut it at its border.
    heading = (Text(title, style="bold", no_wrap=False, overflow="fold") if width
               else Text(title, style="bold"))
    return Group(*([heading] if title else []), *tables)


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

    from fcnn_cli.trace import fmt, gradient_check_warning, plural, sup
    from fcnn_cli.trace.formatting import gradient_check_line
    from fcnn_cli.trace.tables import inputs_table, layer_tables

    arch = "-".join(map(str, result.architecture))
    _heading(f"Forward trace: {arch} network · {result.cost_name} cost · η = {fmt(result.lr)}")
    for line in ([result.description] if result.description else []) + result.header:
        _say(line)
    for line in steps_lines(result):
        _say(line)
    n = result.n
    _say(_trace_table(*inputs_table(result)))
    for layer in result.layers:
        inside = _out.width - 4  # the panel's border and padding
        tables = [_trace_table(*table, width=inside) for table in layer_tables(result, layer)]
        _say(Panel(Group(*tables), expand=False, title=Text(
            f"layer {layer.l}: {layer.activation}, {plural(layer.units, 'unit')} "
            f"(w{sup(layer.l)} is {layer.units}×{layer.inputs})")))
    mean = f" (mean over the N = {n} examples)" if n > 1 else ""
    _say(f"cost C = {fmt(result.cost)}  [{result.cost_name}{mean}]")
    print_steps_and_variants(result)
    _say(gradient_check_line(result))
    problem = gradient_check_warning(result)
    if problem:
        warn(problem)
    from fcnn_cli.trace.tables import summary_table

    _say(_trace_table(*summary_table(result)))
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
    _heading(title)
    if example.description:
        _say(example.description)
    for part in body:
        _say(part)
    if example.notes:
        _say("")
        _say(example.notes)


# --- trace steps and variants ---
# `forward-trace --steps K` and `vary:`: the numbers come from fcnn_cli.trace.steps.

CHART_HEIGHT = 10
CHART_STYLES = ["cyan", "magenta", "yellow", "green", "red", "blue", "bright_white", "white"]
CHART_MARKS = "●▲■◆✚★◼▼"


def steps_lines(result: TraceResult) -> list[str]:
    """What the tables below show, when there are steps or variants."""
    from fcnn_cli.trace.steps import shown_step

    said = shown_step(result)
    return [said] if said else []


def print_steps_and_variants(result: TraceResult) -> None:
    """The variants in columns, and the cost after each step as one chart."""
    from fcnn_cli.trace.steps import after_steps, variant_rows

    if result.comparisons:
        header, rows = variant_rows(result)
        _say(_trace_table("the variants side by side", header, rows))
    elif result.cost_history is not None:
        _say(after_steps(result))
    if result.cost_history is not None:
        _say(cost_chart(result))


def cost_chart(result: TraceResult, height: int = CHART_HEIGHT) -> Group:
    """C after each step, every variant on one shared scale, its range stated."""
    from rich.console import Group

    from fcnn_cli.trace import fmt
    from fcnn_cli.trace.steps import chart_grid, relative_histories

    runs = [result, *result.comparisons]
    label_width = 10
    width = max(10, min(72, _out.width - label_width - 3))
    histories, relative = relative_histories(runs)
    grid, low, high, at = chart_grid(histories, width, height)
    scale = "every variant on one scale" if len(runs) > 1 else "to scale"
    what = (f"C_k / C_0, k = 0 … {result.steps}: each cost relative to its start (they "
            "differ in kind)" if relative else
            f"cost C after each step k = 0 … {result.steps}, {scale}")
    lines = [Text(what, style="bold")]
    for i, row in enumerate(grid):
        edge = fmt(high) if i == 0 else fmt(low) if i == len(grid) - 1 else ""
        line = Text(f"{edge:>{label_width}} ┤")
        for cell in row:
            if cell is None:
                line.append(" ")
            else:
                line.append(CHART_MARKS[cell % len(CHART_MARKS)] if len(runs) > 1 else "●",
                            style=CHART_STYLES[cell % len(CHART_STYLES)])
        lines.append(line)
    axis = " " * label_width + " └" + "─" * len(at)
    end = f"k = {at[-1]}"
    ticks = " " * (label_width + 2) + "k = 0" + " " * max(1, len(at) - 5 - len(end)) + end
    lines += [Text(axis), Text(ticks)]
    if len(runs) > 1:  # the legend: each variant's mark, and its C_0 → C_K
        for index, r in enumerate(runs):
            legend = Text(" " * (label_width + 2))
            legend.append(CHART_MARKS[index % len(CHART_MARKS)],
                          style=CHART_STYLES[index % len(CHART_STYLES)])
            history = r.cost_history or []
            ends = f": C {fmt(history[0])} → {fmt(history[-1])}" if history else ""
            legend.append(f" {r.label}{ends}")
            lines.append(legend)
    return Group(*lines)


def compare_summary(compared: list[Compared]) -> None:
    """`fcnn compare`: the final numbers in a table, then each learning curve as bars, every
    model on one scale and one time axis, the scale's range stated."""
    from fcnn_cli.compare import (
        NO_CURVES,
        SERIES,
        best_note,
        epochs_per_column,
        final_rows,
        has_curves,
        shared_bars,
        shared_range,
    )

    header, rows = final_rows(compared)
    _print_tables(f"{len(compared)} models compared", header, rows,
                  justify=["left"] + ["right"] * (len(header) - 1))
    note = best_note(compared)
    if note:
        _say(note)
    if not has_curves(compared):
        _say(NO_CURVES)
        return
    name_width = min(24, max(len(c.name) for c in compared))
    width = max(10, min(60, _out.width - name_width - 14))
    per = epochs_per_column(compared, width)
    columns = "one epoch a column" if per == 1 else f"{per} epochs a column (their mean)"
    _say(f"learning curves, epoch 1 on the left, {columns}; each block shares one scale")
    for key, words in SERIES:
        span = shared_range(compared, key)
        if span is None:
            continue
        percent = "accuracy" in key
        low, high = (_value(v, percent) for v in span)
        _say(Text(f"{words}: every model on one scale, {low} (▁) … {high} (█)", style="bold"))
        for c, bars in zip(compared, shared_bars(compared, key, width)):
            values = c.series(key)
            last = _value(values[-1], percent) if values and values[-1] == values[-1] else ""
            name = c.name if len(c.name) <= name_width else "…" + c.name[-(name_width - 1):]
            _say(Text(f"  {name:<{name_width}} {bars} {last}"))
