"""The ASGI app: a model behind the Open Inference Protocol V2, MLflow's scoring routes,
file uploads, a page, /info, /docs and /metrics.

`create_app(model, options)` builds it; any ASGI server runs it, and it can be mounted in
a user's own application (the micro-batcher then starts on the first request).
`app_from_environment()` builds it in each of uvicorn's worker processes.

Every prediction, whatever the protocol, goes through one `MicroBatcher` around the
model's own forward pass (`Model.outputs` without its raise: a request whose outputs are
not finite fails alone, not its batch), so all routes answer with `fcnn predict`'s
numbers. The prediction routes read the raw body and parse it with orjson (no pydantic
model for 784 numbers); /docs learns their bodies from `openapi_extra`.

Around the routes, outermost first: CORS (only with `cors_origins`), metrics, the key
(only with `api_key`), the body size limit, then the fast routes: POSTs to V2 infer and
/invocations answered by those routes' own code in front of FastAPI's router, which
costs more than the model on a one-row request. Every refusal is JSON
`{"error": "..."}` with a 4xx status (503 when busy): never a 500 or a traceback for a
client's mistake.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import HTMLResponse, PlainTextResponse, Response

from fcnn_cli import __version__
from fcnn_cli.errors import clipped, listing
from fcnn_cli.model import Model, in_chunks
from fcnn_cli.sanitize import visible
from fcnn_cli.serving import protocols
from fcnn_cli.serving.docs import (
    DESCRIPTION,
    DOCS_ASSETS,
    INVOCATIONS_DOC,
    PREDICT_DOC,
    V2_DOC,
    add_docs,
    document,
)
from fcnn_cli.serving.errors import RequestError, error_body, too_many_inputs
from fcnn_cli.serving.handlers import handlers
from fcnn_cli.serving.options import ServeOptions

HEALTH = frozenset({"/v2/health/live", "/v2/health/ready", "/ping", "/health"})
PARSE_INLINE = 256 * 1024  # bytes: a larger body is parsed on a worker thread
EXPLAIN_MOST = 64  # inputs one ?explain answer shows (each carries every hidden unit)
V2_MEDIA = ("", "application/json", "application/octet-stream", "text/plain",
            "application/x-www-form-urlencoded")  # (curl -d sends the last)
JSON_MEDIA = "application/json"

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def create_app(model: Model, options: ServeOptions | None = None) -> FastAPI:
    """The app serving `model`: every route, error handler and middleware."""
    served = Served(model, options or ServeOptions())
    locked = served.options.api_key is not None
    # /docs and /openapi.json are open without the key: then they do not name the model
    title = "fcnn" if locked else f"fcnn: {served.name}"
    app = FastAPI(title=title, version=__version__, lifespan=served.lifespan,
                  docs_url=None, redoc_url=None, description=DESCRIPTION)
    app.state.served = served
    _add_routes(app, served)
    add_docs(app)
    _add_error_handlers(app)
    _add_middleware(app, served)
    document(app, bearer=locked)
    return app


def app_from_environment() -> FastAPI:
    """The app from the model and options `fcnn serve` put in the environment
    (`uvicorn --factory fcnn_cli.serving.app:app_from_environment`, one per worker)."""
    from fcnn_cli.api import load_model
    from fcnn_cli.serving.options import from_environment

    model, options = from_environment()
    return create_app(load_model(model), options)


def default_name(model: Model) -> str:
    """The model's name in URLs when none is given: its file's stem, fit for a URL."""
    stem = Path(model.source or "model").stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:64] or "model"


# --- the model, its batcher and metrics -----------------------------------------------


class Served:
    """The model behind the routes: its batcher (started with the app, or on the first
    request when the app is mounted without its lifespan) and its metrics."""

    def __init__(self, model: Model, options: ServeOptions) -> None:
        from fcnn_cli.serving.metrics import Metrics

        self.model = model
        self.options = options
        self.name = options.name or default_name(model)
        self.output = protocols.output_name(model)
        self.metrics = Metrics(options.max_batch_size)
        self.metrics.track_queue(lambda: self._batcher.queued_rows if self._batcher else 0)
        self.stopping = False
        self._batcher: Any = None
        self._batcher_loop: asyncio.AbstractEventLoop | None = None
        self._starting: asyncio.Lock | None = None
        self._starting_loop: asyncio.AbstractEventLoop | None = None

    def _forward(self, rows: np.ndarray) -> np.ndarray:
        """`Model.outputs` without its check (the answer checks its own rows)."""
        network, prepare = self.model.network, self.model.prepare
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return in_chunks(lambda part: network.predict(prepare(part)), rows)

    def _new_batcher(self) -> Any:
        from fcnn_cli.serving.batcher import MicroBatcher

        return MicroBatcher(self._forward, self.options.max_batch_size,
                            self.options.max_latency_ms, self.options.max_queue_rows,
                            probe=_probe(self.model), on_batch=self.metrics.observe_batch)

    async def start(self) -> None:
        """Start the batcher on this event loop (a new loop, as a test client may bring
        for each request, gets a new batcher: futures belong to one loop)."""
        loop = asyncio.get_running_loop()
        if self._batcher_loop is loop:
            return
        if self._starting is None or self._starting_loop is not loop:
            self._starting, self._starting_loop = asyncio.Lock(), loop
        async with self._starting:
            if self._batcher_loop is not loop:
                batcher = self._new_batcher()
                await batcher.start()
                self._batcher, self._batcher_loop = batcher, loop

    async def stop(self) -> None:
        """Answer every accepted request, then end the batcher (a restart makes a new one)."""
        self.stopping = True
        if self._batcher is not None:
            await self._batcher.stop()
        self._batcher, self._batcher_loop = None, None

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        self.stopping = False
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    @property
    def warning(self) -> str | None:
        """Why the running batcher could not limit BLAS to its threads, if so: one line
        for the runner to show."""
        return getattr(self._batcher, "warning", None)

    async def results(self, rows: np.ndarray) -> np.ndarray:
        """What `fcnn predict` computes for `rows`: class probabilities (one column per
        class), or a regression's outputs in its targets' units."""
        from fcnn_cli.serving.batcher import QueueFull

        if len(rows) > self.options.max_queue_rows:  # (the queue could never take them)
            raise too_many_inputs(f"{len(rows):,}", self.options.max_queue_rows)
        if self.stopping:
            raise RequestError(503, "the server is shutting down; retry shortly",
                               {"Retry-After": "1"})
        await self.start()
        try:
            a = await self._batcher.submit(rows)
        except QueueFull as busy:
            raise RequestError(503, str(busy), {"Retry-After": str(busy.retry_after)}) from None
        if not np.isfinite(a).all():
            raise RequestError(400, "the model computes outputs that are not finite on these "
                                    "inputs: they are far outside the training data's range; "
                                    "send inputs in the raw units of the training data "
                                    f"({_units(self.model)})")
        return self.model.results(a)  # predict's own post-processing

    async def hidden(self, rows: np.ndarray) -> list[np.ndarray]:
        """Each hidden layer's activations for `rows`, on a worker thread (for ?explain)."""
        def compute() -> list[np.ndarray]:
            with np.errstate(over="ignore", invalid="ignore"):
                _, activations, _ = self.model.network.feedforward(self.model.prepare(rows))
            return activations[1:-1]

        return await run_in_threadpool(compute)

    def check_name(self, name: str, version: str | None = None) -> None:
        if name != self.name:
            raise RequestError(404, f"no model {clipped(visible(repr(name)), 60)} here; this "
                                    f"server serves '{self.name}' (GET /v2/models/{self.name})")
        if version is not None and version != protocols.VERSION:
            raise RequestError(404, f"model '{self.name}' has no version "
                                    f"{clipped(visible(repr(version)), 30)}; its only version "
                                    f"is '{protocols.VERSION}'")


