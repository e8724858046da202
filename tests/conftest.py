"""Shared fixtures: where MNIST lives, and a small model trained once per test session."""

from __future__ import annotations

import os
from pathlib import Path

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
