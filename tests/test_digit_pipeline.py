"""The digit pipeline (fcnn_cli/data/digit.py) by what it does to a picture: polarity, the
page's light, ruled lines, the digit's pieces, the crop and the centre. The pictures are
drawn here; the checks are on the digit's box and centre, not on exact pixels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from fcnn_cli.data.digit import digit_field
from fcnn_cli.data.images import load_image

PAPER, INK = 235, 30
TITLES = ("the ink, the page's light divided out", "the pieces kept as the digit")


def _page(height: int = 160, width: int = 160, paper: int = PAPER) -> np.ndarray:
    return np.full((height, width), paper, np.float32)


def _seven(picture: np.ndarray, ink: float = INK, at: tuple[int, int] = (40, 50),
           size: int = 70, thickness: int = 7) -> np.ndarray:
    """A 7 (a bar and a slanted stem) drawn on `picture`, top-left corner at `at` (row,
    column), `size` px tall."""
    top, left = at
    cv2.line(picture, (left, top), (left + size * 5 // 7, top), ink, thickness)
    cv2.line(picture, (left + size * 5 // 7, top), (left + size // 4, top + size), ink,
             thickness)
    return picture


def _box(field: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of the pixels brighter than a quarter of the range."""
    rows, cols = np.nonzero(field > 64)
    return int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())


