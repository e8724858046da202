"""The JSON answer to each exception a route may raise, for `fcnn serve` and `fcnn
playground` alike: one line and a 4xx status, never a traceback.

Each app says how an answer is written (`answer(request, status, message, headers)`: a
body in its own shape) and where its routes are (for a 404's message).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from fcnn_cli.errors import FcnnError, clipped
from fcnn_cli.sanitize import visible
from fcnn_cli.serving.errors import RequestError

Answer = Callable[[Request, int, str, "dict[str, str] | None"], Response]
Handler = Callable[[Request, Exception], Awaitable[Response]]


def handlers(answer: Answer, routes: str) -> dict[type[Exception], Handler]:
    """The handler of each exception class (the most specific class wins). `routes` ends
    a 404's message: where the routes are, e.g. "the routes are listed at GET /docs"."""

    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestError)
        return answer(request, error.status, error.message, error.headers)

    async def bad_input(request: Request, error: Exception) -> Response:
        assert isinstance(error, FcnnError)
        return answer(request, 400, error.message, None)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        path = clipped(visible(request.url.path), 80)
        if error.status_code == 404:
            message = f"no route {request.method} {path}; {routes}"
        elif error.status_code == 405:
            allowed = (error.headers or {}).get("Allow", "")
            message = (f"{request.method} is not allowed on {path}; use "
                       f"{allowed or 'another method'}")
        else:
            message = str(error.detail)
        return answer(request, error.status_code, message, error.headers)

    async def invalid(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return answer(request, 422, f"{where}: {first.get('msg', 'invalid value')}", None)

    async def gone(request: Request, error: Exception) -> Response:
        return Response(status_code=400)  # the client left; nobody reads this

    return {RequestError: refused, FcnnError: bad_input, HTTPException: http_error,
            RequestValidationError: invalid, ClientDisconnect: gone}
