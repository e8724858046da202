"""`fcnn serve` / `fcnn_cli.serve`: check the options, load the model, bind, run uvicorn.

Everything a user can get wrong is refused before the server starts, in one line (an
FcnnError): numbers out of range, a taken port, an unset key variable, a missing `serve`
extra. The socket is bound here, not by uvicorn, so that a taken port is that one line
and not uvicorn's log and exit status 3; one process serves it (micro-batching gathers
concurrent requests there), or with `workers` > 1 uvicorn's worker processes share it,
each building the app from the environment (`app_from_environment`).

Ctrl-C and SIGTERM stop the server gracefully: no new connections, in-flight requests
answered, then the app's shutdown (the batcher answers everything it accepted), and
`serve` returns.
"""

from __future__ import annotations

import ipaddress
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fcnn_cli.errors import FcnnError

if TYPE_CHECKING:
    from fcnn_cli.model import Model

EXTRA = "fcnn serve needs the serve extra: pip install 'fcnn[serve]'"
APP_FACTORY = "fcnn_cli.serving.app:app_from_environment"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
GRACE_SECONDS = 30  # a graceful stop waits this long for in-flight requests, at most
BACKLOG = 2048      # connections the kernel holds until the server accepts them
SHORT_KEY = 16      # a key shorter than this is guessable: warn
MAX_LATENCY_MS = 60_000  # as ServeOptions allows
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ORIGIN = re.compile(r"https?://[^/\s?#]+")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def serve(model: str | Path | Model, *, host: str = "127.0.0.1", port: int = 8000,
          name: str | None = None, workers: int = 1, max_batch_size: int = 64,
          max_latency_ms: float = 2.0, max_queue_rows: int | None = None,
          cors_origins: tuple[str, ...] | list[str] = (), api_key_env: str | None = None,
          ready: Callable[[str], Any] | None = None, log_level: str = "warning") -> None:
    """Serve `model` (a file, a shipped name such as "mnist", or a Model) over HTTP until
    Ctrl-C or SIGTERM, then drain and return. Prints one line with the URL and a `curl`
    example; `ready(url)` is called once the URL accepts connections. `api_key_env` names
    the environment variable holding the key every route but health then requires.
    `max_queue_rows` bounds the rows waiting for the network, and so the rows one request
    may hold (default 4,096, or `max_batch_size` if larger)."""
    _check_no_running_loop()
    _check_numbers(port, workers, max_batch_size, max_latency_ms, max_queue_rows)
    origins = tuple(_checked_origin(origin) for origin in cors_origins)
    if log_level not in LOG_LEVELS:
        raise FcnnError(f"--log-level {log_level!r} is not one of {', '.join(LOG_LEVELS)}")
    key = _key(api_key_env)
    uvicorn = _serve_extra()
    loaded, path = _load(model)
    if workers > 1 and path is None:
        raise FcnnError("workers > 1 need the model as a file or a shipped name (each worker "
                        "process loads it), not a Model object; save it first")
    if workers > 1 and threading.current_thread() is not threading.main_thread():
        raise FcnnError("serve with workers > 1 from the main thread (it handles signals)")
    from fcnn_cli.serving.options import ServeOptions

    queue = max_queue_rows if max_queue_rows is not None else \
        max(ServeOptions.max_queue_rows, max_batch_size)  # room for one full batch
    options = ServeOptions(name=_url_name(name, loaded), max_batch_size=max_batch_size,
                           max_latency_ms=float(max_latency_ms), max_queue_rows=queue,
                           cors_origins=origins, api_key=key)
    listener = _bind(host, port)
    try:
        url = _url(host, listener.getsockname()[1])
        warning = exposure_warning(host, listener.getsockname()[0], key)
        if warning:
            print(f"warning: {warning}", file=sys.stderr, flush=True)

        app: Any = None

        def announce() -> None:
            print(start_line(options.name or "model", url, loaded, api_key_env), flush=True)
            batching = app.state.served.warning if app is not None else None
            if batching:  # (set once the app has started: its batcher's BLAS limit)
                print(f"warning: {batching}", file=sys.stderr, flush=True)
            if ready is not None:
                ready(url)

        config = server_settings(log_level)
        if workers == 1:
            from fcnn_cli.serving.app import create_app

            app = create_app(loaded, options)
            _run_one(uvicorn, uvicorn.Config(app, **config), listener, announce)
        else:
            from fcnn_cli.serving.options import environment

            assert path is not None  # (the key stays in api_key_env, named, never copied)
            _run_workers(uvicorn.Config(APP_FACTORY, factory=True, workers=workers, **config),
                         listener, announce, environment(str(path.resolve()), options,
                                                         api_key_env))
    finally:
        listener.close()


