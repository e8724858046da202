"""`.keras` export: Keras loads the hand-written archive and computes what fcnn computes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # Keras reads it once, on import
keras = pytest.importorskip("keras")
pytest.importorskip("torch")

from fcnn_cli.api import load_model  # noqa: E402
from fcnn_cli.data.split import Normalizer  # noqa: E402
from fcnn_cli.exchange.keras_out import write_keras  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402
from fcnn_cli.nn import Network  # noqa: E402
from fcnn_cli.nn.activations import PReLU  # noqa: E402

# Keras' torch backend converts tensors with np.array(x, copy=False), which NumPy 2 warns
# about once per weight; it is Keras' own business, not the archive's.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
FEATURES = 6
TOLERANCE = 1e-5
HIDDEN = ("relu", "leaky-relu", "prelu", "sigmoid", "tanh", "swish", "linear")
DTYPES = (np.float32, np.float64)


def _tiny_model(hidden: str = "relu", output: str = "softmax", normalize: str = "scale",
                dtype: type = np.float32, seed: int = 0) -> Model:
    """A 6-5-4-K network with fresh weights, biases and PReLU slopes that are not zero."""
    rng = np.random.default_rng(seed)
    units = {"softmax": 3, "sigmoid": 1, "linear": 2}[output]
    network = Network.create([FEATURES, 5, 4, units], [hidden, hidden, output],
                             rng=rng, dtype=dtype, slope=0.2)
    for b in network.b:
        b[:] = rng.normal(scale=0.5, size=b.shape)
    for act in network.activations:
        if isinstance(act, PReLU):
            act.alpha[:] = rng.uniform(-0.5, 0.5, act.alpha.shape)
    classes = None if output == "linear" else ["no", "yes"] if units == 1 else ["a", "b", "c"]
    targets = Normalizer("standardize", np.float32([10.0, -3.0]), np.float32([4.0, 0.5]))
    return Model(network, _normalizer(normalize, rng), (FEATURES,), classes,
                 target_normalizer=targets if classes is None else None)


def _normalizer(kind: str, rng: np.random.Generator) -> Normalizer:
    if kind == "scale":
        return Normalizer(kind, np.zeros((), np.float32), np.full((), 255.0, np.float32))
    if kind == "standardize":
        return Normalizer(kind, rng.uniform(50, 150, FEATURES).astype(np.float32),
                          rng.uniform(10, 80, FEATURES).astype(np.float32))
    return Normalizer(kind, np.zeros((), np.float32), np.ones((), np.float32))


def _raw_inputs(normalize: str, rows: int = 64) -> np.ndarray:
    rng = np.random.default_rng(1)
    if normalize == "none":
        return rng.normal(scale=2.0, size=(rows, FEATURES)).astype(np.float32)
    return rng.integers(0, 256, size=(rows, FEATURES)).astype(np.float32)  # raw pixel units


def _fcnn_outputs(model: Model, x: np.ndarray) -> np.ndarray:
    """What the Keras model should give: probabilities (a single sigmoid's P(yes)), or a
    regression's outputs in target units."""
    if not model.is_classifier:
        return model.predict(x)
    proba = model.predict_proba(x)
    return proba[:, 1:] if model.architecture[-1] == 1 else proba


def _through_keras(model: Model, x: np.ndarray, tmp_path: Path) -> np.ndarray:
    path = tmp_path / "model.keras"
    write_keras(model, path)
    return np.asarray(keras.saving.load_model(path).predict(x, verbose=0))


def _assert_agree(model: Model, x: np.ndarray, tmp_path: Path) -> None:
    expected = _fcnn_outputs(model, x)
    np.testing.assert_allclose(_through_keras(model, x, tmp_path), expected,
                               rtol=TOLERANCE, atol=TOLERANCE)


def test_shipped_mnist_model_agrees_with_fcnn_on_the_mnist_test_set(mnist_dir: Path,
                                                                     tmp_path: Path) -> None:
    from fcnn_cli.data.sources import load_dataset

    fcnn_model = load_model("mnist")
    x = load_dataset("mnist", mnist_dir).x_test.reshape(-1, 784).astype("float32")
    expected = fcnn_model.predict_proba(x)
    proba = _through_keras(fcnn_model, x, tmp_path)
    assert np.array_equal(proba.argmax(axis=1), expected.argmax(axis=1))
    np.testing.assert_allclose(proba, expected, atol=TOLERANCE)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_each_hidden_activation_agrees(hidden: str, dtype: type, tmp_path: Path) -> None:
    _assert_agree(_tiny_model(hidden=hidden, dtype=dtype), _raw_inputs("scale"), tmp_path)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
def test_each_output_layer_agrees(output: str, dtype: type, tmp_path: Path) -> None:
    """softmax, a single sigmoid unit, and a regression's de-normalised linear outputs."""
    model = _tiny_model(hidden="tanh", output=output, normalize="standardize", dtype=dtype)
    _assert_agree(model, _raw_inputs("standardize"), tmp_path)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("normalize", ["scale", "standardize", "none"])
def test_each_preprocessing_agrees_on_raw_inputs(normalize: str, dtype: type,
                                                 tmp_path: Path) -> None:
    model = _tiny_model(hidden="prelu", normalize=normalize, dtype=dtype)
    _assert_agree(model, _raw_inputs(normalize), tmp_path)


def test_float64_models_stay_float64_in_keras(tmp_path: Path) -> None:
    path = tmp_path / "model.keras"
    write_keras(_tiny_model(hidden="leaky-relu", dtype=np.float64), path)
    loaded = keras.saving.load_model(path)
    assert {w.dtype for layer in loaded.layers[1:] for w in layer.weights} == {"float64"}


def test_exporting_does_not_import_keras(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from fcnn_cli.api import load_model\n"
        "from fcnn_cli.exchange.keras_out import write_keras\n"
        f"write_keras(load_model('mnist'), Path({str(tmp_path / 'm.keras')!r}))\n"
        "assert 'keras' not in sys.modules, 'keras was imported'\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m.keras").stat().st_size > 0


def test_archive_holds_exactly_the_files_keras_writes(tmp_path: Path) -> None:
    """Same members, order, compression and weights layout as Keras' own save of the
    loaded model; config.json's layers keep their classes and names."""
    ours, theirs = tmp_path / "ours.keras", tmp_path / "theirs.keras"
    write_keras(_tiny_model(hidden="prelu", output="linear", normalize="standardize"), ours)
    keras.saving.load_model(ours).save(theirs)
    assert _members(ours) == _members(theirs) == [
        ("metadata.json", zipfile.ZIP_STORED), ("config.json", zipfile.ZIP_STORED),
        ("model.weights.h5", zipfile.ZIP_STORED)]
    assert _weights_layout(ours) == _weights_layout(theirs)
    assert _layer_names(ours) == _layer_names(theirs) == [
        ("InputLayer", "input"), ("Normalization", "preprocess"), ("Dense", "dense_1"),
        ("PReLU", "prelu_1"), ("Dense", "dense_2"), ("PReLU", "prelu_2"),
        ("Dense", "dense_3"), ("Rescaling", "to_target_units")]


def _members(path: Path) -> list[tuple[str, int]]:
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, info.compress_type) for info in archive.infolist()]


def _weights_layout(path: Path) -> list[tuple[str, dict, tuple | None, str]]:
    """Every group and dataset of model.weights.h5: path, attributes, shape, dtype."""
    with zipfile.ZipFile(path) as archive:
        data = archive.read("model.weights.h5")
    found: list[tuple[str, dict, tuple | None, str]] = []
    with h5py.File(io.BytesIO(data), "r") as h5:
        h5.visititems(lambda name, item: found.append(
            (name, dict(item.attrs), getattr(item, "shape", None),
             str(getattr(item, "dtype", "")))))
    return found


def _layer_names(path: Path) -> list[tuple[str, str]]:
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return [(layer["class_name"], layer["config"]["name"])
            for layer in config["config"]["layers"]]
