"""`fcnn playground`'s ASGI app: the page, a JSON API driving training `Session`s, and each
session's frames as server-sent events.

A session is one network training in its own thread (`Session`); the page creates one
from its URL query, then drives it (play, pause, step, reset), reads its frames from the
event stream, asks the inspector and downloads the config and model. At most
`max_sessions` are open (creating one more closes the least recently used), a session no
request or stream has touched for `idle_seconds` closes, and all close when the app
stops. Uploaded CSVs live in the app's private work folder, named by their (made safe)
file names, until the app stops.

Every refusal is JSON `{"error": "<one line>"}` with a 4xx status (`serving.errors`, as
for `fcnn serve`): an unknown session is a 404 asking to reload the page.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import FastAPI, Request
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response

from fcnn_cli.errors import clipped, listing
from fcnn_cli.sanitize import visible
from fcnn_cli.serving.errors import RequestError, error_body
from fcnn_cli.serving.handlers import handlers
from fcnn_cli.serving.playground.session import Session
from fcnn_cli.serving.playground.state import CsvFile, PlaygroundState, read_csv
from fcnn_cli.threads import blas_threads

MAX_SESSIONS = 8
IDLE_SECONDS = 30 * 60
SWEEP_SECONDS = 60            # how often idle sessions are looked for
MAX_CSV_BYTES = 5 * 1024 * 1024
FORM_SLACK = 64 * 1024        # a multipart body's bytes around the file itself
MAX_QUERY_BYTES = 64 * 1024   # POST /api/sessions: a JSON body holding one URL query
MAX_UPLOADS = 16              # uploaded CSVs kept; the oldest goes beyond
PING_SECONDS = 15             # keep-alive comments on an idle event stream
SEND_SECONDS = 30             # a stream whose reader takes no bytes this long ends
WAKE_SECONDS = 1.0            # a waiting stream looks at its session this often
STEP_SECONDS = 30             # step/reset answer once the new frame is out, or after this
ACTIONS = ("play", "pause", "step", "reset")
JSON_MEDIA = "application/json"
ASSETS = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_ASSET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.(?:js|css)")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
PLACEHOLDER = ("<!doctype html><meta charset=utf-8><title>fcnn playground</title>"
               "<p>The playground's page is missing from this installation of fcnn; "
               "reinstall it (pip install --force-reinstall 'fcnn[serve]'). The API is at "
               "/api/sessions.</p>")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def create_app(csv_files: Mapping[str, Any] | None = None, *, max_sessions: int = MAX_SESSIONS,
               idle_seconds: float = IDLE_SECONDS, max_csv_bytes: int = MAX_CSV_BYTES,
               max_rate: float = 30.0) -> FastAPI:
    """The playground app. `csv_files`: the CSVs the command line gave, by the name a URL
    selects them with (`dataset=csv&csv=NAME`); uploads add to them. Its work folder (the
    sessions' files, uploads) is made here and removed when the app stops."""
    work = Path(tempfile.mkdtemp(prefix="fcnn-playground-"))
    csvs = CsvFiles(csv_files or {}, work / "uploads")
    sessions = Sessions(csvs, work / "sessions", max_sessions, idle_seconds, max_rate)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(_sweep_every(sessions, min(SWEEP_SECONDS, idle_seconds)))
        try:
            # BLAS's limit is the process's, and each session's Trainer sets it and puts the
            # one it found back when it ends: held at 1 here, it stays 1 however they overlap
            with blas_threads(1):
                yield
        finally:
            sweeper.cancel()
            await run_in_threadpool(sessions.close_all)
            shutil.rmtree(work, ignore_errors=True)

    app = FastAPI(title="fcnn playground", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.sessions, app.state.csv_files = sessions, csvs
    _add_page_routes(app)
    _add_session_routes(app, sessions)
    _add_csv_route(app, csvs, max_csv_bytes)
    _add_error_handlers(app, csvs)
    app.add_middleware(_SameOrigin)
    return app


# --- the CSVs a session may train on ------------------------------------------------------


class CsvFiles:
    """The CSVs sessions may name: the command line's, then uploads (kept in `folder`, at
    most MAX_UPLOADS, the oldest removed first)."""

    def __init__(self, given: Mapping[str, Any], folder: Path) -> None:
        self.files: dict[str, Any] = dict(given)  # name -> Path or CsvFile
        self.folder = folder
        self._uploads: list[str] = []
        self._lock = threading.Lock()

    def add(self, filename: str, data: bytes) -> str:
        """Keep an uploaded CSV once it is known to be one the playground can train on;
        its name for `csv=` in a URL. Blocking (it reads the data): call off the loop."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            name = _unique(_safe_stem(filename), self.files)
            path = self.folder / f"{name}.csv"
            path.write_bytes(data)
            # the exported config names the user's own file, not this temporary copy
            self.files[name] = CsvFile(path, export_path=Path(filename).name or f"{name}.csv")
        try:
            read_csv(path)
        except BaseException:
            with self._lock:
                del self.files[name]
            path.unlink(missing_ok=True)
            raise
        with self._lock:
            self._uploads.append(name)
            while len(self._uploads) > MAX_UPLOADS:
                self.files.pop(self._uploads.pop(0)).path.unlink(missing_ok=True)
        return name

    def shown(self, message: str) -> str:
        """`message` naming an upload by its name, not the server's copy's path."""
        return message.replace(f"{self.folder}/", "")

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self.files)


def csv_name(path: Path) -> str:
    """The name a CSV given on the command line goes by in URLs."""
    return _safe_stem(path.name)


def _safe_stem(filename: str) -> str:
    stem = Path(filename.replace("\\", "/")).stem
    return _SAFE.sub("-", stem).strip("-._")[:40] or "upload"


def _unique(name: str, taken: Mapping[str, Any]) -> str:
    number = 2
    found = name
    while found in taken:
        found, number = f"{name}-{number}", number + 1
    return found


# --- the sessions ------------------------------------------------------------------------


@dataclass
class Entry:
    """An open session and when it was last used."""

    session: Session
    folder: Path          # its work files
    seen: float
    streams: int = 0      # open event streams: a watched session is never idle
    closed: bool = False
    wakers: set[Callable[[], None]] = field(default_factory=set)  # the streams' (thread-safe)


class Sessions:
    """The open sessions, least recently used first."""

    def __init__(self, csvs: CsvFiles, folder: Path, limit: int, idle_seconds: float,
                 max_rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.csvs, self.folder, self.limit = csvs, folder, limit
        self.idle_seconds, self.max_rate, self.clock = idle_seconds, max_rate, clock
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, query: str) -> Session:
        """A new session on the state the URL `query` describes (blocking: it loads the
        data and builds the network); the least recently used beyond the limit close."""
        files = self.csvs.snapshot()
        state = PlaygroundState.from_query_string(query, files)
        self.folder.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="session-", dir=self.folder))
        try:
            session = Session(state, files, folder, self.max_rate)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with self._lock:
            self._entries[session.id] = Entry(session, folder, self.clock())
            ended = [self._entries.popitem(last=False)[1]
                     for _ in range(len(self._entries) - self.limit)]
        for entry in ended + self._idle():
            _close(entry)
        return session

    def get(self, sid: str) -> Entry:
        """The open session `sid`, now the most recently used; else a 404."""
        with self._lock:
            entry = self._entries.get(sid)
            if entry is None:
                raise RequestError(404, f"no session {clipped(visible(repr(sid)), 40)} here: it "
                                        "was closed (unused for a while, too many open, or "
                                        "the server restarted); reload the page")
            self._entries.move_to_end(sid)
            entry.seen = self.clock()
            return entry

    def close(self, sid: str) -> None:
        entry = self.get(sid)
        with self._lock:
            self._entries.pop(sid, None)
        _close(entry)

    def sweep(self) -> int:
        """Close the sessions unused for `idle_seconds`; how many."""
        idle = self._idle()
        for entry in idle:
            _close(entry)
        return len(idle)

    def close_all(self) -> None:
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            _close(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def _idle(self) -> list[Entry]:
        """Remove and return the idle entries (closing is the caller's)."""
        now = self.clock()
        with self._lock:
            idle = [sid for sid, entry in self._entries.items()
                    if entry.streams == 0 and now - entry.seen > self.idle_seconds]
            return [self._entries.pop(sid) for sid in idle]


def _close(entry: Entry) -> None:
    entry.closed = True
    entry.session.close()
    shutil.rmtree(entry.folder, ignore_errors=True)
    for wake in list(entry.wakers):  # its streams end now, not at their next look
        wake()


async def _sweep_every(sessions: Sessions, seconds: float) -> None:
    while True:
        await asyncio.sleep(seconds)
        await run_in_threadpool(sessions.sweep)


# --- routes --------------------------------------------------------------------------------


def _json(content: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(content), status, headers=headers, media_type=JSON_MEDIA)


def dumps(value: object) -> bytes:
    """Compact JSON; NaN and infinities as null (orjson's way), NumPy values as numbers."""
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def _asset(name: str) -> bytes | None:
    try:
        return files(__package__).joinpath(name).read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


def _add_page_routes(app: FastAPI) -> None:
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}

    @app.get("/")
    async def page() -> Response:
        html = _asset("page.html")
        return HTMLResponse(html if html is not None else PLACEHOLDER, headers=headers)

    @app.get("/assets/{name}")
    async def asset(name: str) -> Response:
        content = _asset(name) if _ASSET_NAME.fullmatch(name) else None
        if content is None:
            raise RequestError(404, f"no asset {clipped(visible(repr(name)), 60)}; the page "
                                    "is at /")
        return Response(content, media_type=ASSETS[Path(name).suffix], headers=headers)


def _add_session_routes(app: FastAPI, sessions: Sessions) -> None:
    @app.post("/api/sessions", status_code=201)
    async def create(request: Request) -> Response:
        query = _query(await _json_body(request))
        session = await run_in_threadpool(sessions.create, query)
        return _json(session.info, 201)

    @app.delete("/api/sessions/{sid}", status_code=204)
    async def delete(sid: str) -> Response:
        await run_in_threadpool(sessions.close, sid)
        return Response(status_code=204)

    @app.get("/api/sessions/{sid}/events")
    async def events(sid: str) -> Response:
        entry = sessions.get(sid)
        return EventSourceResponse(_stream(entry, sessions.clock), ping=PING_SECONDS,
                                   send_timeout=SEND_SECONDS)

    @app.post("/api/sessions/{sid}/{action}")
    async def control(sid: str, action: str) -> Response:
        if action not in ACTIONS:
            raise RequestError(404, f"no action {clipped(visible(repr(action)), 40)}; POST "
                                    f"/api/sessions/ID/ one of {', '.join(ACTIONS)}")
        session = sessions.get(sid).session
        before = session.version
        coming = await run_in_threadpool(getattr(session, action))
        if action == "reset" or (action == "step" and coming):  # answer with its frame
            await run_in_threadpool(session.wait, before, STEP_SECONDS)
        return _json(session.frame())

    @app.get("/api/sessions/{sid}/frame")
    async def frame(sid: str) -> Response:
        return _json(sessions.get(sid).session.frame())

    @app.get("/api/sessions/{sid}/history")
    async def history(sid: str) -> Response:
        return _json(await run_in_threadpool(sessions.get(sid).session.history))

    @app.get("/api/sessions/{sid}/inspect")
    async def inspect(sid: str, request: Request) -> Response:
        session = sessions.get(sid).session
        given = request.query_params
        layer, unit = _whole(given, "layer"), _whole(given, "unit")
        point = given.get("point", "test:0")
        return _json(await run_in_threadpool(session.inspect, layer, unit, point))

    @app.get("/api/sessions/{sid}/config.yaml")
    async def config(sid: str, request: Request) -> Response:
        session = sessions.get(sid).session
        link = f"{str(request.base_url).rstrip('/')}/?{session.info['query']}"
        text = await run_in_threadpool(session.config_text, link)
        return Response(text.encode(), media_type="application/yaml; charset=utf-8",
                        headers=_attachment(session, ".yaml"))

    @app.get("/api/sessions/{sid}/model.h5")
    async def model(sid: str) -> Response:
        session = sessions.get(sid).session
        content = await run_in_threadpool(session.model_bytes)
        return Response(content, media_type="application/x-hdf5",
                        headers=_attachment(session, ".h5"))


def _attachment(session: Session, suffix: str) -> dict[str, str]:
    name = f"playground-{_safe_stem(str(session.info['state']['dataset']) + suffix)}{suffix}"
    return {"Content-Disposition": f'attachment; filename="{name}"'}


async def _stream(entry: Entry, clock: Callable[[], float]) -> AsyncIterator[ServerSentEvent]:
    """`hello` (the session's info), then a `frame` whenever the session publishes one,
    the latest (a slow reader skips those it missed); a `closed` event when the session
    closes. The training thread only sets a flag on this loop: it never waits for us."""
    session = entry.session
    loop = asyncio.get_running_loop()
    published = asyncio.Event()

    def wake() -> None:  # on the training thread
        with suppress(RuntimeError):  # the loop has stopped: nobody is waiting
            loop.call_soon_threadsafe(published.set)

    entry.streams += 1
    entry.wakers.add(wake)
    stop_listening = session.listen(wake)
    try:
        yield ServerSentEvent(dumps(session.info).decode(), event="hello")
        sent = -1
        while not entry.closed:
            published.clear()  # before reading: a publish from here on wakes the wait
            version = session.version
            if version != sent:
                sent = version
                yield ServerSentEvent(dumps(session.frame()).decode(), event="frame")
                continue
            with suppress(asyncio.TimeoutError):
                await asyncio.wait_for(published.wait(), WAKE_SECONDS)
        yield ServerSentEvent(dumps({"error": "this session was closed; reload the page"})
                              .decode(), event="closed")
    finally:
        stop_listening()
        entry.wakers.discard(wake)
        entry.streams -= 1
        entry.seen = clock()


# --- request bodies --------------------------------------------------------------------------


def _limited(request: Request, limit: int, message: str) -> Request:
    """`request` whose body may hold `limit` bytes at most: a larger declared length is
    refused at once, a body that streams past it as soon as it does (413 `message`)."""
    declared = request.headers.get("content-length", "").strip()
    if declared and (not declared.isdigit() or int(declared) > limit):
        raise RequestError(413, message, {"Connection": "close"})
    seen = 0

    async def counted() -> dict[str, Any]:
        nonlocal seen
        received = await request.receive()
        if received["type"] == "http.request":
            seen += len(received.get("body", b""))
            if seen > limit:
                raise RequestError(413, message, {"Connection": "close"})
        return received

    return Request(request.scope, counted)


async def _json_body(request: Request) -> Any:
    how = 'send {"query": "dataset=circle&..."} as application/json'
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != JSON_MEDIA:  # (also: another site's page cannot post without asking)
        shown = f"Content-Type {clipped(visible(media), 40)}" if media else "no Content-Type"
        raise RequestError(415, f"{shown} on {request.url.path}; {how}")
    body = await _limited(request, MAX_QUERY_BYTES, f"the body is over the limit of "
                          f"{MAX_QUERY_BYTES:,} bytes; {how}").body()
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestError(400, f"the body is not JSON ({error}); {how}") from None


def _query(body: Any) -> str:
    """The URL query in a POST /api/sessions body."""
    query = body.get("query", "") if isinstance(body, dict) else None
    if not isinstance(query, str):
        raise RequestError(400, 'the body must be {"query": "<the page URL\'s query>"}, e.g. '
                                '{"query": "dataset=circle&layers=4,2"}')
    return query


def _whole(params: Mapping[str, str], name: str) -> int:
    example = "e.g. ?layer=1&unit=1&point=test:0"
    given = params.get(name)
    if given is None:
        raise RequestError(400, f"give ?{name}= (layers from 1, the first hidden one, to L, the "
                                f"output; units from 1), {example}")
    try:
        return int(given)
    except ValueError:
        raise RequestError(400, f"{name}={clipped(visible(given), 30)} is not a whole "
                                f"number; {example}") from None


def _add_csv_route(app: FastAPI, csvs: CsvFiles, limit: int) -> None:
    how = ("send one .csv file as the multipart part `file`: two feature columns and a "
           "`label` column")
    too_large = (f"over the playground's limit of {limit / 2**20:g} MB per CSV ({limit:,} "
                 "bytes); it draws up to 20,000 points: send a sample of the rows")

    @app.post("/api/csv", status_code=201)
    async def upload(request: Request) -> Response:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "multipart/form-data":
            raise RequestError(415, f"{how} (multipart/form-data)")
        limited = _limited(request, limit + FORM_SLACK, f"the upload is {too_large}")
        try:
            form = await limited.form(max_files=1, max_fields=4)
        except HTTPException as error:
            raise RequestError(400, f"the form cannot be read ({error.detail}); {how}") from None
        try:
            part = form.get("file")
            if part is None or isinstance(part, str):
                found = f"; it has {listing(form.keys(), 5, quoted=True)}" if form else ""
                raise RequestError(400, f"the form has no file part `file`{found}; {how}")
            filename = visible(part.filename or "")
            if Path(filename).suffix.lower() != ".csv":
                raise RequestError(415, f"{clipped(repr(filename or 'the file'), 60)} is not a "
                                        f".csv file; {how}")
            data = await part.read()
        finally:
            await form.close()
        if len(data) > limit:
            raise RequestError(413, f"{clipped(filename, 60)} is {too_large}")
        name = await run_in_threadpool(csvs.add, filename, data)
        return _json({"csv": name, "query": f"dataset=csv&csv={name}"}, 201)


# --- errors ----------------------------------------------------------------------------------


def _add_error_handlers(app: FastAPI, csvs: CsvFiles) -> None:
    def answer(request: Request, status: int, message: str,
               headers: dict[str, str] | None = None) -> Response:
        return Response(error_body(status, csvs.shown(message)), status, headers=headers,
                        media_type=JSON_MEDIA)

    async def bug(request: Request, error: Exception) -> Response:
        # a bug, not the client's mistake: still one JSON line (the server logs the rest)
        return answer(request, 500, f"internal error ({type(error).__name__}: "
                                    f"{clipped(visible(str(error)), 200)}); please report it")

    for kind, handler in {**handlers(answer, "the page is at /"), Exception: bug}.items():
        app.add_exception_handler(kind, handler)


class _SameOrigin:
    """Refuse requests that change something when another site's page sends them (a
    browser names that page's origin): a page elsewhere must not drive the playground
    on this machine. Reading needs no check (the browser keeps answers from it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            origin = _header(scope, b"origin")
            if origin is not None and not _same_origin(origin, _header(scope, b"host")):
                body = error_body(403, "requests from another site's page are refused; use "
                                       "the playground's own page")
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", JSON_MEDIA.encode()),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _same_origin(origin: str, host: str | None) -> bool:
    """The page's origin is this server as the browser reached it, or another name of it
    on this machine (a page opened as localhost posting to 127.0.0.1, same port)."""
    there, here = urlsplit(origin.lower()), urlsplit(f"//{(host or '').lower()}")
    if there.netloc == here.netloc:
        return True
    try:
        return there.port == here.port and _local(there.hostname) and _local(here.hostname)
    except ValueError:  # a port that is not a number
        return False


def _local(hostname: str | None) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname or "").is_loopback
    except ValueError:
        return False


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None
