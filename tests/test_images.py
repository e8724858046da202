"""The image pipeline: a user's picture becomes an MNIST-like input, and bad files say why."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fcnn_cli.data.images import load_image
from fcnn_cli.errors import FcnnError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"


def _bar(vertical: bool = True, size: int = 60, ink: int = 0, paper: int = 255) -> np.ndarray:
    """A bar of `ink` on `paper`: a '1' the size of a small drawing."""
    picture = np.full((size, size), paper, np.uint8)
    third, half = size // 4, size // 2
    if vertical:
        picture[third:size - third, half - 2:half + 2] = ink
    else:
        picture[half - 2:half + 2, third:size - third] = ink
    return picture


def _save(path: Path, picture: np.ndarray | Image.Image, **options: object) -> Path:
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    image.save(path, **options)
    return path


def _centre_of_mass(pixels: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(pixels.shape)
    mass = pixels.sum()
    return float((pixels * rows).sum() / mass), float((pixels * cols).sum() / mass)


def _ink_box(pixels: np.ndarray) -> tuple[int, int]:
    """(height, width) of the box around every non-zero pixel."""
    rows, cols = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def _error(path: Path) -> str:
    with pytest.raises(FcnnError) as caught:
        load_image(path)
    assert caught.value.exit_code == 2
    assert "\n" not in caught.value.message
    return caught.value.message


def _is_vertical(pixels: np.ndarray) -> bool:
    height, width = _ink_box(pixels > 127)
    return height > 2 * width


# --- the MNIST procedure ---------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("mnist-test-*.png")), ids=lambda p: p.name)
def test_an_mnist_digit_passes_through_unchanged(path: Path) -> None:
    with Image.open(path) as image:
        original = np.asarray(image, dtype=np.float32)
    prepared = load_image(path)
    assert not prepared.looked_empty
    assert prepared.pixels.shape == (28, 28) and prepared.pixels.dtype == np.float32
    assert np.corrcoef(prepared.pixels.ravel(), original.ravel())[0, 1] > 0.99


def test_dark_ink_on_a_light_background_is_inverted(tmp_path: Path) -> None:
    pixels = load_image(_save(tmp_path / "bar.png", _bar(ink=20, paper=240))).pixels
    assert pixels[0, 0] == 0 and pixels[-1, -1] == 0  # background black
    assert pixels.max() == pytest.approx(255.0, abs=1)  # ink stretched to full white


def test_light_ink_on_dark_background_is_kept(tmp_path: Path) -> None:
    pixels = load_image(_save(tmp_path / "bar.png", _bar(ink=200, paper=30))).pixels
    assert pixels[0, 0] == 0 and pixels.max() == pytest.approx(255.0, abs=1)


def test_an_off_centre_digit_is_moved_so_its_centre_of_mass_is_at_the_centre(
        tmp_path: Path) -> None:
    canvas = np.full((150, 200), 255, np.uint8)
    canvas[10:50, 150:190] = _bar(size=40)  # a small bar in the upper right corner
    pixels = load_image(_save(tmp_path / "corner.png", canvas)).pixels
    row, col = _centre_of_mass(pixels)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def test_the_ink_box_is_scaled_to_20_px_on_its_longer_side(tmp_path: Path) -> None:
    picture = np.full((300, 300), 255, np.uint8)
    picture[50:250, 100:200] = 0  # a 200×100 block: 20×10 after scaling
    height, width = _ink_box(load_image(_save(tmp_path / "block.png", picture)).pixels > 64)
    assert height == 20 and width == 10


def test_other_input_shapes_scale_the_box_and_the_pixel_range(tmp_path: Path) -> None:
    picture = np.full((100, 100), 255, np.uint8)
    picture[10:90, 30:70] = 0
    prepared = load_image(_save(tmp_path / "block.png", picture), (8, 8), pixel_max=16.0)
    assert prepared.pixels.shape == (8, 8) and prepared.pixels.max() == pytest.approx(16.0)
    assert _ink_box(prepared.pixels > 4)[0] == 6  # round(20/28 · 8)


def test_a_flat_square_input_shape_is_read_as_an_image(tmp_path: Path) -> None:
    prepared = load_image(_save(tmp_path / "bar.png", _bar()), (784,))
    assert prepared.pixels.shape == (784,) and _is_vertical(prepared.pixels.reshape(28, 28))


def test_an_input_shape_that_is_not_an_image_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FcnnError, match=r"inputs of shape \(2,\), not images"):
        load_image(_save(tmp_path / "bar.png", _bar()), (2,))


def test_thin_strokes_in_a_large_picture_are_thickened() -> None:
    pixels = load_image(EXAMPLES / "user-3-thin-strokes-300px.png").pixels
    assert (pixels > 127).sum() > 40  # shrunk naively, the 3 px strokes leave ~5 such pixels


def test_uneven_light_and_grain_leave_a_black_background() -> None:
    pixels = load_image(EXAMPLES / "user-9-photo.jpg").pixels
    corners = [pixels[:5, :5], pixels[:5, -5:], pixels[-5:, :5], pixels[-5:, -5:]]
    assert max(corner.max() for corner in corners) == 0  # the darkest paper is in a corner
    assert (pixels > 0).mean() < 0.3


def test_a_lighting_gradient_is_not_taken_for_ink(tmp_path: Path) -> None:
    paper = np.linspace(250, 130, 200)[:, None] * np.ones((1, 200))  # light fades downwards
    picture = paper.copy()
    picture[60:140, 97:103] -= 110
    pixels = load_image(_save(tmp_path / "shadow.png", np.uint8(picture))).pixels
    height, width = _ink_box(pixels > 0)
    assert height == 20 and width <= 4  # only the bar, not the darker bottom of the page


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("user-*")), ids=lambda p: p.name)
def test_every_user_like_example_comes_out_centred_and_boxed(path: Path) -> None:
    prepared = load_image(path)
    assert not prepared.looked_empty
    row, col = _centre_of_mass(prepared.pixels)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    assert max(_ink_box(prepared.pixels > 0)) == 20
    assert prepared.pixels[0].max() == 0 and prepared.pixels[:, 0].max() == 0


# --- file formats and modes --------------------------------------------------------------


def test_transparent_background_is_put_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((60, 60, 4), np.uint8)  # transparent *black* everywhere, as apps export
    rgba[..., 3] = 255 - _bar()  # opaque black ink where the bar is
    pixels = load_image(_save(tmp_path / "t.png", Image.fromarray(rgba, mode="RGBA"))).pixels
    assert _is_vertical(pixels) and pixels[0, 0] == 0


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = _save(tmp_path / "phone.jpg", Image.fromarray(_bar(vertical=True)), exif=exif)
    assert not _is_vertical(load_image(path).pixels)


def test_sixteen_bit_grayscale(tmp_path: Path) -> None:
    picture = (_bar().astype(np.uint16) * 257)
    path = _save(tmp_path / "deep.png", Image.fromarray(picture))
    with Image.open(path) as image:
        assert image.mode.startswith("I;16")
    assert _is_vertical(load_image(path).pixels)


def test_palette_image(tmp_path: Path) -> None:
    path = _save(tmp_path / "p.png", Image.fromarray(_bar()).convert("P"))
    assert _is_vertical(load_image(path).pixels)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    path = _save(tmp_path / "print.jpg", Image.fromarray(_bar()).convert("CMYK"))
    with Image.open(path) as image:
        assert image.mode == "CMYK"
    assert _is_vertical(load_image(path).pixels)


def test_animated_gif_uses_its_first_frame(tmp_path: Path) -> None:
    first, second = Image.fromarray(_bar(vertical=True)), Image.fromarray(_bar(vertical=False))
    path = tmp_path / "anim.gif"
    first.save(path, save_all=True, append_images=[second], duration=100, loop=0)
    assert _is_vertical(load_image(path).pixels)


def test_bmp(tmp_path: Path) -> None:
    assert _is_vertical(load_image(_save(tmp_path / "b.bmp", _bar())).pixels)


def test_a_very_large_picture_is_reduced_before_processing(tmp_path: Path) -> None:
    picture = np.full((5000, 5000), 255, np.uint8)
    picture[1000:4000, 2480:2520] = 0
    path = _save(tmp_path / "huge.png", picture, compress_level=1)
    assert _is_vertical(load_image(path).pixels)


@pytest.mark.parametrize("paper", [255, 0, 128])
def test_a_blank_picture_looks_empty(tmp_path: Path, paper: int) -> None:
    prepared = load_image(_save(tmp_path / "blank.png", np.full((50, 50), paper, np.uint8)))
    assert prepared.looked_empty and (prepared.pixels == 0).all()


# --- files that cannot be used ------------------------------------------------------------


def test_zero_byte_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    assert "empty (0 bytes)" in _error(tmp_path / "empty.png")


def test_text_named_png_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("remember the milk\n")
    assert "not an image Pillow can read" in _error(tmp_path / "notes.png")


def test_truncated_png_is_an_error(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8)).save(
        buffer, "PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    assert "truncated or corrupt" in _error(tmp_path / "cut.png")


def test_one_pixel_image_is_an_error(tmp_path: Path) -> None:
    assert "only 1×1 pixels" in _error(_save(tmp_path / "dot.png", np.zeros((1, 1), np.uint8)))


def test_an_image_beyond_the_pixel_limit_is_refused_before_decoding(tmp_path: Path) -> None:
    path = _save(tmp_path / "wide.png", Image.new("1", (9000, 8000)))
    assert "9000×8000 pixels" in _error(path)


def test_missing_image_is_an_error(tmp_path: Path) -> None:
    assert "image file not found" in _error(tmp_path / "nope.png")


def test_a_folder_is_not_an_image(tmp_path: Path) -> None:
    assert "not a file" in _error(tmp_path)


# --- the examples folder -------------------------------------------------------------------


def test_examples_are_listed_in_their_readme_and_small() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    pictures = [p for p in EXAMPLES.iterdir() if p.name != "README.md"]
    assert len(pictures) >= 11
    assert all(p.name in readme for p in pictures)
    assert sum(p.stat().st_size for p in EXAMPLES.iterdir()) < 200_000


# --- photos: shadows, vignettes, ruled paper, specks, chalk --------------------------------


def _page_with_a_bar(height: int = 240, width: int = 200) -> np.ndarray:
    """Paper at 225 with a "1": a vertical pen stroke of ink at 40, a third of the page."""
    page = np.full((height, width), 225.0)
    page[80:160, 98:104] = 40.0
    return page


def test_a_hard_shadow_over_most_of_the_page_is_not_ink(tmp_path: Path) -> None:
    page = _page_with_a_bar()
    page[:, 60:] *= 0.45  # a phone's shadow over 70 % of the page, across the digit
    pixels = load_image(_save(tmp_path / "shadow.jpg", np.uint8(page), quality=90)).pixels
    assert _is_vertical(pixels) and _ink_box(pixels > 64)[0] == 20


def test_dark_corners_of_a_lamp_hot_spot_are_not_ink(tmp_path: Path) -> None:
    rows, cols = np.mgrid[0:240, 0:200]
    light = 1 - 0.55 * ((rows - 110) ** 2 + (cols - 90) ** 2) / (110 ** 2 + 110 ** 2)
    pixels = load_image(_save(tmp_path / "lamp.png", np.uint8(_page_with_a_bar() * light))
                        ).pixels
    assert _is_vertical(pixels) and _ink_box(pixels > 64)[0] == 20


def test_ruled_lines_do_not_reach_the_network(tmp_path: Path) -> None:
    page = _page_with_a_bar()
    page[10::24, :] = 150  # blue-grey rules every 24 px, across the stroke too
    page[:, 20:22] = 170   # and a margin line
    pixels = load_image(_save(tmp_path / "ruled.png", np.uint8(page))).pixels
    assert _is_vertical(pixels)
    height, width = _ink_box(pixels > 64)
    assert height == 20 and width <= 6


def test_a_small_digit_on_a_big_page_is_found_among_specks(tmp_path: Path) -> None:
    page = np.full((600, 500), 230.0)
    page[420:470, 380:384] = 30.0  # a small "1" near the lower right corner
    for row, col in [(50, 40), (300, 100), (80, 450), (550, 30)]:
        page[row:row + 2, col:col + 2] = 60.0  # dust
    pixels = load_image(_save(tmp_path / "small.png", np.uint8(page))).pixels
    row, col = _centre_of_mass(pixels)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    assert _is_vertical(pixels) and _ink_box(pixels > 64)[0] == 20


def test_chalk_on_a_dark_board_is_read_as_light_on_dark(tmp_path: Path) -> None:
    board = np.full((200, 240), 45.0)
    board[60:140, 118:124] = 210.0  # a chalk stroke
    board[20:60, 20:80] = 70.0  # a smudge wider than a stroke
    pixels = load_image(_save(tmp_path / "board.png", np.uint8(board))).pixels
    assert _is_vertical(pixels) and _ink_box(pixels > 64)[0] == 20


def test_a_faint_pencil_tail_stays_with_its_stroke(tmp_path: Path) -> None:
    page = _page_with_a_bar()
    page[160:200, 98:104] = 175.0  # the stroke goes on, faintly, down to row 200
    pixels = load_image(_save(tmp_path / "pencil.png", np.uint8(page))).pixels
    rows = np.flatnonzero((pixels > 0).any(axis=1))
    assert rows[-1] - rows[0] + 1 == 20 and pixels[rows[-1] - 2].max() > 0
    # the stroke is 120 px with its tail: the tail is the bottom third of the box
    assert pixels[rows[0]:rows[0] + 13].max() > pixels[rows[-1] - 4:rows[-1] + 1].max()


def test_show_draws_each_step_of_the_digit_pipeline(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from fcnn_cli.cli import app

    path = _save(tmp_path / "shadow.png", np.uint8(_page_with_a_bar()))
    result = CliRunner().invoke(app, ["predict", "mnist", str(path), "--show"])
    assert result.exit_code == 0, result.output
    for title in ("the picture, gray", "the ink, the page's light divided out",
                  "the pieces kept as the digit", "what the network sees (28×28)"):
        assert title in result.stdout
