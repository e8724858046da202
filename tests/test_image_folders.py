"""Image folders: the configured pipeline, stored in the model and applied by predict;
parallel loading with progress; unreadable files named, or skipped and counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fcnn_cli import api
from fcnn_cli.config import load_config
from fcnn_cli.data.image_spec import ImageSpec
from fcnn_cli.data.sources import load_dataset
from fcnn_cli.errors import FcnnError


def _shapes(root: Path, per_class: int = 12, size: tuple[int, int] = (40, 60)) -> Path:
    """Two classes of colour pictures: a red disc or a blue bar on light paper."""
    rng = np.random.default_rng(0)
    rows, cols = np.indices(size)
    for kind in ("disc", "bar"):
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            picture = np.full((*size, 3), 235, np.uint8) + rng.integers(0, 10, (*size, 3),
                                                                        dtype=np.uint8)
            cy, cx = size[0] // 2 + rng.integers(-4, 5), size[1] // 2 + rng.integers(-6, 7)
            if kind == "disc":
                inside = (rows - cy) ** 2 + (cols - cx) ** 2 < 12 ** 2
                picture[inside] = (200, 30, 30)
            else:
                inside = (abs(rows - cy) < 4) & (abs(cols - cx) < 20)
                picture[inside] = (30, 30, 200)
            Image.fromarray(picture).save(root / kind / f"{i}.png")
    return root


def _config(root: Path, **image: object) -> dict:
    return {"data": {"path": str(root), "val_fraction": 0.0, "image": image},
            "model": {"layers": [{"units": 8}, {"units": 2, "activation": "softmax"}]},
            "training": {"epochs": 2, "batch_size": 8}}


def test_an_image_folder_is_read_with_the_configured_pipeline(tmp_path: Path) -> None:
    root = _shapes(tmp_path / "shapes")
    spec = ImageSpec("resize", (16, 24), 3, "stretch")
    dataset = load_dataset(path=root, image=spec)
    assert dataset.x_train.shape == (24, 16, 24, 3) and dataset.x_train.dtype == np.uint8
    assert dataset.image == spec and dataset.input_shape == (16, 24, 3)
    disc = dataset.x_train[dataset.y_train == dataset.class_names.index("disc")][0]
    red, _, blue = disc[8, 12]  # the middle of a red disc
    assert red > 150 and blue < 100


def test_the_model_stores_its_pipeline_and_predict_applies_it(tmp_path: Path) -> None:
    root = _shapes(tmp_path / "shapes")
    config = _config(root, pipeline="resize", size=[16, 16], channels=3)
    outcome = api.train(config, out=tmp_path / "m.h5")
    model = api.load_model(tmp_path / "m.h5")
    assert model.image == ImageSpec("resize", (16, 16), 3, "pad")
    picture = root / "disc" / "0.png"
    assert np.array_equal(model.predict_proba(picture), outcome.model.predict_proba(picture))
    assert model.predict_proba([picture, root / "bar"]).shape == (13, 2)


def test_loading_reports_progress_to_the_last_file(tmp_path: Path) -> None:
    root = _shapes(tmp_path / "shapes", per_class=40)
    seen: list[tuple[int, int]] = []
    load_dataset(path=root, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (80, 80) and all(total == 80 for _, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_parallel_loading_gives_the_same_pixels_as_one_process(tmp_path: Path,
                                                               monkeypatch) -> None:
    root = _shapes(tmp_path / "shapes", per_class=40)
    together = load_dataset(path=root).x_train
    monkeypatch.setattr("fcnn_cli.data.prepare._cores", lambda: 1)
    assert np.array_equal(load_dataset(path=root).x_train, together)


def test_an_unreadable_picture_is_one_error_naming_the_file(tmp_path: Path) -> None:
    root = _shapes(tmp_path / "shapes")
    (root / "bar" / "broken.png").write_bytes(b"not a picture")
    with pytest.raises(FcnnError, match="broken.png"):
        load_dataset(path=root)


def test_unreadable_pictures_can_be_skipped_and_are_counted(tmp_path: Path) -> None:
    root = _shapes(tmp_path / "shapes")
    (root / "bar" / "broken.png").write_bytes(b"not a picture")
    (root / "disc" / "empty.jpg").write_bytes(b"")
    dataset = load_dataset(path=root, skip_unreadable=True)
    assert len(dataset.x_train) == 24 and len(dataset.skipped) == 2
    assert any("broken.png" in why for why in dataset.skipped)
    assert np.bincount(dataset.y_train).tolist() == [12, 12]


def test_training_warns_how_many_pictures_it_left_out(tmp_path: Path) -> None:
    root = _shapes(tmp_path / "shapes")
    (root / "bar" / "broken.png").write_bytes(b"not a picture")
    config = _config(root, skip_unreadable=True)
    outcome = api.train(config, out=tmp_path / "m.h5")
    assert any("left out 1 unreadable" in warning for warning in outcome.warnings)


def test_rgb_needs_the_resize_pipeline() -> None:
    config = {"data": {"path": "x", "image": {"pipeline": "digit", "channels": 3}},
              "model": {"layers": [{"units": 2}]}}
    with pytest.raises(FcnnError, match="channels: 3 .* pipeline: resize"):
        load_config(config)


def test_fashion_mnist_pictures_default_to_the_object_pipeline() -> None:
    config = load_config({"data": {"dataset": "fashion-mnist"},
                          "model": {"layers": [{"units": 10, "activation": "softmax"}]}})
    assert config.data.image_spec() == ImageSpec("object", (28, 28))
    config = load_config({"data": {"dataset": "mnist"},
                          "model": {"layers": [{"units": 10, "activation": "softmax"}]}})
    assert config.data.image_spec() == ImageSpec("digit", (28, 28))


def test_a_size_that_does_not_match_the_dataset_is_an_error(mnist_dir: Path) -> None:
    config = load_config({"data": {"path": str(mnist_dir), "image": {"size": [32, 32]}},
                          "model": {"layers": [{"units": 10, "activation": "softmax"}]}})
    with pytest.raises(FcnnError, match=r"data.image.size is \[32, 32\] but .* 28×28"):
        config.data.load()


def test_models_from_before_pipelines_read_pictures_as_digits() -> None:
    assert api.load_model("mnist").image == ImageSpec("digit", (28, 28))
