"""`forward-trace --format svg` and `--format html`: the drawing carries the tables' numbers,
wide layers are summarised, and the page is self-contained."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.trace import build, list_examples, trace_html, trace_svg

SVG = "{http://www.w3.org/2000/svg}"
EXAMPLES = [name for name, _ in list_examples()]


def svg_strings(svg: str) -> str:
    """All the text a reader sees or hovers: every <text> and <title>, joined."""
    root = ET.fromstring(svg)
    elements = [*root.iter(f"{SVG}text"), *root.iter(f"{SVG}title")]
    return "\n".join("".join(e.itertext()) for e in elements)


def test_the_2_3_1_drawing_shows_the_tables_numbers() -> None:
    shown = svg_strings(trace_svg(build("mlp-2-3-1")))
    for number in ("0.8954", "0.08383", "6.9998", "7.9999", "8.99998"):
        assert number in shown


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_renders_as_svg_that_parses(name: str) -> None:
    root = ET.fromstring(trace_svg(build(name)))
    assert root.tag == f"{SVG}svg"


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_renders_as_an_html_page_with_its_drawing(name: str) -> None:
    page = trace_html(build(name))
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page and "<table>" in page


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_html_page_loads_nothing_from_outside(name: str) -> None:
    page = trace_html(build(name)).lower()
    assert "<script" not in page and "<link" not in page
    for address in re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', page):
        assert not address.startswith(("http://", "https://", "//"))


def test_the_mnist_trace_is_drawn_summarised_and_small() -> None:
    from fcnn_cli.api import load_model

    svg = trace_svg(load_model("mnist").trace("mnist-test-0000-label-7.png"))
    ET.fromstring(svg)
    assert svg.count("<line") < 200
    assert len(svg.encode("utf-8")) < 100_000


def test_the_cli_prints_an_svg() -> None:
    result = CliRunner().invoke(app, ["forward-trace", "mlp-2-3-1", "--format", "svg"])
    assert result.exit_code == 0, result.output
    assert ET.fromstring(result.stdout).tag == f"{SVG}svg"
