"""Ctrl-C and SIGTERM stop `fcnn serve` gracefully: no new connections, every request
already in flight answered in full (the batcher drains), then exit status 0.

A request is held in flight deterministically: its headers and half its body are sent,
then the signal, and the rest of the body only once the server has stopped listening."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from serve_process import Served, served  # noqa: E402

from fcnn_cli import api  # noqa: E402

IMAGES = Path(__file__).resolve().parents[1] / "examples" / "images"
SEVEN = IMAGES / "mnist-test-0000-label-7.png"
WAIT = 30.0  # seconds, for any one socket operation


def infer_request(host: str, value: float) -> bytes:
    body = json.dumps({"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32",
                                   "data": [value] * 784}]}).encode()
    return (f"POST /v2/models/mnist/infer HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body


def upload_request(host: str) -> bytes:
    boundary = "fcnn-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{SEVEN.name}\"\r\nContent-Type: image/png\r\n\r\n").encode() \
        + SEVEN.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return (f"POST /predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; "
            f"boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


class HalfSent:
    """A request whose headers and half its body are sent: in flight, not yet complete."""

    def __init__(self, url: str, request: bytes) -> None:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.connection = socket.create_connection((host, int(port)), timeout=WAIT)
        self.rest = request[len(request) - len(request) // 4:]
        self.connection.sendall(request[:len(request) - len(self.rest)])

    def finish(self) -> tuple[int, dict]:
        """Send the rest; the status and JSON body of the answer."""
        self.connection.sendall(self.rest)
        received = b""
        while b"\r\n\r\n" not in received or len(received) < _expected(received):
            chunk = self.connection.recv(65536)
            if not chunk:
                break
            received += chunk
        self.connection.close()
        head, _, body = received.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body)


def _expected(received: bytes) -> int:
    head, _, _ = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + 4 + int(value)
    return 1 << 62  # no length: read to the end


def stops_listening(server: Served) -> bool:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except OSError:
            return True
        time.sleep(0.02)
    return False


def in_flight(server: Served) -> list[HalfSent]:
    host = server.url.removeprefix("http://")
    return [HalfSent(server.url, infer_request(host, value)) for value in (0.0, 64.0, 255.0)] \
        + [HalfSent(server.url, upload_request(host)) for _ in range(3)]


def check_answers(answers: list[tuple[int, dict]]) -> None:
    """Every request answered in full, with the model's answers (bit-for-bit equality
    with `fcnn predict` is test_serve_cli's; here: each request got its own answer)."""
    model = api.load_model("mnist")
    assert [status for status, _ in answers] == [200] * 6, answers
    for (_, body), value in zip(answers[:3], (0.0, 64.0, 255.0)):
        expected = model.predict_proba(np.full((1, 784), value, np.float32))[0]
        np.testing.assert_allclose(body["outputs"][0]["data"], expected, rtol=1e-5, atol=1e-7)
    for _, body in answers[3:]:
        assert [p["label"] for p in body["predictions"]] == ["7"]


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_answers_every_request_in_flight_then_exits_0(number: int) -> None:
    with served("mnist") as server:
        pending = in_flight(server)
        server.process.send_signal(number)
        assert stops_listening(server)  # no new connections from here
        answers = [request.finish() for request in pending]
        status = server.process.wait(timeout=WAIT)
        for reader in server._readers:
            reader.join(timeout=WAIT)
    check_answers(answers)
    assert status == 0 and len(server.stdout) == 1
    assert not [line for line in server.stderr if "Traceback" in line or "rror" in line]


def test_worker_processes_answer_their_requests_in_flight_on_sigterm() -> None:
    with served("mnist", "--workers", "2") as server:
        pending = in_flight(server)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # the workers are told to stop (the parent keeps the socket open)
        answers = [request.finish() for request in pending]
        status = server.process.wait(timeout=WAIT)
    check_answers(answers)
    assert status == 0
