"""The serving tutorial (docs/tutorials/serving.md) works as written: each of its shell
commands and its tritonclient snippet, run from the checkout against a real `fcnn serve`,
answers what the page says it answers. (The page's own example test cannot start a server;
these tests do.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from serve_process import Served, served  # noqa: E402

from fcnn_cli import api  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SECTION = (ROOT / "docs" / "tutorials" / "serving.md").read_text(encoding="utf-8")
PAGE_URL = "http://127.0.0.1:8000"
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def shell_commands() -> list[str]:
    """The page's shell commands, a command continued over lines (a pipe) kept whole;
    the installation and the start-up lines left out (the fixtures start the servers)."""
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", SECTION, re.DOTALL):
        for line in block.strip().split("\n"):
            if commands and (commands[-1].endswith("|") or
                             not line.startswith(("curl", "python", "pip", "fcnn"))):
                commands[-1] += "\n" + line
            else:
                commands.append(line)
    return [command for command in commands if not command.startswith(("pip ", "fcnn serve"))]


def run(command: str, url: str) -> str:
    """The page's command, with this test's Python as `python` (its environment active or
    not), a failure anywhere in a pipe its failure."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    ran = subprocess.run(["bash", "-o", "pipefail", "-c", command.replace(PAGE_URL, url)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PATH": path})
    assert ran.returncode == 0, (command, ran.stderr[-2000:])
    return ran.stdout


@pytest.fixture(scope="module")
def mnist_server() -> Iterator[Served]:
    with served("mnist") as server:
        yield server


@pytest.fixture(scope="module")
def cancer_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`runs/cancer.h5` as the own-CSV tutorial makes it (one epoch here)."""
    model = tmp_path_factory.mktemp("cancer") / "cancer.h5"
    config = {"name": "cancer", "data": {"path": str(ROOT / "examples/data/cancer.csv"),
                                         "label_column": "diagnosis"},
              "model": {"layers": [{"units": 8}, {"units": 2, "activation": "softmax"}]},
              "training": {"epochs": 1}}
    api.train(config, out=model)
    with served(str(model), "--name", "cancer") as server:
        yield server


def test_the_page_has_a_command_for_each_protocol() -> None:
    commands = "\n".join(shell_commands())
    for route in ("/v2/models/mnist/infer", "/invocations", "/predict"):
        assert route in commands


def test_the_v2_command_reads_the_seven(mnist_server: Served) -> None:
    command = next(c for c in shell_commands() if "/v2/models/mnist/infer" in c)
    answer = json.loads(run(command, mnist_server.url))
    probabilities = answer["outputs"][0]["data"]
    assert answer["outputs"][0]["name"] == "probabilities"
    assert max(range(10), key=probabilities.__getitem__) == 7


def test_the_mlflow_command_reads_the_one(mnist_server: Served) -> None:
    command = next(c for c in shell_commands() if "/invocations" in c and "json" in c)
    assert json.loads(run(command, mnist_server.url)) == {"predictions": ["1"]}


def test_the_upload_command_reads_both_pictures(mnist_server: Served) -> None:
    command = next(c for c in shell_commands() if "/predict" in c)
    predictions = json.loads(run(command, mnist_server.url))["predictions"]
    assert [(p["input"], p["label"]) for p in predictions] == [
        ("user-9-photo.jpg", "9"), ("user-4-transparent.png", "4")]


def test_the_csv_command_scores_every_new_row(cancer_server: Served) -> None:
    command = next(c for c in shell_commands() if "text/csv" in c)
    predictions = json.loads(run(command, cancer_server.url))["predictions"]
    rows = (ROOT / "examples/data/cancer-new.csv").read_text().strip().count("\n")
    assert len(predictions) == rows
    assert set(predictions) <= {"benign", "malignant"}


def test_the_tritonclient_snippet_reads_the_two(mnist_server: Served) -> None:
    pytest.importorskip("tritonclient.http")
    snippet = re.search(r"```python\n(.*?)```", SECTION, re.DOTALL).group(1)
    host = mnist_server.url.removeprefix("http://")
    ran = subprocess.run([sys.executable, "-c", snippet.replace("127.0.0.1:8000", host)],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == "[2]"
