"""The documentation site: it builds with `mkdocs build --strict`, every page it links and
every picture it shows is there, it loads nothing from the network, the generated reference
is complete, and it reads in a real browser opened from the files alone."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("material")
pytest.importorskip("mkdocstrings")

ROOT = Path(__file__).resolve().parents[1]
SHOTS = os.environ.get("FCNN_DOCS_SHOTS")  # a folder for the browser tests' screenshots


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """The site as CI builds it, into a temporary folder (never the checkout's site/)."""
    site = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    ran = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
                          str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    return site, ran


@pytest.fixture(scope="module")
def site(built: tuple[Path, subprocess.CompletedProcess]) -> Path:
    folder, ran = built
    if ran.returncode != 0:
        pytest.fail(f"mkdocs build --strict failed:\n{ran.stderr[-3000:]}")
    return folder


class References(HTMLParser):
    """Every URL a page names, by tag and attribute: (tag, attribute, url, rel)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "data", "poster", "srcset"):
            if values.get(name):
                self.found.append((tag, name, values[name] or "", values.get("rel") or ""))


def references(page: Path) -> list[tuple[str, str, str, str]]:
    parser = References()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.found


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def command_names() -> list[str]:
    """Every command of the Typer app as a user types it: `fcnn train`, `fcnn config list`."""
    import typer

    from fcnn_cli.cli import app

    def walk(command: Any, prefix: str) -> Iterator[str]:
        for name, sub in getattr(command, "commands", {}).items():
            yield f"{prefix} {name}"
            yield from walk(sub, f"{prefix} {name}")

    return list(walk(typer.main.get_command(app), "fcnn"))


def config_keys() -> list[tuple[str, Any]]:
    """Every key of the config schema, dotted (`training.optimizer.lr`), with its field."""
    import typing

    from fcnn_cli.config import Config

    def walk(model: Any, prefix: str) -> Iterator[tuple[str, Any]]:
        for name, field in model.model_fields.items():
            key = f"{prefix}{name}"
            yield key, field
            kinds = [field.annotation, *typing.get_args(field.annotation)]
            kinds += [arg for kind in kinds for arg in typing.get_args(kind)]
            for kind in kinds:
                if isinstance(kind, type) and hasattr(kind, "model_fields"):
                    yield from walk(kind, f"{key}.")
                    break

    return list(walk(Config, ""))


# --- the build -------------------------------------------------------------------------

def test_the_site_builds_strictly_without_a_warning(
        built: tuple[Path, subprocess.CompletedProcess]) -> None:
    _, ran = built
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "WARNING" not in ran.stderr


def test_every_page_of_the_docs_folder_is_in_the_navigation() -> None:
    import yaml

    class Loader(yaml.SafeLoader):  # mkdocs.yml may carry !!python/name tags
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader)["nav"]
    listed = set(re.findall(r"[\w./-]+\.md", str(nav)))
    written = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert written - listed == set(), "pages missing from mkdocs.yml's nav"
    assert listed - written == set(), "nav entries without a page"


def test_every_link_and_picture_of_the_site_is_there(site: Path) -> None:
    missing = []
    for page in pages(site):
        for tag, attribute, url, _ in references(page):
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith(("#", "mailto:")):
                continue
            base = site if parts.path.startswith("/") else page.parent  # (404.html: absolute)
            target = (base / unquote(parts.path).lstrip("/")).resolve() if parts.path else page
            if not target.exists():
                missing.append(f"{page.relative_to(site)}: <{tag} {attribute}={url}>")
    assert missing == []


def test_every_picture_under_docs_images_is_shown_by_a_page() -> None:
    shown = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").rglob("*.md"))
    pictures = sorted(p.name for p in (ROOT / "docs" / "images").glob("*.png"))
    assert pictures, "no pictures under docs/images"
    assert [name for name in pictures if f"images/{name}" not in shown] == []


def test_the_built_site_loads_nothing_from_the_network(site: Path) -> None:
    """No script, stylesheet, font, picture or frame from elsewhere; plain links to other
    sites (a hyperlink the reader may follow) are fine."""
    fetched = []
    for page in pages(site):
        for tag, attribute, url, rel in references(page):
            is_link = tag == "a" or (tag == "link" and rel in ("canonical", "alternate"))
            if re.match(r"(https?:)?//", url) and not is_link:
                fetched.append(f"{page.relative_to(site)}: <{tag} {attribute}={url}>")
    for sheet in site.rglob("*.css"):
        text = sheet.read_text(encoding="utf-8", errors="replace")
        for url in re.findall(r"""(?:url\(|@import\s+)["']?((?:https?:)?//[^"')\s]+)""", text):
            fetched.append(f"{sheet.relative_to(site)}: {url}")
    assert fetched == []


# --- the generated reference -----------------------------------------------------------

def test_the_cli_reference_has_a_section_for_every_command(site: Path) -> None:
    text = (site / "reference" / "cli.html").read_text(encoding="utf-8")
    headings = set(re.findall(r"<h\d id=\"[^\"]+\"><code>(fcnn [^<]+)</code>", text))
    assert set(command_names()) <= headings
    assert "--set KEY=VALUE" in text  # options too, as `fcnn train --help` names them


def test_the_config_reference_lists_every_key(site: Path) -> None:
    text = (site / "reference" / "config.html").read_text(encoding="utf-8")
    sections = set(re.findall(r"<h\d id=\"[^\"]+\"><code>([\w.]+)</code>", text))
    keys = config_keys()
    parents = {key.rsplit(".", 1)[0] for key, _ in keys if "." in key}
    assert parents <= sections
    for key, _ in keys:
        assert f"<code>{key.rsplit('.', 1)[-1]}</code>" in text, key


def test_every_config_key_has_a_description() -> None:
    assert [key for key, field in config_keys() if not field.description] == []


def test_the_python_reference_documents_the_api(site: Path) -> None:
    text = (site / "reference" / "python-api.html").read_text(encoding="utf-8")
    import fcnn_cli

    for name in fcnn_cli.__all__:
        if name != "__version__":
            assert re.search(rf'id="fcnn_cli\.[\w.]*\b{name}"', text), name


# --- in a browser ----------------------------------------------------------------------

def open_offline(browser: Any, url: str, width: int) -> tuple[Any, list[str]]:
    """A page opened from file://, every other request refused and recorded."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    refused: list[str] = []

    def route(request_route: Any) -> None:
        if request_route.request.url.startswith("file://"):
            request_route.continue_()
        else:
            refused.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="load")
    return page, refused


def shot(page: Any, name: str) -> None:
    """A screenshot to look at, where FCNN_DOCS_SHOTS names a folder for them."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(300)  # the header's title swaps on scrolling, in a transition
        page.screenshot(path=str(Path(SHOTS) / f"test-{name}"), full_page=False)


@pytest.mark.parametrize("width", [1400, 400])
@pytest.mark.parametrize(("page_path", "figure"), [
    ("index.html", "article img"),
    ("tutorials/backprop.html", "article img[src$='trace-2-3-1.png']"),
], ids=["home", "tutorial"])
def test_a_page_and_its_figure_load_offline(site: Path, browser: Any, page_path: str,
                                            figure: str, width: int) -> None:
    page, refused = open_offline(browser, (site / page_path).as_uri(), width)
    try:
        assert page.locator("h1").first.inner_text().strip()
        image = page.locator(figure).first
        image.scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete", arg=image.element_handle())
        assert image.evaluate("img => img.naturalWidth") > 0
        shot(page, f"{Path(page_path).stem}-{width}.png")
        assert refused == []
    finally:
        page.close()


def test_the_cli_reference_lists_every_command_in_a_narrow_browser(site: Path,
                                                                    browser: Any) -> None:
    width = 400  # (the wide page is the same HTML: the command list is checked on it above)
    page, refused = open_offline(browser, (site / "reference" / "cli.html").as_uri(), width)
    shown = page.locator("article h2 code, article h3 code").all_inner_texts()
    assert set(command_names()) <= set(shown)
    page.locator("article h2", has_text="fcnn train").scroll_into_view_if_needed()
    shot(page, f"cli-reference-{width}.png")
    assert refused == []
    page.close()


def test_search_works_from_the_files_alone(site: Path, browser: Any) -> None:
    """The offline plugin's search index and the vendored worker shim: a search from
    file:// finds the CLI reference."""
    page, refused = open_offline(browser, (site / "index.html").as_uri(), 1400)
    page.locator(".md-search__input").click(force=True)
    page.keyboard.type("forward-trace")  # (the search reacts to keys, not to a filled value)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=15_000)
    assert results.count() > 0
    shot(page, "search-1400.png")
    assert refused == []
    page.close()
