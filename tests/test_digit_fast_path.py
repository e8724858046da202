"""The digit pipeline's even-light path: a page lit the same all over (a scan, a drawing)
has its light divided out as one level, without the closings that estimate the light of a
photo. Clean scans read as the full path reads them; shadows, uneven light and a photo's
grain keep the full path. Pictures are drawn here; "the full path" is counted as calls of
the light's estimate (`_flattened`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from fcnn_cli.data import digit
from fcnn_cli.data.images import DECODE_AHEAD, load_image, load_images
from fcnn_cli.errors import FcnnError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"
MNIST_EXAMPLES = sorted(EXAMPLES.glob("mnist-test-*.png"))
PAPER, INK = 235, 30


def _scan(path: Path) -> np.ndarray:
    """An MNIST test digit as a 112×112 scan, dark ink on white (as benchmarks/startup.py
    writes its folder)."""
    digit_levels = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    return cv2.resize(255 - digit_levels, (112, 112), interpolation=cv2.INTER_LINEAR)


def _seven(size: int = 160, paper: float = PAPER) -> np.ndarray:
    picture = np.full((size, size), paper, np.float32)
    cv2.line(picture, (50, 40), (100, 40), INK, 7)
    cv2.line(picture, (100, 40), (67, 110), INK, 7)
    return picture


def _field(picture: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> tuple[np.ndarray, int]:
    """The 28×28 field and how many times the page's light was estimated on the way."""
    calls = []
    estimate = digit._flattened

    def counted(levels: np.ndarray, window: int) -> np.ndarray:
        calls.append(window)
        return estimate(levels, window)

    with monkeypatch.context() as patch:
        patch.setattr(digit, "_flattened", counted)
        field = digit.digit_field(picture, 28, 28)
    assert field is not None
    return field, len(calls)


def _full_path_field(picture: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    with monkeypatch.context() as patch:
        patch.setattr(digit, "_even_light", lambda *args: None)
        return _field(picture, monkeypatch)[0]


@pytest.mark.parametrize("path", MNIST_EXAMPLES, ids=lambda p: p.stem)
def test_a_clean_scan_skips_the_light_estimate_and_reads_as_the_full_path(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scan = _scan(path)
    fast, estimates = _field(scan, monkeypatch)
    assert estimates == 0
    full = _full_path_field(scan, monkeypatch)
    cosine = float((fast * full).sum() / (np.linalg.norm(fast) * np.linalg.norm(full)))
    assert cosine > 0.99
    assert np.abs(fast - full).max() <= 16  # of 255


def test_a_clean_drawing_skips_the_light_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _field(_seven(), monkeypatch)[1] == 0


@pytest.mark.parametrize("where", ["right half", "corner"])
def test_a_shadow_from_the_pictures_edge_takes_the_full_path(
        where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    shade = np.ones((160, 160), np.float32)
    if where == "right half":
        shade[:, 120:] = 0.6
    else:
        shade[110:, 110:] = 0.6
    picture = _seven() * cv2.GaussianBlur(shade, (0, 0), 3)
    assert _field(picture, monkeypatch)[1] > 0


def test_a_dark_patch_inside_the_page_wider_than_the_strokes_takes_the_full_path(
        monkeypatch: pytest.MonkeyPatch) -> None:
    picture = _seven(size=200)
    picture[140:190, 10:60] = 150  # a shadow of something on the page, clear of its edges
    assert _field(picture, monkeypatch)[1] > 0


@pytest.mark.parametrize("light", ["grain", "gradient"])
def test_grain_or_uneven_light_takes_the_full_path(
        light: str, monkeypatch: pytest.MonkeyPatch) -> None:
    picture = _seven()
    if light == "grain":  # paper photographed: its brightest pixels well above its median
        picture += np.random.default_rng(0).normal(0, 4, picture.shape).astype(np.float32)
    else:  # a lamp to the left: a tenth darker on the right
        picture *= 1.0 - 0.1 * np.arange(160, dtype=np.float32) / 159
    assert _field(np.clip(picture, 0, 255), monkeypatch)[1] > 0


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("photo-[sh][ho]*.jpg")),
                         ids=lambda p: p.stem)
def test_the_shipped_shadow_and_hot_spot_photos_take_the_full_path(
        path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    assert _field(gray, monkeypatch)[1] > 0


def test_load_images_gives_each_file_as_load_image_does_and_an_error_in_its_place(
        tmp_path: Path) -> None:
    paths = []
    for i in range(DECODE_AHEAD + 3):  # two groups of decoding
        paths.append(tmp_path / f"{i:03d}.png")
        shutil.copy(MNIST_EXAMPLES[i % len(MNIST_EXAMPLES)], paths[-1])
    paths[DECODE_AHEAD - 1].write_bytes(b"not a picture")
    results = list(load_images(paths, (28, 28)))
    assert len(results) == len(paths)
    for path, result in zip(paths, results):
        if path == paths[DECODE_AHEAD - 1]:
            assert isinstance(result, FcnnError) and "not an image" in result.message
        else:
            assert not isinstance(result, FcnnError)
            assert np.array_equal(result.pixels, load_image(path, (28, 28)).pixels)
