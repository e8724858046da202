"""CSV files as tables of named columns: read once, columns taken by name.

Training reads its features and labels by name, and so do `eval` and `predict` on a
model trained from a CSV: the columns may come in any order, and columns the model
does not use (an id, the label itself) are ignored. Every problem names the file, the
row (as a spreadsheet numbers it: the header is row 1) and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fcnn_cli.errors import FcnnError, did_you_mean


@dataclass
class Table:
    path: Path
    header: list[str] | None  # None: the file has no header row (only numbers)
    lines: list[int]          # each data row's line number in the file
    rows: list[list[str]]     # cells as text, every row as wide as the first

    @property
    def names(self) -> list[str]:
        """The column names; a file without a header numbers its columns from 1."""
        return self.header or [str(i) for i in range(1, len(self.rows[0]) + 1)]

    def require(self, columns: list[str], what: str, how: str) -> None:
        """Refuse any of `columns` that the header lacks, naming it (`what`: "label
        column", "feature column"; `how`: how to fix it)."""
        for column in columns:
            if column not in self.names:
                raise FcnnError(f"{self.path}: no {what} '{column}'"
                                f"{did_you_mean(column, self.names)}; columns are "
                                f"{_listing(self.names)}; {how}")

    def text(self, column: str) -> list[str]:
        at = self.names.index(column)
        return [row[at].strip() for row in self.rows]

    def numbers(self, columns: list[str]) -> np.ndarray:
        """The named columns as float32 (rows, len(columns)); a cell that is not a
        number, NaN or infinite is one error naming its row and column."""
        at = [self.names.index(column) for column in columns]
        cells = [[row[i] for i in at] for row in self.rows]
        try:
            x = np.array(cells, dtype=np.float32).reshape(len(cells), len(at))
        except ValueError:
            self._raise_first_non_number(cells, columns)
            raise
        bad = ~np.isfinite(x)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise FcnnError(f"{self.path}: row {self.lines[row]}, {self._column(columns[col])} "
                            f"is {cells[row][col].strip() or 'empty'}; fill in or drop missing "
                            "values first")
        return x

    def _raise_first_non_number(self, cells: list[list[str]], columns: list[str]) -> None:
        for line, row in zip(self.lines, cells):
            for col, cell in enumerate(row):
                try:
                    float(cell)
                except ValueError:
                    shown = repr(cell.strip()) if cell.strip() else "empty"
                    raise FcnnError(f"{self.path}: row {line}, {self._column(columns[col])}: "
                                    f"{shown} is not a number; features must be numeric"
                                    ) from None

    def _column(self, name: str) -> str:
        """How messages name a column: by its name, or by its number in a file without
        a header."""
        return f"column '{name}'" if self.header is not None else f"column {name}"


def read_table(path: Path, header: bool | None = True) -> Table:
    """Read a CSV file. `header`: True, the first row names the columns; None, it does
    when any of its cells is not a number (a file of numbers alone has no header)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file, skipinitialspace=True)
            rows = [(reader.line_num, row) for row in reader if any(cell.strip() for cell in row)]
    except UnicodeDecodeError:
        raise FcnnError(f"{path}: not a UTF-8 text file; save the CSV as UTF-8") from None
    except (OSError, csv.Error) as error:
        raise FcnnError(f"{path}: cannot be read as CSV ({error})") from None
    if not rows:
        raise FcnnError(f"{path} is empty; a CSV needs a header row and one row per example")
    names: list[str] | None = [cell.strip() for cell in rows[0][1]]
    if header is None and all(_is_number(cell) for cell in rows[0][1]):
        names = None
    else:
        rows = rows[1:]
    if not rows:
        raise FcnnError(f"{path}: no data rows; a CSV needs a header row and one row per example")
    if names is not None:
        _check_names(path, names)
    width = len(names) if names is not None else len(rows[0][1])
    for line, row in rows:
        if len(row) != width:
            raise FcnnError(f"{path}: row {line} has {len(row)} cells but "
                            f"{'the header has' if names else 'row ' + str(rows[0][0]) + ' has'} "
                            f"{width}; every row needs one value per column")
    return Table(path, names, [line for line, _ in rows], [row for _, row in rows])


def _check_names(path: Path, names: list[str]) -> None:
    seen: set[str] = set()
    for column, name in enumerate(names, start=1):
        if not name:
            raise FcnnError(f"{path}: column {column} has no name in the header row; "
                            "name every column")
        if name in seen:
            raise FcnnError(f"{path}: the header names column '{name}' twice; "
                            "give every column its own name")
        seen.add(name)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _listing(names: list[str], most: int = 12) -> str:
    shown = ", ".join(names[:most])
    return shown + (f", … ({len(names)} in all)" if len(names) > most else "")
