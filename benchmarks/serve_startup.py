"""How fast `fcnn serve` starts: from the process's start to the first 200 of
/v2/health/ready, against importing what it uses and against a bare interpreter.

Each is a fresh process, after an untimed warm-up (bytecode cached, as for users), in
turns, and the medians are compared; "after imports" is the serve time less the import
time (loading the model, building the app, binding, starting the batcher).

    python benchmarks/serve_startup.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import statistics
import subprocess
import sys
import time

# Users run with bytecode caching on; a CI-style PYTHONDONTWRITEBYTECODE would time compiling.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
IMPORTS = ("import fcnn_cli.cli, fcnn_cli.serving.run, fcnn_cli.serving.app, fcnn_cli.store, "
           "fcnn_cli.serving.batcher, fcnn_cli.serving.uploads, uvicorn, python_multipart")
TIMEOUT = 60.0


def serve_to_ready() -> tuple[float, float]:
    """Seconds from starting `fcnn serve mnist --port 0` to its line, and to ready."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "fcnn_cli", "serve", "mnist", "--port",
                                "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, env=ENV)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        printed = time.perf_counter() - started
        host, port = line.split(" at http://", 1)[1].split(" ", 1)[0].rsplit(":", 1)
        while time.perf_counter() - started < TIMEOUT:
            try:
                connection = http.client.HTTPConnection(host, int(port), timeout=5)
                connection.request("GET", "/v2/health/ready")
                if connection.getresponse().status == 200:
                    return printed, time.perf_counter() - started
            except OSError:
                time.sleep(0.002)
        raise RuntimeError("fcnn serve was not ready in time")
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    repeats = parser.parse_args().repeats
    imports = [sys.executable, "-c", IMPORTS]
    bare = [sys.executable, "-c", "pass"]
    serve_to_ready(), wall(imports), wall(bare)  # warm-up: bytecode, page cache
    runs = [(serve_to_ready(), wall(imports), wall(bare)) for _ in range(repeats)]
    line = statistics.median(r[0][0] for r in runs)
    ready = statistics.median(r[0][1] for r in runs)
    imported = statistics.median(r[1] for r in runs)
    python = statistics.median(r[2] for r in runs)
    print(f"fcnn serve mnist, medians of {repeats} runs in turns, {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}:")
    print(f"  bare interpreter                 {python * 1000:7.0f} ms")
    print(f"  imports alone (with interpreter) {imported * 1000:7.0f} ms")
    print(f"  start to the printed line        {line * 1000:7.0f} ms")
    print(f"  start to /v2/health/ready = 200  {ready * 1000:7.0f} ms")
    print(f"  after imports                    {(ready - imported) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
