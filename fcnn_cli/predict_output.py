"""Where `fcnn predict` puts its results: a table, JSON lines or CSV on stdout, and
optionally a CSV file as well (for a spreadsheet or pandas).

The CSV file is written whole or not at all (fcnn_cli/atomic.py): an interrupted run
never leaves a half-written file that looks complete; it is never the model or an input
(fcnn_cli/outputs.py). CSV cells a spreadsheet would run as formulas (a class or file name
such as `=HYPERLINK(...)`) are written as text (fcnn_cli/sanitize.py); `--json` stays exact
and always valid JSON (NaN is null).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from fcnn_cli.evaluation import Prediction, csv_header
from fcnn_cli.model import Model
from fcnn_cli.sanitize import csv_cell, json_text, visible

FORMATS = ("table", "json", "csv")
TABLE_ROWS = 100  # results in a table at most; past them, plain lines (PredictionLines)
Write = Callable[[Prediction], None]


def csv_target(csv_path: str | None, model: str, inputs: list[Path]) -> Path | None:
    """Where --csv writes, checked before any work: never the model or an INPUT (however
    spelled), never a folder (predict has no file name of its own to put inside it)."""
    if csv_path is None:
        return None
    from fcnn_cli.outputs import output_path
    from fcnn_cli.shipped import model_path

    given = [("the model", model_path(model)), *(("an INPUT", p) for p in inputs)]
    return output_path(csv_path, "--csv", given, example="predictions.csv")


def _rows(file: object, **dialect: str) -> Callable[[list[str]], object]:
    """A CSV row writer whose text cells cannot run as spreadsheet formulas."""
    import csv  # (not for a table)

    writer = csv.writer(file, **dialect)  # type: ignore[call-overload]
    return lambda cells: writer.writerow([csv_cell(cell) for cell in cells])


@contextlib.contextmanager
def prediction_writer(model: Model, shown: str, csv_path: Path | None,
                      top_k: int) -> Iterator[Write]:
    """write(prediction): to stdout in the `shown` format, and to `csv_path` if given."""
    with contextlib.ExitStack() as stack:
        writers = [stack.enter_context(_stdout(model, shown, top_k))]
        if csv_path is not None:
            writers.append(stack.enter_context(_csv_file(model, csv_path)))

        def write(prediction: Prediction) -> None:
            for writer in writers:
                writer(prediction)

        yield write


@contextlib.contextmanager
def _stdout(model: Model, shown: str, top_k: int) -> Iterator[Write]:
    if shown == "json":
        yield lambda p: print(json_text(p.to_json()))
    elif shown == "csv":
        row = _rows(sys.stdout, lineterminator="\n")
        row(csv_header(model))
        yield lambda p: row(p.csv_row())
    else:
        table = PredictionLines(table_columns(model), numbers=not model.is_classifier)
        yield lambda p: table.add(table_cells(p, top_k))
        table.close()


class PredictionLines:
    """`fcnn predict`'s results: a table (fcnn_cli/ui.py), or past `table_rows` of them plain
    aligned lines, printed as they come (rich takes seconds over a table of thousands of
    rows, and a table shows nothing until the last row is in). rich is loaded for a table
    only, after the last result: a folder's worker processes never wait for it."""

    def __init__(self, columns: list[str], numbers: bool = False, table_rows: int = TABLE_ROWS
                 ) -> None:
        self.columns = [visible(column) for column in columns]
        self.numbers = numbers  # every column but the first holds a number: align right
        self.table_rows = table_rows
        self.rows: list[list[str]] = []
        self.widths: list[int] = []  # of each column, once streaming

    def add(self, cells: list[str]) -> None:
        # file and class names one line each, escapes shown (also on the plain lines)
        self.rows.append([visible(cell) for cell in cells])
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
        if self.widths or not self.rows:
            return
        from fcnn_cli.ui import prediction_table

        prediction_table(self.columns, self.rows, self.numbers)

    def _line(self, cells: list[str]) -> None:
        print("  ".join(f"{cell:>{width}}" if self.numbers and i else f"{cell:<{width}}"
                        for i, (cell, width) in enumerate(zip(cells, self.widths))).rstrip())


@contextlib.contextmanager
def _csv_file(model: Model, path: Path) -> Iterator[Write]:
    from fcnn_cli.atomic import replaced

    with replaced(path) as temporary, temporary.open("w", newline="", encoding="utf-8") as file:
        row = _rows(file)
        row(csv_header(model))
        yield lambda p: row(p.csv_row())
    print(f"wrote {visible(str(path))}", file=sys.stderr)


def table_columns(model: Model) -> list[str]:
    if model.is_classifier:
        return ["input", "prediction", "top classes (probability)"]
    return ["input", *model.output_names]


def table_cells(p: Prediction, top_k: int) -> list[str]:
    if not p.is_classifier:
        return [p.name, *(f"{v:.4f}" if abs(v) < 1e5 else f"{v:.6g}" for v in p.values)]
    label = p.label + (" (image looked empty)" if p.looked_empty else "")
    return [p.name, label, "  ".join(f"{c} {v:.3f}" for c, v in p.top(top_k))]
