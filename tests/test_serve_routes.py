"""`fcnn serve`'s routes on the shipped MNIST model: every route answers, and every
protocol answers with `fcnn predict`'s numbers, bit for bit."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from fcnn_cli import api  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402
from fcnn_cli.serving.app import create_app  # noqa: E402
from fcnn_cli.serving.options import ServeOptions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEVEN = ROOT / "examples" / "images" / "mnist-test-0000-label-7.png"
TWO = ROOT / "examples" / "images" / "mnist-test-0001-label-2.png"


@pytest.fixture(scope="module")
def model() -> Model:
    return api.load_model("mnist")


@pytest.fixture(scope="module")
def client(model: Model) -> Iterator[TestClient]:
    with TestClient(create_app(model)) as client:
        yield client


@pytest.fixture(scope="module")
def digits(mnist_dir: Path) -> np.ndarray:
    """The first three MNIST test digits, pixels 0–255, as rows of 784."""
    with gzip.open(mnist_dir / "t10k-images-idx3-ubyte.gz") as file:
        raw = file.read(16 + 3 * 784)
    return np.frombuffer(raw, np.uint8, offset=16).reshape(3, 784)


def _v2(rows: np.ndarray, **extra: object) -> dict[str, object]:
    return {"inputs": [{"name": "input", "shape": list(rows.shape), "datatype": "FP32",
                        "data": rows.ravel().tolist()}], **extra}


def _in_a_batch(model: Model, rows: np.ndarray) -> np.ndarray:
    """What `fcnn predict` computes for `rows` in a batch of 64 (a .npy of 64 rows, one
    BLAS thread, as the server's worker runs). A row alone can differ in its last bits:
    BLAS picks other kernels for one row (see fcnn_cli/serving/batcher.py)."""
    from fcnn_cli.threads import blas_threads

    batch = np.vstack([rows, np.repeat(rows[:1], 64 - len(rows), axis=0)])
    with blas_threads(1):
        return model.results(model.outputs(batch))[:len(rows)]


def _pictures(model: Model, paths: list[Path]) -> np.ndarray:
    """Picture files as `fcnn predict` prepares them: rows of raw pixels."""
    from fcnn_cli.data.images import load_image

    assert model.image is not None
    return np.vstack([np.asarray(load_image(path, model.image, model.pixel_max or 255.0).pixels,
                                 np.float32).reshape(1, -1) for path in paths])


def _outputs(answer: dict) -> np.ndarray:
    (output,) = answer["outputs"]
    return np.array(output["data"], np.float32).reshape(output["shape"])


def test_v2_infer_answers_with_the_numbers_of_predict(client: TestClient, model: Model,
                                                      digits: np.ndarray) -> None:
    response = client.post("/v2/models/mnist/infer", json=_v2(digits[:1]))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["model_name"] == "mnist" and answer["model_version"] == "1"
    assert answer["outputs"][0]["name"] == "probabilities"
    assert answer["outputs"][0]["datatype"] == "FP32" and answer["outputs"][0]["shape"] == [1, 10]
    np.testing.assert_array_equal(_outputs(answer), _in_a_batch(model, digits[:1]))
    np.testing.assert_allclose(_outputs(answer), model.outputs(digits[:1]), rtol=1e-4,
                               atol=1e-9)


def test_v2_infer_takes_several_rows_nested_and_echoes_the_id(client: TestClient, model: Model,
                                                             digits: np.ndarray) -> None:
    body = {"id": "req-42", "inputs": [{"name": "input", "shape": [3, 28, 28],
                                        "datatype": "UINT8",
                                        "data": digits.reshape(3, 28, 28).tolist()}],
            "outputs": [{"name": "probabilities"}]}
    answer = client.post("/v2/models/mnist/infer", json=body).json()
    assert answer["id"] == "req-42"
    got = _outputs(answer)
    assert got.shape == (3, 10)
    np.testing.assert_array_equal(got, _in_a_batch(model, digits))


def test_v2_binary_tensor_extension_round_trips(client: TestClient, model: Model,
                                                digits: np.ndarray) -> None:
    header = json.dumps({"inputs": [{"name": "input", "shape": [2, 784], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 2 * 784 * 4}}],
                         "outputs": [{"name": "probabilities",
                                      "parameters": {"binary_data": True}}]}).encode()
    body = header + digits[:2].astype("<f4").tobytes()
    response = client.post("/v2/models/mnist/infer", content=body,
                           headers={"Inference-Header-Content-Length": str(len(header)),
                                    "Content-Type": "application/octet-stream"})
    assert response.status_code == 200, response.text
    length = int(response.headers["Inference-Header-Content-Length"])
    head = json.loads(response.content[:length])
    assert head["outputs"][0]["parameters"] == {"binary_data_size": 2 * 10 * 4}
    got = np.frombuffer(response.content[length:], "<f4").reshape(2, 10)
    np.testing.assert_array_equal(got, _in_a_batch(model, digits[:2]))


def test_v2_health_metadata_and_readiness(client: TestClient) -> None:
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").status_code == 200
    server = client.get("/v2").json()
    assert server["name"] == "fcnn" and "binary_tensor_data" in server["extensions"]
    meta = client.get("/v2/models/mnist").json()
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 784]}]
    assert meta["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}]
    assert client.get("/v2/models/mnist/ready").json() == {"name": "mnist", "ready": True}
    assert client.get("/v2/models/mnist/versions/1").json() == meta


def test_v2_versioned_infer_route_answers_too(client: TestClient, digits: np.ndarray) -> None:
    response = client.post("/v2/models/mnist/versions/1/infer", json=_v2(digits[:1]))
    assert response.status_code == 200 and _outputs(response.json()).shape == (1, 10)


def test_the_name_option_renames_the_model_in_urls(model: Model, digits: np.ndarray) -> None:
    with TestClient(create_app(model, ServeOptions(name="digits-v3"))) as client:
        assert client.post("/v2/models/digits-v3/infer", json=_v2(digits[:1])).status_code == 200
        assert client.post("/v2/models/mnist/infer", json=_v2(digits[:1])).status_code == 404


def test_mlflow_inputs_answer_labels_as_pyfunc_does(client: TestClient, model: Model,
                                                    digits: np.ndarray) -> None:
    response = client.post("/invocations", json={"inputs": digits.tolist()})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": list(model.predict(digits))}


def test_mlflow_probabilities_by_params_or_query(client: TestClient, model: Model,
                                                 digits: np.ndarray) -> None:
    by_params = client.post("/invocations", json={"instances": digits.tolist(),
                                                  "params": {"probabilities": True}}).json()
    by_query = client.post("/invocations?probabilities=true",
                           json={"instances": digits.tolist()}).json()
    assert by_params == by_query
    np.testing.assert_array_equal(np.array(by_params["predictions"], np.float32),
                                  _in_a_batch(model, digits))


def test_mlflow_dataframe_split_and_records(client: TestClient, model: Model,
                                            digits: np.ndarray) -> None:
    columns = [f"pixel{i}" for i in range(784)]
    split = {"dataframe_split": {"columns": columns, "data": digits[:2].tolist()}}
    records = {"dataframe_records": [dict(zip(columns, row.tolist())) for row in digits[:2]]}
    expected = {"predictions": list(model.predict(digits[:2]))}
    assert client.post("/invocations", json=split).json() == expected
    assert client.post("/invocations", json=records).json() == expected


def test_mlflow_csv_body(client: TestClient, model: Model, digits: np.ndarray) -> None:
    text = "\n".join(",".join(str(v) for v in row) for row in digits) + "\n"
    response = client.post("/invocations", content=text, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": list(model.predict(digits))}


def test_mlflow_ping_health_and_version(client: TestClient) -> None:
    from fcnn_cli import __version__

    assert client.get("/ping").status_code == 200
    assert client.get("/health").status_code == 200
    assert client.get("/version").text == __version__


def test_predict_uploads_answer_as_fcnn_predict(client: TestClient, model: Model) -> None:
    files = [("file", (SEVEN.name, SEVEN.read_bytes(), "image/png")),
             ("file", (TWO.name, TWO.read_bytes(), "image/png"))]
    response = client.post("/predict", files=files)
    assert response.status_code == 200, response.text
    first, second = response.json()["predictions"]
    assert (first["input"], first["label"], second["label"]) == (SEVEN.name, "7", "2")
    expected = _in_a_batch(model, _pictures(model, [SEVEN, TWO]))
    assert list(first["probabilities"]) == model.class_names
    np.testing.assert_array_equal(np.array(list(first["probabilities"].values()), np.float32),
                                  expected[0])
    assert "seen" not in first and "activations" not in first


def test_predict_explain_shows_the_input_seen_and_hidden_activations(
        client: TestClient, model: Model) -> None:
    response = client.post("/predict?explain=1",
                           files=[("file", (SEVEN.name, SEVEN.read_bytes(), "image/png"))])
    (answer,) = response.json()["predictions"]
    assert answer["seen"]["shape"] == [28, 28] and len(answer["seen"]["pixels"]) == 784
    assert 0 <= min(answer["seen"]["pixels"]) and max(answer["seen"]["pixels"]) <= 1
    layers = answer["activations"]
    assert [(a["layer"], a["units"], a["activation"]) for a in layers] == \
        [(1, 800, "relu"), (2, 800, "relu")]
    assert len(layers[0]["a"]) == 800 and min(layers[0]["a"]) >= 0


def test_info_describes_the_model(client: TestClient) -> None:
    info = client.get("/info").json()
    assert info["name"] == "mnist" and info["task"] == "classification"
    assert info["inputs"] == "image" and info["input_shape"] == [28, 28]
    assert info["classes"] == [str(d) for d in range(10)] and info["features"] is None
    assert info["layers"][-1] == {"units": 10, "activation": "softmax"}
    assert info["image"] == {"pipeline": "digit", "size": [28, 28], "channels": 1}


def test_page_is_served_at_the_root(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()


def test_docs_and_openapi_describe_the_raw_body_routes(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    infer = spec["paths"]["/v2/models/{name}/infer"]["post"]
    schema = infer["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["inputs"]
    invocations = spec["paths"]["/invocations"]["post"]["requestBody"]["content"]
    assert set(invocations) == {"application/json", "text/csv"}
    assert "multipart/form-data" in spec["paths"]["/predict"]["post"]["requestBody"]["content"]


def test_metrics_count_requests_batches_and_errors(model: Model, digits: np.ndarray) -> None:
    with TestClient(create_app(model)) as client:
        client.post("/v2/models/mnist/infer", json=_v2(digits[:2]))
        client.post("/v2/models/mnist/infer", content=b"{")
        client.get("/no/such/route")
        text = client.get("/metrics").text
    assert 'fcnn_requests_total{route="/v2/models/{name}/infer",status="200"} 1.0' in text
    assert 'fcnn_requests_total{route="/v2/models/{name}/infer",status="400"} 1.0' in text
    assert 'route="unmatched",status="404"' in text
    assert 'fcnn_errors_total{kind="bad_request"} 1.0' in text
    assert "fcnn_batch_rows_count 1.0" in text and "fcnn_batch_rows_sum 2.0" in text


def test_concurrent_requests_are_batched_with_the_same_numbers(model: Model,
                                                               digits: np.ndarray) -> None:
    """Many requests at once share forward passes and still get their own row's bits."""
    import asyncio

    import httpx

    app = create_app(model, ServeOptions(max_batch_size=8, max_latency_ms=20))

    async def run() -> list[httpx.Response]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                sends = [http.post("/v2/models/mnist/infer", json=_v2(digits[i % 3:i % 3 + 1]))
                         for i in range(12)]
                answers = await asyncio.gather(*sends)
                answers.append(await http.get("/metrics"))
                return answers

    *answers, metrics = asyncio.run(run())
    for i, response in enumerate(answers):
        np.testing.assert_array_equal(_outputs(response.json()),
                                      _in_a_batch(model, digits[i % 3:i % 3 + 1]))
    count = next(line for line in metrics.text.splitlines()
                 if line.startswith("fcnn_batch_rows_count"))
    assert float(count.split()[-1]) < 12  # fewer passes than requests


def test_the_app_mounts_in_a_user_s_application(model: Model, digits: np.ndarray) -> None:
    """Mounted, the app's lifespan does not run: the batcher starts on the first request;
    the routes keep their meaning under the prefix (health needs no key there either)."""
    from fastapi import FastAPI

    outer = FastAPI()
    outer.mount("/digits", create_app(model, ServeOptions(api_key="k" * 20)))
    with TestClient(outer) as client:
        assert client.get("/digits/ping").status_code == 200
        assert client.post("/digits/v2/models/mnist/infer", json=_v2(digits[:1])
                           ).status_code == 401
        response = client.post("/digits/v2/models/mnist/infer", json=_v2(digits[:1]),
                               headers={"Authorization": "Bearer " + "k" * 20})
        assert response.status_code == 200, response.text
        np.testing.assert_array_equal(_outputs(response.json()), _in_a_batch(model, digits[:1]))
        error = client.post("/digits/invocations", json={},
                            headers={"Authorization": "Bearer " + "k" * 20}).json()
        assert error["error_code"] == "BAD_REQUEST"


def test_worker_processes_rebuild_the_app_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`--workers N`: each uvicorn worker builds the app from variables; the key stays in
    the variable the user named and is never copied into another."""
    from fcnn_cli.serving.app import app_from_environment
    from fcnn_cli.serving.options import environment

    options = ServeOptions(name="digits", max_batch_size=16, cors_origins=("http://a.example",),
                           api_key="k" * 24)
    variables = environment("mnist", options, "MY_KEY")
    assert "k" * 24 not in "".join(variables.values())
    for name, value in {**variables, "MY_KEY": "k" * 24}.items():
        monkeypatch.setenv(name, value)
    app = app_from_environment()
    assert app.state.served.options == options
    with TestClient(app) as client:
        assert client.get("/v2/models/digits", headers={"Authorization": "Bearer " + "k" * 24}
                          ).status_code == 200


@pytest.mark.parametrize(("settings", "fragment"), [
    ({"max_batch_size": 0}, "max_batch_size is 0; it must be a whole number of at least 1"),
    ({"max_body_bytes": 1.5}, "max_body_bytes is 1.5"),
    ({"max_latency_ms": -1}, "max_latency_ms is -1; give 0 to 60000"),
    ({"max_batch_size": 64, "max_queue_rows": 8}, "the queue must hold at least one full batch"),
    ({"api_key": "  "}, "the API key is empty"),
    ({"name": "my/model"}, "cannot be part of a URL"),
])
def test_options_refuse_settings_that_cannot_work(settings: dict, fragment: str) -> None:
    from fcnn_cli.errors import FcnnError

    with pytest.raises(FcnnError) as caught:
        ServeOptions(**settings)
    assert fragment in caught.value.message
