"""GET /docs works offline: Swagger UI from the serve extra's own copy (no CDN), every URL
in the page relative (so it works under a mount prefix too), open without the API key like
the page at /, and a valid OpenAPI document behind it; in a real browser with every host
but 127.0.0.1 blocked, the operations appear and "Try it out" reaches the model."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
from fastapi import FastAPI  # noqa: E402
from fastapi.routing import APIRoute  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from serve_process import in_thread  # noqa: E402

from fcnn_cli import api  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402
from fcnn_cli.serving import docs as server_app  # noqa: E402
from fcnn_cli.serving.app import create_app  # noqa: E402
from fcnn_cli.serving.options import ServeOptions  # noqa: E402

KEY = "docs-test-key-5c1e"
ROUTES = {"/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/{name}",
          "/v2/models/{name}/ready", "/v2/models/{name}/infer", "/invocations", "/ping",
          "/health", "/version", "/predict", "/info", "/metrics"}
CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
WAIT_MS = 15_000  # Swagger UI's first render, on a loaded machine
needs_swagger_ui = pytest.mark.skipif(server_app.swagger_ui_folder() is None,
                                      reason="needs the serve extra's Swagger UI package")


@pytest.fixture(scope="module")
def model() -> Model:
    return api.load_model("mnist")


@pytest.fixture(scope="module")
def client(model: Model) -> Iterator[TestClient]:
    with TestClient(create_app(model)) as client:
        yield client


def _local_urls(html: str) -> list[str]:
    """Every URL the docs page loads: its src/href attributes and Swagger UI's `url:`."""
    return re.findall(r'(?:src|href)="([^"]*)"', html) + re.findall(r"url: '([^']*)'", html)


# --- the page and its assets ---------------------------------------------------------------

