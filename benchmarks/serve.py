"""`fcnn serve` under load, against the HTTP floor and MLServer, in turns, same run.

Three servers answer the same V2 `infer` POST of one 784-pixel MNIST row:

- floor: FastAPI on uvicorn with the settings `fcnn serve` uses, answering a constant
  (reads the body, parses nothing: what the framework costs);
- fcnn: `fcnn serve mnist` (the CLI, as users start it);
- MLServer with its scikit-learn runtime, serving an `MLPClassifier` that carries the
  shipped model's 784-800-800-10 weights (the 1/255 pixel scaling folded into the first
  layer; its probabilities are checked against fcnn's before it is timed). MLServer lives
  in its own virtualenv: `--mlserver BIN` (that venv's bin folder), skipped without it.

Load: 32 keep-alive connections, each sending one row and waiting for the answer, in a
loop, for `--duration` seconds per turn (after `--warm-up` seconds untimed), from a
separate process: `wrk` (one thread, a Lua script cycling through 64 pre-formatted
requests) when installed, else a small asyncio raw-HTTP client in this file. The client
shares the 2 cores with the server: its CPU time is measured and reported beside the
server's. Then 1,000 single-file uploads of 112×112 PNG digits to `/predict` (32
connections) against `fcnn predict mnist FOLDER` on the same files (wall time, process
start included).

    python benchmarks/serve.py [--mlserver /path/to/mlserver-venv/bin] [--duration 10]
                               [--warm-up 1] [--rounds 3] [--uploads 1000] [--client asyncio]

Only 127.0.0.1 is used; every server is stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
TARGETS = {"vs MLServer": 2.0, "vs floor": 0.6, "p99 ms": 50.0}
INFER = "/v2/models/mnist/infer"
TICKS = os.sysconf("SC_CLK_TCK")
CLIENT_LIMIT_S = 300  # a counted run (the uploads) stops after this long whatever is left


# --- the servers -----------------------------------------------------------------------


@dataclass
class Server:
    name: str
    command: list[str]
    port: int
    body_extra: dict = field(default_factory=dict)  # MLServer: ask for predict_proba
    cwd: Path | None = None
    env: dict[str, str] | None = None  # added to this process's environment
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, ready_path: str, timeout: float = 120) -> None:
        log = tempfile.TemporaryFile()  # not a pipe: a chatty server must never block on it
        self.process = subprocess.Popen(self.command, cwd=self.cwd, stdin=subprocess.DEVNULL,
                                        stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, **(self.env or {})},
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"{self.name} exited: {log.read()[-2000:].decode()}")
            try:
                with urllib.request.urlopen(self.url + ready_path, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} was not ready after {timeout} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)  # its own session: MLServer's workers too
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def cpu_seconds(self) -> float:
        """CPU time of the server and every process it started."""
        return sum(_cpu(pid) for pid in _tree(self.process.pid))


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


FLOOR_APP = """
import sys, uvicorn
from fastapi import FastAPI, Request, Response
app = FastAPI()
ANSWER = sys.argv[2].encode()
@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request) -> Response:
    await request.body()
    return Response(ANSWER, media_type="application/json")
@app.get("/v2/health/ready")
async def ready() -> Response:
    return Response(b'{"ready":true}', media_type="application/json")
