"""Inputs for predict and forward-trace: image files, folders of images, .npy and .csv batches.

Every input comes back in the raw units of the model's training data, as (n, I) float32
rows ready for `Model.outputs`. `iter_batches` streams them in fixed chunks, in input
order: image files are decoded and prepared on a pool of worker processes, a few chunks
ahead of the network, so a folder of 100,000 pictures never sits in memory at once.
Chunks have a fixed size whatever the number of workers, so the results are the same,
bit for bit, with one worker or many.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.data import IMAGE_SUFFIXES
from fcnn_cli.errors import FcnnError

if TYPE_CHECKING:
    from fcnn_cli.model import Model

ROW_CHUNK = 4096  # rows of a .npy/.csv batch per forward pass


@dataclass
class Batch:
    names: list[str]
    x: np.ndarray             # (n, I) float32, raw units
    looked_empty: np.ndarray  # (n,) bool: an image with no ink found


@dataclass
class _Images:
    files: list[str | Path]
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
            images = _image_files(path)
            if not images:
                raise FcnnError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            _add_images(parts, images, images, model)
        elif path.suffix.lower() == ".npy":
            parts.append(_Rows(path, as_rows(_load_npy(path), model, str(path))))
        elif path.suffix.lower() == ".csv":
            parts.append(_Rows(path, as_rows(_load_csv(path, model), model, str(path))))
        else:
            _add_images(parts, [path], [str(given)], model)
    return parts


def _image_files(folder: Path) -> list[str]:
    """The image files under `folder`, in sorted order of their parts (as sorted Paths;
    symlinked and unreadable folders are skipped, as rglob does). os.scandir knows which
    entries are folders without a stat call each: 2,000 pictures are listed in less than
    half of rglob's time. Their paths stay strings (as str(Path) writes them: scandir joins
    a Path's text and a name): 2,000 Path objects took 3 ms before the workers started."""
    def walk(root: str) -> Iterator[str]:
        try:
            entries = list(os.scandir(root))
        except PermissionError:
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                yield from walk(entry.path)
            elif os.path.splitext(entry.name)[1].lower() in IMAGE_SUFFIXES and entry.is_file():
                yield entry.path

    return sorted(walk(str(folder)), key=lambda name: os.path.normcase(name).split(os.sep))


def _add_images(parts: list[_Images | _Rows], files: Sequence[str | Path], names: list[str],
                model: Model) -> None:
    if model.image is None:
        raise FcnnError(f"{files[0]}: this model takes {model.architecture[0]} numbers per "
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


def _image_batches(part: _Images, model: Model, workers: int | None) -> Iterator[Batch]:
    """A run of images long enough for worker processes is run through the network on one
    BLAS thread (where threadpoolctl can set it), set once, before the workers start: the
    cores are theirs, a second BLAS thread would only wait for them, and OpenBLAS's spare
    thread spins for about 0.1 s of a core each time it is started (set and lifted chunk
    by chunk, it took 0.05 s of CPU from the workers of a 2,000-picture run). The run
    alone decides, not the number of workers, so the results are the same with any."""
    from fcnn_cli.data.prepare import PARALLEL_FROM, iter_prepared
    from fcnn_cli.threads import blas_threads

    assert model.image is not None
    many = len(part.files) >= PARALLEL_FROM
    with blas_threads(None, default=1) if many else contextlib.nullcontext():
        for rows, prepared in iter_prepared(part.files, model.image, model.pixel_max or 255.0,
                                            workers):
            yield Batch(part.names[rows], prepared.pixels, prepared.looked_empty)


# --- batch files ---------------------------------------------------------------------


def _load_npy(path: Path) -> np.ndarray:
    """The array in a .npy batch; its header is checked first, so an array over the memory
    budget or larger than the file is refused before anything is allocated."""
    from fcnn_cli.limits import check_allocation, check_npy

    try:
        with path.open("rb") as header:
            shape, dtype = check_npy(header, str(path), path.stat().st_size)
        check_allocation(str(path), shape, max(dtype.itemsize, 4))  # as float32 rows
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise FcnnError(f"{path} is not a readable .npy array ({error})") from None
    if array.dtype.kind not in "biuf":
        raise FcnnError(f"{path} holds {array.dtype} values; predict needs numbers")
    return array


def _load_csv(path: Path, model: Model) -> np.ndarray:
    """A CSV batch: the model's feature columns by name when it knows them and the file
    has a header (any order; other columns, the label among them, are ignored); else
    every column, in order (a first row that is not numbers is a header)."""
    from fcnn_cli.data.table import read_table

    table = read_table(path, header=None)
    if model.feature_names is not None and table.header is not None:
        table.require(model.feature_names, "feature column",
                      f"{model.display_name} was trained on the columns "
                      f"{', '.join(model.feature_names)}")
        return table.numbers(model.feature_names)
    return table.numbers(table.names)
