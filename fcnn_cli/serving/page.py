"""The page at `GET /`: one self-contained HTML file shipped inside the package.

It holds no model data and no secrets (it asks `GET /info` when it loads), so every app
serves the same text: read once, then kept."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def page_html() -> str:
    """The page's HTML, with its CSS and JavaScript inline."""
    return files("fcnn_cli.serving").joinpath("page.html").read_text(encoding="utf-8")