def _probe(model: Model) -> np.ndarray:
    """A row of plausible raw inputs, for the batcher to learn its pass sizes from before
    the first request (not zeros: any kernel multiplies those exactly)."""
    rng = np.random.default_rng(0)
    width = protocols.width(model)
    norm = rng.uniform(0, 1, (1, width)) if model.normalizer.kind == "scale" \
        else rng.standard_normal((1, width))
    return model.normalizer.inverse(norm.astype(np.float32))


def _units(model: Model) -> str:
    if model.image is not None:
        return f"pixels 0–{model.pixel_max or 255:g}"
    return "as in the training CSV" if model.feature_names else "as in the training data"


# --- routes -------------------------------------------------------------------------------


def _json(content: object, status: int = 200) -> Response:
    return Response(protocols.dumps(content), status, media_type=JSON_MEDIA)


async def _body(request: Request, accepted: tuple[str, ...], how: str) -> tuple[bytes, str]:
    """The body (its size limit is enforced as it streams in) and its media type; a type
    not `accepted`, or a compressed body, is a 415 saying `how` to send it."""
    media = _media_type(request, accepted, how)
    encoding = (_header_text(request, b"content-encoding") or "").strip().lower()
    if encoding not in ("", "identity"):
        raise RequestError(415, f"Content-Encoding {clipped(visible(encoding), 30)} is not "
                                "accepted; send the body uncompressed")
    return await _read(request), media


