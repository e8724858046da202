"""`fcnn serve`: bad options are one line and exit 2 before anything starts; a good start
prints one line with the URL and a curl example; answers equal `fcnn predict`'s; several
worker processes serve as one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

import httpx  # noqa: E402
from serve_process import served  # noqa: E402

from fcnn_cli.cli import app  # noqa: E402
from fcnn_cli.serving.run import EXTRA, exposure_warning, start_line  # noqa: E402

runner = CliRunner()
IMAGES = Path(__file__).resolve().parents[1] / "examples" / "images"
SEVEN = IMAGES / "mnist-test-0000-label-7.png"
PHOTO = IMAGES / "photo-clean-1-label-0.jpg"
KEY = "a-long-random-test-key-5f1c2e9a"
LINE = ("serving {name} at {url} (page: /, API docs: /docs); "
        "try: curl{auth} -F file=@digit.png {url}/predict")


def one_error_line(args: list[str], env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, ["serve", "mnist", *args], env=env)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(("args", "message"), [
    (["--port", "70000"], "--port 70000 is not a port; give 1-65535"),
    (["--port", "-1"], "--port -1 is not a port"),
    (["--workers", "0"], "--workers 0: give 1 or more"),
    (["--max-batch-size", "0"], "--max-batch-size 0: give 1 or more rows"),
    (["--max-latency-ms", "-1"], "--max-latency-ms -1: give a wait in milliseconds"),
    (["--max-latency-ms", "nan"], "--max-latency-ms nan: give a wait"),
    (["--max-batch-size", "8", "--max-queue-rows", "4"],
     "--max-queue-rows 4: give at least --max-batch-size (8) rows"),
    (["--cors-origin", "example.com"], "--cors-origin 'example.com' is not an origin"),
    (["--name", "a/b"], "--name 'a/b': a model's name in URLs is letters"),
    (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid' is not an address"),
    (["--log-level", "loud"], "--log-level 'loud' is not one of"),
    (["--host", ""], "--host is empty"),
])
def test_a_bad_option_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    assert message in one_error_line(args)


def test_a_key_variable_that_is_unset_or_empty_is_refused() -> None:
    env = {"FCNN_TEST_KEY": ""}
    assert "FCNN_TEST_KEY is empty" in one_error_line(["--api-key-env", "FCNN_TEST_KEY"], env)
    os.environ.pop("FCNN_TEST_UNSET_KEY", None)
    assert "FCNN_TEST_UNSET_KEY is not set" in one_error_line(
        ["--api-key-env", "FCNN_TEST_UNSET_KEY"])


def test_a_key_given_in_place_of_its_variable_is_refused_without_showing_it() -> None:
    line = one_error_line(["--api-key-env", "sk-live/8f3a9c"])
    assert "takes the NAME of an environment variable" in line and "8f3a9c" not in line


def test_a_port_in_use_is_one_line_saying_so() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(["--port", str(port)])
    assert line == f"error: port {port} is in use; pick another with --port"


def test_a_missing_serve_extra_says_how_to_install_it() -> None:
    code = ("import sys\nsys.modules['uvicorn'] = None\nfrom fcnn_cli.cli import main\n"
            "sys.argv = ['fcnn', 'serve', 'mnist']\nmain()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stderr) == (2, f"error: {EXTRA}\n")


def test_a_server_open_to_others_without_a_key_is_warned_about() -> None:
    assert "every interface without a key" in exposure_warning("0.0.0.0", "0.0.0.0", None)
    assert "10.1.2.3 without a key" in exposure_warning("10.1.2.3", "10.1.2.3", None)
    assert exposure_warning("0.0.0.0", "0.0.0.0", KEY) is None
    assert exposure_warning("localhost", "127.0.0.1", None) is None
    assert exposure_warning("::1", "::1", None) is None


def test_the_curl_example_fits_the_model_and_the_address() -> None:
    table, pictures = SimpleNamespace(image=None), SimpleNamespace(image=object())
    assert start_line("points", "http://0.0.0.0:8000", table, None) == (
        "serving points at http://0.0.0.0:8000 (page: /, API docs: /docs); "
        "try: curl -F file=@rows.csv http://127.0.0.1:8000/predict")
    assert start_line("mnist", "http://[::]:80", pictures, "KEY").endswith(
        'try: curl -g -H "Authorization: Bearer $KEY" -F file=@digit.png http://[::1]:80/predict')


def test_the_start_is_one_line_with_the_url_and_a_curl_example() -> None:
    with served("mnist") as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.stdout == [LINE.format(name="mnist", url=server.url, auth="")]
        assert httpx.get(f"{server.url}/v2/models/mnist/ready", timeout=10).status_code == 200
        status = server.stop()
    assert status == 0 and len(server.stdout) == 1
    assert not [line for line in server.stderr if "Traceback" in line]


def test_a_batcher_that_cannot_limit_blas_threads_says_so_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "threadpoolctl.py").write_text("raise ImportError('absent')\n")
    with served("mnist", env={"PYTHONPATH": str(tmp_path)}) as server:
        status = server.stop()
    assert status == 0 and len(server.stdout) == 1
    assert [line for line in server.stderr if "BLAS" in line] == [
        "warning: cannot limit BLAS to 1 thread(s): threadpoolctl is not installed; pip "
        "install threadpoolctl, or set OPENBLAS_NUM_THREADS=1 before starting fcnn"]


def test_a_prediction_over_http_equals_fcnn_predict_on_the_same_pictures() -> None:
    """The same label, and the same probabilities to float32's rounding: the inputs are
    the same bits (test_serve_uploads), but BLAS rounds a row's product by the number of
    rows in its pass, and predict's pass (2 rows) is not the server's (padded)."""
    predicted = subprocess.run([sys.executable, "-m", "fcnn_cli", "predict", "mnist",
                                str(SEVEN), str(PHOTO), "--json"], capture_output=True,
                               text=True, timeout=120, check=True)
    expected = [json.loads(line) for line in predicted.stdout.splitlines()]
    with served("mnist") as server:
        files = [("file", (path.name, path.read_bytes(), "image/png")) for path in (SEVEN, PHOTO)]
        answer = httpx.post(f"{server.url}/predict", files=files, timeout=30)
        assert server.stop() == 0
    assert answer.status_code == 200, answer.text
    got = answer.json()["predictions"]
    assert [p["input"] for p in got] == [SEVEN.name, PHOTO.name]
    for mine, theirs in zip(got, expected):
        assert mine["label"] == theirs["label"]
        assert list(mine["probabilities"]) == theirs["classes"]
        np.testing.assert_allclose(list(mine["probabilities"].values()),
                                   theirs["probabilities"], rtol=1e-5, atol=1e-12)


def test_name_key_and_cors_origin_reach_the_app_and_the_key_shows_only_as_its_variable(
        ) -> None:
    with served("mnist", "--name", "digits", "--api-key-env", "FCNN_TEST_KEY",
                "--cors-origin", "http://localhost:3000", env={"FCNN_TEST_KEY": KEY}) as server:
        bearer = {"Authorization": f"Bearer {KEY}"}
        answer = httpx.get(f"{server.url}/v2/models/digits", timeout=10,
                           headers={**bearer, "Origin": "http://localhost:3000"})
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
        other = httpx.get(f"{server.url}/v2/models/digits", timeout=10,
                          headers={**bearer, "Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers
        assert httpx.get(f"{server.url}/v2/models/mnist", headers=bearer,
                         timeout=10).status_code == 404
        assert httpx.get(f"{server.url}/v2/models/digits", timeout=10).status_code == 401
        assert server.stop() == 0
    auth = ' -H "Authorization: Bearer $FCNN_TEST_KEY"'
    assert server.stdout == [LINE.format(name="digits", url=server.url, auth=auth)]
    assert KEY not in "\n".join(server.stdout + server.stderr)


def test_two_worker_processes_serve_with_the_key_and_stop_with_status_0() -> None:
    with served("mnist", "--workers", "2", "--api-key-env", "FCNN_TEST_KEY",
                env={"FCNN_TEST_KEY": KEY}) as server:
        bearer = {"Authorization": f"Bearer {KEY}"}
        body = {"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32",
                            "data": [0.0] * 784}]}
        with httpx.Client(timeout=30) as client:
            answers = [client.post(f"{server.url}/v2/models/mnist/infer", json=body,
                                   headers=bearer) for _ in range(6)]
            refused = client.post(f"{server.url}/v2/models/mnist/infer", json=body)
        assert server.stop() == 0
    assert [a.status_code for a in answers] == [200] * 6 and refused.status_code == 401
    outputs = [a.json()["outputs"][0] for a in answers]
    assert all(o["name"] == "probabilities" and o["shape"] == [1, 10] for o in outputs)
    assert len(server.stdout) == 1 and KEY not in "\n".join(server.stdout + server.stderr)


def test_the_python_api_calls_ready_with_the_url_and_returns_after_a_signal() -> None:
    code = ("import os, signal, fcnn_cli\n"
            "def ready(url):\n"
            "    print('ready', url, flush=True)\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "fcnn_cli.serve('mnist', port=0, name='digits', ready=ready)\n"
            "print('returned')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    line, announced, returned = done.stdout.splitlines()
    url = line.split(" at ", 1)[1].split(" ", 1)[0]
    assert line.startswith("serving digits at http://127.0.0.1:")
    assert (announced, returned) == (f"ready {url}", "returned")


def test_workers_need_a_model_file_not_a_model_object() -> None:
    import fcnn_cli
    from fcnn_cli.errors import FcnnError

    with pytest.raises(FcnnError, match="workers > 1 need the model as a file"):
        fcnn_cli.serve(fcnn_cli.load_model("mnist"), port=0, workers=2)


def test_serve_inside_a_running_event_loop_says_what_to_do_instead() -> None:
    import asyncio

    import fcnn_cli
    from fcnn_cli.errors import FcnnError

    async def in_a_notebook() -> None:
        fcnn_cli.serve("mnist", port=0)

    with pytest.raises(FcnnError, match="cannot run inside an event loop"):
        asyncio.run(in_a_notebook())
