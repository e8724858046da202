"""`fcnn playground`: what a user can get wrong is one line and exit 2 before anything
listens; a good start prints one line with the URL (and opens it unless --no-open);
Ctrl-C and SIGTERM stop it cleanly with exit status 0, open event streams and all."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

pytest.importorskip("fastapi")
pytest.importorskip("sse_starlette")

import httpx  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from serve_process import launched  # noqa: E402

from fcnn_cli.cli import app  # noqa: E402

runner = CliRunner()
WAIT = 60.0  # seconds: to the start line, or to the exit after a signal
LINE = "fcnn playground on {url} (Ctrl-C stops it)"


def one_error_line(args: list[str]) -> str:
    result = runner.invoke(app, ["playground", "--no-open", *args])
    assert result.exit_code == 2 and result.stdout == "", result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def still_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def write_csv(path: Path, columns: tuple[str, ...] = ("x1", "x2"), label: str = "label",
              rows: int = 40) -> Path:
    lines = [",".join((*columns, label))]
    lines += [",".join((*(f"{(i * 3 + k) % 7 / 7:.3f}" for k in range(len(columns))),
                        str(i % 2))) for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


# --- refused before anything starts ----------------------------------------------------------


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(["--port", str(port)])
    assert line == f"error: port {port} is in use; pick another with --port"


@pytest.mark.parametrize(("args", "message"), [
    (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid' is not an address"),
    (["--host", ""], "--host is empty"),
    (["--port", "70000"], "--port 70000 is not a port"),
    (["--label-column", "y"], "--label-column names a column of the CSV; give the CSV too"),
])
def test_a_bad_option_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    assert message in one_error_line(args)


@pytest.mark.parametrize(("columns", "label", "args", "message"), [
    (("x1", "x2", "x3"), "label", [], "3 feature column(s)"),
    (("x1", "x2"), "class", [], "no label column 'label'; columns are x1, x2, class; the "
                                "playground takes two numeric feature columns and a label "
                                "column: name it with --label-column"),
    (("x1", "x2"), "class", ["--label-column", "kind"], "kind"),
])
def test_a_csv_the_playground_cannot_train_on_is_refused_before_listening(
        tmp_path: Path, columns: tuple[str, ...], label: str, args: list[str],
        message: str) -> None:
    data = write_csv(tmp_path / "points.csv", columns, label)
    port = free_port()
    line = one_error_line([str(data), "--port", str(port), *args])
    assert message in line and "points.csv" in line
    assert still_free(port) and sorted(p.name for p in tmp_path.iterdir()) == ["points.csv"]


@pytest.mark.parametrize("missing", ["uvicorn", "sse_starlette"])
def test_a_missing_serve_extra_says_how_to_install_it(missing: str) -> None:
    from fcnn_cli.serving.playground.run import EXTRA

    code = (f"import sys\nsys.modules[{missing!r}] = None\nfrom fcnn_cli.cli import main\n"
            "sys.argv = ['fcnn', 'playground', '--no-open']\nmain()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=WAIT)
    assert (done.returncode, done.stderr) == (2, f"error: {EXTRA}\n")
    assert "pip install 'fcnn[serve]'" in EXTRA


def test_a_missing_csv_is_one_line() -> None:
    assert "nowhere.csv: no such file" in one_error_line(["nowhere.csv"])


# --- a real start and stop ------------------------------------------------------------------


def url_of(line: str) -> str:
    return line.removeprefix("fcnn playground on ").split(" ", 1)[0]


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_no_open_starts_with_one_line_and_a_signal_stops_it_with_0_streams_and_all(
        number: int, tmp_path: Path) -> None:
    marker = tmp_path / "opened"
    browser = f"{sys.executable} -c \"open(r'{marker}', 'w').write('%s')\""
    with launched("playground", "--no-open", "--port", "0", env={"BROWSER": browser}
                  ) as server:
        line = server.stdout[0]
        url = url_of(line)
        assert line == LINE.format(url=url) and url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url, timeout=WAIT) as http:
            assert http.get("/").status_code == 200
            sid = http.post("/api/sessions", json={"query": "dataset=xor&samples=60"}
                            ).json()["session"]
            http.post(f"/api/sessions/{sid}/play")
            with http.stream("GET", f"/api/sessions/{sid}/events") as stream:
                assert next(stream.iter_lines()) == "event: hello"
                status = server.stop(number)  # (its output read to the end)
    assert status == 0, server.stderr
    assert not any("Traceback" in line for line in server.stderr), server.stderr
    assert not marker.exists()


def test_without_no_open_the_browser_opens_the_page_on_the_csv(tmp_path: Path) -> None:
    marker = tmp_path / "opened"
    browser = f"{sys.executable} -c \"open(r'{marker}', 'w').write('%s')\""
    data = write_csv(tmp_path / "my points.csv")
    with launched("playground", str(data), "--port", "0", env={"BROWSER": browser}
                  ) as server:
        url = url_of(server.stdout[0])
        assert url.endswith("/?dataset=csv&csv=my-points")
        for _ in range(int(WAIT * 20)):
            if marker.exists() and marker.read_text():
                break
            threading.Event().wait(0.05)
        assert marker.read_text() == url
        answer = httpx.post(url.split("/?")[0] + "/api/sessions", timeout=WAIT,
                            json={"query": "dataset=csv&csv=my-points"})
        assert answer.status_code == 201 and answer.json()["classes"] == ["0", "1"]
        assert server.stop(signal.SIGINT) == 0, server.stderr


def test_the_help_loads_nothing_of_the_server() -> None:
    from test_lazy_imports import SERVER, modules_after

    loaded = modules_after("playground", "--help")
    assert "fcnn_cli.cli" in loaded and not SERVER & loaded
    assert not {"numpy", "pydantic", "sse_starlette"} & loaded
