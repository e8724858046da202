"""The prediction routes (V2 infer, /invocations) are answered in front of FastAPI's
router, for speed: every answer, success or error, must be the same bytes as the router's
own route gives. Each test sends the same request to two apps on the same model, one with
the fast path and one without it, and compares status, headers and body."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from fcnn_cli import api  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402
from fcnn_cli.serving.app import _FastRoutes, create_app  # noqa: E402
from fcnn_cli.serving.batcher import QueueFull  # noqa: E402
from fcnn_cli.serving.options import ServeOptions  # noqa: E402

INFER = "/v2/models/mnist/infer"
LIMIT = 64 * 1024  # bytes of body the test servers take
OPTIONS = ServeOptions(max_body_bytes=LIMIT, max_queue_rows=64)
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def model() -> Model:
    return api.load_model("mnist")


def _router_only(app: FastAPI) -> FastAPI:
    """The app without its fast path: every request goes through FastAPI's router."""
    app.user_middleware = [m for m in app.user_middleware if m.cls is not _FastRoutes]
    return app


@pytest.fixture(scope="module")
def pair(model: Model) -> Iterator[tuple[TestClient, TestClient]]:
    with TestClient(create_app(model, OPTIONS)) as fast, \
            TestClient(_router_only(create_app(model, OPTIONS))) as routed:
        yield fast, routed


def _tensor(rows: int = 1, **extra: Any) -> bytes:
    data = [7.0] * (784 * rows)
    return json.dumps({"inputs": [{"name": "input", "shape": [rows, 784], "datatype": "FP32",
                                   "data": data}], **extra}).encode()


def _binary_tensor() -> tuple[bytes, dict[str, str]]:
    """A request as tritonclient sends it: a JSON header, then the raw FP32 bytes."""
    raw = np.full((1, 784), 9, "<f4").tobytes()
    head = json.dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32",
                                   "parameters": {"binary_data_size": len(raw)}}],
                       "parameters": {"binary_data_output": True}}).encode()
    return head + raw, {"Content-Type": "application/octet-stream",
                        "Inference-Header-Content-Length": str(len(head))}


def _same(pair: tuple[TestClient, TestClient], path: str, body: bytes,
          headers: dict[str, str], status: int) -> bytes:
    fast, routed = (client.post(path, content=body, headers=headers) for client in pair)
    assert fast.status_code == routed.status_code == status, (fast.text, routed.text)
    assert sorted(fast.headers.multi_items()) == sorted(routed.headers.multi_items())
    assert fast.content == routed.content
    return fast.content


_CSV = ",".join(f"p{i}" for i in range(784)) + "\n" + ",".join(["3"] * 784) + "\n"
_BINARY, _BINARY_HEADERS = _binary_tensor()

ANSWERED = {
    "V2 JSON": (INFER, _tensor(), JSON),
    "V2 JSON, two rows and an id": (INFER, _tensor(2, id="r-1"), JSON),
    "V2 versioned path": ("/v2/models/mnist/versions/1/infer", _tensor(), JSON),
    "V2 binary tensors": (INFER, _BINARY, _BINARY_HEADERS),
    "V2 as curl -d sends it": (INFER, _tensor(),
                               {"Content-Type": "application/x-www-form-urlencoded"}),
    "invocations inputs": ("/invocations", json.dumps({"inputs": [[5] * 784]}).encode(), JSON),
    "invocations probabilities": ("/invocations?probabilities=true",
                                  json.dumps({"instances": [[5] * 784]}).encode(), JSON),
    "invocations CSV": ("/invocations", _CSV.encode(), {"Content-Type": "text/csv"}),
}


@pytest.mark.parametrize("case", ANSWERED)
def test_answers_are_the_router_s_bytes(pair: tuple[TestClient, TestClient], case: str) -> None:
    path, body, headers = ANSWERED[case]
    content = _same(pair, path, body, headers, 200)
    assert content.startswith(b'{"model_name":"mnist"') or b'"predictions"' in content


REFUSED = {
    "empty body": (INFER, b"", JSON, 400),
    "broken JSON": (INFER, b'{"inputs": [', JSON, 400),
    "not an object": (INFER, b"[1, 2]", JSON, 400),
    "wrong width": (INFER, json.dumps({"inputs": [{"name": "input", "shape": [1, 3],
                                                   "datatype": "FP32", "data": [1, 2, 3]}]}
                                      ).encode(), JSON, 400),
    "wrong datatype": (INFER, _tensor().replace(b'"FP32"', b'"BYTES"'), JSON, 400),
    "NaN": (INFER, _tensor().replace(b"7.0", b"NaN", 1), JSON, 400),
    "binary header longer than the body": (INFER, b"{}", {
        "Content-Type": "application/json", "Inference-Header-Content-Length": "99"}, 400),
    "media type": (INFER, _tensor(), {"Content-Type": "text/csv"}, 415),
    "compressed": (INFER, _tensor(), {**JSON, "Content-Encoding": "gzip"}, 415),
    "more rows than one request may hold": (INFER, _tensor(65), JSON, 413),
    "body over the limit": (INFER, b" " * (LIMIT + 1), JSON, 413),
    "unknown model": ("/v2/models/other/infer", _tensor(), JSON, 404),
    "unknown version": ("/v2/models/mnist/versions/2/infer", _tensor(), JSON, 404),
    "invocations unknown key": ("/invocations", b'{"input": [[1]]}', JSON, 400),
    "invocations bad query": ("/invocations?probabilities=maybe",
                              json.dumps({"inputs": [[5] * 784]}).encode(), JSON, 400),
    "invocations media type": ("/invocations", b"x", {"Content-Type": "image/png"}, 415),
    "invocations empty CSV": ("/invocations", b"", {"Content-Type": "text/csv"}, 400),
}


