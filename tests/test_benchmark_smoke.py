"""benchmarks/compare.py keeps working: a tiny run with whatever peers are installed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TINY = ["--synthetic", "--train", "300", "--test", "50", "--repeats", "1", "--peak-size", "64",
        "--max-epochs", "1", "--settle", "0"]


def run_compare(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "compare.py"), *args],
                          capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def table_rows(output: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")]
            for line in output.splitlines() if line.startswith("| ") and "---" not in line]


def test_compare_prints_a_row_per_workload_and_peer_and_the_time_to_target():
    rows = table_rows(run_compare(*TINY))
    epoch_rows = [(r[0][0], r[1]) for r in rows if r[0][:2] in ("A:", "B:", "C:")]
    assert epoch_rows == [(w, p) for w in "ABC" for p in ("fcnn", "torch", "sklearn")]
    fcnn = [r for r in rows if r[1] == "fcnn" and r[0][:2] in ("A:", "B:", "C:")]
    assert all(float(r[2]) > 0 and r[6].endswith("%") for r in fcnn)
    assert [r[1] for r in rows if r[0].startswith("784-512-256-10")] == ["fcnn", "torch"]


def test_a_peer_that_is_not_installed_says_so(tmp_path):
    for name in ("torch", "sklearn"):  # a package that fails to import, as when absent
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('absent')\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    output = run_compare(*TINY, "--workloads", "C", env=env)
    rows = {r[1]: r for r in table_rows(output) if r[0].startswith("C:")}
    assert rows["torch"][2] == rows["sklearn"][2] == "not installed"
    assert float(rows["fcnn"][2]) > 0
    assert "# not installed: torch, sklearn" in output


def test_the_epoch_profile_splits_products_from_passes():
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "profile_epoch.py"),
                           "--synthetic", "--train", "512", "--threads", "1"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert "GEMM" in done.stdout and "forward: matmul" in done.stdout


def test_the_serve_benchmark_prints_its_table_and_the_uploads_line():
    pytest.importorskip("fastapi")
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "serve.py"), "--duration",
                           "0.5", "--warm-up", "0.2", "--rounds", "1", "--uploads", "10",
                           "--client", "asyncio"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    rows = {r[0]: r for r in table_rows(done.stdout)}
    assert set(rows) == {"server", "HTTP floor", "fcnn serve"}
    assert float(rows["fcnn serve"][1].replace(",", "")) > 0 and rows["fcnn serve"][-1] == "0"
    assert "MLServer: skipped" in done.stdout
    assert re.search(r"10 single-file PNG uploads .*: [\d,]+ images/s; `fcnn predict", done.stdout)
