"""`fcnn serve` (and `fcnn playground`) as a separate process, for the tests that need the
real command: started on a free 127.0.0.1 port (--port 0), waited for (its one line, then
/v2/health/ready), stopped with a signal. Every wait is bounded; a server left running is
killed."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

START_SECONDS = 60  # to the ready answer, on a loaded machine
STOP_SECONDS = 60   # to the exit after a signal


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str = ""
    stdout: list[str] = field(default_factory=list)  # every line, the first one included
    stderr: list[str] = field(default_factory=list)
    _readers: list[threading.Thread] = field(default_factory=list)

    def stop(self, number: int = signal.SIGTERM) -> int:
        """Send the signal; the exit status, once the process and its output have ended."""
        self.process.send_signal(number)
        status = self.process.wait(timeout=STOP_SECONDS)
        for reader in self._readers:
            reader.join(timeout=STOP_SECONDS)
        return status


@contextmanager
def launched(command: str, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """`fcnn COMMAND ARGS` in its own process, once it has printed its first line
    (`stdout[0]`), its output read on; killed at the end if it still runs."""
    process = subprocess.Popen([sys.executable, "-m", "fcnn_cli", command, *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    server = Served(process)
    lines: queue.Queue[str] = queue.Queue()
    for stream, kept in ((process.stdout, server.stdout), (process.stderr, server.stderr)):
        reader = threading.Thread(target=_read, args=(stream, kept, lines if
                                                      kept is server.stdout else None),
                                  daemon=True)
        reader.start()
        server._readers.append(reader)
    try:
        try:
            lines.get(timeout=START_SECONDS)
        except queue.Empty:
            raise AssertionError(f"no line from fcnn {command}: {server.stderr}") from None
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_SECONDS)


@contextmanager
def served(*args: str, env: dict[str, str] | None = None,
           ready_headers: dict[str, str] | None = None) -> Iterator[Served]:
    """`fcnn serve ARGS --port 0`, once it answers /v2/health/ready."""
    with launched("serve", *args, "--port", "0", env=env) as server:
        server.url = server.stdout[0].split(" at ", 1)[1].split(" ", 1)[0]
        _wait_ready(server, ready_headers or {})
        yield server


def _read(stream, kept: list[str], lines: queue.Queue[str] | None) -> None:  # type: ignore[no-untyped-def]
    for line in stream:
        kept.append(line.rstrip("\n"))
        if lines is not None:
            lines.put(kept[-1])


def _wait_ready(server: Served, headers: dict[str, str]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert server.process.poll() is None, f"fcnn serve ended: {server.stderr}"
        try:
            if httpx.get(f"{server.url}/v2/health/ready", headers=headers,
                         timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"fcnn serve was not ready in {START_SECONDS} s: {server.stderr}")


@contextmanager
def in_thread(app: object) -> Iterator[str]:
    """An ASGI app under uvicorn in a background thread of this process, on a free
    127.0.0.1 port: its URL, "http://127.0.0.1:PORT" (no trailing slash)."""
    import socket

    import uvicorn

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))  # the port is held from here on: no race for it
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_SECONDS)
        listening.close()
