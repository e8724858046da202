"""The trace's SVG drawing and HTML page: the drawing once, the lecture's notation raised
and lowered (never raw carets), readable text for a wide model, and a failed gradient
check shown as loudly as the terminal shows it."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from trace_cli import run as trace
from trace_cli import visible_text

from fcnn_cli.trace.formatting import notation

IMAGE = "mnist-test-0000-label-7.png"  # shipped with fcnn, found by name

# The 2-3-1 network with the weights 1..9 on the input (1, 2): every sigmoid saturates, so
# the finite differences are flat and the gradient check ends at relative error 1.0.
SATURATED = """x: [[1.0, 2.0]]
y: [[1.0]]
activation: sigmoid
cost: quadratic
lr: 0.01
layers:
  - {w: [[1, 2], [3, 4], [5, 6]], b: [0, 0, 0]}
  - {w: [[7, 8, 9]], b: [0], activation: sigmoid}
"""


@pytest.fixture
def saturated(tmp_path: Path) -> Path:
    path = tmp_path / "saturated.yaml"
    path.write_text(SATURATED, encoding="utf-8")
    return path


# --- once, and in the lecture's notation --------------------------------------------------


@pytest.mark.parametrize("example", ["mlp-2-3-1", "mini-batch", "softmax", "gate",
                                     "architecture"])
def test_the_page_shows_its_title_and_drawing_once(example: str) -> None:
    page = trace(example, "--format", "html")
    assert page.count("<svg") == 1
    title = re.search(r"<h1>(.*?)</h1>", page).group(1)
    lines = [line.strip() for line in visible_text(page).splitlines()]
    assert lines.count(unescape(title)) == 1


@pytest.mark.parametrize("example", ["mlp-2-3-1", "mini-batch", "softmax", "architecture"])
def test_the_page_raises_superscripts_instead_of_printing_carets(example: str) -> None:
    page = trace(example, "--format", "html")
    assert "^" not in visible_text(page)
    assert "<sup>" in page


def test_the_lecture_formula_is_written_with_sup_tags() -> None:
    page = trace("mlp-2-3-1", "--format", "html")
    assert "δ<sup>l</sup> (a<sup>l−1</sup>)ᵀ" in page


def test_the_drawing_raises_superscripts_too() -> None:
    svg = trace("architecture", "--format", "svg")
    assert "^" not in visible_text(svg) and "wˡ has one row" in svg


def test_an_underscore_in_a_file_name_is_not_a_subscript() -> None:
    assert notation("model my_model.h5 on data_1.csv") == [
        ("", "model my_model.h5 on data_1.csv")]
    assert notation("C = (1/N) Σ_n C_n") == [("", "C = (1/N) Σ"), ("sub", "n"), ("", " C"),
                                             ("sub", "n")]


# --- a wide model stays readable ---------------------------------------------------------


def test_a_wide_drawing_keeps_its_size_on_the_page_and_scrolls() -> None:
    page = trace("--model", "mnist", "--input", IMAGE, "--format", "html")
    svg = re.search(r"<svg ([^>]*)>", page).group(1)
    width = int(re.search(r' width="(\d+)"', svg).group(1))
    assert f"min-width: {width}px" in svg  # never shrunk to fit (its 11 px text stays)
    assert "scroll sideways" in page


BROWSER = next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(name)), None)


@pytest.mark.skipif(BROWSER is None, reason="Chromium is not installed")
def test_the_wide_drawing_text_is_drawn_at_a_readable_size(tmp_path: Path) -> None:
    page = trace("--model", "mnist", "--input", IMAGE, "--format", "html")
    # a script (only in this copy) writes the drawn height of the drawing's text in px
    probe = ("<script>addEventListener('load', () => { const r = document.querySelector("
             "'figure svg text.small').getBoundingClientRect(); document.title = "
             "'height=' + r.height; });</script>")
    path = tmp_path / "mnist.html"
    path.write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    assert BROWSER is not None
    dom = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
                          "--window-size=1280,900", "--virtual-time-budget=5000", "--dump-dom",
                          path.resolve().as_uri()],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    height = float(re.search(r"<title>height=([\d.]+)</title>", dom).group(1))
    assert height >= 10  # a 10 px line of text (it was 5 px when shrunk to the page)


# --- a failed gradient check -------------------------------------------------------------


def test_a_failed_gradient_check_is_a_red_box_in_the_drawing(saturated: Path) -> None:
    svg = trace(str(saturated), "--format", "svg")
    assert 'class="alarm"' in svg
    text = visible_text(svg)
    assert "Gradient check FAILED" in text and "relative error 1 " in text
    assert "saturated" in text  # what it means, and what to do
    assert "FAILED (see the red box above)" in text


def test_a_failed_gradient_check_is_an_alert_at_the_top_of_the_page(saturated: Path) -> None:
    page = trace(str(saturated), "--format", "html")
    alarm = re.search(r'<div class="alarm" role="alert">(.*?)</div>', page, flags=re.S)
    assert alarm is not None and page.index("alarm") < page.index("<figure")
    assert "Gradient check failed" in alarm.group(1) and "relative error 1 " in alarm.group(1)
    assert 'class="failed"' in page  # and the check's own line, in red


def test_a_passing_gradient_check_raises_no_alarm() -> None:
    svg, page = trace("mlp-2-3-1", "--format", "svg"), trace("mlp-2-3-1", "--format", "html")
    assert 'class="alarm"' not in svg + page and 'role="alert"' not in page
    assert "FAILED" not in svg + page