def server_settings(log_level: str = "warning") -> dict[str, Any]:
    """uvicorn's settings for `fcnn serve` (benchmarks/serve.py gives its HTTP floor the
    same). The one line stays one line: each request is logged only when asked for. The
    event loop and HTTP parser are uvicorn's choice, "auto": uvloop and httptools where
    installed (the serve extra has them), about twice as fast as asyncio and h11."""
    return dict(log_level=log_level, access_log=log_level in ("info", "debug"),
                loop="auto", http="auto", lifespan="on",
                timeout_graceful_shutdown=GRACE_SECONDS, backlog=BACKLOG)


def start_line(name: str, url: str, model: Model, api_key_env: str | None) -> str:
    """The one line `fcnn serve` prints: where, and a request to try."""
    example = "digit.png" if model.image is not None else "rows.csv"
    here = url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:")
    auth = f' -H "Authorization: Bearer ${api_key_env}"' if api_key_env else ""
    literal = " -g" if "[" in here else ""  # curl reads [::1] as a pattern without -g
    return (f"serving {name} at {url} (page: /, API docs: /docs); "
            f"try: curl{literal}{auth} -F file=@{example} {here}/predict")


# --- checks, before anything starts --------------------------------------------------


def _check_no_running_loop() -> None:
    """serve() blocks, running its own event loop: not possible inside a running one."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise FcnnError("serve() runs until stopped and cannot run inside an event loop (a "
                    "notebook's); run `fcnn serve MODEL` in a terminal, or serve "
                    "fcnn_cli.serving.app.create_app(model) with your own ASGI server")


def _check_numbers(port: int, workers: int, max_batch_size: int, max_latency_ms: float,
                   max_queue_rows: int | None = None) -> None:
    if not 0 <= port <= 65535:
        raise FcnnError(f"--port {port} is not a port; give 1-65535 (or 0 for any free port)")
    if workers < 1:
        raise FcnnError(f"--workers {workers}: give 1 or more server processes")
    if max_batch_size < 1:
        raise FcnnError(f"--max-batch-size {max_batch_size}: give 1 or more rows per forward "
                        "pass (1: no batching)")
    if not 0 <= max_latency_ms <= MAX_LATENCY_MS:  # NaN fails too
        raise FcnnError(f"--max-latency-ms {max_latency_ms:g}: give a wait in milliseconds, "
                        f"0 to {MAX_LATENCY_MS:,} (0: no waiting for others; a few are "
                        "enough to gather a batch)")
    if max_queue_rows is not None and max_queue_rows < max_batch_size:
        raise FcnnError(f"--max-queue-rows {max_queue_rows}: give at least --max-batch-size "
                        f"({max_batch_size}) rows, room for one full batch; it is also the "
                        "most rows one request may hold")


def _checked_origin(origin: str) -> str:
    """A CORS origin as browsers send it: scheme://host[:port], no path; or * for any."""
    origin = origin.strip().rstrip("/")
    if origin != "*" and not _ORIGIN.fullmatch(origin):
        raise FcnnError(f"--cors-origin {_shown(origin)!r} is not an origin; give "
                        "scheme://host[:port] as the browser shows it, e.g. "
                        "https://example.com or http://localhost:3000 (or * for any)")
    return origin


def _key(variable: str | None) -> str | None:
    """The API key held in the environment variable `variable` (never shown anywhere)."""
    if variable is None:
        return None
    if not _VARIABLE.fullmatch(variable):  # perhaps the key itself: never echo it
        raise FcnnError("--api-key-env takes the NAME of an environment variable that holds "
                        "the key (letters, digits, _), not the key itself, e.g. "
                        "--api-key-env FCNN_API_KEY")
    key = os.environ.get(variable, "")
    if not key.strip():
        raise FcnnError(f"--api-key-env {variable}: the environment variable {variable} is "
                        f"{'empty' if variable in os.environ else 'not set'}; set it to a "
                        f"long random key first, e.g. export {variable}=$(python -c "
                        "'import secrets; print(secrets.token_urlsafe(32))')")
    if len(key) < SHORT_KEY:
        print(f"warning: the key in {variable} is only {len(key)} characters, easy to "
              f"guess; use {SHORT_KEY} or more random ones", file=sys.stderr, flush=True)
    return key


def _serve_extra() -> Any:
    """uvicorn, once FastAPI, uvicorn, prometheus_client and python-multipart are known
    to be installed (orjson, uvloop and httptools only make it faster: optional)."""
    import importlib

    try:
        import fastapi  # noqa: F401
        import prometheus_client  # noqa: F401
        import uvicorn
    except ImportError:
        raise FcnnError(EXTRA) from None
    for multipart in ("python_multipart", "multipart"):  # its name before 0.0.13: multipart
        try:
            importlib.import_module(multipart)
            return uvicorn
        except ImportError:
            pass
    raise FcnnError(EXTRA)


