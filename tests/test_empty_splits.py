"""An empty validation or test split is a normal case: training, info, report and eval
work with `val_fraction: 0` and `test_fraction: 0`, for tables (classes or numbers) and
for image folders, and asking to score an empty split is one line, not a crash."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.data.sources import Dataset
from fcnn_cli.data.split import Normalizer, make_splits

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _train(tmp_path: Path, data: dict, units: int, cost: str, *extra: str) -> Path:
    """Train a tiny model for two epochs through the CLI; the model's path."""
    config = {"seed": 1, "data": data,
              "model": {"layers": [{"units": 6, "activation": "tanh"},
                                   {"units": units,
                                    "activation": "softmax" if units > 1 else "linear"}]},
              "cost": cost,
              "training": {"epochs": 2, "batch_size": 16,
                           "optimizer": {"name": "adam", "lr": 0.01}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    out = tmp_path / "m.h5"
    result = runner.invoke(app, ["train", str(tmp_path / "c.yaml"), "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    return out


def _regression(tmp_path: Path, val: float, test: float) -> dict:
    return {"path": str(ROOT / "examples" / "data" / "diabetes.csv"),
            "label_column": "progression", "val_fraction": val, "test_fraction": test}


def _classes(tmp_path: Path, val: float, test: float) -> dict:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    return {"path": str(tmp_path / "d.npz"), "val_fraction": val, "test_fraction": test}


def _pictures(root: Path, per_class: int = 6) -> Path:
    """Two classes of 12×12 grey pictures: a bright top half or a bright bottom half."""
    for kind, rows in (("top", slice(0, 6)), ("bottom", slice(6, 12))):
        (root / kind).mkdir(parents=True)
        for i in range(per_class):
            picture = np.full((12, 12), 20 + i, np.uint8)
            picture[rows] = 230
            Image.fromarray(picture).save(root / kind / f"{i}.png")
    return root


def _one_line(result: object) -> str:
    stderr = result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert stderr.count("\n") == 1 and "internal error" not in stderr
    return stderr


def test_a_regression_csv_trains_with_test_fraction_0(tmp_path: Path) -> None:
    """Was `internal error (ValueError: cannot reshape array of size 0 ...)`."""
    model = _train(tmp_path, _regression(tmp_path, 0.1, 0.0), 1, "quadratic")
    info = json.loads(runner.invoke(app, ["info", str(model), "--json"]).stdout)
    assert info["split_sizes"] == {"train": 398, "val": 44, "test": 0}


def test_training_says_there_is_no_test_split(tmp_path: Path) -> None:
    _train(tmp_path, _regression(tmp_path, 0.1, 0.0), 1, "quadratic")
    result = runner.invoke(app, ["train", str(tmp_path / "c.yaml"), "--quiet",
                                 "--out", str(tmp_path / "again.h5")])
    assert "no test split" in result.stdout and "test: loss" not in result.stdout


def test_training_without_validation_says_so_instead_of_a_best_epoch(tmp_path: Path) -> None:
    _train(tmp_path, _regression(tmp_path, 0.0, 0.0), 1, "quadratic")
    result = runner.invoke(app, ["train", str(tmp_path / "c.yaml"), "--quiet",
                                 "--out", str(tmp_path / "again.h5")])
    assert result.exit_code == 0
    assert "no validation split" in result.stdout and "best validation" not in result.stdout


def test_eval_on_an_empty_test_split_is_one_line(tmp_path: Path) -> None:
    model = _train(tmp_path, _regression(tmp_path, 0.1, 0.0), 1, "quadratic")
    stderr = _one_line(runner.invoke(app, ["eval", str(model)]))
    assert "the test split of" in stderr and "is empty" in stderr and "--split all" in stderr


def test_eval_on_an_empty_val_split_is_one_line(tmp_path: Path) -> None:
    model = _train(tmp_path, _classes(tmp_path, 0.0, 0.0), 2, "log-likelihood")
    stderr = _one_line(runner.invoke(app, ["eval", str(model), "--split", "val", "--json"]))
    assert "the val split of" in stderr and "data.val_fraction 0" in stderr


def test_split_all_scores_a_model_trained_without_held_out_data(tmp_path: Path) -> None:
    model = _train(tmp_path, _classes(tmp_path, 0.0, 0.0), 2, "log-likelihood")
    result = runner.invoke(app, ["eval", str(model), "--split", "all", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 60


def test_report_without_a_test_split_is_written_and_warns(tmp_path: Path) -> None:
    model = _train(tmp_path, _regression(tmp_path, 0.0, 0.0), 1, "quadratic")
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(model), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "the test split of" in result.stderr and "is empty" in result.stderr
    page = out.read_text(encoding="utf-8")
    assert "is empty" in page and '<section id="evaluation">' not in page
    assert '<section id="curves">' in page  # the training loss alone still has its curve


def test_report_on_an_explicitly_asked_empty_split_is_an_error(tmp_path: Path) -> None:
    model = _train(tmp_path, _classes(tmp_path, 0.0, 0.0), 2, "log-likelihood")
    out = tmp_path / "r.html"
    stderr = _one_line(runner.invoke(app, ["report", str(model), "--split", "val",
                                           "--out", str(out)]))
    assert "the val split of" in stderr
    assert not out.exists()


def test_an_image_folder_trains_and_evaluates_without_held_out_pictures(tmp_path: Path) -> None:
    root = _pictures(tmp_path / "pictures")
    data = {"path": str(root), "val_fraction": 0.0, "test_fraction": 0.0,
            "image": {"pipeline": "resize", "size": [12, 12]}}
    model = _train(tmp_path, data, 2, "log-likelihood")
    stderr = _one_line(runner.invoke(app, ["eval", str(model)]))
    assert "the test split of" in stderr
    result = runner.invoke(app, ["eval", str(model), "--split", "all", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n"] == 12


def test_normalizing_zero_rows_gives_zero_rows_of_the_right_width() -> None:
    scale = Normalizer("standardize", np.zeros(3, np.float32), np.ones(3, np.float32))
    assert scale(np.empty((0, 3), np.float32)).shape == (0, 3)
    pixels = Normalizer("scale", np.zeros((), np.float32), np.full((), 255, np.float32))
    assert pixels(np.empty((0, 2, 2), np.uint8)).shape == (0, 4)


@pytest.mark.parametrize("val, test", [(0.0, 0.0), (0.0, 0.25), (0.25, 0.0)])
def test_splits_of_regression_targets_may_be_empty(val: float, test: float) -> None:
    x = np.arange(40, dtype=np.float32).reshape(20, 2)
    y = x[:, :1] * 3
    ds = Dataset("t", x, y, None, None, None, (2,), None, target_names=["y"])
    splits = make_splits(ds, val, test, 0, "standardize", target_normalize="standardize")
    assert splits.y_val.shape == (round(val * 15 if test else val * 20), 1)
    assert splits.y_test.shape == (round(test * 20), 1)
    assert len(splits.x_train) + len(splits.x_val) + len(splits.x_test) == 20


def test_a_model_gives_zero_rows_of_outputs_for_zero_rows(digits_model: Path) -> None:
    from fcnn_cli import api

    model = api.load_model(digits_model)
    assert model.outputs(np.empty((0, 8, 8), np.uint8)).shape == (0, 10)
