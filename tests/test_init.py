"""`fcnn init`: a starter config inferred from the user's data, that trains as it is."""

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from fcnn_cli.cli import app

runner = CliRunner()


def init(*args: str) -> dict:
    result = runner.invoke(app, ["init", *args])
    assert result.exit_code == 0, result.output
    return yaml.safe_load(Path(args[0]).read_text())


def trains(config: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", str(config), "--set", "training.epochs=1",
                                 "--out", str(tmp_path / "m.h5"), "--quiet"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def class_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    rows = ["a,b,c,species"] + [f"{x:.3f},{y:.3f},{z:.3f},{'setosa' if x > 0 else 'virginica'}"
                                for x, y, z in rng.normal(size=(120, 3))]
    (tmp_path / "flowers.csv").write_text("\n".join(rows))
    return tmp_path / "flowers.csv"


def test_a_csv_with_class_names_gets_softmax_outputs_and_trains(class_csv: Path,
                                                                tmp_path: Path) -> None:
    config = init(str(tmp_path / "flowers.yaml"), "--data", str(class_csv))
    assert config["data"]["path"] == str(class_csv)
    assert config["data"]["label_column"] == "species"  # no `label`: the last column
    assert config["model"]["layers"][-1] == {"units": 2, "activation": "softmax"}
    assert config["cost"] == "log-likelihood"
    assert config["data"]["test_fraction"] == 0.1  # no official test split
    assert config["data"]["normalize"] == "standardize"
    trains(tmp_path / "flowers.yaml", tmp_path)


def test_a_csv_with_numeric_targets_gets_a_regression_config(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    rows = ["x1,x2,label"] + [f"{a:.3f},{b:.3f},{2 * a - b:.4f}"
                              for a, b in rng.normal(size=(80, 2))]
    (tmp_path / "line.csv").write_text("\n".join(rows))
    config = init(str(tmp_path / "line.yaml"), "--data", str(tmp_path / "line.csv"))
    assert config["model"]["layers"][-1] == {"units": 1, "activation": "linear"}
    assert config["cost"] == "quadratic"
    trains(tmp_path / "line.yaml", tmp_path)


def test_an_image_folder_gets_its_classes_and_pixel_scaling(tmp_path: Path) -> None:
    for label, value in (("dark", 40), ("light", 220)):
        (tmp_path / "shots" / label).mkdir(parents=True)
        for i in range(3):
            image = np.full((12, 12), 255, np.uint8)
            image[3:9, 3 + i:6 + i] = value
            Image.fromarray(image).save(tmp_path / "shots" / label / f"{i}.png")
    config = init(str(tmp_path / "shots.yaml"), "--data", str(tmp_path / "shots"))
    assert config["model"]["layers"][-1]["units"] == 2
    assert config["data"]["normalize"] == "scale"
    text = (tmp_path / "shots.yaml").read_text()
    assert "6 images of 28×28 inputs, 2 classes (dark, light)" in text


def test_a_dataset_name_is_used_by_name(tmp_path: Path) -> None:
    config = init(str(tmp_path / "d.yaml"), "--data", "digits")
    assert config["data"] == {"dataset": "digits", "val_fraction": 0.1, "test_fraction": 0.1,
                              "normalize": "scale"}
    assert config["model"]["layers"][0]["units"] == 256


def test_a_dataset_with_an_official_test_split_holds_nothing_else_out(
        tmp_path: Path, mnist_dir: Path) -> None:
    config = init(str(tmp_path / "m.yaml"), "--data", str(mnist_dir))
    assert config["data"]["test_fraction"] == 0.0


def test_without_a_path_the_config_is_named_after_the_data(
        class_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "--data", str(class_csv)])
    assert result.exit_code == 0, result.output
    assert "train with: fcnn train flowers.yaml" in result.stdout


def test_an_existing_file_is_kept_unless_forced(class_csv: Path, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("precious")
    result = runner.invoke(app, ["init", str(target), "--data", str(class_csv)])
    assert result.exit_code == 2 and "--force" in result.stderr
    assert target.read_text() == "precious"
    assert runner.invoke(app, ["init", str(target), "--data", str(class_csv), "--force"]
                         ).exit_code == 0


def test_without_data_and_without_a_terminal_it_asks_nothing_and_says_what_to_give() -> None:
    result = runner.invoke(app, ["init"], input="")
    assert result.exit_code == 2 and "give --data PATH" in result.stderr


def test_data_that_cannot_be_read_is_one_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "x.yaml"), "--data",
                                 str(tmp_path / "nope.csv")])
    assert result.exit_code == 2 and "data path not found" in result.stderr


def _folder(root: Path, draw) -> Path:  # type: ignore[no-untyped-def]
    """Two classes of four 48×48 pictures each, drawn by draw(rng, class index)."""
    rng = np.random.default_rng(0)
    for label in range(2):
        (root / f"class{label}").mkdir(parents=True)
        for i in range(4):
            Image.fromarray(draw(rng, label)).save(root / f"class{label}" / f"{i}.png")
    return root


def _strokes(rng: np.random.Generator, label: int) -> np.ndarray:
    picture = np.full((48, 48), 250, np.uint8)
    picture[10:38, 22:25] = 20  # a pen stroke: a "1"
    if label:
        picture[10:13, 14:34] = 20  # and a bar across: a "7"
    return picture


def _filled(rng: np.random.Generator, label: int) -> np.ndarray:
    picture = np.full((48, 48), 245, np.uint8)
    picture[12:36, 12 + 4 * label:36] = 60  # a filled block on plain paper
    return picture


def _busy_colour(rng: np.random.Generator, label: int) -> np.ndarray:
    return rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)  # no plain background at all


@pytest.mark.parametrize(("draw", "pipeline", "channels"), [
    (_strokes, "digit", 1), (_filled, "object", 1), (_busy_colour, "resize", 3)])
def test_an_image_folder_gets_the_pipeline_its_pictures_suggest(
        tmp_path: Path, draw, pipeline: str, channels: int) -> None:  # type: ignore[no-untyped-def]
    folder = _folder(tmp_path / "pictures", draw)
    config = init(str(tmp_path / "p.yaml"), "--data", str(folder))
    assert config["data"]["image"]["pipeline"] == pipeline
    assert config["data"]["image"]["channels"] == channels
    trains(tmp_path / "p.yaml", tmp_path)
