"""Class and file names go safely where users open them: CSV cells a spreadsheet would run
as formulas are written as text (numbers stay numbers), terminal output shows escape
sequences instead of obeying them, and --json stays exact and always valid."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import fcnn_cli
from fcnn_cli import api
from fcnn_cli.cli import app
from fcnn_cli.sanitize import csv_cell, json_text

runner = CliRunner()
HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
           "\tTAB", "\rCR", "a\x1b]0;pwned\x07b", "\x1b[2Jclear", "8", "-0.5"]


@pytest.fixture(scope="module")
def evil_model(digits_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digits model, its ten classes renamed to formulas and escape sequences."""
    model = fcnn_cli.load_model(digits_model)
    model.class_names = list(HOSTILE)
    path = tmp_path_factory.mktemp("evil") / "evil.h5"
    model.save(path)
    return path


def _inputs(folder: Path, name: str, rows: int = 2) -> Path:
    path = folder / name
    np.save(path, (np.arange(rows * 64).reshape(rows, 64) % 16).astype(np.float32))
    return path


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _invoke(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.stdout


# --- CSV: formulas written as text ---------------------------------------------------------

@pytest.mark.parametrize("text", ["=1+1", "+A1", "-A1+1", "@SUM(A1)", "\tx", "\rx", "-", "+"])
def test_a_cell_a_spreadsheet_would_run_gets_a_quote(text: str) -> None:
    assert csv_cell(text).startswith("'")


@pytest.mark.parametrize("text", ["-0.5", "-12.3", "-1e-07", "+3", "-inf", "nan", "0.25", "cat"])
def test_numbers_and_plain_names_stay_as_they_are(text: str) -> None:
    assert csv_cell(text) == text


def test_predict_csv_neutralises_class_and_file_names(evil_model: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _inputs(tmp_path, "=cmd.npy")
    rows = _csv_rows(_invoke(["predict", str(evil_model), "=cmd.npy", "--format", "csv"]))
    assert [row[0] for row in rows[1:]] == ["'=cmd.npy[0]", "'=cmd.npy[1]"]
    for row in rows[1:]:
        assert row[1][0] not in "=+-@\t\r" and row[1] in {csv_cell(c) for c in HOSTILE}
        assert [float(v) for v in row[2:]]  # the probabilities: numbers, as they were


def test_the_csv_file_holds_the_same_neutral_cells(evil_model: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _inputs(tmp_path, "@in.npy")
    out = tmp_path / "p.csv"
    _invoke(["predict", str(evil_model), "@in.npy", "--csv", str(out)])
    rows = _csv_rows(out.read_text())
    header = rows[0]
    assert rows[1][0] == "'@in.npy[0]"
    assert all(cell[0] not in "=+-@\t\r" for row in rows for cell in row[:2])
    assert "\x1b" not in out.read_text()  # safe to print
    assert header[2:] == [csv_cell(f"p_{name}") for name in HOSTILE]


def test_negative_regression_outputs_stay_numbers(tmp_path: Path) -> None:
    """A regression whose outputs are negative, its target column named as a formula."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (40, 2))
    table = tmp_path / "neg.csv"
    lines = ["a,b,=2+5"] + [f"{u:.3f},{v:.3f},{-100 - 10 * u:.3f}" for u, v in x]
    table.write_text("\n".join(lines) + "\n")
    config = {"data": {"path": str(table), "label_column": "=2+5", "task": "regression",
                       "normalize": "standardize", "test_fraction": 0.0},
              "model": {"layers": [{"units": 4, "activation": "tanh"},
                                   {"units": 1, "activation": "linear"}]},
              "cost": "quadratic", "training": {"epochs": 2, "batch_size": 8,
                                                "optimizer": {"name": "adam", "lr": 0.01}}}
    api.train(config, out=tmp_path / "neg.h5")
    inputs = tmp_path / "x.npy"
    np.save(inputs, x[:3].astype(np.float32))
    rows = _csv_rows(_invoke(["predict", str(tmp_path / "neg.h5"), str(inputs),
                              "--format", "csv"]))
    assert rows[0] == ["input", "'=2+5"]
    assert all(float(row[1]) < 0 and row[1].startswith("-") for row in rows[1:])


# --- --json: exact, and always valid JSON ------------------------------------------------

def _strict(line: str) -> dict:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")
    return json.loads(line, parse_constant=refuse)


def test_json_keeps_class_and_file_names_exact(evil_model: Path, tmp_path: Path) -> None:
    data = _inputs(tmp_path, "=a\x1b[2J.npy")
    lines = _invoke(["predict", str(evil_model), str(data), "--json"]).splitlines()
    first = _strict(lines[0])
    assert first["input"] == f"{data}[0]"
    assert first["label"] in HOSTILE


def test_json_never_holds_nan_or_infinity(digits_model: Path, tmp_path: Path) -> None:
    """Weights so large (yet finite) that the outputs overflow: null, not NaN."""
    model = fcnn_cli.load_model(digits_model)
    for w in model.network.w:
        w[...] = 3e38
    model.save(tmp_path / "huge.h5")
    result = runner.invoke(app, ["predict", str(tmp_path / "huge.h5"),
                                 str(_inputs(tmp_path, "x.npy")), "--json"])
    if result.exit_code == 0:  # (refusing such a model with one line is fine too)
        rows = [_strict(line) for line in result.stdout.splitlines()]
        assert rows and all(p is None or math.isfinite(p) for r in rows
                            for p in r["probabilities"])
    else:
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def test_json_text_writes_non_finite_numbers_as_null() -> None:
    text = json_text({"a": math.nan, "b": [math.inf, -math.inf, 1.5], "c": {"d": math.nan}})
    assert _strict(text) == {"a": None, "b": [None, None, 1.5], "c": {"d": None}}


def test_info_json_is_valid_with_a_nan_in_the_history(digits_model: Path, tmp_path: Path) -> None:
    model = fcnn_cli.load_model(digits_model)
    model.history["val_loss"][0] = np.nan
    model.save(tmp_path / "m.h5")
    _strict(_invoke(["info", str(tmp_path / "m.h5"), "--json"]))


# --- the terminal: escape sequences shown, never obeyed ----------------------------------

def test_the_table_shows_escapes_in_class_and_file_names(evil_model: Path,
                                                         tmp_path: Path) -> None:
    data = _inputs(tmp_path, "b\x1b]0;title\x07.npy")
    out = _invoke(["predict", str(evil_model), str(data), "--top-k", "10"])
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b]0;title\\x07" in out


def test_the_plain_lines_past_a_hundred_inputs_show_escapes(evil_model: Path,
                                                            tmp_path: Path) -> None:
    data = _inputs(tmp_path, "c\x1b[2J.npy", rows=101)
    out = _invoke(["predict", str(evil_model), str(data)])
    assert len(out.splitlines()) == 102  # the header and one plain line per input
    assert "\x1b" not in out and "c\\x1b[2J.npy[100]" in out


def test_eval_tables_show_escapes_in_class_names(evil_model: Path) -> None:
    out = _invoke(["eval", str(evil_model), "--split", "test"])
    assert "\x1b" not in out and "\\x1b[2Jclear" in out


def test_an_error_naming_a_file_shows_its_escapes(digits_model: Path, tmp_path: Path) -> None:
    missing = tmp_path / "gone\x1b[2J\n.npy"
    result = runner.invoke(app, ["predict", str(digits_model), str(missing)])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "\x1b" not in line and "gone\\x1b[2J\\n.npy" in line
