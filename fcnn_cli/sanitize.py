"""Text from files and arguments, made safe for where it is shown or opened.

- `mask_url` / `mask_urls`: a database URL's password (`user:***@host`) and every
  password-like query parameter (`?password=***`), whether or not the URL parses, so
  that no message, progress line, log or written file ever shows a secret.
- `visible`: control characters (C0, DEL, C1) as escapes (`\\x1b`), so that a class or
  file name holding an escape sequence (clear the screen, set the title) is shown in a
  terminal, never obeyed.
- `csv_cell`: a text cell that a spreadsheet would run as a formula (it starts with
  = + - @, a tab or a carriage return: OWASP's CSV-injection list) gets a leading `'`;
  numbers stay numbers; control characters are escaped as for a terminal.
- `json_text`: JSON that is always valid: NaN and ±Infinity become null.

Only the standard library: `fcnn predict` and the error path import this module.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

MASK = "***"  # as SQLAlchemy hides a password

# Query parameters whose value is a secret: any name holding one of these words
# (password, passwd, sslpassword, pwd, client_secret, token, access_token, api_key,
# apikey, sslkey, private_key, auth, authorization, credentials, signature, sig).
_SECRET_NAME = re.compile(r"pass|pwd|secret|token|key|auth|credential|signature|^sig$|private",
                          re.IGNORECASE)
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*://"
# scheme://user:password@host: the password runs to the URL's last '@', so an unencoded
# '@', '/' or '?' in it is still hidden whole, parse or not (an '@' in a query hides more
# than the password: safe, if less helpful).
_USERINFO = re.compile(rf"(?P<head>{_SCHEME}[^:/?#@\s]*):(?P<password>\S*)@(?=[^@\s]*(?:\s|$))")
_PARAMETER = re.compile(r"(?P<head>[?&;](?P<name>[^=&;#\s]+)=)(?P<value>[^&;#\s]*)")
_URL = re.compile(rf"{_SCHEME}\S+")


def mask_url(url: str) -> str:
    """`url` with its password and secret query values replaced by ***."""
    masked = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", url)
    return _PARAMETER.sub(_mask_parameter, masked)


def _mask_parameter(match: re.Match[str]) -> str:
    if _SECRET_NAME.search(unquote(match["name"])):
        return match["head"] + MASK
    return match[0]


def url_secrets(url: str) -> list[str]:
    """The secret parts of `url` (the password, secret query values), as written and
    decoded: text a driver's error message may quote on its own."""
    found = [m["password"] for m in _USERINFO.finditer(url)]
    found += [m["value"] for m in _PARAMETER.finditer(url)
              if _SECRET_NAME.search(unquote(m["name"]))]
    found += [unquote(s) for s in found]
    # longest first, so a secret that contains another is hidden whole
    return sorted({s for s in found if len(s) >= 3}, key=len, reverse=True)


def mask_urls(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """Every URL in `text` masked, and every one of `secrets` replaced by ***."""
    for secret in secrets:
        text = text.replace(secret, MASK)
    return _URL.sub(lambda m: mask_url(m[0]), text) if "://" in text else text


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def visible(text: str, keep: str = "") -> str:
    """`text` with each control character except those in `keep` written as its Python
    escape (`\\x1b`, `\\n`): one line, shown as it is, never acted on by a terminal."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: m[0] if m[0] in keep else repr(m[0])[1:-1], text)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)",
                     re.IGNORECASE)


def csv_cell(text: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs: text starting with = + - @, a
    tab or a carriage return gets a leading `'`, except numbers (-0.5, -1e-07, -inf).
    Control characters but the tab are written as escapes, as in a terminal: the file is
    safe to print, and each row is one line."""
    if not text.startswith(_FORMULA_START) and not _CONTROL.search(text):
        return text  # (most cells: probabilities, plain names)
    if _NUMBER.fullmatch(text):
        return text
    quote = "'" if text.startswith(_FORMULA_START) else ""
    return quote + visible(text, keep="\t")


def json_text(value: Any) -> str:
    """`json.dumps(value)` that is valid JSON whatever the numbers: NaN and ±Infinity
    (a damaged or diverged model's outputs) are written as null."""
    try:  # the usual case, all finite, without walking a large trace twice
        return json.dumps(value, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(value), allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if value - value == 0 else None  # inf - inf and nan - nan are nan
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value
