"""Inputs for predict and forward-trace: image files, folders of images, .npy and .csv batches.

Every input comes back in the raw units of the model's training data, flattened,
ready for `Model.prepare`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fcnn_cli.data.sources import IMAGE_SUFFIXES, check_finite
from fcnn_cli.errors import FcnnError
from fcnn_cli.store import Model


@dataclass
class NamedInput:
    name: str
    x: np.ndarray          # raw units, shape (I,)
    looked_empty: bool = False


def read_inputs(paths: list[Path], model: Model) -> list[NamedInput]:
    inputs: list[NamedInput] = []
    for path in paths:
        if not path.exists():
            raise FcnnError(f"input not found: {path}")
        if path.is_dir():
            images = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not images:
                raise FcnnError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
            inputs.extend(read_image(p, model) for p in images)
        elif path.suffix.lower() == ".npy":
            inputs.extend(read_batch(path, _load_npy(path), model))
        elif path.suffix.lower() == ".csv":
            inputs.extend(read_batch(path, _load_csv(path), model))
        else:
            inputs.append(read_image(path, model))
    return inputs


def read_image(path: Path, model: Model) -> NamedInput:
    from fcnn_cli.data.images import load_image

    shape = model.input_shape if len(model.input_shape) == 2 else None
    if shape is None:
        raise FcnnError(f"{path}: this model takes {model.input_shape[0]} numbers per input, "
                        "not images; give a .npy or .csv batch")
    image = load_image(path, shape, model.pixel_max or 255.0)
    return NamedInput(str(path), image.pixels.reshape(-1), image.looked_empty)


def read_batch(path: Path, rows: np.ndarray, model: Model) -> list[NamedInput]:
    width = int(np.prod(model.input_shape))
    if rows.ndim == 0 or rows.size == 0:
        raise FcnnError(f"{path} holds no inputs (shape {rows.shape}); give one input per row")
    if rows.ndim == 1 or rows.shape == tuple(model.input_shape):
        rows = rows.reshape(1, -1)
    rows = rows.reshape(len(rows), -1) if rows.ndim > 2 else rows
    if rows.shape[1] != width:
        raise FcnnError(f"{path}: each row has {rows.shape[1]} values but the model takes "
                        f"{width} (input shape {tuple(model.input_shape)})")
    check_finite(rows, path, lambda row, col: f"row {row + 1}, column {col + 1}")
    return [NamedInput(f"{path}[{i}]", row) for i, row in enumerate(rows.astype(np.float32))]


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
