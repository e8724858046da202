"""`fcnn tune --storage DIR/`: a path written with a trailing separator is a folder, as for
every output fcnn writes (fcnn_cli/outputs.py), so the study's SQLite file goes inside it
as `<study>.db`, even when the folder does not exist yet."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.tuning.study import storage_url

runner = CliRunner()


def test_a_storage_path_ending_in_a_slash_names_a_folder(tmp_path: Path) -> None:
    url = storage_url(f"{tmp_path / 'studies'}/", "tiny", tmp_path / "tiny.best.yaml")
    assert url == f"sqlite:///{tmp_path / 'studies' / 'tiny.db'}"
    assert not (tmp_path / "studies").exists()  # made when the study is opened


def test_an_sqlite_url_ending_in_a_slash_names_a_folder(tmp_path: Path) -> None:
    url = storage_url(f"sqlite:///{tmp_path / 'studies'}/", "tiny", tmp_path / "b.yaml")
    assert url == f"sqlite:///{tmp_path / 'studies' / 'tiny.db'}"


def test_tune_writes_its_study_inside_a_new_storage_folder(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    (tmp_path / "c.yaml").write_text(
        "name: tiny\ndata: {dataset: digits, val_fraction: 0.2}\nmodel: {layers: "
        "[{units: 8}, {units: 10, activation: softmax}]}\ntraining: {epochs: 1}\n")
    (tmp_path / "space.yaml").write_text("training.optimizer.lr: {low: 0.01, high: 0.5}\n")
    result = runner.invoke(app, ["tune", str(tmp_path / "c.yaml"), "--space",
                                 str(tmp_path / "space.yaml"), "--trials", "1", "--storage",
                                 f"{tmp_path / 'studies'}/", "--out", str(tmp_path / "b.yaml")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "studies" / "tiny.db").is_file()
