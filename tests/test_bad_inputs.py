"""Bad inputs to predict and eval: one line, exit status 2, never a traceback."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from fcnn_cli.cli import app

runner = CliRunner()


def fails_with(args: list[str], expected: str) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert expected in result.output
    assert len(result.output.strip().splitlines()) <= 3
    return result.output


def test_an_array_of_the_wrong_width_is_refused(digits_model: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 63), dtype=np.float32))
    fails_with(["predict", str(digits_model), str(tmp_path / "x.npy")],
               "each row has 63 values but the model takes 64")


def test_an_array_with_nan_names_the_row_and_column(digits_model: Path, tmp_path: Path) -> None:
    x = np.zeros((3, 64), dtype=np.float32)
    x[1, 5] = np.nan
    np.save(tmp_path / "x.npy", x)
    fails_with(["predict", str(digits_model), str(tmp_path / "x.npy")], "row 2, column 6 is nan")


def test_a_csv_of_the_wrong_width_is_refused(digits_model: Path, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("1,2,3\n4,5,6\n")
    fails_with(["predict", str(digits_model), str(tmp_path / "x.csv")],
               "each row has 3 values but the model takes 64")


def test_a_csv_with_a_word_names_the_row_and_column(digits_model: Path, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("\n".join([",".join(["0"] * 64)] * 2
                                               + [",".join(["0", "1", "two"] + ["0"] * 61)]))
    fails_with(["predict", str(digits_model), str(tmp_path / "x.csv")],
               "row 3, column 3: 'two' is not a number")


def test_a_csv_with_nan_is_refused(digits_model: Path, tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text(",".join(["0"] * 63 + ["nan"]))
    fails_with(["predict", str(digits_model), str(tmp_path / "x.csv")], "row 1, column 64")


def test_a_missing_input_is_named(digits_model: Path, tmp_path: Path) -> None:
    fails_with(["predict", str(digits_model), str(tmp_path / "nope.png")], "input not found")


def test_a_folder_without_images_is_refused(digits_model: Path, tmp_path: Path) -> None:
    fails_with(["predict", str(digits_model), str(tmp_path)], "holds no image files")


def test_a_missing_model_is_named(tmp_path: Path) -> None:
    fails_with(["predict", str(tmp_path / "m.h5"), str(tmp_path)], "model file not found")


def test_a_blank_image_is_still_answered_with_a_warning(digits_model: Path, tmp_path) -> None:
    Image.new("L", (40, 40), 255).save(tmp_path / "blank.png")
    result = runner.invoke(app, ["predict", str(digits_model), str(tmp_path / "blank.png")])
    assert result.exit_code == 0, result.output
    assert "looked empty" in result.output


@pytest.mark.parametrize("split", ["validation", "tests"])
def test_eval_refuses_an_unknown_split(digits_model: Path, split: str) -> None:
    fails_with(["eval", str(digits_model), "--split", split], "is not one of test, val, train")


def test_eval_refuses_a_dataset_of_another_width(digits_model: Path) -> None:
    fails_with(["eval", str(digits_model), "--data", "xor"],
               "xor has 2 inputs per example but the model takes 64")


def test_eval_refuses_a_dataset_with_other_classes(digits_model: Path, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "twelve.npz", x=rng.random((30, 64), dtype=np.float32),
             y=np.arange(30) % 12)
    fails_with(["eval", str(digits_model), "--data", str(tmp_path / "twelve.npz")],
               "has classes the model does not know: '10', '11'")


@pytest.mark.parametrize("array", [np.array(3.0), np.zeros((0, 64))])
def test_an_array_without_inputs_is_refused(digits_model: Path, tmp_path: Path,
                                            array: np.ndarray) -> None:
    np.save(tmp_path / "x.npy", array)
    fails_with(["predict", str(digits_model), str(tmp_path / "x.npy")], "holds no inputs")


def test_a_truncated_model_is_refused_by_predict(digits_model: Path, tmp_path: Path) -> None:
    data = digits_model.read_bytes()
    (tmp_path / "m.h5").write_bytes(data[: len(data) * 2 // 3])
    np.save(tmp_path / "x.npy", np.zeros((1, 64)))
    result = runner.invoke(app, ["predict", str(tmp_path / "m.h5"), str(tmp_path / "x.npy")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "damaged or truncated" in result.output or "not a complete" in result.output


def test_a_class_name_that_looks_like_markup_is_printed_as_is(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("label,a,b\n" + "\n".join(
        f"{'[cat]' if i % 2 else 'dog'},{i % 2},{(i * 7) % 5}" for i in range(40)))
    (tmp_path / "c.yaml").write_text(
        f"data: {{path: {tmp_path / 'c.csv'}, test_fraction: 0.25, val_fraction: 0}}\n"
        "model: {layers: [{units: 2, activation: softmax}]}\n"
        "training: {epochs: 30, batch_size: 8}\n")
    assert runner.invoke(app, ["train", str(tmp_path / "c.yaml"), "--quiet",
                               "--out", str(tmp_path / "m.h5")]).exit_code == 0
    result = runner.invoke(app, ["eval", str(tmp_path / "m.h5")])
    assert "[cat]" in result.output