async def _read(request: Request) -> bytes:
    """The whole body: `request.body()` without its stream generator and cache (this is
    every prediction's path, and nothing reads the body twice)."""
    chunks = []
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _parse(body: bytes, parse: Callable[..., Any], *args: Any) -> Any:
    """parse(body, *args), on a worker thread for a large body (the event loop stays free)."""
    if len(body) > PARSE_INLINE:
        return await run_in_threadpool(parse, body, *args)
    return parse(body, *args)


def _add_routes(app: FastAPI, served: Served) -> None:
    _add_v2_routes(app, served)
    _add_mlflow_routes(app, served)
    _add_fcnn_routes(app, served)


def _add_v2_routes(app: FastAPI, served: Served) -> None:
    model = served.model

    @app.get("/v2/health/live", tags=["V2"], summary="Liveness (no key needed)")
    async def live() -> Response:
        return _json({"live": True})

    @app.get("/v2/health/ready", tags=["V2"], summary="Readiness (no key needed)")
    async def ready() -> Response:
        return _json({"ready": not served.stopping}, 503 if served.stopping else 200)

    @app.get("/v2", tags=["V2"], summary="Server metadata")
    async def server_metadata() -> Response:
        return _json({"name": "fcnn", "version": __version__,
                      "extensions": ["binary_tensor_data"]})

    @app.get("/v2/models/{name}", tags=["V2"], summary="Model metadata")
    async def model_metadata(name: str) -> Response:
        served.check_name(name)
        return _json(protocols.v2_metadata(model, served.name))

    @app.get("/v2/models/{name}/ready", tags=["V2"], summary="Model readiness")
    async def model_ready(name: str) -> Response:
        served.check_name(name)
        return _json({"name": served.name, "ready": not served.stopping},
                     503 if served.stopping else 200)

    @app.post("/v2/models/{name}/infer", tags=["V2"], summary="Inference (V2 JSON tensors)",
              openapi_extra=V2_DOC)
    async def infer(name: str, request: Request) -> Response:
        served.check_name(name)
        return await _infer(served, request)

    # The same with a version in the path, as V2 clients may ask (the only one is "1").
    @app.get("/v2/models/{name}/versions/{version}", include_in_schema=False)
    async def version_metadata(name: str, version: str) -> Response:
        served.check_name(name, version)
        return await model_metadata(name)

    @app.get("/v2/models/{name}/versions/{version}/ready", include_in_schema=False)
    async def version_ready(name: str, version: str) -> Response:
        served.check_name(name, version)
        return await model_ready(name)

    @app.post("/v2/models/{name}/versions/{version}/infer", include_in_schema=False)
    async def version_infer(name: str, version: str, request: Request) -> Response:
        served.check_name(name, version)
        return await infer(name, request)


def _add_mlflow_routes(app: FastAPI, served: Served) -> None:
    @app.get("/ping", tags=["MLflow"], summary="Health (no key needed)")
    @app.get("/health", tags=["MLflow"], summary="Health (no key needed)")
    async def ping() -> Response:
        return _json({"status": "ok"})

    @app.get("/version", tags=["MLflow"], summary="fcnn's version")
    async def version() -> Response:
        return PlainTextResponse(__version__)

    @app.post("/invocations", tags=["MLflow"], summary="Scoring (MLflow's convention)",
              openapi_extra=INVOCATIONS_DOC)
    async def invocations(request: Request) -> Response:
        return await _invocations(served, request)


