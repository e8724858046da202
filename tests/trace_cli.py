"""`fcnn forward-trace` run in-process, for the trace tests."""

from __future__ import annotations

import json
import re
from html import unescape

from typer.testing import CliRunner

from fcnn_cli.cli import app

runner = CliRunner()


def run(*args: str) -> str:
    """forward-trace's standard output; the command must succeed."""
    result = runner.invoke(app, ["forward-trace", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def trace_json(*args: str) -> dict:
    return json.loads(run(*args, "--format", "json"))


def visible_text(page: str) -> str:
    """What a reader sees (and a printer prints) of an SVG or HTML page: no tags, no
    <title> tooltips, no <style>."""
    page = re.sub(r"<(title|style)>.*?</\1>", " ", page, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", "", page))
