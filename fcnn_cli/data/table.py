"""CSV files as tables of named columns, read in one streaming pass per question.

Training reads its features and labels by name, and so do `eval` and `predict` on a
model trained from a CSV: the columns may come in any order, and columns the model
does not use (an id, the label itself) are ignored. Every problem names the file, the
row (as a spreadsheet numbers it: the header is row 1) and the column.

`read_table` reads the header only; `Table.read` then streams the rows once, keeping
just the columns asked for (numbers straight into one float32 array, text where text
was asked for), so a large file is never held as text, and a wide one costs time
linear in its number of columns. The separator is sniffed from the first lines among
`, ; tab |` (a spreadsheet set to a European locale writes `;`); in a `;` file a
decimal comma (`3,5`) reads as 3.5, as that spreadsheet meant it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from fcnn_cli.errors import FcnnError, did_you_mean, listing

DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64 * 1024      # enough lines to see which separator is consistent
_CHUNK_CELLS = 1 << 16        # cells converted at a time: a few MB of text, however wide
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+(?:[eE][+-]?[0-9]+)?")

Fix = Callable[[str], str]  # a column's name -> what to say of a non-number in it


@dataclass
class Columns:
    """What one pass over the rows kept."""

    numbers: np.ndarray                # float32 (rows, columns asked for as numbers)
    text: dict[str, list[str]]         # the columns asked for as text, stripped
    lines: np.ndarray                  # int64: each row's row number in the file


@dataclass
class RowNames:
    """How a CSV names its rows: the row number a spreadsheet shows (the header is row
    1) and, when the file has one, the value of its id column (a column that is neither
    feature nor label). Only the row numbers are kept; the ids are read again from the
    file for the few rows asked for, so a large file's training holds no text for them."""

    path: Path
    lines: np.ndarray        # int64, one per row of the data as read
    id_column: str | None

    def of(self, positions: np.ndarray) -> dict[str, list[str]]:
        """The names of the rows at `positions`, by heading: "CSV row", and the id
        column's name when its values tell every row apart."""
        names = {"CSV row": [str(self.lines[i]) for i in positions]}
        ids = self._ids()
        if ids is not None and self.id_column is not None:
            names[self.id_column] = [ids[i] for i in positions]
        return names

    def _ids(self) -> list[str] | None:
        if self.id_column is None:
            return None
        try:
            ids = read_table(self.path).text(self.id_column)
        except (FcnnError, KeyError):
            return None  # changed since: the row numbers still say where to look
        if len(ids) != len(self.lines) or len(set(ids)) < len(ids):
            return None  # a repeated value names no row
        return ids


@dataclass
class Profile:
    """One column's cells, counted: numbers, empty cells, text, different values."""

    id_name: bool             # named like an id (id, customer_id, key, ...)
    rows: int = 0
    numbers: int = 0
    empty: int = 0
    whole: bool = True        # every number is a whole number
    words: int = 0            # text cells of several words
    first_text: tuple[int, str] | None = None  # the first cell that is not a number
    values: set[str] = field(default_factory=set)  # the different values (text, or ids)

    def add(self, line: int, cell: str) -> None:
        self.rows += 1
        if not cell:
            self.empty += 1
            return
        if _is_number(cell):
            self.numbers += 1
            self.whole = self.whole and float(cell).is_integer()
            if not self.id_name:
                return  # a plain number: its value does not matter here
        else:
            self.first_text = self.first_text or (line, cell)
            self.words += " " in cell
        self.values.add(cell)

    @property
    def text(self) -> int:
        return self.rows - self.numbers - self.empty


