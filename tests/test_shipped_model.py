"""The committed models/mnist.h5: readable without fcnn, and right on the shipped images."""

import json
import re
from pathlib import Path

import h5py
import numpy as np
from typer.testing import CliRunner

from fcnn_cli.cli import app

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "mnist.h5"
IMAGES = ROOT / "examples" / "images"


def true_label(path: Path) -> str:
    return re.search(r"(?:label-|user-)(\d)", path.name).group(1)


def predict_json(*inputs: Path) -> list[dict]:
    result = CliRunner().invoke(app, ["predict", str(MODEL), *map(str, inputs), "--json"])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def test_predict_gets_every_shipped_image_right() -> None:
    images = sorted(p for p in IMAGES.iterdir() if p.suffix in (".png", ".jpg", ".gif"))
    assert len(images) >= 10
    predictions = predict_json(*images)
    assert [p["label"] for p in predictions] == [true_label(p) for p in images]


def forward_by_hand(path: Path, x_raw: np.ndarray) -> np.ndarray:
    """The README's recipe, using h5py and NumPy only."""
    activations = {
        "relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "tanh": np.tanh, "linear": lambda z: z,
        "softmax": lambda z: np.exp(z - z.max(1, keepdims=True))
        / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True),
    }
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "fcnn-model"
        a = (x_raw.reshape(len(x_raw), -1) - f["preprocess/mean"][()]) / f["preprocess/std"][()]
        for l in range(1, len(f["layers"]) + 1):
            w, b = f[f"layers/{l}/w"][()], f[f"layers/{l}/b"][()]
            a = activations[f[f"layers/{l}/w"].attrs["activation"]](a @ w.T + b)
        names = [n.decode() if isinstance(n, bytes) else str(n)
                 for n in f["preprocess"].attrs["class_names"]]
    return np.array(names)[a.argmax(axis=1)]


def test_an_independent_reader_gets_the_same_predictions_as_fcnn(tmp_path: Path) -> None:
    from PIL import Image

    images = sorted(IMAGES.glob("mnist-test-*.png"))
    raw = np.stack([np.asarray(Image.open(p).convert("L"), dtype=np.float32) for p in images])
    np.save(tmp_path / "batch.npy", raw)
    by_hand = forward_by_hand(MODEL, raw)
    by_fcnn = [p["label"] for p in predict_json(tmp_path / "batch.npy")]
    assert by_hand.tolist() == by_fcnn
    assert by_fcnn == [true_label(p) for p in images]


def test_the_shipped_model_reaches_98_percent_on_the_mnist_test_set(mnist_dir: Path) -> None:
    result = CliRunner().invoke(app, ["eval", str(MODEL), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["accuracy"] >= 0.98