@needs_swagger_ui
def test_docs_page_loads_only_relative_urls_of_this_server(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "http://" not in response.text and "https://" not in response.text
    assert sorted(_local_urls(response.text)) == [
        "docs/assets/favicon-32x32.png", "docs/assets/swagger-ui-bundle.js",
        "docs/assets/swagger-ui.css", "openapi.json"]


@needs_swagger_ui
@pytest.mark.parametrize(("asset", "media"), [("swagger-ui-bundle.js", "javascript"),
                                              ("swagger-ui.css", "text/css"),
                                              ("favicon-32x32.png", "image/png")])
def test_docs_assets_answer_with_their_content_types(client: TestClient, asset: str,
                                                     media: str) -> None:
    response = client.get(f"/docs/assets/{asset}")
    assert response.status_code == 200
    assert media in response.headers["content-type"]
    assert len(response.content) > 100
    assert client.get(f"/docs/assets/{asset}",  # a browser's second visit costs no body
                      headers={"If-None-Match": response.headers["etag"]}).status_code == 304


@needs_swagger_ui
def test_docs_assets_are_swagger_uis_own_files_and_nothing_else(client: TestClient) -> None:
    for path in ["/docs/assets/__init__.py", "/docs/assets/index.html",
                 "/docs/assets/%2e%2e%2fmain.py", "/docs/assets/no-such.js"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"].startswith("no route GET /docs/assets/")


@needs_swagger_ui
def test_docs_assets_count_in_metrics_under_one_route(model: Model) -> None:
    with TestClient(create_app(model)) as fresh:
        fresh.get("/docs/assets/swagger-ui.css")
        fresh.get("/docs/assets/made-up-name.js")
        text = fresh.get("/metrics").text
    assert 'fcnn_requests_total{route="/docs/assets/{name}",status="200"} 1.0' in text
    assert 'fcnn_requests_total{route="/docs/assets/{name}",status="404"} 1.0' in text


@pytest.mark.parametrize("missing", [("fcnn_no_such_swagger_ui", "resources"),  # no package
                                     ("fcnn_cli", "resources")])  # no folder of assets
def test_without_swagger_ui_docs_is_a_hint_linking_the_openapi_document(
        model: Model, monkeypatch: pytest.MonkeyPatch, missing: tuple[str, str]) -> None:
    monkeypatch.setattr(server_app, "SWAGGER_UI", missing)
    with TestClient(create_app(model)) as bare:
        response = bare.get("/docs")
        assert bare.get("/docs/assets/swagger-ui.css").status_code == 404
    assert response.status_code == 200
    assert 'pip install "fcnn[serve]"' in response.text
    assert _local_urls(response.text) == ["openapi.json"]


# --- the OpenAPI document -------------------------------------------------------------------

def test_openapi_document_is_valid_and_lists_every_route(client: TestClient) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    spec = client.get("/openapi.json").json()
    validator.validate(spec)  # raises on any violation of the OpenAPI version it declares
    documented = {route.path for route in client.app.routes  # type: ignore[attr-defined]
                  if isinstance(route, APIRoute) and route.include_in_schema}
    assert set(spec["paths"]) == documented == ROUTES
    assert spec["openapi"].startswith("3.1.")  # Swagger UI 5 renders 3.1


def test_openapi_document_with_a_key_is_valid_and_declares_bearer(model: Model) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    with TestClient(create_app(model, ServeOptions(api_key=KEY))) as locked:
        spec = locked.get("/openapi.json").json()
    validator.validate(spec)
    assert spec["security"] == [{"bearer": []}]


def test_every_documented_error_is_the_error_shape_the_app_answers(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in json.dumps(spec)  # FastAPI's {"detail": [...]}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema["required"] == ["error"], (method, path, status)


@needs_swagger_ui
def test_with_a_key_the_open_docs_do_not_name_the_model(model: Model) -> None:
    options = ServeOptions(name="secret-model", api_key=KEY)
    with TestClient(create_app(model, options)) as locked:
        for path in ("/docs", "/openapi.json"):
            assert "secret-model" not in locked.get(path).text, path
    with TestClient(create_app(model, ServeOptions(name="open-model"))) as client:
        assert "<title>fcnn: open-model: API docs</title>" in client.get("/docs").text


# --- the key and a mount prefix ----------------------------------------------------------------

@needs_swagger_ui
def test_docs_its_assets_and_openapi_need_no_key_but_the_api_does(model: Model) -> None:
    with TestClient(create_app(model, ServeOptions(api_key=KEY))) as locked:
        for path in ["/docs", "/docs/assets/swagger-ui-bundle.js", "/openapi.json"]:
            assert locked.get(path).status_code == 200, path
        assert locked.get("/docs/assets/%2e%2e%2finfo").status_code == 404  # no way out
        assert locked.get("/info").status_code == 401
        assert locked.get("/docs-x").status_code == 401  # only the docs' own paths are open


def _mounted(model: Model, options: ServeOptions | None = None) -> FastAPI:
    """The app inside a user's own application, under /digits."""
    outer = FastAPI()
    outer.mount("/digits", create_app(model, options))
    return outer


@needs_swagger_ui
def test_under_a_prefix_every_docs_url_resolves_inside_the_prefix(model: Model) -> None:
    with TestClient(_mounted(model)) as outer:
        html = outer.get("/digits/docs").text
        for url in _local_urls(html):  # relative to /digits/docs, i.e. under /digits/
            assert outer.get(f"/digits/{url}").status_code == 200, url
        spec = outer.get("/digits/openapi.json").json()
    assert spec["servers"] == [{"url": "/digits"}]  # "Try it out" calls /digits/...


# --- in a real browser, offline -------------------------------------------------------------

@pytest.fixture
def offline_page() -> Iterator[tuple[Any, list[str]]]:
    """A browser page that can reach 127.0.0.1 only, and the URLs it was refused."""
    if CHROMIUM is None:
        pytest.skip("needs the system Chromium (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    playwright_api.expect.set_options(timeout=WAIT_MS)
    refused: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith("http://127.0.0.1:"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(WAIT_MS)
        context.route("**/*", only_local)
        yield context.new_page(), refused
        browser.close()


@needs_swagger_ui
def test_docs_render_the_operations_in_a_browser_offline(
        model: Model, offline_page: tuple[Any, list[str]], tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page, refused = offline_page
    with in_thread(create_app(model)) as url:
        page.goto(f"{url}/docs")
        for path in sorted(ROUTES):
            expect(page.locator(f'.opblock-summary-path[data-path="{path}"]')).to_be_visible()
        expect(page.get_by_text("Unable to render this definition")).to_have_count(0)
        page.screenshot(path=tmp_path / "docs.png", full_page=True)
    assert refused == []


@needs_swagger_ui
def test_docs_under_a_prefix_with_a_key_try_it_out_after_authorize(
        model: Model, offline_page: tuple[Any, list[str]]) -> None:
    from playwright.sync_api import expect

    page, refused = offline_page
    with in_thread(_mounted(model, ServeOptions(api_key=KEY))) as url:
        page.goto(f"{url}/digits/docs")
        page.get_by_role("button", name="Authorize").first.click()
        page.locator("#auth-bearer-value").fill(KEY)
        page.get_by_role("button", name="Apply credentials").click()
        page.get_by_role("button", name="Close").click()
        page.locator('.opblock-summary-path[data-path="/info"]').click()
        page.get_by_role("button", name="Try it out").click()
        with page.expect_response(f"{url}/digits/info") as answer:
            page.get_by_role("button", name="Execute").click()
        assert answer.value.status == 200
        expect(page.locator(".live-responses-table .response .response-col_status")) \
            .to_have_text("200")
        expect(page.locator(".live-responses-table")).to_contain_text('"name": "mnist"')
    assert refused == []
