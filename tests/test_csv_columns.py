"""CSV in and out: features by name in any order, the label column ignored by predict and
used by eval, results written as CSV for a spreadsheet or pandas."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fcnn_cli import api
from fcnn_cli.cli import app
from fcnn_cli.data.sources import load_dataset
from fcnn_cli.errors import FcnnError

runner = CliRunner()


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _patients(n: int = 240, seed: int = 0) -> tuple[list[str], list[list[object]]]:
    """An id, three features and a word label that depends on two of them."""
    rng = np.random.default_rng(seed)
    size, texture, age = rng.normal(12, 3, n), rng.normal(20, 4, n), rng.integers(20, 90, n)
    label = np.where(size + 0.5 * texture > 22, "malignant", "benign")
    rows = [[f"p{i}", f"{size[i]:.3f}", f"{texture[i]:.3f}", int(age[i]), label[i]]
            for i in range(n)]
    return ["id", "size", "texture", "age", "diagnosis"], rows


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A classification CSV and the model trained on it (the id column left out)."""
    folder = tmp_path_factory.mktemp("cancer")
    data = _write(folder / "cancer.csv", *_patients())
    config = {"data": {"path": str(data), "label_column": "diagnosis",
                       "feature_columns": ["size", "texture", "age"], "test_fraction": 0.2,
                       "normalize": "standardize"},
              "model": {"layers": [{"units": 16}, {"units": 2, "activation": "softmax"}]},
              "training": {"epochs": 30, "batch_size": 16,
                           "optimizer": {"name": "adam", "lr": 0.01}}}
    outcome = api.train(config, out=folder / "cancer.h5")
    assert outcome.test["accuracy"] > 0.9
    return data, folder / "cancer.h5"


def test_the_model_remembers_its_feature_columns(cancer: tuple[Path, Path]) -> None:
    model = api.load_model(cancer[1])
    assert model.feature_names == ["size", "texture", "age"]
    assert model.class_names == ["benign", "malignant"]


def test_predict_on_the_training_csv_ignores_the_label_and_other_columns(
        cancer: tuple[Path, Path]) -> None:
    data, model_path = cancer
    result = runner.invoke(app, ["predict", str(model_path), str(data), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 240 and lines[0]["input"] == f"{data}[0]"
    with data.open() as file:
        truth = [row["diagnosis"] for row in csv.DictReader(file)]
    assert np.mean([line["label"] == t for line, t in zip(lines, truth)]) > 0.9


def test_feature_columns_are_taken_by_name_in_any_order(cancer: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    data, model_path = cancer
    model = api.load_model(model_path)
    header, rows = _patients()
    shuffled = _write(tmp_path / "new.csv", ["age", "notes", "texture", "size"],
                      [[r[3], "seen today", r[2], r[1]] for r in rows[:10]])
    assert list(model.predict(shuffled)) == list(model.predict(data)[:10])


def test_a_missing_feature_column_is_one_error_naming_it(cancer: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    new = _write(tmp_path / "new.csv", ["size", "age"], [[12.0, 40]])
    result = runner.invoke(app, ["predict", str(cancer[1]), str(new)])
    assert result.exit_code == 2
    assert "no feature column 'texture'" in result.stderr
    assert "size, texture, age" in result.stderr


def test_a_csv_without_a_header_is_read_by_position(cancer: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    model = api.load_model(cancer[1])
    plain = tmp_path / "plain.csv"
    plain.write_text("12.5,20.1,50\n")
    named = _write(tmp_path / "named.csv", ["size", "texture", "age"], [[12.5, 20.1, 50]])
    assert np.array_equal(model.predict_proba(plain), model.predict_proba(named))


def test_predict_writes_a_csv_file_with_a_probability_per_class(cancer: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    data, model_path = cancer
    out = tmp_path / "results.csv"
    result = runner.invoke(app, ["predict", str(model_path), str(data), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    with out.open() as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["input", "label", "p_benign", "p_malignant"]
    assert len(rows) == 240
    first = float(rows[0]["p_benign"]) + float(rows[0]["p_malignant"])
    assert first == pytest.approx(1.0, abs=1e-6)


def test_format_csv_prints_the_same_rows_on_stdout(cancer: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    data, model_path = cancer
    out = tmp_path / "results.csv"
    printed = runner.invoke(app, ["predict", str(model_path), str(data), "--format", "csv"])
    runner.invoke(app, ["predict", str(model_path), str(data), "--csv", str(out)])
    assert printed.exit_code == 0
    assert printed.stdout.splitlines() == out.read_text().splitlines()


def test_an_unknown_format_is_a_usage_error(cancer: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["predict", str(cancer[1]), str(cancer[0]), "--format", "xml"])
    assert result.exit_code == 2 and "table, json, csv" in result.stderr


def test_eval_on_a_csv_with_reordered_columns_uses_the_label_column(
        cancer: tuple[Path, Path], tmp_path: Path) -> None:
    data, model_path = cancer
    header, rows = _patients(100, seed=1)
    other = _write(tmp_path / "other.csv", ["diagnosis", "age", "texture", "size", "id"],
                   [[r[4], r[3], r[2], r[1], r[0]] for r in rows])
    result = runner.invoke(app, ["eval", str(model_path), "--data", str(other), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["n"] == 100 and report["accuracy"] >= 0.85  # new data: scored whole


def test_training_reads_only_the_configured_feature_columns(tmp_path: Path) -> None:
    data = _write(tmp_path / "d.csv", ["id", "x", "y", "label"],
                  [["a", 1, 2, 0], ["b", 3, 4, 1]])
    dataset = load_dataset(path=data, feature_columns=["y", "x"])
    assert dataset.feature_names == ["y", "x"]
    assert dataset.x_train.tolist() == [[2, 1], [4, 3]]


def test_a_text_column_among_the_features_names_row_and_column(tmp_path: Path) -> None:
    data = _write(tmp_path / "d.csv", ["id", "x", "label"], [["a", 1, 0], ["b", 3, 1]])
    with pytest.raises(FcnnError, match=r"row 2, column 'id': 'a' is not a number"):
        load_dataset(path=data)


def test_a_duplicate_column_name_is_an_error(tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x,x,label\n1,2,0\n")
    with pytest.raises(FcnnError, match="names column 'x' twice"):
        load_dataset(path=data)


def test_eval_on_a_csv_without_the_label_column_names_it(cancer: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    unlabelled = _write(tmp_path / "new.csv", ["size", "texture", "age"], [[12, 20, 50]] * 20)
    result = runner.invoke(app, ["eval", str(cancer[1]), "--data", str(unlabelled)])
    assert result.exit_code == 2
    assert "no label column 'diagnosis'" in result.stderr