from fcnn_cli.serving.run import server_settings  # the settings `fcnn serve` gives uvicorn
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), **server_settings())
"""


def floor_server(answer: bytes) -> Server:
    port = free_port()
    return Server("HTTP floor", [sys.executable, "-c", FLOOR_APP, str(port), answer.decode()],
                  port)


def fcnn_server() -> Server:
    port = free_port()
    return Server("fcnn serve", [*fcnn_command(), "serve", "mnist", "--port", str(port)], port)


def fcnn_command() -> list[str]:
    script = Path(sys.executable).parent / "fcnn"
    return [str(script)] if script.exists() else [sys.executable, "-m", "fcnn_cli"]


# --- MLServer: an MLPClassifier with the shipped weights --------------------------------

BUILD_SKLEARN = """
import json, sys, warnings
import joblib, numpy as np
from sklearn.neural_network import MLPClassifier
data = np.load(sys.argv[1])
ws = [data[f"w{i}"] for i in range(3)]
clf = MLPClassifier(hidden_layer_sizes=(800, 800), activation="relu", max_iter=1)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    clf.fit(np.zeros((10, 784), np.float32) + np.arange(10)[:, None], np.arange(10))
# fcnn keeps w[j, i] (out, in); sklearn's coefs_ are (in, out). Pixels: x/255 folded in.
clf.coefs_ = [(ws[0] / np.float32(255)).T.copy(), ws[1].T.copy(), ws[2].T.copy()]
clf.intercepts_ = [data[f"b{i}"] for i in range(3)]
worst = float(np.abs(clf.predict_proba(data["x"]) - data["p"]).max())
joblib.dump(clf, sys.argv[2])
print(json.dumps({"max_abs_diff": worst, "sklearn": __import__("sklearn").__version__}))
"""


def mlserver_server(bin_dir: Path, workdir: Path, parallel_workers: int | None) -> Server:
    import numpy as np

    from fcnn_cli.api import load_model

    model = load_model("mnist")
    x = sample_rows(64)
    folder = workdir / "mlserver"
    (folder / "mnist").mkdir(parents=True)
    weights = {f"w{i}": w for i, w in enumerate(model.network.w)}
    weights.update({f"b{i}": b for i, b in enumerate(model.network.b)})
    np.savez(folder / "weights.npz", x=x, p=model.predict_proba(x), **weights)
    checked = subprocess.run([str(bin_dir / "python"), "-c", BUILD_SKLEARN,
                              str(folder / "weights.npz"), str(folder / "mnist" / "model.joblib")],
                             capture_output=True, text=True, check=True)
    report = json.loads(checked.stdout.strip().splitlines()[-1])
    if report["max_abs_diff"] > 1e-5:
        raise RuntimeError(f"MLPClassifier's probabilities differ from fcnn's by "
                           f"{report['max_abs_diff']:.2g}")
    print(f"MLPClassifier (scikit-learn {report['sklearn']}) with fcnn's weights: "
          f"probabilities within {report['max_abs_diff']:.1e} of fcnn's")
    (folder / "mnist" / "model-settings.json").write_text(json.dumps({
        "name": "mnist", "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"}}))
    port = free_port()
    settings = {"http_port": port, "grpc_port": free_port(), "metrics_port": free_port(),
                "debug": False}  # debug off: no access log, as fcnn and the floor
    if parallel_workers is not None:
        settings["parallel_workers"] = parallel_workers
    (folder / "settings.json").write_text(json.dumps(settings))
    # one BLAS thread, as fcnn's batcher uses: a second one spins on a busy 2-core machine
    one_thread = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                         "MKL_NUM_THREADS")}
    return Server("MLServer", [str(bin_dir / "mlserver"), "start", str(folder)], port,
                  body_extra={"outputs": [{"name": "predict_proba"}]}, cwd=folder,
                  env=one_thread)


# --- what is sent ------------------------------------------------------------------------


def sample_rows(count: int):
    """`count` MNIST test digits (raw pixels, (count, 784) float32); the shipped 8×8 digits
    scaled up when MNIST is not here."""
    import numpy as np

    from fcnn_cli.data.sources import load_dataset

    try:
        x = load_dataset("mnist").x_test[:count]
    except Exception:
        from PIL import Image

        small = load_dataset("digits").x_train[:count]
        x = np.stack([np.asarray(Image.fromarray((d * 15).astype(np.uint8)).resize((28, 28)))
                      for d in small])
    return x.reshape(len(x), -1).astype(np.float32)


def infer_body(row, extra: dict) -> bytes:
    data = ",".join(str(int(v)) for v in row)
    body = (f'{{"inputs":[{{"name":"input","shape":[1,{len(row)}],"datatype":"FP32",'
            f'"data":[{data}]}}]')
    if extra:
        body += "," + json.dumps(extra)[1:-1]
    return (body + "}").encode()


def check_answer(server: Server, rows, expected) -> float:
    """The largest difference between the server's probabilities and fcnn's, over `rows`."""
    import numpy as np

    worst = 0.0
    for row, p in zip(rows, expected):
        request = urllib.request.Request(server.url + INFER, data=infer_body(row,
                                         server.body_extra),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            got = json.loads(answer.read())["outputs"][0]["data"]
        worst = max(worst, float(np.abs(np.asarray(got, np.float64) - p).max()))
    return worst


# --- load: wrk, or the asyncio client ----------------------------------------------------

WRK_SCRIPT = """
local bodies = {%s}
local requests = {}
local i = 0
init = function(args)
  for k, body in ipairs(bodies) do
    requests[k] = wrk.format("POST", "%s", {["Content-Type"] = "application/json"}, body)
  end
