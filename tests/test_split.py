"""The train/validation/test split and the normalisation fitted on the training part."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from fcnn_cli.data.sources import Dataset, load_dataset
from fcnn_cli.data.split import Normalizer, make_splits
from fcnn_cli.errors import FcnnError


def _classes(n_per_class: tuple[int, ...], test: bool = False) -> Dataset:
    """Examples whose single feature is their own row number, so splits can be traced."""
    y = np.repeat(np.arange(len(n_per_class)), n_per_class).astype(np.int64)
    x = np.arange(len(y), dtype=np.float32).reshape(-1, 1)
    x_test, y_test = (x[:5] + 1000, y[:5]) if test else (None, None)
    return Dataset("toy", x, y, x_test, y_test, [str(k) for k in range(len(n_per_class))],
                   (1,), None)


def _rows(x: np.ndarray) -> set[int]:
    return {int(v) for v in x[:, 0]}


def test_official_test_split_stays_the_test_set() -> None:
    splits = make_splits(_classes((50, 50), test=True), 0.2, 0.5, seed=0, normalize="none")
    assert _rows(splits.x_test) == {1000, 1001, 1002, 1003, 1004}
    assert len(splits.x_train) + len(splits.x_val) == 100  # test_fraction ignored


def test_split_sizes_without_an_official_test_split() -> None:
    splits = make_splits(_classes((60, 40)), 0.25, 0.2, seed=0, normalize="none")
    assert (len(splits.x_train), len(splits.x_val), len(splits.x_test)) == (60, 20, 20)


def test_parts_are_disjoint_and_cover_every_example() -> None:
    splits = make_splits(_classes((30, 30, 40)), 0.1, 0.3, seed=1, normalize="none")
    parts = [_rows(splits.x_train), _rows(splits.x_val), _rows(splits.x_test)]
    assert set().union(*parts) == set(range(100))
    assert sum(len(p) for p in parts) == 100
    for x, y in [(splits.x_train, splits.y_train), (splits.x_val, splits.y_val)]:
        np.testing.assert_array_equal(_classes((30, 30, 40)).y_train[x[:, 0].astype(int)], y)


def test_validation_and_test_parts_are_stratified() -> None:
    splits = make_splits(_classes((900, 90, 10)), 0.1, 0.2, seed=3, normalize="none")
    assert np.bincount(splits.y_test, minlength=3).tolist() == [180, 18, 2]
    assert np.bincount(splits.y_val, minlength=3).tolist() == [72, 7, 1]


def test_stratified_sizes_add_up_when_shares_are_fractional() -> None:
    splits = make_splits(_classes((7, 7, 7)), 0.4, 0.0, seed=0, normalize="none")
    assert len(splits.x_val) == 8  # 0.4 · 21 = 8.4; each class's share is 2.8
    assert sorted(np.bincount(splits.y_val).tolist()) == [2, 3, 3]


def test_same_seed_gives_the_same_split_and_another_seed_another() -> None:
    ds = _classes((100, 100))
    first, again = (make_splits(ds, 0.2, 0.2, seed=7, normalize="none") for _ in range(2))
    other = make_splits(ds, 0.2, 0.2, seed=8, normalize="none")
    np.testing.assert_array_equal(first.x_val, again.x_val)
    np.testing.assert_array_equal(first.x_test, again.x_test)
    assert _rows(first.x_val) != _rows(other.x_val)


def test_zero_val_fraction_gives_an_empty_validation_set() -> None:
    splits = make_splits(_classes((5, 5)), 0.0, 0.0, seed=0, normalize="none")
    assert splits.x_val.shape == (0, 1) and splits.y_val.shape == (0,)
    assert splits.x_test.shape == (0, 1) and len(splits.x_train) == 10


def test_regression_targets_are_split_without_strata() -> None:
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    ds = Dataset("r", x, x[:, :1] * 2, None, None, None, (2,), None)
    splits = make_splits(ds, 0.2, 0.0, seed=0, normalize="none")
    assert splits.y_val.shape == (2, 1) and splits.class_names is None
    np.testing.assert_array_equal(splits.y_val[:, 0], splits.x_val[:, 0] * 2)


def test_fractions_out_of_range_are_an_error() -> None:
    with pytest.raises(FcnnError, match="val_fraction is 1.0"):
        make_splits(_classes((5, 5)), 1.0, 0.0, seed=0, normalize="none")
    with pytest.raises(FcnnError, match="test_fraction is -0.1"):
        make_splits(_classes((5, 5)), 0.0, -0.1, seed=0, normalize="none")


def test_fractions_that_leave_no_training_data_are_an_error() -> None:
    with pytest.raises(FcnnError, match="no training examples left"):
        make_splits(_classes((1, 1)), 0.0, 0.9, seed=0, normalize="none")


def test_scale_divides_pixels_by_pixel_max() -> None:
    splits = make_splits(load_dataset("digits"), 0.1, 0.1, seed=0, normalize="scale")
    assert splits.x_train.shape[1] == 64 and splits.x_train.dtype == np.float32
    assert splits.x_train.max() == 1.0 and splits.x_train.min() == 0.0
    assert float(splits.normalizer.std) == 16.0 and float(splits.normalizer.mean) == 0.0


def test_scale_without_pixels_is_min_max_fitted_on_train() -> None:
    x = np.array([[2.0, 5.0], [4.0, 5.0], [6.0, 5.0]], np.float32)
    ds = Dataset("m", x, np.zeros(3, np.int64), np.array([[0.0, 5.0], [10.0, 6.0]], np.float32),
                 np.zeros(2, np.int64), ["a"], (2,), None)
    splits = make_splits(ds, 0.0, 0.0, seed=0, normalize="scale")
    np.testing.assert_allclose(splits.x_train, [[0, 0], [0.5, 0], [1, 0]])
    np.testing.assert_allclose(splits.x_test, [[-0.5, 0], [2, 1]])  # constant input: range 1


def test_standardize_uses_training_statistics_only() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 2.0, (400, 3)).astype(np.float32)
    x[:, 2] = 7.0  # a constant input: std guarded to 1
    ds = Dataset("n", x, np.zeros(400, np.int64), x[:50] + 100, np.zeros(50, np.int64),
                 ["a"], (3,), None)
    splits = make_splits(ds, 0.25, 0.0, seed=0, normalize="standardize")
    np.testing.assert_allclose(splits.x_train[:, :2].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(splits.x_train[:, :2].std(axis=0), 1.0, atol=1e-5)
    assert splits.normalizer.std[2] == 1.0 and (splits.x_train[:, 2] == 0).all()
    assert splits.x_test[:, 0].mean() > 40  # far outside: the test part did not shift the stats


def test_normalizer_flattens_and_returns_a_new_array() -> None:
    normalizer = Normalizer.fit("scale", np.zeros((1, 2, 2), np.uint8), 255.0)
    raw = np.full((3, 2, 2), 255, np.uint8)
    out = normalizer(raw)
    assert out.shape == (3, 4) and out.dtype == np.float32 and (out == 1.0).all()
    assert raw[0, 0, 0] == 255


def test_unknown_normalisation_is_an_error() -> None:
    with pytest.raises(FcnnError, match="unknown normalize 'zscore'"):
        make_splits(_classes((5, 5)), 0.0, 0.0, seed=0, normalize="zscore")


@pytest.mark.parametrize("normalize", ["scale", "standardize"])
def test_at_most_one_float32_copy_of_the_training_data(normalize: str) -> None:
    rng = np.random.default_rng(0)
    ds = Dataset("big", rng.integers(0, 256, (12000, 28, 28), dtype=np.uint8),
                 rng.integers(0, 10, 12000).astype(np.int64), None, None,
                 [str(k) for k in range(10)], (28, 28), 255.0)
    one_copy = 12000 * 784 * 4
    tracemalloc.start()
    try:
        splits = make_splits(ds, 0.1, 0.0, seed=0, normalize=normalize)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert splits.x_train.nbytes + splits.x_val.nbytes == one_copy
    assert peak < 1.5 * one_copy


@pytest.mark.parametrize("normalize", ["scale", "standardize", "none"])
def test_keep_raw_leaves_pixels_as_stored_in_a_quarter_of_the_memory(normalize: str) -> None:
    rng = np.random.default_rng(0)
    ds = Dataset("big", rng.integers(0, 256, (12000, 28, 28), dtype=np.uint8),
                 rng.integers(0, 10, 12000).astype(np.int64), None, None,
                 [str(k) for k in range(10)], (28, 28), 255.0)
    tracemalloc.start()
    try:
        raw = make_splits(ds, 0.1, 0.0, seed=0, normalize=normalize, keep_raw=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ready = make_splits(ds, 0.1, 0.0, seed=0, normalize=normalize)
    assert raw.raw_train and not ready.raw_train
    assert raw.x_train.dtype == np.uint8 and raw.x_train.shape == (10800, 784)
    # less than one float32 copy of the training part: only the fit's chunks and the uint8 rows
    assert peak < 10800 * 784 * 4
    # the normaliser turns the kept rows into exactly the inputs it would have made
    np.testing.assert_array_equal(raw.normalizer(raw.x_train), ready.x_train)
    for part in ("x_val", "x_test", "y_train", "y_val"):
        np.testing.assert_array_equal(getattr(raw, part), getattr(ready, part))


def test_keep_raw_normalises_features_that_are_not_pixels() -> None:
    splits = make_splits(_classes((6, 4)), 0.2, 0.0, seed=0, normalize="scale", keep_raw=True)
    assert not splits.raw_train and splits.x_train.dtype == np.float32
    assert splits.x_train.max() == 1.0
