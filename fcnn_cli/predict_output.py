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
from typing import TYPE_CHECKING

from fcnn_cli.evaluation import Prediction, csv_header
from fcnn_cli.model import Model
from fcnn_cli.sanitize import csv_cell, json_text, visible

if TYPE_CHECKING:
    from fcnn_cli.ui import PredictionOutput

FORMATS = ("table", "json", "csv")
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
        table: PredictionOutput | None = None  # rich is loaded with the first result, so a
        # folder's worker processes are started before it, not after

        def add(p: Prediction) -> None:
            nonlocal table
            if table is None:
                from fcnn_cli.ui import PredictionOutput

                table = PredictionOutput(table_columns(model), numbers=not model.is_classifier)
            table.add(table_cells(p, top_k))

        yield add
        if table is not None:
            table.close()


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
