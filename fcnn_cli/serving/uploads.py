"""Uploaded files → model inputs, exactly as `fcnn predict` reads the same files.

A picture goes through the model's own picture pipeline (`load_image`, with the model's
spec and pixel range), a CSV through predict's table reader (the model's feature columns
by name), a .npy array through predict's checked loader. The readers take paths, so each
upload is written to a private temporary file (mode 0600, removed straight after) whose
name is random: the client's filename is never used as a path, only shown, made safe.

Every refusal is a `RequestError` (400, or 413 for too many files or rows and for a
picture larger than the pipeline's pixel limit) naming the upload by its shown name,
never the temporary file. A request holds at most `max_rows` inputs, all files together:
the server's `max_queue_rows`, the same limit as for a JSON request.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.errors import FcnnError, clipped
from fcnn_cli.sanitize import visible
from fcnn_cli.serving.errors import RequestError, too_many_inputs
from fcnn_cli.serving.options import ServeOptions

if TYPE_CHECKING:
    from fcnn_cli.model import Model

MAX_FILES = 256      # file parts in one request
NAME_CHARS = 100     # a shown filename is cut to this

# What a file's first bytes say it is (the readers decide for good; this picks the reader).
_NPY_MAGIC = b"\x93NUMPY"
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", ".png"), (b"\xff\xd8\xff", ".jpg"), (b"GIF87a", ".gif"),
                (b"GIF89a", ".gif"), (b"BM", ".bmp"), (b"II*\x00", ".tif"),
                (b"MM\x00*", ".tif"))
# The pipeline's refusal of a picture over its pixel limit (a decompression bomb): 413.
_TOO_LARGE = re.compile(r"too large|pixels, more than", re.IGNORECASE)
# Pictures decoded at once, in all requests: a small PNG may hold a picture of the pixel
# limit (64 MP, ~200 MB decoded); one per core bounds the memory and the CPU time that
# concurrent uploads take, whatever the server's thread pool.
_DECODING = threading.BoundedSemaphore(max(2, os.cpu_count() or 2))


@dataclass(frozen=True)
class Upload:
    """One `file` part of a request, as received."""

    filename: str
    data: bytes
    content_type: str | None = None


@dataclass
class UploadRows:
    """The inputs the uploads hold, in order: one row per picture, one per CSV/.npy row."""

    names: list[str]            # per row: the shown filename; a batch's rows `name[i]`
    rows: np.ndarray            # (n, features) float32, raw units (as `Model.outputs` takes)
    looked_empty: list[bool]    # per row: a picture in which no ink or object was found
    seen: list[np.ndarray | None] | None  # with explain: each picture's prepared input
    #                             (the model's input shape, 0..pixel_max); None for table rows


def rows_from_uploads(model: Model, uploads: Sequence[Upload], explain: bool = False,
                      max_rows: int = ServeOptions.max_queue_rows) -> UploadRows:
    """Read every upload as `fcnn predict` reads the same file; the first bad one raises
    RequestError naming it (nothing is kept of the others), and so do more than
    `max_rows` inputs in all (the files after are not read)."""
    if not uploads:
        raise RequestError(400, "no file in the request; send one or more `file` parts as "
                                "multipart/form-data, e.g. curl -F file=@digit.png …/predict")
    if len(uploads) > MAX_FILES:
        raise RequestError(413, f"{len(uploads)} files in one request, more than the "
                                f"{MAX_FILES} allowed; send them in several requests")
    names, parts, empty, seen = [], [], [], []
    for number, upload in enumerate(uploads, 1):
        name = shown_name(upload.filename, number)
        rows, row_names, looked_empty, pictures = _read(model, upload, name)
        names += row_names
        parts.append(rows)
        empty += looked_empty
        seen += pictures
        if len(names) > max_rows:
            count = f"{'at least ' if number < len(uploads) else ''}{len(names):,}"
            raise too_many_inputs(count, max_rows)
    return UploadRows(names, np.concatenate(parts).astype(np.float32, copy=False), empty,
                      seen if explain else None)


def shown_name(filename: str | None, number: int) -> str:
    """A client's filename as a response shows it: its last part only (no folders),
    control characters escaped, one short line; `upload-<number>` when it has none."""
    last = re.split(r"[/\\]", filename or "")[-1].strip()
    return clipped(visible(last), NAME_CHARS) or f"upload-{number}"


# --- one upload -----------------------------------------------------------------------

_Read = tuple[np.ndarray, list[str], list[bool], list[np.ndarray | None]]


def _read(model: Model, upload: Upload, name: str) -> _Read:
    if not upload.data:
        raise RequestError(400, f"{name}: the file is empty (0 bytes); send a picture or, "
                                "for a table model, a .csv")
    kind = _kind(model, upload)
    if kind == "picture" and model.image is None:
        raise RequestError(400, f"{name}: this model takes {model.architecture[0]} numbers "
                                "per input, not pictures; upload a .csv (or .npy) batch")
    suffix = _image_suffix(upload.data) if kind == "picture" else f".{kind}"
    return _with_private_file(upload.data, suffix, name,
                              lambda path: _READERS[kind](model, path, name))


def _kind(model: Model, upload: Upload) -> str:
    """npy, csv or picture: a .npy by its magic bytes; a CSV by its name or media type,
    or any file that is not a picture for a model that takes no pictures."""
    if upload.data.startswith(_NPY_MAGIC):
        return "npy"
    media = (upload.content_type or "").split(";")[0].strip().lower()
    named_csv = (upload.filename or "").lower().endswith(".csv")
    if named_csv or media in ("text/csv", "application/csv"):
        return "csv"
    looks_like_picture = _image_suffix(upload.data) != ".img"
    return "csv" if model.image is None and not looks_like_picture else "picture"


def _image_suffix(data: bytes) -> str:
    """The suffix of the picture format the bytes start with (WebP: RIFF....WEBP)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ".webp"
    return next((suffix for magic, suffix in _IMAGE_MAGIC if data.startswith(magic)), ".img")