async def _infer(served: Served, request: Request) -> Response:
    """POST /v2/models/{name}/infer, once the name is known to be this model's."""
    body, _ = await _body(request, V2_MEDIA, "send the request as application/json")
    header = _header_text(request, b"inference-header-content-length")
    parsed = await _parse(body, protocols.parse_v2, header, served.model)
    results = await served.results(parsed.rows)
    content, headers = protocols.v2_response(served.name, parsed, served.output, results)
    media = "application/octet-stream" if headers else JSON_MEDIA
    return Response(content, media_type=media, headers=headers)


async def _invocations(served: Served, request: Request) -> Response:
    """POST /invocations: JSON (MLflow's four layouts) or a CSV body."""
    model = served.model
    body, media = await _body(request, (JSON_MEDIA, "text/csv"),
                              "send application/json (inputs, instances, "
                              "dataframe_split or dataframe_records) or text/csv")
    asked = request.query_params.get("probabilities")
    if media == "text/csv":
        rows, params = await _csv_rows(model, body, served.options.max_queue_rows), {}
    else:
        rows, params = await _parse(body, protocols.parse_invocations, model)
    if asked is None:
        asked = params.get("probabilities", False)
    probabilities = protocols.truthy(asked, "probabilities")
    results = await served.results(rows)
    return Response(protocols.invocations_response(model, results, probabilities),
                    media_type=JSON_MEDIA)


async def _csv_rows(model: Model, body: bytes, max_rows: int) -> np.ndarray:
    """A CSV body's rows, read as `fcnn predict` reads a CSV (feature columns by name)."""
    from fcnn_cli.serving.uploads import Upload, rows_from_uploads

    if not body.strip():
        raise RequestError(400, "the CSV body is empty; send a header row and one row per "
                                "input")
    read = await run_in_threadpool(rows_from_uploads, model,
                                   [Upload("the CSV body", body, "text/csv")], False, max_rows)
    return read.rows


def _add_fcnn_routes(app: FastAPI, served: Served) -> None:
    model = served.model

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        from fcnn_cli.serving.page import page_html

        return HTMLResponse(page_html(), headers={"Cache-Control": "no-cache",
                                                  "X-Content-Type-Options": "nosniff"})

    @app.get("/info", tags=["fcnn"], summary="What the model takes and answers")
    async def info() -> Response:
        return _json(protocols.model_info(model, served.name, __version__))

    @app.get("/metrics", tags=["fcnn"], summary="Prometheus metrics")
    async def metrics() -> Response:
        content, media = served.metrics.render()
        return Response(content, media_type=media)

    @app.post("/predict", tags=["fcnn"], summary="Predict on uploaded files",
              openapi_extra=PREDICT_DOC)
    async def predict(request: Request, explain: str | None = None) -> Response:
        wanted = protocols.truthy(explain, "explain") if explain is not None else False
        _media_type(request, ("multipart/form-data",),
                         "send the files as multipart/form-data, e.g. "
                         "curl -F file=@digit.png …/predict")
        read = await run_in_threadpool(_rows_from, model, await _uploads(request), wanted,
                                       served.options.max_queue_rows)
        if wanted and len(read.names) > EXPLAIN_MOST:
            raise RequestError(413, f"explain shows at most {EXPLAIN_MOST} inputs; the files "
                                    f"hold {len(read.names):,}: send fewer, or leave out "
                                    "?explain")
        results = await served.results(read.rows)
        hidden = await served.hidden(read.rows) if wanted else []
        answers = []
        for i, name in enumerate(read.names):
            answer = protocols.prediction(model, name, results[i])
            if read.looked_empty[i]:
                answer["looked_empty"] = True
            if wanted:
                pixels = read.seen[i] if read.seen is not None else None
                if pixels is not None:
                    answer["seen"] = protocols.seen(pixels, model.pixel_max or 255.0)
                answer["activations"] = protocols.activations(model, [a[i] for a in hidden])
            answers.append(answer)
        return _json({"predictions": answers})


