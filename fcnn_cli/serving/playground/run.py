"""`fcnn playground` / `fcnn_cli.playground`: check, bind, run the app, open the browser.

On `fcnn serve`'s stack (fcnn_cli/serving/run.py): everything a user can get wrong (a
CSV the playground cannot train on, a taken port, a bad host, the missing `serve` extra)
is one line before anything starts; the socket is bound here, then uvicorn serves it;
Ctrl-C and SIGTERM stop it gracefully (open event streams end, every session's training
thread stops) and `playground` returns.
"""

from __future__ import annotations

import ipaddress
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fcnn_cli.errors import FcnnError
from fcnn_cli.serving.run import (
    LOG_LEVELS,
    _bind,
    _check_no_running_loop,
    _check_numbers,
    _run_one,
    _serve_extra,
    _url,
    server_settings,
)

EXTRA = "fcnn playground needs the serve extra: pip install 'fcnn[serve]'"
DEFAULT_PORT = 8765


def playground(csv: str | Path | None = None, *, label_column: str | None = None,
               host: str = "127.0.0.1", port: int = DEFAULT_PORT, open_browser: bool = True,
               ready: Callable[[str], Any] | None = None, log_level: str = "warning") -> None:
    """Run the playground until Ctrl-C or SIGTERM, then stop its sessions and return.
    `csv`: a CSV of two feature columns and a label column (`label`, or `label_column`)
    to offer beside the built-in datasets, and to open with. Prints one line with the
    URL, opens it in the browser unless `open_browser` is False; `ready(url)` is called
    once the URL accepts connections."""
    _check_no_running_loop()
    _check_numbers(port, workers=1, max_batch_size=1, max_latency_ms=0)
    if log_level not in LOG_LEVELS:
        raise FcnnError(f"--log-level {log_level!r} is not one of {', '.join(LOG_LEVELS)}")
    uvicorn = _extra()
    from fcnn_cli.serving.playground.app import create_app

    csv_files, opening = _csv_files(csv, label_column)
    listener = _bind(host, port)
    try:
        address = listener.getsockname()
        url = _url(host, address[1])
        if not ipaddress.ip_address(address[0]).is_loopback:
            print(f"warning: the playground listens on {host}: anyone who can reach this "
                  "machine can use it (and its processor)", file=sys.stderr, flush=True)
        page = _browsable(url) + (f"/{opening}" if opening else "")

        def announce() -> None:
            print(start_line(page), flush=True)
            if open_browser:  # (a browser may take a while to answer: not on the loop)
                threading.Thread(target=_open, args=(page,), daemon=True).start()
            if ready is not None:
                ready(url)

        app = create_app(csv_files)
        _run_one(uvicorn, uvicorn.Config(app, **server_settings(log_level)), listener,
                 announce)
    finally:
        listener.close()


def start_line(page: str) -> str:
    """The one line `fcnn playground` prints."""
    return f"fcnn playground on {page} (Ctrl-C stops it)"


def _extra() -> Any:
    """uvicorn, once the serve extra (sse-starlette included) is known to be installed."""
    try:
        uvicorn = _serve_extra()
        import sse_starlette  # noqa: F401
    except (FcnnError, ImportError):
        raise FcnnError(EXTRA) from None
    return uvicorn


def _csv_files(csv: str | Path | None, label_column: str | None) -> tuple[dict[str, Any], str]:
    """The command line's CSV by its name in URLs, checked (a session is built on it),
    and the query that opens the page on it ("" without one)."""
    if csv is None:
        if label_column is not None:
            raise FcnnError("--label-column names a column of the CSV; give the CSV too, "
                            "e.g. fcnn playground data.csv --label-column class")
        return {}, ""
    from fcnn_cli.serving.playground.app import csv_name
    from fcnn_cli.serving.playground.state import CsvFile, read_csv

    path = Path(csv).expanduser()
    if not path.is_file():
        raise FcnnError(f"{csv}: {'is a folder' if path.is_dir() else 'no such file'}; give "
                        "a CSV of two feature columns and a label column")
    source = CsvFile(path.resolve(), label_column or "label")
    read_csv(source, "the playground takes two numeric feature columns and a label column: "
                     "name it with --label-column")
    name = csv_name(path)
    return {name: source}, f"?dataset=csv&csv={name}"


def _browsable(url: str) -> str:
    """The URL a browser on this machine opens: any-interface addresses as loopback."""
    return url.replace("//0.0.0.0:", "//127.0.0.1:").replace("//[::]:", "//[::1]:")


def _open(page: str) -> None:
    import webbrowser

    try:
        webbrowser.open(page)
    except Exception:  # no usable browser: the start line has the address to open
        pass
