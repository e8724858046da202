"""fcnn export and fcnn import on the command line: the happy path, and bad input as one line."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fcnn_cli.cli import app

runner = CliRunner()


def test_an_unknown_suffix_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", "mnist", str(tmp_path / "model.pb")])
    assert result.exit_code == 2
    assert "give a file ending in .onnx or .keras" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_export_that_fails_leaves_nothing_behind(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import fcnn_cli.exchange.keras_out as keras_out

    def broken(model: object, path: Path) -> None:
        path.write_bytes(b"half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(keras_out, "write_keras", broken)
    result = runner.invoke(app, ["export", "mnist", str(tmp_path / "model.keras")])
    assert result.exit_code == 2
    assert "cannot write" in result.output and "disk full" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_output_is_one_line_and_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["export", "mnist", str(blocker / "model.keras")])
    assert result.exit_code == 2
    assert "cannot write" in result.output


def test_importing_a_missing_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "none.onnx"), str(tmp_path / "m.h5")])
    assert result.exit_code == 2
    assert "no such file" in result.output


def test_import_writes_only_h5_models(tmp_path: Path) -> None:
    source = tmp_path / "m.onnx"
    source.write_bytes(b"\x00")
    result = runner.invoke(app, ["import", str(source), str(tmp_path / "m.keras")])
    assert result.exit_code == 2
    assert "give a name ending in .h5" in result.output


def test_importing_a_file_that_is_not_onnx_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    source = tmp_path / "notes.onnx"
    source.write_text("these are not the weights you are looking for")
    result = runner.invoke(app, ["import", str(source), str(tmp_path / "m.h5")])
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and "notes.onnx" in result.output
    assert not (tmp_path / "m.h5").exists()


def test_export_then_import_through_the_cli_predicts_the_same(tmp_path: Path,
                                                              digits_model: Path) -> None:
    pytest.importorskip("onnx")
    onnx_file, back = tmp_path / "digits.onnx", tmp_path / "back.h5"
    assert runner.invoke(app, ["export", str(digits_model), str(onnx_file)]).exit_code == 0
    result = runner.invoke(app, ["import", str(onnx_file), str(back)])
    assert result.exit_code == 0, result.output
    assert "imported 64-64-10 (10 classes)" in result.output
    from fcnn_cli.api import load_model
    from fcnn_cli.data.sources import load_dataset

    x = load_dataset("digits").x_train[:200]
    assert (load_model(digits_model).predict(x) == load_model(back).predict(x)).all()