def _with_private_file(data: bytes, suffix: str, name: str,
                       read: Callable[[Path], _Read]) -> _Read:
    """read(path) on a private copy of `data`: a random name (mkstemp: mode 0600,
    created exclusively), removed whatever happens; FcnnErrors become RequestErrors that
    name the upload, not the file."""
    handle, where = tempfile.mkstemp(prefix="fcnn-upload-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        return read(Path(where))
    except RequestError:
        raise
    except FcnnError as error:
        message = error.message.replace(where, name)
        status = 413 if _TOO_LARGE.search(message) else 400
        raise RequestError(status, message) from None
    finally:
        os.unlink(where)


def _picture(model: Model, path: Path, name: str) -> _Read:
    from fcnn_cli.data.images import load_image

    assert model.image is not None
    with _DECODING:
        prepared = load_image(path, model.image, model.pixel_max or 255.0)
    pixels = np.asarray(prepared.pixels, np.float32)
    return (pixels.reshape(1, -1), [name], [bool(prepared.looked_empty)],
            [pixels.reshape(model.image.shape)])


def _table(model: Model, path: Path, name: str, values: np.ndarray) -> _Read:
    from fcnn_cli.inputs import as_rows

    rows = as_rows(values, model, name)
    names = [f"{name}[{i}]" for i in range(len(rows))]
    return rows, names, [False] * len(rows), [None] * len(rows)


def _csv(model: Model, path: Path, name: str) -> _Read:
    from fcnn_cli.inputs import _load_csv  # predict's own reader: the same columns

    return _table(model, path, name, _load_csv(path, model))


def _npy(model: Model, path: Path, name: str) -> _Read:
    from fcnn_cli.inputs import _load_npy

    return _table(model, path, name, _load_npy(path))


_READERS: dict[str, Callable[[Model, Path, str], _Read]] = {
    "picture": _picture, "csv": _csv, "npy": _npy}
