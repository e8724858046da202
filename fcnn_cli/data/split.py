"""Train/validation/test split (seeded, stratified) and normalisation fitted on train only.

Every normalisation is the same formula, x_norm = (x - mean) / std, so a model
stores two arrays and predict applies them without knowing which kind made them.
Statistics are computed in chunks of rows and the normalised training set is
written straight into its one float32 array: at most one float32 copy of the
training data is ever alive. With `keep_raw`, integer pixels are not converted at
all: the training part stays in its stored type (uint8: a quarter of float32's
memory), and the epoch runner normalises each batch with the same arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fcnn_cli.errors import FcnnError

if TYPE_CHECKING:  # a model's Normalizer is needed at start-up, the dataset loaders are not
    from .sources import Dataset

NORMALIZATIONS = ("scale", "standardize", "none")
_CHUNK_ROWS = 2048  # rows per chunk: ~13 MB of float64 for 28×28 inputs


@dataclass
class Normalizer:
    """x_norm = (x - mean) / std, per input (shape (I,)) or one number for all (shape ())."""

    kind: str  # "scale" | "standardize" | "none"
    mean: np.ndarray  # float32
    std: np.ndarray  # float32, never 0

    def __call__(self, x_raw: np.ndarray) -> np.ndarray:
        """Normalise a batch of raw examples (N, *input_shape) into a new (N, I) float32 array."""
        x = np.asarray(x_raw)
        width = int(np.prod(x.shape[1:], dtype=np.int64))  # not -1: an empty split has 0 rows
        out = x.reshape(len(x), width).astype(np.float32)  # always a copy
        out -= self.mean
        out /= self.std
        return out

    def inverse(self, x_norm: np.ndarray) -> np.ndarray:
        """Back to raw units: x_norm · std + mean (regression outputs, for one)."""
        return (x_norm * self.std + self.mean).astype(np.float32, copy=False)

    @classmethod
    def fit(cls, kind: str, x_train_raw: np.ndarray, pixel_max: float | None,
            rows: np.ndarray | None = None) -> Normalizer:
        """Fit on the training examples (`rows` of `x_train_raw`, default all of them).

        scale: pixels (uint8 data, or any data with a `pixel_max`) -> x / pixel_max;
        otherwise min-max per input, fitted on train. standardize: per-input mean and
        standard deviation. An input that never varies gets std 1, not a division by 0.
        """
        if kind not in NORMALIZATIONS:
            raise FcnnError(f"unknown normalize '{kind}'; "
                            f"choose one of {', '.join(NORMALIZATIONS)}")
        zero, one = np.zeros((), np.float32), np.ones((), np.float32)
        if kind == "none":
            return cls(kind, zero, one)
        if kind == "scale" and (pixel_max is not None or x_train_raw.dtype == np.uint8):
            return cls(kind, zero, np.full((), pixel_max or 255.0, np.float32))
        chunks = _row_chunks(x_train_raw, rows)
        if kind == "scale":
            low = np.min([chunk.min(axis=0) for chunk in chunks()], axis=0)
            high = np.max([chunk.max(axis=0) for chunk in chunks()], axis=0)
            return cls(kind, low.astype(np.float32), _nonzero(high - low))
        count = sum(len(chunk) for chunk in chunks())
        mean = sum(chunk.sum(axis=0) for chunk in chunks()) / max(count, 1)
        # two passes, so that large offsets do not cancel the variance away
        variance = sum(((chunk - mean) ** 2).sum(axis=0) for chunk in chunks()) / max(count, 1)
        return cls(kind, mean.astype(np.float32), _nonzero(np.sqrt(variance)))

    def transform_rows(self, x_raw: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Like calling it on x_raw[rows], chunk by chunk, without the gathered raw copy."""
        n = len(x_raw) if rows is None else len(rows)
        out = np.empty((n, int(np.prod(x_raw.shape[1:], dtype=np.int64))), np.float32)
        for start in range(0, n, _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, n)
            part = x_raw[start:stop] if rows is None else x_raw[rows[start:stop]]
            out[start:stop] = part.reshape(stop - start, -1)
        out -= self.mean
        out /= self.std
        return out


