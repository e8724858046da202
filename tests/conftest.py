"""Shared fixtures: where MNIST lives, and a small model trained once per test session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def mnist_folder() -> Path | None:
    candidates = [Path(os.environ["FCNN_DATA_DIR"]) / "mnist"] if "FCNN_DATA_DIR" in os.environ \
        else []
    candidates.append(ROOT.parent / "shared" / "data" / "mnist")
    return next((c for c in candidates if (c / "t10k-labels-idx1-ubyte.gz").exists()), None)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    folder = mnist_folder()
    if folder is None:
        pytest.skip("MNIST files not found ($FCNN_DATA_DIR/mnist or ../shared/data/mnist)")
    return folder


@pytest.fixture(scope="session")
def digits_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """configs/digits.yaml trained once through the CLI, shared by the tests that read it."""
    from typer.testing import CliRunner

    from fcnn_cli.cli import app

    out = tmp_path_factory.mktemp("digits") / "digits.h5"
    result = CliRunner().invoke(app, ["train", str(ROOT / "configs" / "digits.yaml"),
                                      "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return out


CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium driven by Playwright; the test skips without either."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("needs the system Chromium (apt-get install chromium)")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        yield chromium
        chromium.close()