end
request = function()
  i = i %% #requests + 1
  return requests[i]
end
"""


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    failed: int
    client_cpu: float  # cores the client used, on average
    server_cpu: float  # cores the server used, on average


def run_load(server: Server, bodies: list[bytes], seconds: float, clients: int,
             client: str, workdir: Path) -> Load:
    before_server = server.cpu_seconds()
    before_client = os.times()
    started = time.perf_counter()
    if client == "wrk":
        rps, p50, p99, failed = _wrk(server, bodies, seconds, clients, workdir)
    else:
        rps, p50, p99, failed = _asyncio_client(server, bodies, seconds, clients)
    wall = time.perf_counter() - started
    after = os.times()
    client_cpu = (after.children_user - before_client.children_user
                  + after.children_system - before_client.children_system)
    return Load(rps, p50, p99, failed, client_cpu / wall,
                (server.cpu_seconds() - before_server) / wall)


def _wrk(server: Server, bodies: list[bytes], seconds: float, clients: int, workdir: Path
         ) -> tuple[float, float, float, int]:
    script = workdir / f"{server.port}.lua"
    quoted = ",".join(f"[==[{b.decode()}]==]" for b in bodies)
    script.write_text(WRK_SCRIPT % (quoted, INFER))
    out = subprocess.run(["wrk", "-t1", f"-c{clients}", f"-d{seconds:g}s", "--latency",
                          "--timeout", "10s", "-s", str(script), server.url],
                         capture_output=True, text=True, check=True,
                         timeout=seconds + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    failed = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    errors = re.search(r"Socket errors:.*", out)
    if errors:
        failed += sum(int(n) for n in re.findall(r"\d+", errors.group(0)))
    return rps, _wrk_ms(out, "50"), _wrk_ms(out, "99"), failed


def _wrk_ms(out: str, percent: str) -> float:
    value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def _asyncio_client(server: Server, bodies: list[bytes], seconds: float, clients: int
                    ) -> tuple[float, float, float, int]:
    spec = {"port": server.port, "path": INFER, "clients": clients, "seconds": seconds,
            "bodies": [b.decode() for b in bodies], "content_type": "application/json"}
    result = _client_process(spec)
    return result["rps"], result["p50_ms"], result["p99_ms"], result["failed"]


def _client_process(spec: dict) -> dict:
    """Run the asyncio client in its own process on `spec`; its JSON result."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        out = subprocess.run([sys.executable, __file__, "--client-spec", f.name],
                             capture_output=True, text=True, check=True,
                             timeout=(spec.get("seconds") or CLIENT_LIMIT_S) + 60).stdout
    finally:
        os.unlink(f.name)
    return json.loads(out)