@dataclass
class Splits:
    """Normalised (N, I) float32 inputs for each part; labels as in the Dataset.

    With `raw_train`, `x_train` holds the training rows as stored instead, flattened to
    (N, I) (uint8 pixels), and `normalizer(x_train)` gives the float32 inputs.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray  # 0 rows when val_fraction is 0
    y_val: np.ndarray
    x_test: np.ndarray  # 0 rows when there is no test data
    y_test: np.ndarray
    normalizer: Normalizer
    class_names: list[str] | None
    input_shape: tuple[int, ...]
    pixel_max: float | None
    raw_train: bool = False
    target_normalizer: Normalizer | None = None  # regression targets, fitted on train


def make_splits(ds: Dataset, val_fraction: float, test_fraction: float, seed: int,
                normalize: str, keep_raw: bool = False,
                target_normalize: str = "none") -> Splits:
    """Split `ds` into train/val/test and normalise all three with statistics of train.

    The official test split, when there is one, is the test set (test_fraction is then
    ignored); otherwise `test_fraction` of the examples are held out as test. Validation
    is `val_fraction` of the training examples. Both are stratified by class, and the
    same seed always gives the same split.

    keep_raw: leave the training part unnormalised when it is small integers (pixels),
    flattened, with `raw_train` set; other data are normalised as usual.
    target_normalize: "standardize" scales regression targets to zero mean and unit
    variance on the training part (kept in `target_normalizer`); "none" leaves them.
    """
    train_rows, val_rows, test_rows = split_indices(ds, val_fraction, test_fraction, seed)
    every_row = len(train_rows) == len(ds.x_train)
    train_sel = None if every_row else train_rows  # no gather when train is everything
    normalizer = Normalizer.fit(normalize, ds.x_train, ds.pixel_max, train_sel)
    raw_train = keep_raw and is_raw_pixels(ds.x_train)
    if raw_train:
        flat = ds.x_train.reshape(len(ds.x_train), -1)
        x_train = flat if train_sel is None else flat[train_sel]  # uint8: 1/4 of float32
    else:
        x_train = normalizer.transform_rows(ds.x_train, train_sel)
    if ds.x_test is not None:
        assert ds.y_test is not None
        x_test, y_test = normalizer(ds.x_test), ds.y_test
    else:
        x_test, y_test = normalizer.transform_rows(ds.x_train, test_rows), ds.y_train[test_rows]
    splits = Splits(
        x_train=x_train, y_train=ds.y_train if every_row else ds.y_train[train_rows],
        x_val=normalizer.transform_rows(ds.x_train, val_rows), y_val=ds.y_train[val_rows],
        x_test=x_test, y_test=y_test,
        normalizer=normalizer, class_names=ds.class_names, input_shape=ds.input_shape,
        pixel_max=ds.pixel_max, raw_train=raw_train,
    )
    if ds.class_names is None and target_normalize != "none":
        scale = Normalizer.fit(target_normalize, splits.y_train, None)
        splits.y_train, splits.y_val, splits.y_test = (
            scale(y) for y in (splits.y_train, splits.y_val, splits.y_test))
        splits.target_normalizer = scale
    return splits


def split_indices(ds: Dataset, val_fraction: float, test_fraction: float, seed: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows of `ds.x_train` in the train, validation and test parts, as `make_splits`
    chooses them (test: no rows when the dataset has its official test split). Any part
    but train may be empty."""
    for key, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise FcnnError(f"data.{key} is {value}; it must be at least 0 and less than 1")
    rng = np.random.default_rng(seed)
    classes = ds.y_train if ds.class_names is not None else None
    rest = np.arange(len(ds.x_train))
    test_rows = rest[:0]
    if ds.x_test is None:
        rest, test_rows = _hold_out(rest, classes, test_fraction, rng)
    train_rows, val_rows = _hold_out(rest, classes, val_fraction, rng)
    if len(train_rows) == 0:
        raise FcnnError(f"no training examples left: {len(ds.x_train)} examples, val_fraction "
                        f"{val_fraction}, test_fraction {test_fraction}; lower the fractions")
    return train_rows, val_rows, test_rows


def is_raw_pixels(x: np.ndarray) -> bool:
    """Integers of at most 16 bits: every value is exact in float32, and storing them
    as they are takes at most half of float32's memory."""
    return np.issubdtype(x.dtype, np.integer) and x.dtype.itemsize <= 2


def _hold_out(rows: np.ndarray, classes: np.ndarray | None, fraction: float,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Split `rows` into (kept, held out) with round(fraction * len) held out, both sorted.

    With `classes`, each class gives its share (largest remainders get the rounding),
    so the held-out part has the class proportions of the whole.
    """
    n_out = round(fraction * len(rows))
    if n_out == 0:
        return rows, rows[:0]
    shuffled = rows[rng.permutation(len(rows))]
    if classes is None:
        return np.sort(shuffled[n_out:]), np.sort(shuffled[:n_out])
    labels = classes[shuffled]
    grouped = shuffled[np.argsort(labels, kind="stable")]  # each class in shuffled order
    _, counts = np.unique(labels, return_counts=True)
    share = counts * (n_out / len(rows))
    take = np.floor(share).astype(np.int64)
    take[np.argsort(take - share, kind="stable")[: n_out - take.sum()]] += 1
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    position = np.arange(len(rows)) - np.repeat(starts, counts)  # rank inside its class
    out = position < np.repeat(take, counts)
    return np.sort(grouped[~out]), np.sort(grouped[out])


def _row_chunks(x: np.ndarray,
                rows: np.ndarray | None) -> Callable[[], Iterator[np.ndarray]]:
    """A function that yields the chosen rows as float64 (n, I) chunks, each time it is called."""
    n = len(x) if rows is None else len(rows)

    def chunks() -> Iterator[np.ndarray]:
        for start in range(0, n, _CHUNK_ROWS):
            stop = min(start + _CHUNK_ROWS, n)
            part = x[start:stop] if rows is None else x[rows[start:stop]]
            yield part.reshape(stop - start, -1).astype(np.float64)

    return chunks


def _nonzero(spread: np.ndarray) -> np.ndarray:
    """float32 spread with zeros (an input that never varies) replaced by 1."""
    spread = np.asarray(spread, dtype=np.float32)
    return np.where(spread > 0, spread, np.float32(1.0)).astype(np.float32)