@pytest.mark.parametrize("case", REFUSED)
def test_refusals_are_the_router_s_bytes(pair: tuple[TestClient, TestClient],
                                         case: str) -> None:
    path, body, headers, status = REFUSED[case]
    content = _same(pair, path, body, headers, status)
    assert json.loads(content)["error"]


def test_a_body_streamed_past_the_limit_is_the_router_s_413(model: Model) -> None:
    """A chunked body declares no length: the limit trips while the route reads it."""
    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b" " * (LIMIT // 4)

    answers = []
    for app in (create_app(model, OPTIONS), _router_only(create_app(model, OPTIONS))):
        with TestClient(app) as client:
            answers.append(client.post(INFER, content=chunks(), headers=JSON))
    fast, routed = answers
    assert fast.status_code == routed.status_code == 413
    assert fast.content == routed.content and b"over this server's limit" in fast.content


@pytest.mark.parametrize(("state", "retry_after"), [("busy", "3"), ("stopping", "1")])
def test_busy_is_the_router_s_503_with_retry_after(model: Model, state: str,
                                                   retry_after: str) -> None:
    answers = []
    for app in (create_app(model, OPTIONS), _router_only(create_app(model, OPTIONS))):
        with TestClient(app) as client:
            served = app.state.served
            if state == "busy":
                async def full(rows: np.ndarray) -> np.ndarray:
                    raise QueueFull("the server is busy (64 rows waiting, at most 64); "
                                    "retry in 3 s", retry_after=3)

                served._batcher.submit = full
            else:
                served.stopping = True
            answers.append(client.post(INFER, content=_tensor(), headers=JSON))
            served.stopping = False
    fast, routed = answers
    assert fast.status_code == routed.status_code == 503
    assert fast.headers["retry-after"] == routed.headers["retry-after"] == retry_after
    assert fast.content == routed.content


def _asgi(app: FastAPI, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What `app` sends for one POST to INFER whose client sends `messages`."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": INFER, "raw_path": INFER.encode(),
             "root_path": "", "query_string": b"", "server": ("t", 80), "client": ("c", 1),
             "headers": [(b"content-type", b"application/json")]}
    incoming, sent = list(messages), []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_a_client_that_leaves_mid_body_gets_what_the_router_sends(model: Model) -> None:
    messages = [{"type": "http.request", "body": b'{"inputs": ', "more_body": True},
                {"type": "http.disconnect"}]
    fast = _asgi(create_app(model, OPTIONS), messages)
    routed = _asgi(_router_only(create_app(model, OPTIONS)), messages)
    assert fast == routed
    assert fast[0]["status"] == 400 and fast[1]["body"] == b""


def test_the_fast_path_answers_without_the_router(model: Model) -> None:
    app = create_app(model, OPTIONS)
    app.router.routes = [r for r in app.router.routes if not getattr(r, "path", "").endswith(
        "/infer") and getattr(r, "path", "") != "/invocations"]
    with TestClient(app) as client:
        assert client.post(INFER, content=_tensor(), headers=JSON).status_code == 200
        assert client.post("/invocations", json={"inputs": [[1] * 784]}).status_code == 200
        assert client.get(INFER).status_code == 404  # other methods go on to the router
        metrics = client.get("/metrics").text
    assert 'route="/v2/models/{name}/infer",status="200"' in metrics
    assert 'route="/invocations",status="200"' in metrics


def test_the_fast_path_works_under_a_mount_prefix(model: Model) -> None:
    outer = FastAPI()
    outer.mount("/digits", create_app(model, OPTIONS))
    with TestClient(outer) as client:
        answer = client.post("/digits" + INFER, content=_tensor(), headers=JSON)
    assert answer.status_code == 200 and answer.json()["model_name"] == "mnist"


# --- one row limit for every protocol ---------------------------------------------------------

def test_every_protocol_takes_at_most_max_queue_rows_rows_per_request(model: Model) -> None:
    table = ",".join(f"p{i}" for i in range(784)) + "\n" + (",".join(["1"] * 784) + "\n") * 65
    with TestClient(create_app(model, ServeOptions(max_queue_rows=64))) as client:
        answers = [client.post(INFER, content=_tensor(65), headers=JSON),
                   client.post("/invocations", json={"inputs": [[1] * 784] * 65}),
                   client.post("/invocations", content=table, headers={"Content-Type":
                                                                       "text/csv"}),
                   client.post("/predict", files=[("file", ("rows.csv", table, "text/csv"))])]
    for answer in answers:
        assert answer.status_code == 413
        assert answer.json()["error"].startswith(
            "the request holds 65 inputs, more than the 64 this server takes in one request")
        assert "--max-queue-rows" in answer.json()["error"]