def _centre(field: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(field.shape)
    mass = float(field.sum())
    return float((field * rows).sum()) / mass, float((field * cols).sum()) / mass


def _assert_same_digit(found: np.ndarray | None, expected: np.ndarray | None) -> None:
    """The same digit: its box within a pixel, and the fields alike (cosine > 0.9, the
    centring's whole-pixel shift allowed to differ by one)."""
    assert found is not None and expected is not None
    assert np.abs(np.subtract(_box(found), _box(expected))).max() <= 1
    norm = float(np.linalg.norm(found) * np.linalg.norm(expected))
    cosine = max(float((np.roll(found, (dy, dx), (0, 1)) * expected).sum()) / norm
                 for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    assert cosine > 0.9


def _field(picture: np.ndarray, height: int = 28, width: int = 28) -> np.ndarray:
    field = digit_field(picture, height, width)
    assert field is not None
    return field


# --- polarity ------------------------------------------------------------------------------


def test_dark_ink_on_a_light_page_and_chalk_on_a_board_give_the_same_digit() -> None:
    pen = _seven(_page())
    chalk = 255 - pen
    field = _field(pen)
    assert field.dtype == np.float32 and field.shape == (28, 28)
    assert np.array_equal(_field(chalk), field)  # white ink on black, either way
    assert field[0].max() == 0 and field.max() > 200


def test_a_shadow_over_half_the_page_leaves_the_polarity_and_the_digit() -> None:
    plain = _seven(_page())
    shade = np.ones_like(plain)
    shade[:, 75:] = 0.45  # the median level falls between paper and ink
    shadowed = plain * cv2.GaussianBlur(shade, (0, 0), 3)  # a shadow's soft edge
    _assert_same_digit(_field(shadowed), _field(plain))


# --- the page's light ---------------------------------------------------------------------


@pytest.mark.parametrize("light", ["gradient", "vignette", "hot spot"])
def test_uneven_light_is_divided_out_and_leaves_the_digits_box_and_centre(light: str) -> None:
    rows, cols = np.indices((160, 160), dtype=np.float32)
    if light == "gradient":  # a lamp to the left: half as bright on the right
        gain = 1.0 - 0.5 * cols / 159
    else:  # dark corners; a hot spot is brighter in the middle still
        gain = 1.0 - 0.5 * ((rows - 80) ** 2 + (cols - 80) ** 2) / (2 * 80**2)
        if light == "hot spot":
            gain = np.minimum(gain * 1.25, 1.0 + 0 * gain)
    plain = _field(_seven(_page()))
    lit = _field(_seven(_page()) * gain)
    _assert_same_digit(lit, plain)
    assert np.hypot(*np.subtract(_centre(lit), _centre(plain))) < 1.0


def test_a_shadow_cut_by_the_pictures_edge_is_no_part_of_the_digit() -> None:
    picture = _seven(_page())
    picture[:, :18] = 90  # the rim of a hand's shadow along the left edge
    _assert_same_digit(_field(picture), _field(_seven(_page())))


# --- ruled and squared paper ----------------------------------------------------------------


def _ruled(every: int = 22, level: float = 150, grid: bool = False) -> np.ndarray:
    picture = _page()
    for at in range(every // 2, 160, every):
        picture[at:at + 2, :] = level
        if grid:
            picture[:, at:at + 2] = level
    return picture


@pytest.mark.parametrize("grid", [False, True], ids=["ruled", "squared"])
def test_ruled_and_grid_lines_are_taken_away(grid: bool) -> None:
    steps: list[tuple[str, np.ndarray]] = []
    found = digit_field(_seven(_ruled(grid=grid)), 28, 28, steps)
    _assert_same_digit(found, _field(_seven(_page())))
    assert steps[0][0] == TITLES[0] + ", lines removed"


def test_a_stroke_written_along_a_ruled_line_stays() -> None:
    # the 7's bar lies on the rule at row 99: the line goes, the bar does not
    on_line = _seven(_ruled(), at=(99, 50))
    _assert_same_digit(_field(on_line), _field(_seven(_page(), at=(99, 50))))


# --- the ink and the digit's pieces ------------------------------------------------------------


def test_a_faint_pencil_stroke_joined_to_a_strong_one_stays_whole() -> None:
    picture = _page()
    cv2.line(picture, (60, 40), (60, 120), 40, 6)  # a firm stem
    cv2.line(picture, (60, 40), (110, 40), 175, 4)  # a faint flag, joined to it
    field = _field(picture)
    top, left, bottom, right = _box(field)
    assert right - left >= 8  # the flag is there: the box is far wider than a stem
    stem_only = _page()
    cv2.line(stem_only, (60, 40), (60, 120), 40, 6)
    assert right - left > 2 * np.ptp(_box(_field(stem_only))[1::2])


def test_faint_marks_on_their_own_are_no_ink() -> None:
    picture = _seven(_page())
    cv2.line(picture, (130, 130), (150, 150), 200, 3)  # faint and far, touching no ink
    _assert_same_digit(_field(picture), _field(_seven(_page())))


def test_specks_and_a_far_mark_are_left_out() -> None:
    rng = np.random.default_rng(3)
    picture = _seven(_page(200, 200))
    for row, col in rng.integers(0, 200, (12, 2)):
        picture[row:row + 2, col:col + 2] = INK  # dust
    cv2.circle(picture, (185, 185), 6, INK, -1)  # a blot in the far corner
    _assert_same_digit(_field(picture), _field(_seven(_page(200, 200))))


def test_a_broken_digits_pieces_near_each_other_are_all_kept() -> None:
    picture = _page()
    cv2.line(picture, (50, 40), (110, 40), INK, 7)  # a 7's bar ...
    cv2.line(picture, (100, 52), (70, 120), INK, 7)  # ... and its stem, a gap apart
    top, left, bottom, right = _box(_field(picture))
    assert bottom - top >= 18  # both pieces: the full 20 px box high


# --- crop, size and centre --------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(28, 28), (20, 20), (14, 32), (40, 30)])
def test_the_digit_fills_the_box_with_its_centre_of_mass_at_the_centre(
        shape: tuple[int, int]) -> None:
    height, width = shape
    field = _field(_seven(_page(120, 200), at=(10, 120), size=60), height, width)
    assert field.shape == shape
    row, col = _centre(field)
    assert abs(row - height / 2) <= 0.5 and abs(col - width / 2) <= 0.5
    top, left, bottom, right = np.nonzero(field)[0].min(), np.nonzero(field)[1].min(), \
        np.nonzero(field)[0].max(), np.nonzero(field)[1].max()
    # the longer side of the ink fills 20/28 of the field, give or take the soft edge
    assert abs(max((bottom - top + 1) / height, (right - left + 1) / width) - 20 / 28) < 0.15


def test_thin_strokes_are_thickened_when_a_large_picture_shrinks() -> None:
    field = _field(_seven(_page(480, 480), at=(100, 140), size=280, thickness=2))
    # at 28×28 a 2 px pen would be a 0.14 px line; MNIST's strokes are about 2.5 px
    assert (field > 128).sum() >= 30


def test_a_blank_page_noise_or_a_gradient_is_no_digit() -> None:
    rng = np.random.default_rng(0)
    assert digit_field(_page(), 28, 28) is None
    assert digit_field(_page() + rng.normal(0, 3, (160, 160)).astype(np.float32), 28, 28) \
        is None
    assert digit_field(_page() * np.linspace(1.0, 0.7, 160, dtype=np.float32), 28, 28) is None


# --- odd inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(4, 4), (5, 9), (20, 20), (28, 28), (14, 32)])
def test_small_and_odd_pictures_are_read(shape: tuple[int, int]) -> None:
    picture = _page(*shape)
    height, width = shape
    picture[height // 4:height - height // 4, width // 2 - 1:width // 2 + 1] = INK  # a 1
    field = _field(picture)
    assert field.shape == (28, 28) and field.max() > 200
    row, col = _centre(field)
    assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


def test_uint8_levels_give_what_float32_levels_give() -> None:
    picture = _seven(_page())
    assert np.array_equal(_field(picture.astype(np.uint8)), _field(picture))


def test_a_flat_input_of_784_gets_the_28_by_28_field_flattened(tmp_path: Path) -> None:
    path = tmp_path / "seven.png"
    cv2.imwrite(str(path), _seven(_page()).astype(np.uint8))
    flat = load_image(path, (784,)).pixels
    assert flat.shape == (784,)
    assert np.array_equal(flat.reshape(28, 28), load_image(path, (28, 28)).pixels)


def test_the_steps_are_the_ink_and_the_pieces_kept() -> None:
    steps: list[tuple[str, np.ndarray]] = []
    digit_field(_seven(_page()), 28, 28, steps)
    assert [title for title, _ in steps] == list(TITLES)
    assert all(picture.shape == (160, 160) and picture.dtype == np.float32
               for _, picture in steps)


# --- determinism --------------------------------------------------------------------------------


def test_the_same_picture_gives_the_same_bytes_here_and_in_a_fresh_process(
        tmp_path: Path) -> None:
    picture = _seven(_ruled()) * np.linspace(1.0, 0.6, 160, dtype=np.float32)
    np.save(tmp_path / "picture.npy", picture)
    here = _field(picture).tobytes()
    assert _field(picture.copy()).tobytes() == here
    script = ("import sys, numpy as np\n"
              "from fcnn_cli.data.digit import digit_field\n"
              "picture = np.load(sys.argv[1])\n"
              "sys.stdout.buffer.write(digit_field(picture, 28, 28).tobytes())\n")
    fresh = subprocess.run([sys.executable, "-c", script, str(tmp_path / "picture.npy")],
                           capture_output=True, check=True, timeout=60)
    assert fresh.stdout == here
