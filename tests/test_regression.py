"""Regression end to end: targets standardised on the training split and stored in the
model, predictions in the original units, MAE/RMSE/R² per named output."""

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
from fcnn_cli.metrics import regression_report

runner = CliRunner()


def _houses(path: Path, n: int = 300, seed: int = 0) -> Path:
    """Prices in the hundreds of thousands and a second target near 1, from two features."""
    rng = np.random.default_rng(seed)
    area, rooms = rng.uniform(50, 200, n), rng.integers(1, 6, n)
    price = 2000 * area + 15000 * rooms + rng.normal(0, 5000, n)
    energy = 0.5 + area / 400 + rng.normal(0, 0.01, n)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["rooms", "area", "price", "energy"])
        for row in zip(rooms, area, price, energy):
            writer.writerow([row[0], f"{row[1]:.2f}", f"{row[2]:.1f}", f"{row[3]:.4f}"])
    return path


def _config(data: Path, labels: str | list[str], **data_keys: object) -> dict:
    outputs = 1 if isinstance(labels, str) else len(labels)
    return {"data": {"path": str(data), "label_column": labels, "test_fraction": 0.2,
                     "normalize": "standardize", **data_keys},
            "model": {"layers": [{"units": 32, "activation": "tanh"},
                                 {"units": outputs, "activation": "linear"}]},
            "cost": "quadratic",
            "training": {"epochs": 60, "batch_size": 16,
                         "optimizer": {"name": "adam", "lr": 0.01}}}


@pytest.fixture(scope="module")
def houses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("houses")
    data = _houses(folder / "houses.csv")
    api.train(_config(data, ["price", "energy"]), out=folder / "houses.h5")
    return data, folder / "houses.h5"


def test_training_loss_is_on_standardised_targets(houses: tuple[Path, Path]) -> None:
    history = api.load_model(houses[1]).history
    assert history["train_loss"][0] < 5  # raw prices would start near 10^10


def test_the_model_stores_the_targets_scale_and_names(houses: tuple[Path, Path]) -> None:
    model = api.load_model(houses[1])
    assert model.target_names == ["price", "energy"]
    assert model.target_normalizer is not None
    assert 250_000 < float(model.target_normalizer.mean[0]) < 400_000


def test_predictions_come_back_in_the_original_units(houses: tuple[Path, Path]) -> None:
    model = api.load_model(houses[1])
    values = model.predict(np.array([[3, 100.0], [5, 180.0]], np.float32))
    expected = [[2000 * 100 + 15000 * 3, 0.75], [2000 * 180 + 15000 * 5, 0.95]]
    assert values == pytest.approx(np.array(expected), rel=0.05)


def test_predict_shows_one_column_per_target_named_after_it(houses: tuple[Path, Path]) -> None:
    data, model_path = houses
    result = runner.invoke(app, ["predict", str(model_path), str(data), "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(result.stdout.splitlines()))
    assert list(rows[0]) == ["input", "price", "energy"] and len(rows) == 300
    assert float(rows[0]["price"]) > 10_000


def test_predict_json_names_each_output(houses: tuple[Path, Path]) -> None:
    data, model_path = houses
    result = runner.invoke(app, ["predict", str(model_path), str(data), "--json"])
    first = json.loads(result.stdout.splitlines()[0])
    assert set(first) == {"input", "outputs"} and set(first["outputs"]) == {"price", "energy"}


def test_predict_table_has_the_target_names_as_columns(houses: tuple[Path, Path]) -> None:
    data, model_path = houses
    result = runner.invoke(app, ["predict", str(model_path), str(data)])
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0].split()
    assert header == ["input", "price", "energy"]
    assert "probability" not in result.stdout


def test_eval_reports_mae_rmse_and_r2_per_output(houses: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["eval", str(houses[1]), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report["per_output"]) == {"price", "energy"}
    price = report["per_output"]["price"]
    assert price["r2"] > 0.95 and price["mae"] < 15_000 and price["rmse"] >= price["mae"]


def test_regression_metrics_match_their_definitions() -> None:
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    values = np.array([[1.5], [2.0], [2.0], [4.0]])
    m = regression_report(values, y, 0.0, ["t"]).per_output["t"]
    assert m["mae"] == pytest.approx(0.375)
    assert m["rmse"] == pytest.approx(np.sqrt(1.25 / 4))
    assert m["r2"] == pytest.approx(1 - 1.25 / 5.0)


def test_a_constant_target_has_no_r2() -> None:
    m = regression_report(np.ones((3, 1)), np.ones((3, 1)), 0.0, ["t"]).per_output["t"]
    assert m["r2"] is None and m["mae"] == 0


def test_target_normalize_none_trains_on_raw_targets(tmp_path: Path) -> None:
    data = _houses(tmp_path / "h.csv", n=60)
    config = _config(data, "energy", target_normalize="none")
    config["training"]["epochs"] = 2
    model = api.train(config, out=tmp_path / "m.h5").model
    assert model.target_normalizer is None
    assert api.load_model(tmp_path / "m.h5").target_normalizer is None


def test_whole_number_targets_are_regression_when_the_task_says_so(tmp_path: Path) -> None:
    data = tmp_path / "counts.csv"
    data.write_text("x,visitors\n" + "".join(f"{i},{100 + 7 * i}\n" for i in range(50)))
    assert load_dataset(path=data, label_column="visitors").class_names is not None
    dataset = load_dataset(path=data, label_column="visitors", task="regression")
    assert dataset.class_names is None and dataset.target_names == ["visitors"]
    assert dataset.y_train.dtype == np.float32 and dataset.y_train.shape == (50, 1)


def test_trace_takes_the_target_in_original_units(houses: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    model = api.load_model(houses[1])
    row = tmp_path / "one.npy"
    np.save(row, np.array([[3, 100.0]], np.float32))
    result = model.trace(row, target="245000,0.75")
    y = result.y[0]
    assert y == pytest.approx(model.target_normalizer(np.array([[245000, 0.75]]))[0], rel=1e-5)
    assert any("price = " in line for line in result.header)



def test_a_model_with_scaled_targets_keeps_the_stable_file_layout(
        houses: tuple[Path, Path]) -> None:
    import h5py

    with h5py.File(houses[1]) as f:
        assert f.attrs["format_version"] == 1  # DESIGN §6: the additions are attributes
        assert f["preprocess/target_mean"].shape == f["preprocess/target_std"].shape == (2,)
