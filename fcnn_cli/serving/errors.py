"""A client's mistake, as an HTTP status and one line saying what, where and how to fix.

Every error the server answers is JSON `{"error": "<one line>"}` with a 4xx status (503
when busy); `/invocations` adds MLflow's `error_code` and `message`. A `RequestError` is
an `FcnnError`, so code shared with the CLI may raise either: a plain `FcnnError` from
the model's own checks is a 400.
"""

from __future__ import annotations

import json

from fcnn_cli.errors import FcnnError, clipped

MESSAGE_LIMIT = 400  # characters: a message stays one readable line whatever was sent

# The kind an error is counted under in /metrics, by status.
KINDS = {400: "bad_request", 401: "unauthorized", 404: "not_found",
         405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type",
         422: "invalid_parameters", 503: "busy"}

MLFLOW_CODES = {400: "BAD_REQUEST", 401: "UNAUTHENTICATED", 404: "RESOURCE_DOES_NOT_EXIST",
                405: "BAD_REQUEST", 413: "BAD_REQUEST", 415: "BAD_REQUEST",
                422: "BAD_REQUEST", 503: "TEMPORARILY_UNAVAILABLE"}


class RequestError(FcnnError):
    """A request the server refuses: `status` (4xx, or 503) and a one-line `message`."""

    def __init__(self, status: int, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}

    @property
    def kind(self) -> str:
        return KINDS.get(self.status, "client_error" if self.status < 500 else "server_error")


def too_many_inputs(count: str, limit: int) -> RequestError:
    """413 for a request holding more inputs (rows) than the server's `max_queue_rows`."""
    return RequestError(413, f"the request holds {count} inputs, more than the {limit:,} "
                             "this server takes in one request; send them in several "
                             "requests (or start the server with a larger --max-queue-rows)")


def error_body(status: int, message: str, mlflow: bool = False) -> bytes:
    """The JSON body of an error: one line, never longer than MESSAGE_LIMIT."""
    line = clipped(" ".join(message.split()), MESSAGE_LIMIT)
    body: dict[str, str] = {"error": line}
    if mlflow:
        body.update(error_code=MLFLOW_CODES.get(status, "INTERNAL_ERROR"), message=line)
    return json.dumps(body, ensure_ascii=False).encode()
