"""Every bad request gets a 4xx (503 when busy) with JSON `{"error": "<one line>"}` naming
the problem: never a 500, a traceback, or a dead server. The test client re-raises any
exception the app lets through, so a 500 fails these tests loudly."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from fcnn_cli import api  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402
from fcnn_cli.serving.app import create_app  # noqa: E402
from fcnn_cli.serving.options import ServeOptions  # noqa: E402

INFER = "/v2/models/mnist/infer"
LIMIT = 256 * 1024  # bytes of body the test server takes
ROW = [0.0] * 784


@pytest.fixture(scope="module")
def model() -> Model:
    return api.load_model("mnist")


@pytest.fixture(scope="module")
def client(model: Model) -> Iterator[TestClient]:
    options = ServeOptions(max_body_bytes=LIMIT, max_queue_rows=64)
    with TestClient(create_app(model, options)) as client:
        yield client


def _tensor(data: object, shape: object = (1, 784), datatype: object = "FP32",
            name: object = "input") -> dict:
    return {"inputs": [{"name": name, "shape": list(shape) if isinstance(shape, tuple)
                        else shape, "datatype": datatype, "data": data}]}


def _refused(response, status: int, fragment: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert fragment in body["error"], body["error"]
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    return body


def _raw(client: TestClient, body: bytes | str, path: str = INFER,
         media: str = "application/json"):  # type: ignore[no-untyped-def]
    return client.post(path, content=body, headers={"Content-Type": media})


# --- JSON ------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "fragment"), [
    (b"", "the request body is empty"),
    (b"{", "the body is not valid JSON (Expecting property name"),
    (b'{"inputs": [1, 2,]}', "the body is not valid JSON"),
    (b'{"inputs": "\xff"}', "cannot be read as JSON"),
    (b"[1, 2]", "the body must be a JSON object with `inputs`"),
    (b'{"input": []}', "the request has no `inputs`"),
    (b'{"inputs": []}', "`inputs` that is not a non-empty list"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_malformed_json_is_a_400(client: TestClient, body: bytes, fragment: str) -> None:
    _refused(_raw(client, body), 400, fragment)


@pytest.mark.parametrize(("literal", "fragment"), [
    ("NaN", "NaN, which is not a JSON number"),
    ("Infinity", "Infinity, which is not a JSON number"),
    ("-Infinity", "-Infinity, which is not a JSON number"),
    ("1e999", "inputs[0].data[5] is inf, not a finite float32 number"),
    ("1e39", "inputs[0].data[5] is 1e+39, not a finite float32 number"),
])
def test_non_finite_numbers_are_a_400(client: TestClient, literal: str, fragment: str) -> None:
    data = ", ".join(literal if i == 5 else "0" for i in range(784))
    body = '{"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32", "data": [%s]}]}'
    _refused(_raw(client, body % data), 400, fragment)


# --- tensors ---------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "fragment"), [
    (_tensor([0.0] * 783, (1, 783)), "model takes rows of 784 values (input shape [28, 28])"),
    (_tensor(ROW, (1, 785)), "shape [1, 785] holds 785 values but inputs[0].data has 784"),
    (_tensor(ROW, (2, 784)), "holds 1568 values but inputs[0].data has 784"),
    (_tensor(ROW, "1x784"), "inputs[0].shape is '1x784'; give a list of whole numbers"),
    (_tensor(ROW, (1, -784)), "give a list of whole numbers"),
    (_tensor(ROW, datatype="BYTES"), "inputs[0].datatype is 'BYTES'; send \"FP32\""),
    (_tensor(ROW, datatype=None), "inputs[0].datatype is None"),
    (_tensor([0.5] * 784, datatype="INT32"), "datatype is INT32 but data holds numbers that"),
    (_tensor(ROW, name="pixels"), "inputs[0] is named 'pixels'; this model's input is 'input'"),
    (_tensor(["0"] * 784), "inputs[0].data[0] is the string '0'; send numbers only"),
    (_tensor([[0.0] * 392, [None] * 392]), "inputs[0].data[1][0] is null"),
    (_tensor([[0.0] * 392, [0.0] * 391]), "inputs[0].data is ragged"),
    (_tensor([], (0, 784)), "inputs[0].data holds no inputs"),
    (_tensor(ROW, (100_000_000, 784)), "holds 78400000000 values but inputs[0].data has 784"),
    ({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32"}]},
     "inputs[0] has no `data`"),
    ({"inputs": [_tensor(ROW)["inputs"][0]] * 2}, "the request has 2 inputs"),
    ({**_tensor(ROW), "outputs": [{"name": "logits"}]},
     "outputs[0] asks for 'logits'; this model's output is 'probabilities'"),
    ({**_tensor(ROW), "id": 7}, "`id` must be a string"),
])
def test_bad_tensors_are_a_400(client: TestClient, body: dict, fragment: str) -> None:
    _refused(client.post(INFER, json=body), 400, fragment)


def test_deep_nesting_below_the_parser_limit_is_a_400(client: TestClient) -> None:
    deep: object = 0.0
    for _ in range(100):
        deep = [deep]
    _refused(client.post(INFER, json=_tensor(deep)), 400, "nested 100 lists deep")


def test_inputs_whose_outputs_overflow_are_a_400_for_that_request_only() -> None:
    """A regression whose output overflows float32 on a huge input: that request is
    refused; a sensible one in the same server is answered."""
    from fcnn_cli.data.split import Normalizer
    from fcnn_cli.nn import Network

    network = Network.create([2, 1], ["linear"], cost="quadratic")
    network.w[0][:] = 10.0
    one = np.ones((), np.float32)
    tiny = Model(network, Normalizer("none", one * 0, one), (2,), source="tiny.h5")
    with TestClient(create_app(tiny)) as client:
        huge = {"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32",
                            "data": [3e38, 3e38]}]}
        _refused(client.post("/v2/models/tiny/infer", json=huge), 400,
                 "the model computes outputs that are not finite on these inputs")
        fine = client.post("/invocations", json={"inputs": [[1, 2]]})
        assert fine.status_code == 200 and np.isfinite(fine.json()["predictions"]).all()


def test_binary_data_shorter_than_declared_is_a_400(client: TestClient) -> None:
    header = json.dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 3136}}]}).encode()
    response = client.post(INFER, content=header + b"\0" * 100,
                           headers={"Inference-Header-Content-Length": str(len(header))})
    _refused(response, 400, "binary_data_size is 3136 but 100 bytes follow the JSON header")


def test_a_wrong_binary_header_length_is_a_400(client: TestClient) -> None:
    response = client.post(INFER, content=b"{}", headers={"Inference-Header-Content-Length": "99"})
    _refused(response, 400, "Inference-Header-Content-Length is '99' but the body has 2 bytes")


# --- routes, methods, media types, sizes ---------------------------------------------------

def test_an_unknown_model_name_is_a_404(client: TestClient) -> None:
    _refused(client.post("/v2/models/resnet/infer", json=_tensor(ROW)), 404,
             "no model 'resnet' here; this server serves 'mnist'")
    _refused(client.get("/v2/models/resnet"), 404, "no model 'resnet'")
    _refused(client.get("/v2/models/mnist/versions/7"), 404, "has no version '7'")


def test_an_unknown_route_is_a_json_404(client: TestClient) -> None:
    _refused(client.get("/v1/models/mnist:predict"), 404,
             "no route GET /v1/models/mnist:predict; the routes are listed at GET /docs")


def test_a_wrong_method_is_a_json_405(client: TestClient) -> None:
    response = client.get(INFER)
    _refused(response, 405, "GET is not allowed on /v2/models/mnist/infer; use POST")
    assert response.headers["allow"] == "POST"
    _refused(client.put("/invocations"), 405, "PUT is not allowed on /invocations")


@pytest.mark.parametrize(("path", "media", "fragment"), [
    (INFER, "text/csv", "Content-Type text/csv is not accepted on /v2/models/mnist/infer"),
    ("/invocations", "text/plain", "Content-Type text/plain is not accepted on /invocations"),
    ("/invocations", "", "a body without a Content-Type is not accepted on /invocations; "
                         "send application"),
    ("/predict", "application/json", "send the files as multipart/form-data"),
])
def test_an_unsupported_media_type_is_a_415(client: TestClient, path: str, media: str,
                                            fragment: str) -> None:
    response = client.post(path, content=b"{}", headers={"Content-Type": media} if media
                           else {})
    _refused(response, 415, fragment)


def test_a_compressed_body_is_a_415(client: TestClient) -> None:
    response = client.post(INFER, content=b"\x1f\x8b", headers={"Content-Encoding": "gzip"})
    _refused(response, 415, "Content-Encoding gzip is not accepted; send the body uncompressed")


def test_a_body_over_the_limit_is_a_413_by_its_declared_length(client: TestClient) -> None:
    body = json.dumps(_tensor([255.0] * 784 * 60, (60, 784))).encode()
    assert len(body) > LIMIT
    _refused(_raw(client, body), 413, f"the request body is {len(body):,} bytes, over this "
                                      "server's limit of 262,144")


def test_a_streamed_body_is_cut_off_at_the_limit(model: Model) -> None:
    """A chunked body declares no length: it is counted as it arrives, and refused as soon
    as it passes the limit, without the rest being read (driven as ASGI directly: a test
    client would read the whole body before sending it)."""
    app = create_app(model, ServeOptions(max_body_bytes=LIMIT))
    received, sent = [], []

    async def receive() -> dict:
        received.append(1)
        return {"type": "http.request", "body": b" " * 16 * 1024, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": INFER, "raw_path": INFER.encode(),
             "root_path": "", "query_string": b"", "server": ("t", 80), "client": ("c", 1),
             "headers": [(b"content-type", b"application/json"),
                         (b"transfer-encoding", b"chunked")]}
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert "over this server's limit of 262,144" in json.loads(sent[1]["body"])["error"]
    assert len(received) == LIMIT // (16 * 1024) + 1  # not one chunk more


def test_more_rows_than_the_server_takes_at_once_is_a_413(client: TestClient) -> None:
    body = _tensor([0] * 784 * 65, (65, 784))
    _refused(client.post(INFER, json=body), 413, "the request holds 65 inputs, more than the 64")


# --- MLflow ------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "fragment"), [
    ({}, "the body has none of inputs, instances, dataframe_split, dataframe_records"),
    ({"inputs": [ROW], "instances": [ROW]}, "the body has inputs and instances"),
    ({"input": [ROW]}, "unknown key 'input' (did you mean 'inputs'?)"),
    ({"inputs": [ROW], "params": [1]}, "`params` must be an object"),
    ({"inputs": [ROW], "params": {"probabilities": "maybe"}}, "probabilities is 'maybe'"),
    ({"inputs": [[0] * 10]}, "inputs: each row has 10 values but the model takes 784"),
    ({"inputs": {"a": [1]}}, "has no named features; send a list of rows"),
    ({"dataframe_split": {"data": [[0] * 3]}}, "dataframe_split.data: each row has 3 values"),
    ({"dataframe_split": [1]}, "dataframe_split must be an object with `columns` and `data`"),
    ({"dataframe_records": [{"a": 1}]}, "dataframe_records[0] has 1 columns but the model takes"),
    ({"dataframe_records": [1]}, "dataframe_records[0] is not an object"),
])
def test_bad_mlflow_bodies_are_a_400_in_mlflow_s_error_shape(client: TestClient, body: dict,
                                                             fragment: str) -> None:
    error = _refused(client.post("/invocations", json=body), 400, fragment)
    assert error["error_code"] == "BAD_REQUEST" and error["message"] == error["error"]


def test_a_bad_csv_body_names_the_row_and_column(client: TestClient) -> None:
    header = ",".join(f"p{i}" for i in range(784))
    rows = ["0," * 783 + "0", "0," * 700 + "dark," + "0," * 82 + "0"]
    response = _raw(client, "\n".join([header, *rows]) + "\n", "/invocations", "text/csv")
    _refused(response, 400, "the CSV body: row 3, column 'p700': 'dark' is not a number")
    _refused(_raw(client, "", "/invocations", "text/csv"), 400, "the CSV body is empty")


# --- uploads --------------------------------------------------------------------------------

def test_a_form_without_a_file_part_is_a_400(client: TestClient) -> None:
    response = client.post("/predict", files=[("image", ("a.png", b"\x89PNG", "image/png"))])
    _refused(response, 400, "the form has no `file` part; it has 'image'")


def test_a_broken_multipart_body_is_a_400(client: TestClient) -> None:
    response = client.post("/predict", content=b"--x\r\nnot a part",
                           headers={"Content-Type": "multipart/form-data"})
    _refused(response, 400, "the multipart body cannot be read (Missing boundary")


def test_a_text_field_named_file_is_a_400(client: TestClient) -> None:
    response = client.post("/predict", data={"file": "digit.png"},
                           files=[("other", ("a.txt", b"x"))])
    _refused(response, 400, "`file` part 1 is a text field, not a file")


def test_a_broken_picture_is_a_400_naming_it(client: TestClient) -> None:
    response = client.post("/predict", files=[("file", ("broken.png", b"\x89PNG\r\n\x1a\nxx",
                                                        "image/png"))])
    body = _refused(response, 400, "broken.png")
    assert "fcnn-upload-" not in body["error"]  # the private copy is never named


def test_an_empty_upload_is_a_400(client: TestClient) -> None:
    _refused(client.post("/predict", files=[("file", ("e.png", b"", "image/png"))]), 400,
             "e.png: the file is empty")


def test_explain_on_more_inputs_than_it_shows_is_a_413(model: Model) -> None:
    from fcnn_cli.serving.app import EXPLAIN_MOST

    rows = "\n".join(",".join(["0"] * 784) for _ in range(EXPLAIN_MOST + 1))
    with TestClient(create_app(model)) as client:  # (the module's client takes 64 rows)
        response = client.post("/predict?explain=1", files=[("file", ("many.csv", rows + "\n",
                                                                        "text/csv"))])
    _refused(response, 413, f"explain shows at most {EXPLAIN_MOST} inputs; the files hold 65")


def test_a_bad_explain_value_is_a_400(client: TestClient) -> None:
    _refused(client.post("/predict?explain=please", files=[("file", ("a.png", b"x"))]), 400,
             "explain is 'please'; give true or false")


# --- busy ---------------------------------------------------------------------------------

def test_a_full_queue_is_a_503_with_retry_after(model: Model) -> None:
    app = create_app(model, ServeOptions(max_batch_size=1, max_latency_ms=0,
                                         max_queue_rows=1))
    served = app.state.served
    forward = served._forward

    def slow(rows: np.ndarray) -> np.ndarray:
        time.sleep(0.2)
        return forward(rows)

    served._forward = slow  # before the batcher starts: it takes this one

    async def run() -> list:
        import httpx

        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                return await asyncio.gather(*(http.post(INFER, json=_tensor(ROW))
                                              for _ in range(4)))

    answers = asyncio.run(run())
    statuses = sorted(r.status_code for r in answers)
    assert statuses[0] == 200 and statuses[-1] == 503, statuses
    busy = next(r for r in answers if r.status_code == 503)
    assert int(busy.headers["retry-after"]) >= 1
    assert "the server is busy" in busy.json()["error"]


# --- nothing in the log -----------------------------------------------------------------------

def test_bad_requests_leave_no_traceback_in_the_log(client: TestClient,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for body in (b"{", b"[" * 100_000, json.dumps(_tensor(["x"] * 784)).encode()):
        assert _raw(client, body).status_code == 400
    assert client.get("/v2/health/live").status_code == 200  # still serving
    assert "Traceback" not in caplog.text and "Exception" not in caplog.text


def test_the_errors_are_counted_by_kind(model: Model) -> None:
    with TestClient(create_app(model)) as client:
        client.post(INFER, content=b"{")
        client.post(INFER, content=b"{}", headers={"Content-Type": "text/csv"})
        client.get(INFER)
        text = client.get("/metrics").text
    for kind in ("bad_request", "unsupported_media_type", "method_not_allowed"):
        assert f'fcnn_errors_total{{kind="{kind}"}} 1.0' in text