def client_main(spec_path: str) -> None:
    """The load generator's process: raw HTTP/1.1 on keep-alive sockets, requests encoded
    once, responses read by Content-Length. With "count", stops after that many."""
    spec = json.loads(Path(spec_path).read_text())
    requests = [_request(spec["path"], body.encode("latin-1"), spec["content_type"])
                for body in spec["bodies"]]
    latencies: list[float] = []
    failed = [0]
    count = spec.get("count")
    next_index = [0]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(HOST, spec["port"])
        while True:
            i = next_index[0]
            if (count is not None and i >= count) or time.perf_counter() > stop_at:
                break
            next_index[0] += 1
            began = time.perf_counter()
            writer.write(requests[i % len(requests)])
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - began)
            if head[9:12] != b"200":
                failed[0] += 1
        writer.close()

    async def run() -> float:
        began = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(spec["clients"])))
        return time.perf_counter() - began

    stop_at = time.perf_counter() + (spec.get("seconds") or CLIENT_LIMIT_S)
    wall = asyncio.run(run())
    latencies.sort()

    def quantile(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1e3

    print(json.dumps({"rps": len(latencies) / wall, "p50_ms": quantile(0.5),
                      "p99_ms": quantile(0.99), "failed": failed[0], "wall": wall,
                      "answered": len(latencies)}))


def _request(path: str, body: bytes, content_type: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


# --- uploads against fcnn predict ----------------------------------------------------------


def multipart(path: Path) -> tuple[bytes, str]:
    boundary = "fcnnbenchmarkboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{path.name}\"\r\nContent-Type: image/png\r\n\r\n").encode() \
        + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def uploads_per_second(server: Server, folder: Path, clients: int) -> float:
    files = sorted(folder.iterdir())
    bodies, content_type = zip(*(multipart(p) for p in files))
    spec = {"port": server.port, "path": "/predict", "clients": clients, "count": len(files),
            "bodies": [b.decode("latin-1") for b in bodies], "content_type": content_type[0]}
    result = _client_process(spec)
    if result["failed"] or result["answered"] < len(files):
        raise RuntimeError(f"{result['failed']} uploads were not answered with 200, "
                           f"{len(files) - result['answered']} not at all")
    return len(files) / result["wall"]


def predict_per_second(folder: Path) -> float:
    started = time.perf_counter()
    subprocess.run([*fcnn_command(), "predict", "mnist", str(folder)], check=True,
                   capture_output=True)
    return len(list(folder.iterdir())) / (time.perf_counter() - started)


# --- the report --------------------------------------------------------------------------


def machine() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = re.search(r"Model name:\s+(.*)", out).group(1).strip()
    except Exception:
        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def stack() -> str:
    """The versions of the serving stack (uvicorn picks uvloop and httptools if present)."""
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for name in ("fastapi", "uvicorn", "uvloop", "httptools", "orjson"):
        try:
            found.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            found.append(f"{name} absent")
    return ", ".join(found)


def table(results: dict[str, list[Load]], seconds: float, rounds: int, client: str) -> str:
    med = {name: Load(*(statistics.median(getattr(r, f) for r in runs)
                        for f in Load.__dataclass_fields__))
           for name, runs in results.items()}
    floor, mlserver = med.get("HTTP floor"), med.get("MLServer")
    lines = [f"{datetime.date.today()}, {machine()}; {client} client, 32 keep-alive "
             f"connections, {seconds:g} s × {rounds} turns each, medians", stack(),
             "", "| server | requests/s | p50 ms | p99 ms | vs floor | vs MLServer | "
             "server CPU ms / request | server CPU (cores) | client CPU (cores) | failed |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, m in med.items():
        vs_floor = f"{m.rps / floor.rps:.2f}×" if floor else "–"
        vs_ml = f"{m.rps / mlserver.rps:.2f}×" if mlserver else "–"
        lines.append(f"| {name} | {m.rps:,.0f} | {m.p50_ms:.1f} | {m.p99_ms:.1f} | {vs_floor} "
                     f"| {vs_ml} | {m.server_cpu / m.rps * 1e3:.3f} | {m.server_cpu:.2f} | "
                     f"{m.client_cpu:.2f} | {sum(r.failed for r in results[name])} |")
    fcnn = med.get("fcnn serve")
    if fcnn is not None:
        lines += ["", "targets: " + "; ".join(_verdicts(fcnn, floor, mlserver))]
    return "\n".join(lines)


def _verdicts(fcnn: Load, floor: Load | None, mlserver: Load | None) -> list[str]:
    found = [("p99 ms", fcnn.p99_ms, fcnn.p99_ms <= TARGETS["p99 ms"])]
    if mlserver is not None:
        ratio = fcnn.rps / mlserver.rps
        found.append(("vs MLServer", ratio, ratio >= TARGETS["vs MLServer"]))
    if floor is not None:
        ratio = fcnn.rps / floor.rps
        found.append(("vs floor", ratio, ratio >= TARGETS["vs floor"]))
    return [f"{name} {value:.2f} ({'met' if ok else 'missed'}: "
            f"{'≤' if name == 'p99 ms' else '≥'} {TARGETS[name]:g})"
            for name, value, ok in found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mlserver", type=Path, help="the bin folder of MLServer's venv")
    parser.add_argument("--mlserver-workers", type=int, default=None,
                        help="MLServer's parallel_workers (default: its own default, 1)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per turn")
    parser.add_argument("--warm-up", type=float, default=1.0,
                        help="seconds of untimed load before each turn")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--uploads", type=int, default=1000, help="0: skip the uploads")
    parser.add_argument("--client", choices=["wrk", "asyncio"],
                        default="wrk" if shutil.which("wrk") else "asyncio")
    args = parser.parse_args()
    if args.mlserver is not None and args.mlserver.name == "mlserver":
        args.mlserver = args.mlserver.parent  # the executable given: its folder
    workdir = Path(tempfile.mkdtemp(prefix="fcnn-serve-bench-"))
    servers: list[Server] = []
    try:
        run_all(args, workdir, servers)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def run_all(args: argparse.Namespace, workdir: Path, servers: list[Server]) -> None:
    from fcnn_cli.api import load_model

    model = load_model("mnist")
    rows = sample_rows(64)
    expected = model.predict_proba(rows)
    answer = json.dumps({"model_name": "mnist", "outputs": [{
        "name": "probabilities", "datatype": "FP32", "shape": [1, 10],
        "data": [round(float(p), 6) for p in expected[0]]}]}).encode()
    servers.append(floor_server(answer))
    servers.append(fcnn_server())
    if args.mlserver is None:
        print("MLServer: skipped (give --mlserver PATH-TO-ITS-VENV/bin)")
    elif not (args.mlserver / "mlserver").exists():
        print(f"MLServer: skipped ({args.mlserver / 'mlserver'} does not exist)")
    else:
        servers.append(mlserver_server(args.mlserver, workdir, args.mlserver_workers))
    for server in servers:  # one after another
        server.start("/v2/health/ready")
        if server.name != "HTTP floor":
            worst = check_answer(server, rows[:8], expected[:8])
            print(f"{server.name}: probabilities within {worst:.1e} of fcnn predict's")
    results: dict[str, list[Load]] = {s.name: [] for s in servers}
    for turn in range(args.rounds):
        for server in servers:
            bodies = [infer_body(r, server.body_extra) for r in rows]
            run_load(server, bodies, args.warm_up, args.clients, args.client, workdir)
            load = run_load(server, bodies, args.duration, args.clients, args.client, workdir)
            results[server.name].append(load)
            print(f"turn {turn + 1} {server.name}: {load.rps:,.0f} req/s, p50 "
                  f"{load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms, server "
                  f"{load.server_cpu:.2f} cores, client {load.client_cpu:.2f}", flush=True)
    print()
    print(table(results, args.duration, args.rounds, args.client))
    if args.uploads:
        print()
        upload_turns(args, workdir, next(s for s in servers if s.name == "fcnn serve"))


def upload_turns(args: argparse.Namespace, workdir: Path, server: Server) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from startup import make_folder

    folder = make_folder(workdir, args.uploads)
    served, predicted = [], []
    for _ in range(args.rounds):
        served.append(uploads_per_second(server, folder, args.clients))
        predicted.append(predict_per_second(folder))
    s, p = statistics.median(served), statistics.median(predicted)
    print(f"{args.uploads:,} single-file PNG uploads (112×112) to /predict, {args.clients} "
          f"connections: {s:,.0f} images/s; `fcnn predict mnist FOLDER` on the same files "
          f"(process start included): {p:,.0f} images/s; ratio {s / p:.2f}× "
          f"(medians of {args.rounds} turns)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--client-spec":
        client_main(sys.argv[2])
    else:
        main()