def _rows_from(model: Model, uploads: list[Any], explain: bool, max_rows: int) -> Any:
    from fcnn_cli.serving.uploads import rows_from_uploads

    return rows_from_uploads(model, uploads, explain, max_rows)


def _media_type(request: Request, accepted: tuple[str, ...], how: str) -> str:
    """The body's media type, one of `accepted`, or a 415 saying `how` to send it."""
    media = (_header_text(request, b"content-type") or "").split(";")[0].strip().lower()
    if media not in accepted:
        shown = f"Content-Type {clipped(visible(media), 60)} is not accepted" if media \
            else "a body without a Content-Type is not accepted"
        raise RequestError(415, f"{shown} on {request.url.path}; {how}")
    return media


async def _uploads(request: Request) -> list[Any]:
    """The `file` parts of a multipart body, read into memory (the body limit bounds them)."""
    from fcnn_cli.serving.uploads import MAX_FILES, Upload

    try:
        form = await request.form(max_files=MAX_FILES, max_fields=64)
    except HTTPException as error:
        status = 413 if "too many" in str(error.detail).lower() else 400
        raise RequestError(status, f"the multipart body cannot be read ({error.detail}); send "
                                   "one or more `file` parts") from None
    try:
        parts = form.getlist("file")
        if not parts:
            found = f"; it has {listing(form.keys(), 5, quoted=True)}" if form else ""
            raise RequestError(400, f"the form has no `file` part{found}; send each file as a "
                                    "part named `file`, e.g. curl -F file=@digit.png …/predict")
        uploads = []
        for number, part in enumerate(parts, 1):
            if isinstance(part, str):
                raise RequestError(400, f"`file` part {number} is a text field, not a file; "
                                        "attach the file itself (curl -F file=@PATH)")
            uploads.append(Upload(part.filename or "", await part.read(), part.content_type))
        return uploads
    finally:
        await form.close()


# --- errors ---------------------------------------------------------------------------


def _error(request: Request, status: int, message: str,
           headers: dict[str, str] | None = None) -> Response:
    mlflow = _path(request.scope) == "/invocations"
    return Response(error_body(status, message, mlflow), status, headers=headers,
                    media_type=JSON_MEDIA)


# The answer to each exception a route may raise (the most specific class wins), for
# FastAPI's exception middleware and for the fast routes alike.
_HANDLERS = handlers(_error, "the routes are listed at GET /docs")


def _add_error_handlers(app: FastAPI) -> None:
    for kind, handler in _HANDLERS.items():
        app.add_exception_handler(kind, handler)


# --- middleware (plain ASGI: no per-request task or copy) -----------------------------------


def _add_middleware(app: FastAPI, served: Served) -> None:
    """Added innermost first: the fast routes, the body limit, the key, metrics, then CORS
    outside all, so that a preflight needs no key and a 401 still carries the CORS
    headers (and the fast routes get all four, as the router's routes do)."""
    options = served.options
    app.add_middleware(_FastRoutes, routes=_fast_routes(app, served))
    app.add_middleware(_BodyLimit, limit=options.max_body_bytes)
    if options.api_key is not None:
        app.add_middleware(_BearerKey, key=options.api_key)
    app.add_middleware(_Observed, served=served)
    if options.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(options.cors_origins),
                           allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type",
                                          "Inference-Header-Content-Length"],
                           expose_headers=["Inference-Header-Content-Length", "Retry-After"],
                           max_age=600)


