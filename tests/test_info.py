"""fcnn info: a model's layers, its training and its learning curves, from the file alone."""

import json
import math
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from fcnn_cli.api import load_model
from fcnn_cli.cli import app
from fcnn_cli.summary import best_epoch, sparkline, summarize

runner = CliRunner()


def info_json(model: Path | str) -> dict:
    result = runner.invoke(app, ["info", str(model), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_info_counts_each_layers_weights_and_biases(digits_model: Path) -> None:
    info = info_json(digits_model)
    assert info["architecture"] == [64, 64, 10]
    assert [layer["parameters"] for layer in info["layers"]] == [64 * 64 + 64, 64 * 10 + 10]
    assert info["parameters"] == 4810
    assert [layer["activation"] for layer in info["layers"]] == ["relu", "softmax"]


def test_info_says_how_training_went(digits_model: Path) -> None:
    info = info_json(digits_model)
    model = load_model(digits_model)
    assert info["epochs"] == len(model.history["val_loss"])
    assert info["best_epoch"] == int(np.argmin(model.history["val_loss"])) + 1  # monitor
    assert math.isclose(info["training_seconds"], float(model.history["seconds"].sum()))
    assert info["dataset"] == "digits"
    assert info["split_sizes"] == {"train": 1294, "val": 144, "test": 359}  # of 1,797


def test_info_draws_the_learning_curves_and_marks_the_best_epoch(digits_model: Path) -> None:
    result = runner.invoke(app, ["info", str(digits_model)])
    assert result.exit_code == 0, result.output
    assert "learning curves" in result.output
    assert "↑ best, epoch" in result.output
    assert any(bar in result.output for bar in "▁▂▃▄▅▆▇█")


def test_a_model_without_history_gets_no_curves(digits_model: Path, tmp_path: Path) -> None:
    model = load_model(digits_model)
    model.history = {}
    model.save(tmp_path / "bare.h5")
    result = runner.invoke(app, ["info", str(tmp_path / "bare.h5")])
    assert result.exit_code == 0, result.output
    assert "no training history" in result.output
    assert summarize(load_model(tmp_path / "bare.h5")).best_epoch is None


def test_a_missing_model_is_one_line_and_exit_2() -> None:
    result = runner.invoke(app, ["info", "no-such-model.h5"])
    assert result.exit_code == 2
    assert "no-such-model.h5" in result.output


def test_the_best_epoch_follows_the_monitored_metric_as_training_does() -> None:
    assert best_epoch([0.5, 0.3, 0.4], "val_loss") == 2
    assert best_epoch([0.8, 0.85, 0.9], "val_accuracy") == 3
    assert best_epoch([0.5, 0.45, 0.3], "val_loss", min_delta=0.1) == 3  # 0.45: too little
    assert best_epoch([math.nan], "val_loss") is None


def test_a_sparkline_spans_the_lowest_to_the_highest_bar() -> None:
    bars, low, high = sparkline([3.0, 1.0, 2.0])
    assert bars == "█▁▅" and (low, high) == (1.0, 3.0)


def test_a_long_curve_is_averaged_down_to_the_width() -> None:
    bars, _, _ = sparkline([float(i) for i in range(200)], width=50)
    assert len(bars) == 50 and bars[0] == "▁" and bars[-1] == "█"
