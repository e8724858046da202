"""Inputs for predict and forward-trace: image files, folders of images, .npy and .csv batches.

Every input comes back in the raw units of the model's training data, as (n, I) float32
rows ready for `Model.outputs`. `iter_batches` streams them in fixed chunks, in input
order: image files are decoded and prepared on a pool of worker processes, a few chunks
ahead of the network, so a folder of 100,000 pictures never sits in memory at once.
Chunks have a fixed size whatever the number of workers, so the results are the same,
bit for bit, with one worker or many.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.data import IMAGE_SUFFIXES
from fcnn_cli.errors import FcnnError

if TYPE_CHECKING:
    from concurrent.futures import Future

    from fcnn_cli.model import Model

IMAGE_CHUNK = 16, 256  # images per task for a worker (and per forward pass): about an
#                        eighth of the run, within these bounds
ROW_CHUNK = 4096       # rows of a .npy/.csv batch per forward pass
PARALLEL_FROM = 64     # fewer images than this are not worth starting workers


@dataclass
class Batch:
    names: list[str]
    x: np.ndarray             # (n, I) float32, raw units
    looked_empty: np.ndarray  # (n,) bool: an image with no ink found
    many_images: bool = False  # from a run of images long enough for worker processes


@dataclass
class _Images:
    files: list[Path]
    names: list[str]  # as the user gave them (a shipped image by its name)


@dataclass
class _Rows:
    path: Path
    rows: np.ndarray  # (n, I) float32


def iter_batches(paths: list[str | Path] | list[Path], model: Model,
                 workers: int | None = None,
                 progress: Callable[[int, int], None] | None = None) -> Iterator[Batch]:
    """The inputs at `paths`, in order, a chunk at a time; every path is checked (and each
    .npy/.csv read) before any image is decoded. `progress(done, total)` follows along."""
    parts = _expand([Path(p) for p in paths], model)
    total = sum(len(p.files) if isinstance(p, _Images) else len(p.rows) for p in parts)
    done = 0
    for part in parts:
        chunks = _image_batches(part, model, workers) if isinstance(part, _Images) \
            else _row_batches(part)
        for batch in chunks:
            done += len(batch.names)
            if progress is not None:
                progress(done, total)
            yield batch


def as_rows(values: np.ndarray, model: Model, where: str) -> np.ndarray:
    """Raw examples as (n, I) float32 rows: one example (input_shape or (I,)) or many
    ((n, *input_shape) or (n, I)), checked for width and for NaN or infinity."""
    width = int(np.prod(model.input_shape))
    if values.dtype.kind not in "biuf":
        raise FcnnError(f"{where} holds {values.dtype} values; the model needs numbers")
    if values.ndim == 0 or values.size == 0:
        raise FcnnError(f"{where} holds no inputs (shape {values.shape}); give one input per row")
    if values.ndim == 1 or values.shape == tuple(model.input_shape):
        values = values.reshape(1, -1)
    rows = values.reshape(len(values), -1)
    if rows.shape[1] != width:
        raise FcnnError(f"{where}: each row has {rows.shape[1]} values but the model takes "
                        f"{width} (input shape {tuple(model.input_shape)})")
    from fcnn_cli.data.sources import check_finite

    check_finite(rows, Path(where), lambda row, col: f"row {row + 1}, column {col + 1}")
    return rows.astype(np.float32, copy=False)


# --- what the paths hold ------------------------------------------------------------


def _expand(paths: list[Path], model: Model) -> list[_Images | _Rows]:
    """Paths → runs of image files and batches of rows, in the order given."""
    from fcnn_cli.shipped import input_path

    parts: list[_Images | _Rows] = []
    for given in paths:
        path = input_path(given)
        if path.is_dir():
            images = sorted(p for p in path.rglob("*")
                            if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
            if not images:
                raise FcnnError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            _add_images(parts, images, [str(p) for p in images], model)
        elif path.suffix.lower() in (".npy", ".csv"):
            read = _load_npy if path.suffix.lower() == ".npy" else _load_csv
            parts.append(_Rows(path, as_rows(read(path), model, str(path))))
        else:
            _add_images(parts, [path], [str(given)], model)
    return parts


def _add_images(parts: list[_Images | _Rows], files: list[Path], names: list[str],
                model: Model) -> None:
    if len(model.input_shape) != 2:
        raise FcnnError(f"{files[0]}: this model takes {model.input_shape[0]} numbers per "
                        "input, not images; give a .npy or .csv batch")
    if parts and isinstance(parts[-1], _Images):  # one run for many image arguments
        parts[-1].files.extend(files)
        parts[-1].names.extend(names)
    else:
        parts.append(_Images(list(files), list(names)))


def _row_batches(part: _Rows) -> Iterator[Batch]:
    for start in range(0, len(part.rows), ROW_CHUNK):
        rows = part.rows[start:start + ROW_CHUNK]
        names = [f"{part.path}[{i}]" for i in range(start, start + len(rows))]
        yield Batch(names, rows, np.zeros(len(rows), bool))


# --- images, on worker processes ------------------------------------------------------


def image_chunk(count: int) -> int:
    """Images per chunk in a run of `count`: about an eighth of it, so that workers share
    the run evenly, within IMAGE_CHUNK. It depends on the run alone, never on the number
    of workers, and so do the results."""
    low, high = IMAGE_CHUNK
    return min(high, max(low, -(-count // 8)))


def _image_batches(part: _Images, model: Model, workers: int | None) -> Iterator[Batch]:
    from fcnn_cli.data.images import prepare_images

    size = image_chunk(len(part.files))
    starts = range(0, len(part.files), size)
    chunks = [(part.names[i:i + size], part.files[i:i + size]) for i in starts]
    shape, pixel_max = tuple(model.input_shape), model.pixel_max or 255.0
    workers = min(workers or _cores(), len(chunks))
    many = len(part.files) >= PARALLEL_FROM  # the run alone decides, not the workers
    if workers <= 1 or not many:
        for names, files in chunks:
            yield Batch(names, *prepare_images(files, shape, pixel_max), many_images=many)
        return
    from concurrent.futures import ProcessPoolExecutor  # only for many images

    pool = ProcessPoolExecutor(workers, mp_context=_fork_context(), initializer=_worker_start)
    try:
        pending: deque = deque()
        ahead = 2 * workers  # decoded chunks waiting at most: memory stays bounded
        for names, files in chunks:
            pending.append((names, pool.submit(prepare_images, files, shape, pixel_max)))
            if len(pending) >= ahead:
                yield _finished(pending.popleft())
        while pending:
            yield _finished(pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _finished(task: tuple[list[str], Future]) -> Batch:
    names, future = task
    return Batch(names, *future.result(), many_images=True)


def _worker_start() -> None:
    """Workers leave Ctrl-C to the main process, which stops them and reports once."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _fork_context():  # type: ignore[no-untyped-def]
    """fork where the platform has it: workers start at once, with the modules loaded."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else None)


def _cores() -> int:
    from fcnn_cli.threads import available_cores

    return available_cores()


# --- batch files ---------------------------------------------------------------------


def _load_npy(path: Path) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise FcnnError(f"{path} is not a readable .npy array ({error})") from None
    if array.dtype.kind not in "biuf":
        raise FcnnError(f"{path} holds {array.dtype} values; predict needs numbers")
    return array


def _load_csv(path: Path) -> np.ndarray:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    if not lines:
        raise FcnnError(f"{path} is empty; give one input per row")
    rows = []
    for number, line in enumerate(lines, start=1):
        cells = line.split(",")
        try:
            rows.append([float(cell) for cell in cells])
        except ValueError:
            if number == 1:  # a header row
                continue
            column = next(i for i, c in enumerate(cells, start=1) if not _is_number(c))
            raise FcnnError(f"{path}: row {number}, column {column}: "
                            f"{cells[column - 1].strip()!r} is not a number") from None
    if len({len(r) for r in rows}) > 1:
        raise FcnnError(f"{path}: rows have different numbers of values "
                        f"({sorted({len(r) for r in rows})})")
    if not rows:
        raise FcnnError(f"{path} has a header but no rows")
    return np.array(rows, dtype=np.float32)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
