"""`fcnn predict` on many inputs prints plain lines as results come, without loading rich
(a table is drawn for a short run only, after its last result)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from fcnn_cli.predict_output import TABLE_ROWS

sys.path.insert(0, str(Path(__file__).parent))
from test_lazy_imports import run_fcnn  # noqa: E402

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples" / "images")
                  .glob("mnist-test-*.png"))


def _predict(*args: str) -> tuple[str, set[str]]:
    """stdout of `fcnn predict ARGS` (not a terminal) and the modules it loaded."""
    return run_fcnn("predict", *args)


def _digits(folder: Path, count: int) -> Path:
    folder.mkdir()
    for i in range(count):
        shutil.copy(EXAMPLES[i % len(EXAMPLES)], folder / f"{i:04d}.png")
    return folder


def test_past_the_table_rows_results_are_plain_lines_and_rich_is_never_loaded(
        tmp_path: Path) -> None:
    out, loaded = _predict("mnist", str(_digits(tmp_path / "many", TABLE_ROWS + 1)))
    lines = out.splitlines()
    assert len(lines) == TABLE_ROWS + 2  # a header and a line per picture
    assert lines[0].split() == ["input", "prediction", "top", "classes", "(probability)"]
    assert lines[1].startswith(str(tmp_path / "many" / "0000.png"))
    assert "rich" not in loaded and "fcnn_cli.ui" not in loaded


def test_a_short_run_is_a_table_drawn_by_rich(tmp_path: Path) -> None:
    out, loaded = _predict("mnist", str(_digits(tmp_path / "few", 3)))
    assert "┃ input" in out and out.count("0.png") + out.count("1.png") + \
        out.count("2.png") == 3
    assert "rich.table" in loaded
