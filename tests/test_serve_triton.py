"""A real Open Inference Protocol V2 client, `tritonclient.http`, used unchanged against
the app under uvicorn: health, metadata, and inference with binary and JSON tensors."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
http = pytest.importorskip("tritonclient.http")
from serve_process import in_thread  # noqa: E402
from tritonclient.utils import InferenceServerException  # noqa: E402

from fcnn_cli import api  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402
from fcnn_cli.serving.app import create_app  # noqa: E402


@pytest.fixture(scope="module")
def model() -> Model:
    return api.load_model("mnist")


@pytest.fixture(scope="module")
def url(model: Model) -> Iterator[str]:
    """The app under uvicorn on a free port, in a background thread."""
    with in_thread(create_app(model)) as address:
        yield address.removeprefix("http://")


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[object]:
    triton = http.InferenceServerClient(url=url)
    yield triton
    triton.close()


@pytest.fixture(scope="module")
def digits(mnist_dir: Path) -> np.ndarray:
    with gzip.open(mnist_dir / "t10k-images-idx3-ubyte.gz") as file:
        raw = file.read(16 + 4 * 784)
    return np.frombuffer(raw, np.uint8, offset=16).reshape(4, 784).astype(np.float32)


def _reference(model: Model, rows: np.ndarray) -> np.ndarray:
    """`fcnn predict`'s numbers for these rows in a batch (as the server computes them)."""
    from fcnn_cli.threads import blas_threads

    batch = np.vstack([rows, np.repeat(rows[:1], 64 - len(rows), axis=0)])
    with blas_threads(1):
        return model.outputs(batch)[:len(rows)]


def test_health_and_metadata(client: object) -> None:
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("mnist")
    assert client.get_server_metadata()["name"] == "fcnn"
    meta = client.get_model_metadata("mnist")
    assert meta["inputs"][0] == {"name": "input", "datatype": "FP32", "shape": [-1, 784]}
    assert meta["outputs"][0]["name"] == "probabilities"


@pytest.mark.parametrize("binary", [True, False])
def test_infer_with_binary_or_json_tensors(client: object, model: Model, digits: np.ndarray,
                                           binary: bool) -> None:
    given = http.InferInput("input", list(digits.shape), "FP32")
    given.set_data_from_numpy(digits, binary_data=binary)
    wanted = http.InferRequestedOutput("probabilities", binary_data=binary)
    result = client.infer("mnist", [given], outputs=[wanted], request_id="r1")
    got = result.as_numpy("probabilities")
    assert got.dtype == np.float32 and got.shape == (4, 10)
    np.testing.assert_array_equal(got, _reference(model, digits))
    assert result.get_response()["id"] == "r1"


def test_infer_naming_no_output_gets_every_output(client: object, model: Model,
                                                  digits: np.ndarray) -> None:
    given = http.InferInput("input", [1, 784], "FP32")
    given.set_data_from_numpy(digits[:1])
    got = client.infer("mnist", [given], model_version="1").as_numpy("probabilities")
    np.testing.assert_array_equal(got, _reference(model, digits[:1]))


def test_errors_reach_the_client_as_its_own_exception(client: object,
                                                      digits: np.ndarray) -> None:
    given = http.InferInput("input", [1, 784], "FP32")
    given.set_data_from_numpy(digits[:1])
    with pytest.raises(InferenceServerException, match="no model 'resnet' here"):
        client.infer("resnet", [given])
    wrong = http.InferInput("input", [1, 780], "FP32")
    wrong.set_data_from_numpy(digits[:1, :780])
    with pytest.raises(InferenceServerException, match="takes rows of 784 values"):
        client.infer("mnist", [wrong])
