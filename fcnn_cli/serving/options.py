"""How a served model behaves: its name in URLs, micro-batching, limits, CORS and the key.

`ServeOptions` travels from `fcnn serve` (or `fcnn_cli.serve`) to the app factory. For
`--workers N` uvicorn starts each worker process from an import string, so the options
also travel as environment variables (`environment`/`from_environment`): the key itself
is never copied there, only the name of the variable that holds it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, replace

from fcnn_cli.errors import FcnnError

MODEL_ENV = "FCNN_SERVE_MODEL"      # the model's path (or shipped name)
OPTIONS_ENV = "FCNN_SERVE_OPTIONS"  # the options as JSON, without the key
KEY_ENV_ENV = "FCNN_SERVE_API_KEY_ENV"  # the NAME of the variable that holds the key


@dataclass(frozen=True)
class ServeOptions:
    name: str | None = None           # the model's name in URLs; None: the model file's stem
    max_batch_size: int = 64          # rows gathered into one forward pass, at most
    max_latency_ms: float = 2.0       # how long the first row of a batch waits for others
    max_queue_rows: int = 4096        # rows waiting at most; beyond, 503 + Retry-After
    max_body_bytes: int = 16 * 2**20  # a request body over this is refused with 413
    cors_origins: tuple[str, ...] = ()  # origins a browser may call from; () = CORS off
    api_key: str | None = field(default=None, repr=False)  # Bearer key; never shown

    def __post_init__(self) -> None:
        for what, value in (("max_batch_size", self.max_batch_size),
                            ("max_queue_rows", self.max_queue_rows),
                            ("max_body_bytes", self.max_body_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise FcnnError(f"{what} is {value!r}; it must be a whole number of at least 1")
        if not 0 <= self.max_latency_ms <= 60_000:
            raise FcnnError(f"max_latency_ms is {self.max_latency_ms!r}; give 0 to 60000 "
                            "milliseconds (a few are enough to gather a batch)")
        if self.max_queue_rows < self.max_batch_size:
            raise FcnnError(f"max_queue_rows ({self.max_queue_rows}) is smaller than "
                            f"max_batch_size ({self.max_batch_size}); the queue must hold "
                            "at least one full batch")
        if self.api_key is not None and not self.api_key.strip():
            raise FcnnError("the API key is empty; set the variable to a long random "
                            "string, e.g. `python -c 'import secrets; "
                            "print(secrets.token_urlsafe(32))'`")
        if self.name is not None and not _url_safe(self.name):
            raise FcnnError(f"the model name {self.name!r} cannot be part of a URL; use "
                            "letters, digits, '-', '_' and '.' only")
        object.__setattr__(self, "cors_origins", tuple(self.cors_origins))


def _url_safe(name: str) -> bool:
    return bool(name) and name not in (".", "..") and \
        all(c.isascii() and (c.isalnum() or c in "-_.") for c in name)


def environment(model: str, options: ServeOptions, api_key_env: str | None) -> dict[str, str]:
    """The variables from which `from_environment` rebuilds these options in a worker
    process; the key stays in `api_key_env`, which must be set when `options.api_key` is."""
    settings = {k: v for k, v in asdict(options).items() if k != "api_key"}
    settings["cors_origins"] = list(options.cors_origins)
    found = {MODEL_ENV: model, OPTIONS_ENV: json.dumps(settings)}
    if api_key_env is not None:
        found[KEY_ENV_ENV] = api_key_env
    return found


def from_environment() -> tuple[str, ServeOptions]:
    """The model and options that `environment` wrote (in a worker process)."""
    model = os.environ.get(MODEL_ENV)
    if not model:
        raise FcnnError(f"{MODEL_ENV} is not set; start the server with `fcnn serve MODEL`")
    try:
        settings = json.loads(os.environ.get(OPTIONS_ENV) or "{}")
        options = ServeOptions(**settings)
    except (ValueError, TypeError) as error:
        raise FcnnError(f"{OPTIONS_ENV} holds no valid options ({error}); start the server "
                        "with `fcnn serve MODEL`") from None
    key_env = os.environ.get(KEY_ENV_ENV)
    if key_env:
        key = os.environ.get(key_env)
        if not key:
            raise FcnnError(f"the API key variable {key_env} is not set or empty")
        options = replace(options, api_key=key)
    return model, options
