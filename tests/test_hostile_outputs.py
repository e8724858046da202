"""Outputs never over inputs, folders as outputs, missing parents: every command that
writes asks fcnn_cli/outputs.py first, and a refusal is one line, exit 2, nothing written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fcnn_cli.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _digest(folder: Path) -> dict[str, str]:
    """Every file under `folder` and a hash of its bytes: what a refusal must not change."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def refused(args: list[str], folder: Path, expected: str) -> str:
    """Run fcnn with `args`: exit 2, one line saying `expected`, `folder` unchanged."""
    before = _digest(folder)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: ") and expected in line, line
    assert _digest(folder) == before
    return line


@pytest.fixture
def work(tmp_path: Path, digits_model: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding a copy of the digits model and a CSV of three inputs; the cwd."""
    (tmp_path / "m.h5").write_bytes(digits_model.read_bytes())
    rows = np.arange(3 * 64).reshape(3, 64) % 16
    np.savetxt(tmp_path / "in.csv", rows, delimiter=",", fmt="%d",
               header=",".join(f"p{i}" for i in range(64)), comments="")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _config(work: Path, output: str) -> Path:
    raw = yaml.safe_load((ROOT / "configs" / "digits.yaml").read_text())
    raw["training"]["epochs"] = 1
    raw["output"] = output
    path = work / "cfg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


# --- outputs over inputs ------------------------------------------------------------------

def test_report_refuses_to_write_over_its_model(work: Path) -> None:
    refused(["report", "m.h5", "--out", "m.h5"], work, "--out m.h5 is the same file as the model")


def test_report_refuses_the_model_spelled_another_way(work: Path) -> None:
    refused(["report", "m.h5", "--out", str(work / "." / "m.h5")], work, "same file as the model")


def test_report_refuses_a_symbolic_link_to_the_model(work: Path) -> None:
    (work / "link.html").symlink_to(work / "m.h5")
    refused(["report", "m.h5", "--out", "link.html"], work, "same file as the model")


def test_predict_refuses_to_write_its_csv_over_an_input(work: Path) -> None:
    refused(["predict", "m.h5", "in.csv", "--csv", "./in.csv"], work,
            "--csv in.csv is the same file as an INPUT")


def test_predict_refuses_a_hard_link_to_the_model(work: Path) -> None:
    os.link(work / "m.h5", work / "same.csv")
    refused(["predict", "m.h5", "in.csv", "--csv", "same.csv"], work,
            "same file as the model")


def test_a_config_whose_output_is_itself_is_refused_before_training(work: Path) -> None:
    config = _config(work, "cfg.yaml")
    refused(["train", str(config), "--quiet"], work,
            "the config's output cfg.yaml is the same file as the config")
    assert not (work / "cfg.ckpt.h5").exists()


def test_train_refuses_a_log_that_is_the_config(work: Path) -> None:
    _config(work, "out.h5")
    refused(["train", "cfg.yaml", "--log", "./cfg.yaml", "--quiet"], work,
            "--log cfg.yaml is the same file as the config")
    assert not (work / "out.h5").exists()


def test_train_refuses_a_log_that_is_the_model(work: Path) -> None:
    config = _config(work, "out.h5")
    refused(["train", str(config), "--out", "new.h5", "--log", "new.h5", "--quiet"], work,
            "--log new.h5 is the same file as the model")


def test_export_refuses_a_link_to_the_model(work: Path) -> None:
    (work / "m.onnx").symlink_to(work / "m.h5")
    refused(["export", "m.h5", "m.onnx"], work, "OUT m.onnx is the same file as the model")


def test_import_refuses_to_write_over_its_source(work: Path) -> None:
    refused(["import", "m.h5", "./m.h5"], work, "same file as")


def test_init_refuses_to_write_over_its_data_even_with_force(work: Path) -> None:
    refused(["init", "in.csv", "--data", "in.csv", "--force"], work,
            "PATH in.csv is the same file as the data")


# --- folders as outputs ---------------------------------------------------------------------

def test_report_into_a_folder_writes_the_default_name_inside(work: Path) -> None:
    pytest.importorskip("matplotlib")
    (work / "pages").mkdir()
    result = runner.invoke(app, ["report", "m.h5", "--out", "pages"])
    assert result.exit_code == 0, result.output
    assert (work / "pages" / "m.report.html").read_text().startswith("<!")


def test_predict_refuses_a_folder_for_its_csv(work: Path) -> None:
    (work / "results").mkdir()
    refused(["predict", "m.h5", "in.csv", "--csv", "results"], work,
            "--csv results is a folder; give a file name such as results/predictions.csv")


def test_train_into_a_folder_saves_the_configs_file_name_inside(work: Path) -> None:
    config = _config(work, "runs/digits.h5")
    (work / "models").mkdir()
    result = runner.invoke(app, ["train", str(config), "--out", "models", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (work / "models" / "digits.h5").is_file()


def test_train_refuses_a_config_output_that_is_a_folder(work: Path) -> None:
    (work / "models").mkdir()
    config = _config(work, "models")
    refused(["train", str(config), "--quiet"], work, "the config's output models is a folder")


def test_init_into_a_folder_writes_the_data_name_inside(work: Path) -> None:
    (work / "configs").mkdir()
    result = runner.invoke(app, ["init", "configs", "--data", "in.csv"])
    assert result.exit_code == 0, result.output
    assert (work / "configs" / "in.yaml").is_file()


def test_a_new_folder_written_with_a_slash_gets_the_default_name_inside(work: Path) -> None:
    pytest.importorskip("matplotlib")
    result = runner.invoke(app, ["report", "m.h5", "--out", "pages/"])
    assert result.exit_code == 0, result.output
    assert (work / "pages" / "m.report.html").is_file()


def test_train_into_a_new_folder_written_with_a_slash(work: Path) -> None:
    config = _config(work, "runs/digits.h5")
    result = runner.invoke(app, ["train", str(config), "--out", "new/", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (work / "new" / "digits.h5").is_file()


def test_init_into_a_new_folder_written_with_a_slash(work: Path) -> None:
    result = runner.invoke(app, ["init", "cfgs/", "--data", "in.csv"])
    assert result.exit_code == 0, result.output
    assert (work / "cfgs" / "in.yaml").is_file()


@pytest.mark.parametrize("args,expected", [
    (["predict", "m.h5", "in.csv", "--csv", "outdir/"], "--csv outdir is a folder"),
    (["export", "m.h5", "outdir/"], "OUT outdir is a folder"),
    (["train", "digits", "--out", "x.h5", "--log", "logs/"], "--log logs is a folder"),
])
def test_a_new_folder_written_with_a_slash_is_refused_where_there_is_no_name(
        work: Path, args: list[str], expected: str) -> None:
    refused(args, work, expected)
    assert not (work / "outdir").exists() and not (work / "logs").exists()


def test_a_device_is_never_replaced(work: Path) -> None:
    refused(["predict", "m.h5", "in.csv", "--csv", os.devnull], work, "is a device")


# --- missing parents: made; a parent that is a file: refused --------------------------------

def test_missing_parent_folders_are_made(work: Path) -> None:
    result = runner.invoke(app, ["predict", "m.h5", "in.csv", "--csv", "a/b/p.csv"])
    assert result.exit_code == 0, result.output
    assert (work / "a" / "b" / "p.csv").read_text().startswith("input,label")


@pytest.mark.parametrize("args", [
    ["predict", "m.h5", "in.csv", "--csv", "in.csv/p.csv"],
    ["report", "m.h5", "--out", "in.csv/r.html"],
    ["export", "m.h5", "in.csv/m.onnx"],
])
def test_a_parent_that_is_a_file_is_one_line(work: Path, args: list[str]) -> None:
    refused(args, work, "in.csv is a file, not a folder")


def test_train_under_a_file_is_refused_before_training(work: Path) -> None:
    config = _config(work, "in.csv/m.h5")
    refused(["train", str(config), "--quiet"], work, "in.csv is a file, not a folder")


# --- tune: the best config and the SQLite study --------------------------------------------

@pytest.fixture
def space(work: Path) -> Path:
    pytest.importorskip("optuna")
    path = work / "space.yaml"
    path.write_text("training.optimizer.lr: {low: 0.01, high: 0.5, log: true}\n")
    return path


def test_tune_storage_below_a_file_is_one_line(work: Path, space: Path) -> None:
    refused(["tune", "digits", "--space", "space.yaml", "--storage",
             f"sqlite:///{work / 'in.csv' / 'x.db'}"], work, "in.csv is a file, not a folder")


def test_tune_storage_path_below_a_file_is_one_line(work: Path, space: Path) -> None:
    refused(["tune", "digits", "--space", "space.yaml", "--storage", "in.csv/x.db"], work,
            "in.csv is a file, not a folder")


def test_tune_refuses_a_storage_that_is_the_space(work: Path, space: Path) -> None:
    refused(["tune", "digits", "--space", "space.yaml", "--storage", "sqlite:///space.yaml"],
            work, "--storage space.yaml is the same file as the search space")


def test_tune_refuses_a_best_config_over_its_config(work: Path, space: Path) -> None:
    config = _config(work, "m2.h5")
    refused(["tune", str(config), "--space", "space.yaml", "--out", str(config)], work,
            "same file as the config")


def test_a_study_file_in_missing_folders_makes_them(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    from fcnn_cli.tuning.study import open_storage, storage_url

    url = storage_url(f"sqlite:///{tmp_path / 'a' / 'b' / 'x.db'}", "s", tmp_path / "best.yaml")
    open_storage(url, heartbeat=False)
    assert (tmp_path / "a" / "b" / "x.db").is_file()