@dataclass
class Table:
    path: Path
    header: list[str] | None  # None: the file has no header row (only numbers)
    width: int                # cells in every row
    delimiter: str
    _text: str | None = None  # the whole file, for one that cannot be read twice (a pipe)

    @cached_property
    def names(self) -> list[str]:
        """The column names; a file without a header numbers its columns from 1."""
        return self.header or [str(i) for i in range(1, self.width + 1)]

    @cached_property
    def _index(self) -> dict[str, int]:
        return {name: at for at, name in enumerate(self.names)}

    def require(self, columns: list[str], what: str, how: str) -> None:
        """Refuse any of `columns` that the header lacks, naming it (`what`: "label
        column", "feature column"; `how`: how to fix it)."""
        for column in columns:
            if column not in self._index:
                raise FcnnError(f"{self.path}: no {what} '{column}'"
                                f"{did_you_mean(column, self.names)}; columns are "
                                f"{listing(self.names, 12)}{self._separator_hint()}; {how}")

    def numbers(self, columns: list[str], fix: Fix | None = None) -> np.ndarray:
        """The named columns as float32 (rows, len(columns)); a cell that is not a
        number, NaN or infinite is one error naming its row and column, and then
        `fix(column)` (default: "features must be numeric")."""
        return self.read(columns, fix=fix).numbers

    def text(self, column: str) -> list[str]:
        return self.read([], [column]).text[column]

    def read(self, numbers: Sequence[str], text: Sequence[str] = (), *,
             fix: Fix | None = None) -> Columns:
        """One pass over the rows: `numbers` as one float32 array, `text` as lists of
        stripped cells, and each row's row number."""
        at = [self._index[column] for column in numbers]
        text_at = {column: self._index[column] for column in text}
        per_chunk = max(1, _CHUNK_CELLS // max(1, len(at)))
        parts: list[np.ndarray] = []
        kept: dict[str, list[str]] = {column: [] for column in text}
        lines = array("q")  # 8 bytes a row, not a Python int's 36
        chunk: list[list[str]] = []
        whole = at == list(range(self.width))  # every column in order: no gather
        for line, row in self._rows():
            lines.append(line)
            chunk.append(row if whole else [row[i] for i in at])
            for column, i in text_at.items():
                kept[column].append(row[i].strip())
            if len(chunk) == per_chunk:
                parts.append(self._convert(chunk, lines[-len(chunk):], numbers, fix))
                chunk = []
        if chunk or not parts:
            parts.append(self._convert(chunk, lines[len(lines) - len(chunk):], numbers, fix))
        x = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return Columns(x, kept, np.frombuffer(lines, dtype=np.int64))

    def _convert(self, cells: list[list[str]], lines: Sequence[int], columns: Sequence[str],
                 fix: Fix | None) -> np.ndarray:
        try:
            x = np.array(cells, dtype=np.float32).reshape(len(cells), len(columns))
        except ValueError:
            self._raise_first_non_number(cells, lines, columns, fix)
            raise
        bad = ~np.isfinite(x)
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise FcnnError(f"{self.path}: row {lines[row]}, {self._column(columns[col])} "
                            f"is {cells[row][col].strip() or 'empty'}; fill in or drop missing "
                            "values first")
        return x

    def _raise_first_non_number(self, cells: list[list[str]], lines: Sequence[int],
                                columns: Sequence[str], fix: Fix | None) -> None:
        for line, row in zip(lines, cells):
            for col, cell in enumerate(row):
                if not _is_number(cell):
                    if not cell.strip():
                        shown, how = "empty", "fill in or drop missing values first"
                    else:
                        shown = repr(cell.strip())
                        how = fix(columns[col]) if fix else "features must be numeric"
                    raise FcnnError(f"{self.path}: row {line}, {self._column(columns[col])}: "
                                    f"{shown} is not a number; {how}") from None

    def profile(self, columns: list[str]) -> dict[str, Profile]:
        """What each of `columns` holds, in one pass (for `fcnn init` to choose features)."""
        found = {column: Profile(looks_like_id(column)) for column in columns}
        at = [(self._index[column], found[column]) for column in columns]
        for line, row in self._rows():
            for i, seen in at:
                seen.add(line, row[i].strip())
        return found

    def _column(self, name: str) -> str:
        """How messages name a column: by its name, or by its number in a file without
        a header."""
        return f"column '{name}'" if self.header is not None else f"column {name}"

    def _separator_hint(self) -> str:
        if self.width == 1:  # one column: perhaps the file uses a separator not sniffed
            return (f" (one column: the file's separator is not one of "
                    f"{', '.join(repr(d) for d in DELIMITERS)}?)")
        return ""

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        """Every data row with its row number, each checked to be `width` cells wide."""
        first = True
        with _reading(self.path, self._text) as file:
            for line, row in _nonempty_rows(file, self.delimiter, self.path):
                if first and self.header is not None:
                    first = False
                    if [cell.strip() for cell in row] != self.header:
                        raise FcnnError(f"{self.path} changed while it was read; try again")
                    continue
                first = False
                if len(row) != self.width:
                    what = "the header has" if self.header else "the first row has"
                    raise FcnnError(f"{self.path}: row {line} has {len(row)} cells but {what} "
                                    f"{self.width}; every row needs one value per column"
                                    f"{self._separator_hint() if len(row) == 1 else ''}")
                if self.delimiter == ";":
                    row = [_decimal_point(cell) for cell in row]
                yield line, row


def read_table(path: Path, header: bool | None = True) -> Table:
    """Open a CSV file: its separator, header and width (the rows are read by
    `Table.read`). `header`: True, the first row names the columns; None, it does when
    any of its cells is not a number (a file of numbers alone has no header)."""
    text = None if path.is_file() else _slurp(path)  # a pipe can be read only once
    with _reading(path, text) as file:
        delimiter = sniff_delimiter(file.read(_SNIFF_CHARS))
        file.seek(0)
        rows = _nonempty_rows(file, delimiter, path)
        first = next(rows, None)
        second = next(rows, None)
    if first is None:
        raise FcnnError(f"{path} is empty; a CSV needs a header row and one row per example")
    cells = first[1]
    if header is None and all(_is_number(_decimal_point(cell) if delimiter == ";" else cell)
                              for cell in cells):
        return Table(path, None, len(cells), delimiter, text)
    if second is None:
        raise FcnnError(f"{path}: no data rows; a CSV needs a header row and one row per example")
    names = [cell.strip() for cell in cells]
    _check_names(path, names)
    return Table(path, names, len(names), delimiter, text)


def sniff_delimiter(sample: str) -> str:
    """The separator of a CSV from its first lines: the one of `, ; tab |` that
    `csv.Sniffer` finds consistent, else a comma. A last line cut off by the sample's
    end is left out, and only whole lines are looked at."""
    lines = sample.splitlines()
    if len(lines) > 1 and len(sample) >= _SNIFF_CHARS:
        lines = lines[:-1]
    try:
        # (the Sniffer answers only one of `delimiters`, or raises)
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column, or no separator stands out
        return ","


@contextlib.contextmanager
def _reading(path: Path, text: str | None) -> Iterator[io.TextIOBase]:
    """The file (or `text`, what was read of it) open for reading; a file that cannot be
    read or decoded, now or later in the block (gone since, bad bytes at row 10⁶), is
    one line."""
    try:
        with (path.open(newline="", encoding="utf-8-sig") if text is None
              else io.StringIO(text, newline="")) as file:
            yield file
    except UnicodeDecodeError:
        raise FcnnError(f"{path}: not a UTF-8 text file; save the CSV as UTF-8") from None
    except OSError as error:
        raise FcnnError(f"{path}: cannot be read as CSV ({error.strerror or error})") from None


def _slurp(path: Path) -> str:
    with _reading(path, None) as file:
        return file.read()


def _nonempty_rows(file: io.TextIOBase, delimiter: str,
                   path: Path) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(file, delimiter=delimiter, skipinitialspace=True)
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield reader.line_num, row
    except csv.Error as error:
        raise FcnnError(f"{path}: row {reader.line_num + 1} cannot be read as CSV "
                        f"({error})") from None


def _decimal_point(cell: str) -> str:
    """`3,5` -> `3.5`: a decimal comma, in a file whose separator is `;`."""
    if "," in cell and _DECIMAL_COMMA.fullmatch(cell.strip()):
        return cell.replace(",", ".")
    return cell


_ID_WORDS = re.compile(r"(?i)(.*[_ .-])?(id|key|uuid|guid|name|index|row|no)")
_CAMEL_ID = re.compile(r".*[a-z](Id|ID|Key|Uuid|Name)")


def looks_like_id(name: str) -> bool:
    """Whether a column's name says it names the rows: id, ID, customer_id, userId,
    key, uuid, name, index, row."""
    return bool(_ID_WORDS.fullmatch(name.strip()) or _CAMEL_ID.fullmatch(name.strip()))


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
