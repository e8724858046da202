"""The fast image preparation gives exactly what the plain NumPy/Pillow steps give.

images.py replaces np.median, np.percentile, Pillow's MedianFilter and a straightforward
Otsu with cheaper equivalents; these tests hold each one to its reference bit for bit
(on whatever NumPy and Pillow are installed), and hold prepare_files, the batch form
that worker processes run, to load_image row by row.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from fcnn_cli.data import digit as images
from fcnn_cli.data.images import load_image
from fcnn_cli.data.prepare import prepare_files
from fcnn_cli.errors import FcnnError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"
PICTURES = sorted(p for p in EXAMPLES.iterdir() if p.name != "README.md")


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _save(path: Path, picture: np.ndarray) -> Path:
    Image.fromarray(picture).save(path)
    return path


# --- prepare_files is load_image, row by row ------------------------------------------


@pytest.mark.parametrize(("shape", "pixel_max"), [((28, 28), 255.0), ((784,), 1.0),
                                                  ((8, 8), 16.0), ((20, 30), 255.0)])
def test_prepare_files_rows_are_load_image_exactly(shape: tuple[int, ...],
                                                    pixel_max: float) -> None:
    pixels, looked_empty = _pixels_and_empty(PICTURES, shape, pixel_max)
    assert pixels.dtype == np.float32 and pixels.shape == (len(PICTURES), int(np.prod(shape)))
    assert looked_empty.dtype == bool and looked_empty.shape == (len(PICTURES),)
    for row, path in enumerate(PICTURES):
        prepared = load_image(path, shape, pixel_max)
        assert _same_bits(pixels[row], prepared.pixels.reshape(-1)), path.name
        assert looked_empty[row] == prepared.looked_empty


def test_prepare_files_takes_strings_and_marks_empty_pictures(tmp_path: Path) -> None:
    blank = _save(tmp_path / "blank.png", np.full((60, 60), 255, np.uint8))
    paths = [str(PICTURES[0]), str(blank)]
    pixels, looked_empty = _pixels_and_empty(paths, (28, 28), 255.0)
    assert looked_empty.tolist() == [False, True]
    assert _same_bits(pixels[0], load_image(PICTURES[0]).pixels.reshape(-1))
    assert not pixels[1].any()


def test_prepare_files_of_no_files() -> None:
    pixels, looked_empty = _pixels_and_empty([], (28, 28), 255.0)
    assert pixels.shape == (0, 784) and pixels.dtype == np.float32
    assert looked_empty.shape == (0,) and looked_empty.dtype == bool


def test_prepare_files_stops_at_a_bad_file_with_load_images_error(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("remember the milk\n")
    with pytest.raises(FcnnError) as single:
        load_image(tmp_path / "notes.png")
    with pytest.raises(FcnnError) as batch:
        prepare_files([PICTURES[0], tmp_path / "notes.png"], (28, 28), 255.0)
    assert batch.value.message == single.value.message
    assert batch.value.exit_code == single.value.exit_code


def test_prepare_files_can_be_sent_to_a_worker_process() -> None:
    assert pickle.loads(pickle.dumps(prepare_files)) is prepare_files


# --- hard pictures keep their behaviour through prepare_files ----------------------------


def test_thin_strokes_are_still_thickened() -> None:
    pixels, looked_empty = _pixels_and_empty([EXAMPLES / "user-3-thin-strokes-300px.png"],
                                          (28, 28), 255.0)
    assert not looked_empty[0] and (pixels[0] > 127).sum() > 40


def test_one_pixel_strokes_in_a_large_picture_survive_the_median(tmp_path: Path) -> None:
    picture = np.full((300, 300), 250, np.uint8)
    picture[60:240, 150] = 20  # a '1' one pixel wide: the 3×3 median erases it entirely
    pixels, looked_empty = _pixels_and_empty([_save(tmp_path / "one.png", picture)],
                                          (28, 28), 255.0)
    field = pixels[0].reshape(28, 28)
    assert not looked_empty[0]
    rows, cols = np.flatnonzero(field.any(axis=1)), np.flatnonzero(field.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 < 10  # tall and thin


def test_a_lighting_gradient_is_still_not_ink(tmp_path: Path) -> None:
    paper = np.linspace(250, 130, 200)[:, None] * np.ones((1, 200))  # light fades downwards
    picture = paper.copy()
    picture[60:140, 97:103] -= 110
    pixels, _ = _pixels_and_empty([_save(tmp_path / "shadow.png", np.uint8(picture))],
                               (28, 28), 255.0)
    field = pixels[0].reshape(28, 28)
    rows, cols = np.flatnonzero(field.any(axis=1)), np.flatnonzero(field.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 <= 4


@pytest.mark.parametrize("paper", [255, 0, 128])
@pytest.mark.parametrize("side", [50, 120])
def test_blank_pictures_still_look_empty(tmp_path: Path, paper: int, side: int) -> None:
    path = _save(tmp_path / "blank.png", np.full((side, side), paper, np.uint8))
    pixels, looked_empty = _pixels_and_empty([path], (28, 28), 255.0)
    assert looked_empty[0] and not pixels.any()


# --- each fast helper against its reference ------------------------------------------------


def _arrays(seed: int, dtype: type) -> list[np.ndarray]:
    """Border-like samples: odd and even sizes, many ties, a few outliers, signed zeros."""
    rng = np.random.default_rng(seed)
    samples = []
    for size in [1, 2, 3, 4, 5, 8, 99, 100, 441, 880, 1601]:
        samples.append(rng.normal(200, 5, size).astype(dtype))
        samples.append(rng.integers(0, 4, size).astype(dtype))  # ties everywhere
        outliers = rng.normal(0, 1, size).astype(dtype)
        outliers[: size // 7] = 1e30
        samples.append(outliers)
    samples.append(np.array([0.0, -0.0, 0.0, -0.0], dtype))
    return samples


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_median_is_np_median(dtype: type) -> None:
    for values in _arrays(1, dtype):
        before = values.copy()
        assert images._median(values) == float(np.median(values))
        assert _same_bits(values, before)  # the caller's array is left alone


def test_median_with_a_nan_is_nan() -> None:
    values = np.array([3.0, np.nan, 1.0], np.float32)
    assert np.isnan(images._median(values)) and np.isnan(np.median(values))


def test_percentile_is_np_percentile() -> None:
    for values in _arrays(2, np.float32):
        for q in (0, 10, 50, 90, 99, 100):
            assert images._percentile(values, q) == float(np.percentile(values, q)), \
                (values.size, q)


def test_percentile_with_a_nan_is_nan() -> None:
    values = np.array([3.0, np.nan, 1.0, 7.0], np.float32)
    assert np.isnan(images._percentile(values, 90))


def _pillow_median3(levels: np.ndarray) -> np.ndarray:
    filtered = Image.fromarray(levels, mode="L").filter(ImageFilter.MedianFilter(3))
    return np.asarray(filtered)


def test_median3_is_pillows_median_filter() -> None:
    rng = np.random.default_rng(3)
    for height, width in [(1, 1), (1, 7), (6, 1), (2, 2), (3, 5), (17, 4), (56, 56), (61, 90)]:
        for top in (2, 3, 17, 256):  # few levels: many ties
            levels = rng.integers(0, top, (height, width)).astype(np.uint8)
            assert np.array_equal(images._median3(levels), _pillow_median3(levels))


def test_median3_of_a_digit() -> None:
    with Image.open(EXAMPLES / "user-7-dark-on-white.png") as image:
        levels = np.asarray(image.convert("L"))
    assert np.array_equal(images._median3(levels), _pillow_median3(levels))


def _reference_otsu(values: np.ndarray) -> float:
    """Otsu over all 256 levels, empty classes as NaN, as images.py first computed it."""
    histogram = np.bincount(values.ravel(), minlength=256)
    weight = np.cumsum(histogram).astype(np.float64)
    total = weight[-1]
    moment = np.cumsum(histogram * np.arange(256, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = moment / weight
        mean_high = (moment[-1] - moment) / (total - weight)
        between = weight * (total - weight) * (mean_low - mean_high) ** 2
    return float(np.nanargmax(np.nan_to_num(between, nan=-1.0)))


def test_otsu_is_the_full_formula() -> None:
    rng = np.random.default_rng(4)
    cases = [np.full((5, 5), 7, np.uint8), np.zeros((3, 3), np.uint8),
             np.array([[0, 255]], np.uint8), np.array([[10, 10, 200]], np.uint8)]
    for _ in range(200):
        low, high = sorted(rng.integers(0, 256, 2))
        cases.append(rng.integers(low, high + 1, rng.integers(1, 400)).astype(np.uint8))
    for levels in cases:
        assert images._otsu(levels) == _reference_otsu(levels)


def test_stroke_width_counts_the_outline_as_a_padded_diff_does() -> None:
    rng = np.random.default_rng(5)
    for shape in [(1, 1), (1, 6), (5, 1), (7, 9), (30, 20)]:
        mask = rng.random(shape) < 0.4
        padded = np.pad(mask, 1).astype(np.int8)
        outline = np.abs(np.diff(padded, axis=0)).sum() + np.abs(np.diff(padded, axis=1)).sum()
        expected = 2.0 * float(mask.sum()) / max(float(outline), 1.0)
        assert images._stroke_width(mask) == expected


def _pixels_and_empty(*args: object) -> tuple[np.ndarray, np.ndarray]:
    prepared = prepare_files(*args)  # type: ignore[arg-type]
    return prepared.pixels, prepared.looked_empty