async def _send_error(scope: Scope, send: Send, status: int, message: str,
                      headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = error_body(status, message, _path(scope) == "/invocations")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", JSON_MEDIA.encode()),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def _path(scope: Scope) -> str:
    """The request's path inside this app (without the prefix it is mounted at)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] or "/" if root and path.startswith(root) else path


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of header `name` (lower case, as ASGI servers give names)."""
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _header_text(request: Request, name: bytes) -> str | None:
    """`request.headers.get(name)`, without building starlette's Headers (this is every
    prediction's path)."""
    value = _header(request.scope, name)
    return None if value is None else value.decode("latin-1")


Answer = Callable[[Request], Awaitable[Response]]


def _fast_routes(app: FastAPI, served: Served) -> dict[str, tuple[Any, Answer]]:
    """The prediction routes `_FastRoutes` answers, by exact path: the route FastAPI
    registered there (the label /metrics counts it under) and its handler's body."""
    posted = {route.path: route for route in app.routes
              if "POST" in (getattr(route, "methods", None) or ())}
    name, version = served.name, protocols.VERSION
    return {
        f"/v2/models/{name}/infer":
            (posted["/v2/models/{name}/infer"], partial(_infer, served)),
        f"/v2/models/{name}/versions/{version}/infer":
            (posted["/v2/models/{name}/versions/{version}/infer"], partial(_infer, served)),
        "/invocations": (posted["/invocations"], partial(_invocations, served)),
    }


class _FastRoutes:
    """POST to the model's prediction routes (V2 infer, /invocations), answered by the
    routes' own handler bodies without FastAPI's router in between: its matching,
    dependency solving and exception middleware cost more than the model on a one-row
    request. Errors get the answers of the app's exception handlers (`_HANDLERS`), so
    the bytes are the same either way. The routes stay registered (and in /docs), and
    everything else, another model name or version included, goes on to the router."""

    def __init__(self, app: ASGIApp, routes: dict[str, tuple[Any, Answer]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.routes.get(_path(scope)) \
            if scope["type"] == "http" and scope["method"] == "POST" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        route, answer = found
        scope["route"] = route  # as the router sets it (the metrics label)
        request = Request(scope, receive)
        try:
            response = await answer(request)
        except Exception as error:
            handler = next((_HANDLERS[kind] for kind in type(error).__mro__
                            if kind in _HANDLERS), None)
            if handler is None:
                raise  # a bug: the server's 500, as from the router
            response = await handler(request, error)
        await response(scope, receive, send)


class _BodyLimit:
    """Refuse a body over `limit` bytes: at once by its Content-Length, or as soon as the
    bytes streamed in pass it (a chunked body declares no length)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.strip().isdigit()
                                     or int(declared) > self.limit):
            size = declared.decode("latin-1").strip()
            await _send_error(scope, send, 413,
                              self._message(f"{int(size):,}" if size.isdigit() else size),
                              [(b"connection", b"close")])
            return
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise RequestError(413, self._message(f"more than {seen:,}"))
            return message

        await self.app(scope, counted, send)

    def _message(self, size: str) -> str:
        return (f"the request body is {clipped(size, 24)} bytes, over this server's limit of "
                f"{self.limit:,}; send fewer inputs per request")


class _BearerKey:
    """Every route but health, the page and the API docs needs `Authorization: Bearer
    <key>`, compared in constant time. The key is never logged or sent back; a refusal is a
    401 with `WWW-Authenticate: Bearer`. The docs (/docs, its assets, /openapi.json) are
    open like the page: they describe the API and hold no model data, and a browser opening
    /docs sends no key (Swagger UI's "Authorize" then sets it for "Try it out")."""

    OPEN = HEALTH | {"/", "/docs", "/openapi.json"}

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self.key = key.encode()

    def _open(self, path: str) -> bool:
        return path in self.OPEN or path.startswith(DOCS_ASSETS + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._open(_path(scope)):
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"authorization")
        scheme, _, token = (given or b"").partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key):
            await self.app(scope, receive, send)
            return
        if given is None:
            message = ("this server needs an API key: send the header "
                       "'Authorization: Bearer <key>' with the key it was started with")
            challenge = b'Bearer realm="fcnn"'
        else:
            message = ("the Authorization header does not hold this server's key; send "
                       "'Authorization: Bearer <key>' with the key it was started with")
            challenge = b'Bearer realm="fcnn", error="invalid_token"'
        await _send_error(scope, send, 401, message, [(b"www-authenticate", challenge)])


class _Observed:
    """Counts every request by route, status and time, and every error by kind (in
    /metrics); a route is its pattern (`/v2/models/{name}/infer`), so a client cannot
    grow the metrics with made-up paths."""

    def __init__(self, app: ASGIApp, served: Served) -> None:
        self.app = app
        self.metrics = served.metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe_request(route, status, time.perf_counter() - started)
            if status >= 400:
                from fcnn_cli.serving.errors import KINDS

                self.metrics.observe_error(KINDS.get(status, str(status)))
