"""CSV reading that scales: time linear in the number of columns, and a long file streamed
into its float32 array instead of held as text."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from fcnn_cli.data.sources import load_dataset
from fcnn_cli.data.table import read_table
from fcnn_cli.errors import FcnnError


def _wide(path: Path, columns: int, rows: int = 3) -> Path:
    header = ",".join([*(f"c{j}" for j in range(columns)), "label"])
    body = "\n".join(",".join([*(f"{(r + j) % 7}.5" for j in range(columns)), str(r % 2)])
                     for r in range(rows))
    path.write_text(f"{header}\n{body}\n")
    return path


def _seconds(path: Path) -> float:
    """The best of three loads (the least disturbed by anything else on the machine)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        dataset = load_dataset(None, path)
        best = min(best, time.perf_counter() - start)
    assert dataset.x_train.shape[1] == len(dataset.feature_names or [])
    return best


def test_a_20000_column_csv_loads_in_time_linear_in_its_columns(tmp_path: Path) -> None:
    narrow = _seconds(_wide(tmp_path / "narrow.csv", 2_000))
    wide = _seconds(_wide(tmp_path / "wide.csv", 20_000))
    # Ten times the columns: about ten times the time when each column is found by name
    # in constant time (a fixed start-up cost makes it less); a search through the names
    # for each column made it about a hundred times (20,000 columns took seconds).
    assert wide / narrow < 30, (narrow, wide)
    assert wide < 2.0, wide  # about 0.05 s on a laptop


def test_a_wide_file_keeps_its_values_in_column_order(tmp_path: Path) -> None:
    dataset = load_dataset(None, _wide(tmp_path / "wide.csv", 20_000))
    assert dataset.feature_names is not None and dataset.feature_names[-1] == "c19999"
    assert dataset.x_train[2, 19_999] == (2 + 19_999) % 7 + 0.5
    assert dataset.y_train.tolist() == [0, 1, 0]


def test_a_long_file_is_not_held_as_text(tmp_path: Path) -> None:
    rows, columns = 30_000, 10
    rng = np.random.default_rng(0)
    values = rng.normal(size=(rows, columns)).astype(np.float32)
    path = tmp_path / "long.csv"
    lines = [",".join(f"c{j}" for j in range(columns))]
    lines += [",".join(f"{v:.6f}" for v in row) for row in values]
    path.write_text("\n".join(lines) + "\n")
    table = read_table(path)
    tracemalloc.start()
    try:
        x = table.numbers(table.names)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(x, values, atol=1e-6)
    # The result is 1.2 MB; the cells as Python text would be about 20 MB. Streaming keeps
    # the array (twice while its chunks are joined), the row numbers and one chunk of text.
    assert peak < 4 * x.nbytes + 8 * 2**20, peak


def test_a_file_gone_between_its_header_and_its_rows_is_one_error(tmp_path: Path) -> None:
    """Streaming reads the file again for its rows: by then it may have been removed."""
    table = read_table(_wide(tmp_path / "brief.csv", 3))
    (tmp_path / "brief.csv").unlink()
    with pytest.raises(FcnnError, match=r"brief\.csv: cannot be read as CSV \(No such file"):
        table.numbers(table.names)
