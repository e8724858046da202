"""`fcnn forward-trace --model MODEL.h5 --input IMAGE_OR_NPY`: one real example, traced.

The model is a small random 784-20-10 network saved with `save_model`; expected numbers
come from a NumPy forward pass written here on the same weights.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fcnn_cli.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from fcnn_cli.data.split import Normalizer
    from fcnn_cli.nn import Network
    from fcnn_cli.store import Model, save_model

    folder = tmp_path_factory.mktemp("model")
    rng = np.random.default_rng(7)
    net = Network.create([784, 20, 10], ["relu", "softmax"], "log-likelihood", "he", rng)
    pixels = rng.integers(0, 256, size=(28, 28)).astype(np.uint8)
    model = Model(net, Normalizer.fit("scale", pixels[None], 255.0), (28, 28),
                  [f"digit {i}" for i in range(10)], 255.0,
                  "training:\n  optimizer: {name: sgd, lr: 0.05}\n")
    save_model(folder / "model.h5", model)
    np.save(folder / "x.npy", pixels)
    return {"model": folder / "model.h5", "input": folder / "x.npy", "pixels": pixels,
            "w": [w.astype(np.float64) for w in net.w], "b": [b.astype(np.float64) for b in net.b]}


def trace(files: dict, *extra: str) -> str:
    result = runner.invoke(app, ["forward-trace", "--model", str(files["model"]),
                                 "--input", str(files["input"]), *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def forward(files: dict) -> tuple[np.ndarray, np.ndarray]:
    x = files["pixels"].reshape(1, -1).astype(np.float64) / 255.0
    z1 = x @ files["w"][0].T + files["b"][0]
    z2 = np.maximum(z1, 0) @ files["w"][1].T + files["b"][1]
    return z1, z2


def test_model_trace_json_follows_the_design_on_the_normalised_input(files: dict) -> None:
    out = json.loads(trace(files, "--format", "json"))
    assert out["architecture"] == [784, 20, 10]
    assert out["cost_name"] == "log-likelihood" and out["lr"] == 0.05
    np.testing.assert_allclose(out["x"], files["pixels"].reshape(1, -1) / 255.0, atol=1e-7)
    z1, z2 = forward(files)
    np.testing.assert_allclose(out["layers"][0]["z"], z1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["layers"][1]["z"], z2, rtol=1e-5, atol=1e-6)
    assert out["gradient_check"]["max_rel_error"] < 1e-6


def test_the_target_defaults_to_the_predicted_class_and_says_so(files: dict) -> None:
    out = json.loads(trace(files, "--format", "json"))
    predicted = int(np.argmax(forward(files)[1]))
    assert out["y"] == [np.eye(10)[predicted].tolist()]
    assert f"target y: 'digit {predicted}', the predicted class" in trace(files)


def test_target_picks_another_class_by_name(files: dict) -> None:
    out = json.loads(trace(files, "--target", "digit 3", "--format", "json"))
    assert out["y"] == [np.eye(10)[3].tolist()]
    a = np.array(out["layers"][1]["a"])
    np.testing.assert_allclose(out["layers"][1]["delta"], a - np.eye(10)[3], atol=1e-12)


def test_an_unknown_target_exits_2(files: dict) -> None:
    result = runner.invoke(app, ["forward-trace", "--model", str(files["model"]),
                                 "--input", str(files["input"]), "--target", "cat"])
    assert result.exit_code == 2 and "--target 'cat'" in result.stderr


def test_wide_layers_are_summarised_not_printed_in_full(files: dict) -> None:
    out = trace(files)
    assert "too wide to print in full" in out and "20×784" in out
    assert "the 5 units with the largest |δ¹|" in out
    assert max(len(re.findall(r"\d\.\d", line)) for line in out.splitlines()) <= 10


def test_the_summary_lists_the_five_units_with_the_largest_delta(files: dict) -> None:
    delta = np.abs(json.loads(trace(files, "--format", "json"))["layers"][0]["delta"][0])
    markdown = trace(files, "--format", "markdown")
    section = markdown.split("the 5 units with the largest")[1].split("## Layer 2")[0]
    shown = [int(m) for m in re.findall(r"^\| (\d+) \|", section, flags=re.MULTILINE)]
    assert shown == [int(j) + 1 for j in np.argsort(-delta, kind="stable")[:5]]


def test_the_output_layer_shows_every_class(files: dict) -> None:
    out = trace(files)
    assert all(f"(digit {i})" in out for i in range(10))


def test_an_image_file_goes_through_the_image_pipeline(files: dict, tmp_path: Path) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(image).line([(60, 15), (60, 105)], fill=0, width=8)   # a dark "1"
    image.save(tmp_path / "one.png")
    result = runner.invoke(app, ["forward-trace", "--model", str(files["model"]),
                                 "--input", str(tmp_path / "one.png"), "--format", "json"])
    assert result.exit_code == 0, result.output
    x = np.array(json.loads(result.stdout)["x"])
    assert x.shape == (1, 784) and 0 <= x.min() and x.max() <= 1 and x.max() > 0.5


def test_an_input_holding_several_examples_exits_2(files: dict, tmp_path: Path) -> None:
    np.save(tmp_path / "two.npy", np.stack([files["pixels"]] * 2))
    result = runner.invoke(app, ["forward-trace", "--model", str(files["model"]),
                                 "--input", str(tmp_path / "two.npy")])
    assert result.exit_code == 2 and "holds 2 inputs" in result.stderr
