"""The report and the trace page open in a real browser: headless Chromium renders them.

Skipped where no Chromium is installed (Debian: `apt-get install chromium`).
"""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from fcnn_cli.cli import app

BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(name)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed")
SCREEN = (1280, 900)  # one screen
TALL = 8000           # the window the whole page is drawn into


def screenshot(page: Path, out: Path, height: int = TALL) -> np.ndarray:
    """The page as Chromium draws it into a SCREEN[0] × height window, as RGB pixels."""
    assert BROWSER is not None
    subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={out}", f"--window-size={SCREEN[0]},{height}",
                    page.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)
    return np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)


def drawn_height(pixels: np.ndarray) -> int:
    """How far down the page something differs from the background (the bottom-right pixel)."""
    differs = np.abs(pixels - pixels[-1, -1]).sum(axis=2) > 30
    rows = np.nonzero(differs.any(axis=1))[0]
    return int(rows[-1]) + 1 if len(rows) else 0


def looks_drawn(pixels: np.ndarray) -> bool:
    """Not blank: text and figures give many distinct colours on the first screen."""
    first = pixels[:SCREEN[1]].reshape(-1, 3)
    return len(np.unique(first // 16, axis=0)) > 20 and first.std() > 10


def test_the_report_renders_and_is_longer_than_one_screen(digits_model: Path,
                                                          tmp_path: Path) -> None:
    page = tmp_path / "digits.report.html"
    result = CliRunner().invoke(app, ["report", str(digits_model), "--out", str(page)])
    assert result.exit_code == 0, result.output
    pixels = screenshot(page, tmp_path / "report.png")
    assert looks_drawn(pixels)
    assert drawn_height(pixels) > SCREEN[1]


def test_the_trace_page_renders_the_network_and_its_tables(tmp_path: Path) -> None:
    page = tmp_path / "trace.html"
    result = CliRunner().invoke(app, ["forward-trace", "mlp-2-3-1", "--format", "html"])
    assert result.exit_code == 0, result.output
    page.write_text(result.output)
    pixels = screenshot(page, tmp_path / "trace.png")
    assert looks_drawn(pixels)
    assert drawn_height(pixels) > SCREEN[1]
