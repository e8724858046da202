"""/docs and /openapi.json: Swagger UI from the serve extra's own copy (no CDN: the docs
work offline and under a mount prefix), and the OpenAPI document as the app answers, with
the request bodies of the routes that read raw bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response

from fcnn_cli.serving import protocols

JSON_MEDIA = "application/json"

DOCS_ASSETS = "/docs/assets"
# Swagger UI 5 (it renders FastAPI's OpenAPI 3.1; 4.x cannot), as the package ships it.
SWAGGER_UI = ("fastapi_swagger", "resources")
DOCS_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")  # all /docs loads


def add_docs(app: FastAPI) -> None:
    """GET /docs: Swagger UI, its scripts served from DOCS_ASSETS. Every URL in the page
    is relative, so it also works where the app is mounted under a prefix. Without the
    package, /docs is a one-line hint linking the OpenAPI document instead."""
    spec = app.openapi_url.lstrip("/") if app.openapi_url else "openapi.json"
    folder = swagger_ui_folder()
    if folder is None:
        html = _DOCS_HINT.format(spec=spec)
    else:
        html = _swagger_ui_html(app.title, spec)
        _add_docs_assets(app, folder)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return HTMLResponse(html, headers={"Cache-Control": "no-cache",
                                           "X-Content-Type-Options": "nosniff"})


def _swagger_ui_html(title: str, spec: str) -> str:
    from fastapi.openapi.docs import get_swagger_ui_html

    assets = DOCS_ASSETS.lstrip("/")
    return get_swagger_ui_html(
        openapi_url=spec, title=f"{title}: API docs",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png").body.decode()


def _add_docs_assets(app: FastAPI, folder: Path) -> None:
    """DOCS_FILES at DOCS_ASSETS/<name>, with ETag and 304 (StaticFiles does the serving;
    a route rather than a mount, so that /metrics names it), and nothing else there."""
    from starlette.staticfiles import StaticFiles

    files = StaticFiles(directory=folder)

    @app.get(DOCS_ASSETS + "/{name}", include_in_schema=False)
    async def docs_asset(name: str, request: Request) -> Response:
        if name not in DOCS_FILES:
            raise HTTPException(404)
        return await files.get_response(name, request.scope)


def swagger_ui_folder() -> Path | None:
    """The folder of Swagger UI's files in the package that ships them; None when that
    package (or its folder, should a release move it) is not installed."""
    from importlib.util import find_spec

    package, folder = SWAGGER_UI
    spec = find_spec(package)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / folder
    return path if all((path / name).is_file() for name in DOCS_FILES) else None


_DOCS_HINT = ('<!doctype html><html lang="en"><meta charset="utf-8"><title>fcnn: API docs'
              '</title><p>The interactive API docs need the serve extra (pip install '
              '"fcnn[serve]"); meanwhile, here is the API\'s <a href="{spec}">OpenAPI '
              'document</a>.</p></html>')


# --- OpenAPI ----------------------------------------------------------------------------

DESCRIPTION = (
    "A fully-connected network trained with fcnn. Send inputs in the raw units of the "
    "training data (pixels 0–255 for the MNIST family). Protocols: Open Inference Protocol "
    "V2 (`/v2/...`), MLflow's scoring convention (`/invocations`), and file uploads "
    "(`/predict`). Errors are JSON `{\"error\": \"...\"}` with a 4xx status (503 when busy, "
    "with Retry-After). `GET /info` says what the model takes and answers.")

_ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
_ERRORS = {str(status): {"description": what, "content": {JSON_MEDIA: {"schema": _ERROR}}}
           for status, what in ((400, "Bad request: the message says what and where"),
                                (401, "Missing or wrong API key"), (404, "Unknown model"),
                                (413, "Body over the size limit"),
                                (415, "Unsupported media type"),
                                (503, "Busy or shutting down: retry after Retry-After"))}
_INVALID = {"description": "A parameter of the wrong type",
            "content": {JSON_MEDIA: {"schema": _ERROR}}}
_NUMBERS = {"type": "array", "items": {}, "description": "numbers: flat, or nested lists"}

V2_DOC = {
    "requestBody": {"required": True, "content": {JSON_MEDIA: {"schema": {
        "type": "object", "required": ["inputs"],
        "properties": {
            "id": {"type": "string", "description": "echoed in the answer"},
            "parameters": {"type": "object"},
            "inputs": {"type": "array", "minItems": 1, "maxItems": 1, "items": {
                "type": "object", "required": ["name", "shape", "datatype", "data"],
                "properties": {
                    "name": {"type": "string", "enum": [protocols.INPUT_NAME]},
                    "shape": {"type": "array", "items": {"type": "integer", "minimum": 0},
                              "description": "[N, features] (or [N, *input_shape])"},
                    "datatype": {"type": "string", "enum": list(protocols.DATATYPES),
                                 "description": "FP32; other numeric types are converted"},
                    "data": _NUMBERS}}},
            "outputs": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string", "enum": ["probabilities", "outputs"]},
                "parameters": {"type": "object"}}}}},
        "example": {"inputs": [{"name": "input", "shape": [1, 4], "datatype": "FP32",
                                "data": [0, 128, 255, 0]}]}}}}},
    "responses": {"200": {"description": "The outputs", "content": {JSON_MEDIA: {"schema": {
        "type": "object", "properties": {
            "model_name": {"type": "string"}, "model_version": {"type": "string"},
            "id": {"type": "string"},
            "outputs": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "datatype": {"type": "string"},
                "shape": {"type": "array", "items": {"type": "integer"}},
                "data": {"type": "array", "items": {"type": "number"}}}}}}}}}},
        **_ERRORS}}

INVOCATIONS_DOC = {
    "parameters": [{"name": "probabilities", "in": "query", "required": False,
                    "schema": {"type": "boolean"},
                    "description": "classifiers: class probabilities instead of labels"}],
    "requestBody": {"required": True, "content": {
        JSON_MEDIA: {"schema": {"type": "object", "description": "exactly one of inputs, "
                                "instances, dataframe_split, dataframe_records",
                                "properties": {
                                    "inputs": _NUMBERS, "instances": {"type": "array"},
                                    "dataframe_split": {"type": "object", "properties": {
                                        "columns": {"type": "array",
                                                    "items": {"type": "string"}},
                                        "data": {"type": "array"}}},
                                    "dataframe_records": {"type": "array",
                                                          "items": {"type": "object"}},
                                    "params": {"type": "object", "properties": {
                                        "probabilities": {"type": "boolean"}}}}},
                     "example": {"inputs": [[0, 128, 255, 0]]}},
        "text/csv": {"schema": {"type": "string", "description": "a header row naming the "
                                "model's feature columns, then one row per input"}}}},
    "responses": {"200": {"description": "{\"predictions\": [...]}: labels (or with "
                                         "probabilities, one list per row), or outputs",
                          "content": {JSON_MEDIA: {"schema": {"type": "object", "properties": {
                              "predictions": {"type": "array", "items": {}}}}}}},
                  **_ERRORS}}

PREDICT_DOC = {
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {"file": {
            "type": "array", "items": {"type": "string", "format": "binary"},
            "description": "pictures (PNG, JPEG, ...), or a CSV for a table model"}}}}}},
    "responses": {"200": {"description": "One prediction per picture or CSV row",
                          "content": {JSON_MEDIA: {"schema": {"type": "object"}}}},
                  **_ERRORS}}


def document(app: FastAPI, bearer: bool) -> None:
    """The OpenAPI document as the app answers: FastAPI lists a 422 `HTTPValidationError`
    (`{"detail": [...]}`) on every route with parameters, where this app answers every
    error as `{"error": "..."}` (`_invalid`); and with `bearer`, that routes take a Bearer
    key (/docs then offers "Authorize")."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    if "422" in operation.get("responses", {}):
                        operation["responses"]["422"] = _INVALID
            components = schema.setdefault("components", {})
            for name in ("HTTPValidationError", "ValidationError"):
                components.get("schemas", {}).pop(name, None)
            if not components.get("schemas", True):
                del components["schemas"]
            if bearer:
                components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
                schema["security"] = [{"bearer": []}]
            if not components:
                del schema["components"]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