def _load(model: str | Path | Model) -> tuple[Model, Path | None]:
    """The model, and the file it came from (None for a Model object)."""
    from fcnn_cli.model import Model

    if isinstance(model, Model):
        return model, None
    from fcnn_cli.shipped import model_path
    from fcnn_cli.store import load_model

    path = model_path(model)
    return load_model(path), path


def _url_name(name: str | None, model: Model) -> str:
    """--name as given (checked), or the model file's stem made fit for a URL."""
    if name is None:
        from fcnn_cli.serving.app import default_name

        return default_name(model)
    if not _NAME.fullmatch(name):
        raise FcnnError(f"--name {_shown(name)!r}: a model's name in URLs is letters, "
                        "digits, '.', '_' and '-' (64 at most, starting with a letter or "
                        "digit), e.g. --name mnist")
    return name


def _shown(text: str) -> str:
    from fcnn_cli.sanitize import visible

    return visible(text)[:80]


# --- the socket ----------------------------------------------------------------------


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or one line saying why not."""
    if not host.strip():
        raise FcnnError("--host is empty; give 127.0.0.1 (this machine only) or 0.0.0.0 "
                        "(every interface)")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as error:
        raise FcnnError(f"--host {_shown(host)!r} is not an address or a name this machine "
                        f"can resolve ({getattr(error, 'strerror', error)}); e.g. 127.0.0.1 "
                        "(this machine only) or 0.0.0.0 (every interface)") from None
    listener = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # a restart needs no wait for old connections; (on Windows
            #                  the option would let two servers share the port)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(BACKLOG)  # from here, connections wait for the server
    except OSError as error:
        listener.close()
        raise FcnnError(_bind_failure(error, host, port)) from None
    listener.set_inheritable(True)  # for worker processes
    return listener


def _bind_failure(error: OSError, host: str, port: int) -> str:
    import errno

    if error.errno == errno.EADDRINUSE:
        return f"port {port} is in use; pick another with --port"
    if error.errno == errno.EACCES:
        return (f"port {port} needs administrator rights on this machine; pick one above 1023 "
                "with --port")
    if error.errno == errno.EADDRNOTAVAIL:
        return (f"--host {_shown(host)!r} is not an address of this machine; use 127.0.0.1 "
                "(this machine only) or 0.0.0.0 (every interface)")
    return f"cannot listen on {_shown(host)}:{port} ({error.strerror or error})"


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def exposure_warning(host: str, address: str, key: str | None) -> str | None:
    """A warning when others can reach the server (bound to `address`) and no key is
    asked for."""
    if key is not None or ipaddress.ip_address(address).is_loopback:
        return None
    where = "every interface" if host in ("0.0.0.0", "::", "") else _shown(host)
    return (f"serving on {where} without a key: anyone who can reach this machine can use "
            "the model; require one with --api-key-env VAR")


# --- running uvicorn -------------------------------------------------------------------


def _run_one(uvicorn: Any, config: Any, listener: socket.socket,
             announce: Callable[[], None]) -> None:
    """One server process, on the bound socket; announce once it has started."""

    class Server(uvicorn.Server):  # type: ignore[misc, name-defined]
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                announce()

    with _ending_quietly((signal.SIGINT, signal.SIGTERM)):
        try:
            Server(config).run(sockets=[listener])
        except SystemExit as stop:  # uvicorn's exit on a failed startup: said in its log
            if stop.code:
                raise FcnnError("the server could not start (see the message above)",
                                exit_code=1) from None


def _run_workers(config: Any, listener: socket.socket, announce: Callable[[], None],
                 environment: Mapping[str, str]) -> None:
    """`config.workers` processes on the bound socket, supervised by uvicorn; the
    connections that come before they are up wait in the socket's backlog."""
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors.multiprocess import SIGNALS, Multiprocess

    with _ending_quietly(tuple(SIGNALS)), _environ(environment):
        supervisor = Multiprocess(config, sockets=[listener])
        announce()
        supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        raise FcnnError("the worker processes could not start (see the messages above)",
                        exit_code=1)


@contextmanager
def _ending_quietly(signals: tuple[int, ...]) -> Iterator[None]:
    """While uvicorn runs it handles these signals itself; once it has stopped gracefully
    it raises the signal again for the handler it found. That handler does nothing here:
    the server has drained, `serve` returns and the command ends with status 0 (not a
    KeyboardInterrupt, not death by SIGTERM). The previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield  # uvicorn leaves signals alone off the main thread, and so does this
        return
    previous = {number: signal.signal(number, _ignore) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _ignore(number: int, frame: object) -> None:
    """A signal that arrives once the server has stopped: nothing left to do."""


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` set (worker processes inherit it), restored after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
