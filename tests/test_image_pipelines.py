"""The object and resize pipelines beside the digit one: an ImageSpec picks the pipeline."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from fcnn_cli import ui
from fcnn_cli.data.image_spec import ImageSpec
from fcnn_cli.data.images import load_image
from fcnn_cli.data.prepare import prepare_files
from fcnn_cli.errors import FcnnError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "images"
OBJECT = ImageSpec("object")


def _save(path: Path, picture: np.ndarray | Image.Image, **options: object) -> Path:
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    image.save(path, **options)
    return path


def _ellipse(height: int, width: int, centre: tuple[float, float],
             radii: tuple[float, float]) -> np.ndarray:
    """A filled ellipse as a boolean mask."""
    rows, cols = np.mgrid[0:height, 0:width]
    return ((rows - centre[0]) / radii[0]) ** 2 + ((cols - centre[1]) / radii[1]) ** 2 <= 1


def _object_photo(height: int, width: int, top: int, left: int, box: tuple[int, int],
                  ink: int = 30, paper: int = 240) -> np.ndarray:
    """A gray photo: a rectangle of `ink`, box (height, width) at (top, left), on `paper`."""
    picture = np.full((height, width), paper, np.uint8)
    picture[top:top + box[0], left:left + box[1]] = ink
    return picture


def _box(pixels: np.ndarray, above: float = 0.0) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), bottom and right exclusive, of the pixels above `above`."""
    mask = pixels > above
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


# --- the object pipeline --------------------------------------------------------------


def test_object_dark_on_light_becomes_light_on_a_black_background(tmp_path: Path) -> None:
    path = _save(tmp_path / "shoe.png", _object_photo(120, 160, 30, 40, (60, 80)))
    prepared = load_image(path, OBJECT)
    top, bottom, left, right = _box(prepared.pixels)
    assert not prepared.looked_empty
    assert prepared.pixels.shape == (28, 28) and prepared.pixels.dtype == np.float32
    inside = prepared.pixels[top + 3:bottom - 3, left + 3:right - 3]
    assert (inside == 255 * (240 - 30) / 240).all()  # black would be 255, the paper 0
    outside = np.ones((28, 28), bool)
    outside[top:bottom, left:right] = False
    assert (prepared.pixels[outside] == 0).all()  # the background is exactly 0


def test_an_off_centre_object_is_centred(tmp_path: Path) -> None:
    path = _save(tmp_path / "corner.png", _object_photo(200, 300, 10, 200, (50, 80)))
    top, bottom, left, right = _box(load_image(path, OBJECT).pixels)
    assert abs((top + bottom) / 2 - 14) <= 0.5 and abs((left + right) / 2 - 14) <= 0.5


def test_the_objects_longer_side_fills_the_size(tmp_path: Path) -> None:
    path = _save(tmp_path / "bag.png", _object_photo(300, 300, 100, 60, (100, 150)))
    top, bottom, left, right = _box(load_image(path, OBJECT).pixels, above=127)
    assert (left, right) == (0, 28)
    assert bottom - top == pytest.approx(28 * 100 / 150, abs=1)


def test_a_tall_object_is_padded_left_and_right(tmp_path: Path) -> None:
    path = _save(tmp_path / "boot.png", _object_photo(200, 200, 20, 80, (160, 40)))
    pixels = load_image(path, OBJECT).pixels
    assert pixels[:, 0].max() == 0 and pixels[:, -1].max() == 0
    assert pixels[0].max() > 127 and pixels[-1].max() > 127


def test_a_wide_object_is_padded_top_and_bottom(tmp_path: Path) -> None:
    path = _save(tmp_path / "sandal.png", _object_photo(200, 200, 80, 20, (40, 160)))
    pixels = load_image(path, OBJECT).pixels
    assert pixels[0].max() == 0 and pixels[-1].max() == 0
    assert pixels[:, 0].max() > 127 and pixels[:, -1].max() > 127


def test_a_light_object_on_a_dark_background_is_not_inverted(tmp_path: Path) -> None:
    picture = _object_photo(100, 100, 20, 35, (60, 30), ink=230, paper=20)
    picture[45:55, 35:65] = 120  # a darker stripe across the object
    pixels = load_image(_save(tmp_path / "shirt.png", picture), OBJECT).pixels
    assert pixels[:, 0].max() == 0 and pixels[:, -1].max() == 0
    assert pixels[4, 14] > 200 and pixels[14, 14] < 150  # the object light, the stripe darker


def test_a_coloured_background_is_trimmed_and_becomes_black(tmp_path: Path) -> None:
    picture = np.zeros((120, 120, 3), np.uint8)
    picture[:] = (170, 200, 240)  # light blue paper
    picture[_ellipse(120, 120, (60, 60), (20, 40))] = (200, 20, 20)  # a red bag
    prepared = load_image(_save(tmp_path / "bag.png", picture), OBJECT)
    top, bottom, left, right = _box(prepared.pixels, above=64)
    assert (left, right) == (0, 28) and prepared.pixels[0].max() == 0
    assert prepared.pixels[14, 14] > 64  # (the red is darker than the paper: inverted)


def test_a_stray_pixel_in_a_corner_changes_nothing(tmp_path: Path) -> None:
    clean = _object_photo(150, 150, 40, 50, (70, 50))
    speck = clean.copy()
    speck[0, 0] = 0
    pixels = load_image(_save(tmp_path / "clean.png", clean), OBJECT).pixels
    assert np.array_equal(load_image(_save(tmp_path / "speck.png", speck), OBJECT).pixels,
                          pixels)


def test_a_transparent_png_object_is_put_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((100, 100, 4), np.uint8)  # transparent black all round, as apps export
    rgba[_ellipse(100, 100, (50, 50), (40, 20)), 3] = 255  # an opaque black object
    path = _save(tmp_path / "t.png", Image.fromarray(rgba, mode="RGBA"))
    pixels = load_image(path, OBJECT).pixels
    assert pixels[14, 14] == 255.0 and pixels[14, 0] == 0 and pixels[0, 14] > 0


@pytest.mark.parametrize("paper", [(255, 255, 255), (0, 0, 0), (90, 140, 60)])
def test_a_picture_of_background_only_looks_empty(tmp_path: Path,
                                                  paper: tuple[int, int, int]) -> None:
    picture = np.zeros((60, 80, 3), np.uint8)
    picture[:] = paper
    prepared = load_image(_save(tmp_path / "blank.jpg", picture, quality=90), OBJECT)
    assert prepared.looked_empty and prepared.pixels.shape == (28, 28)
    assert not prepared.pixels.any()


def test_object_pixels_are_scaled_to_pixel_max(tmp_path: Path) -> None:
    path = _save(tmp_path / "bag.png", _object_photo(100, 100, 20, 30, (50, 40)))
    full = load_image(path, OBJECT).pixels
    scaled = load_image(path, OBJECT, pixel_max=1.0).pixels
    assert scaled.max() == 1.0 and np.allclose(scaled, full / 255, atol=1e-6)


def test_other_object_sizes_fill_their_longer_side(tmp_path: Path) -> None:
    path = _save(tmp_path / "bag.png", _object_photo(100, 100, 20, 30, (50, 40)))
    pixels = load_image(path, ImageSpec("object", (16, 40))).pixels
    top, bottom, _, _ = _box(pixels, above=127)
    assert pixels.shape == (16, 40) and (top, bottom) == (0, 16)


def test_a_large_photo_is_reduced_first_and_still_trimmed(tmp_path: Path) -> None:
    picture = _object_photo(2000, 3000, 700, 1000, (600, 900))
    pixels = load_image(_save(tmp_path / "big.jpg", picture, quality=90), OBJECT).pixels
    top, bottom, left, right = _box(pixels, above=127)
    assert (left, right) == (0, 28) and bottom - top == pytest.approx(28 * 600 / 900, abs=1)


def _shoe() -> np.ndarray:
    """A Fashion-MNIST-like 28×28 object: light on black, the longer side filling the
    field, centred (as Fashion-MNIST's are)."""
    rows, cols = np.mgrid[0:28, 0:28]
    shoe = np.zeros((28, 28), np.uint8)
    shoe[((rows - 13.5) / 5.6) ** 2 + ((cols - 13.5) / 14) ** 2 <= 1] = 170  # the upper
    shoe[16:20, :] = 255  # the sole
    shoe[8:14, 3:9] = 110  # the heel
    return shoe


@pytest.mark.parametrize("margins", [(60, 40, 150, 90), (10, 100, 30, 5)])
def test_a_fashion_mnist_like_round_trip_keeps_the_picture(
        tmp_path: Path, margins: tuple[int, int, int, int]) -> None:
    original = _shoe()
    product = Image.fromarray(255 - original).resize((224, 224), Image.Resampling.LANCZOS)
    left, top, right, bottom = margins
    photo = Image.new("RGB", (224 + left + right, 224 + top + bottom), (255, 255, 255))
    photo.paste(product, (left, top))
    pixels = load_image(_save(tmp_path / "product.jpg", photo, quality=90), OBJECT).pixels
    assert np.corrcoef(pixels.ravel(), original.ravel().astype(np.float32))[0, 1] > 0.9


# --- the resize pipeline -------------------------------------------------------------------


def _banner() -> np.ndarray:
    """200 wide, 100 high: gray, a red band at the left end and a blue one at the right."""
    picture = np.full((100, 200, 3), 128, np.uint8)
    picture[:, :20] = (255, 0, 0)
    picture[:, -20:] = (0, 0, 255)
    return picture


def _resize(path: Path, fit: str, channels: int = 3, size: tuple[int, int] = (20, 20),
            pixel_max: float = 255.0) -> np.ndarray:
    prepared = load_image(path, ImageSpec("resize", size, channels, fit), pixel_max)
    assert not prepared.looked_empty and prepared.pixels.dtype == np.float32
    return prepared.pixels


def test_resize_keeps_rgb_colour(tmp_path: Path) -> None:
    picture = np.full((64, 64, 3), 255, np.uint8)
    picture[8:56, 8:56] = (220, 10, 10)  # a red square on white
    pixels = _resize(_save(tmp_path / "red.png", picture), "stretch", size=(16, 16))
    assert pixels.shape == (16, 16, 3)
    centre = pixels[4:12, 4:12]
    assert centre[..., 0].min() > 200 and centre[..., 1:].max() < 40


def test_resize_pad_keeps_the_ends_and_pads_with_the_border_colour(tmp_path: Path) -> None:
    pixels = _resize(_save(tmp_path / "banner.png", _banner()), "pad")
    assert (pixels[:5] == 128).all() and (pixels[-5:] == 128).all()  # 5 rows above, 5 below
    assert pixels[10, 0, 0] > 200 and pixels[10, 0, 2] < 50  # the red end is kept
    assert pixels[10, -1, 2] > 200 and pixels[10, -1, 0] < 50  # and the blue one


def test_resize_crop_loses_the_ends(tmp_path: Path) -> None:
    pixels = _resize(_save(tmp_path / "banner.png", _banner()), "crop")
    assert np.array_equal(pixels, np.full((20, 20, 3), 128, np.float32))


def test_resize_stretch_fills_the_size_with_the_whole_picture(tmp_path: Path) -> None:
    pixels = _resize(_save(tmp_path / "banner.png", _banner()), "stretch")
    assert pixels[0, 0, 0] > 200 and pixels[-1, 0, 0] > 200  # red from top to bottom
    assert pixels[0, -1, 2] > 200 and pixels[-1, -1, 2] > 200  # blue too
    assert (pixels[:, 5:15] == 128).all()


def test_resize_gray_has_one_channel(tmp_path: Path) -> None:
    picture = np.zeros((40, 40, 3), np.uint8)
    picture[:] = (200, 100, 50)
    pixels = _resize(_save(tmp_path / "brown.png", picture), "pad", channels=1, size=(10, 12))
    luma = 0.299 * 200 + 0.587 * 100 + 0.114 * 50  # ITU-R 601 luma, as JPEG's gray is
    assert pixels.shape == (10, 12) and (pixels == pixels[0, 0]).all()
    assert abs(pixels[0, 0] - luma) <= 1


def test_resize_a_gray_picture_to_rgb_repeats_it_in_each_band(tmp_path: Path) -> None:
    picture = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (64, 1))  # 16-bit gray
    pixels = _resize(_save(tmp_path / "ramp.png", Image.fromarray(picture)), "stretch")
    assert pixels.shape == (20, 20, 3)
    assert np.array_equal(pixels[..., 0], pixels[..., 1])
    assert np.array_equal(pixels[..., 0], pixels[..., 2])
    assert pixels[:, 0].max() < 10 and pixels[:, -1].min() > 245


def test_resize_neither_inverts_nor_stretches_contrast(tmp_path: Path) -> None:
    picture = np.full((60, 60), 200, np.uint8)
    picture[20:40, 20:40] = 150  # a darker square on light paper
    pixels = _resize(_save(tmp_path / "square.png", picture), "pad", channels=1)
    assert pixels[0, 0] == 200 and pixels[10, 10] == 150


def test_resize_pixels_are_scaled_to_pixel_max(tmp_path: Path) -> None:
    path = _save(tmp_path / "banner.png", _banner())
    assert np.allclose(_resize(path, "pad", pixel_max=1.0), _resize(path, "pad") / 255,
                       atol=1e-6)


def test_resize_puts_a_transparent_png_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((40, 40, 4), np.uint8)  # transparent black
    rgba[10:30, 10:30] = (0, 0, 255, 255)  # an opaque blue square
    pixels = _resize(_save(tmp_path / "t.png", Image.fromarray(rgba, mode="RGBA")), "crop")
    assert (pixels[0, 0] == 255).all()
    assert pixels[10, 10, 2] == 255 and pixels[10, 10, :2].max() < 5


def test_prepare_files_rows_are_load_image_with_a_spec(tmp_path: Path) -> None:
    spec = ImageSpec("resize", (8, 6), 3, "pad")
    paths = [_save(tmp_path / "banner.png", _banner()), EXAMPLES / "user-9-photo.jpg"]
    pixels, looked_empty = _pixels_and_empty(paths, spec, 1.0)
    assert pixels.shape == (2, 8 * 6 * 3) and not looked_empty.any()
    for row, path in enumerate(paths):
        assert np.array_equal(pixels[row], load_image(path, spec, 1.0).pixels.reshape(-1))


# --- the digit pipeline through a spec, and specs the pipelines refuse ---------------------


@pytest.mark.parametrize("size", [(28, 28), (20, 30)])
@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("user-*")), ids=lambda p: p.name)
def test_the_digit_spec_is_the_shape_tuple_bit_for_bit(path: Path,
                                                       size: tuple[int, int]) -> None:
    by_spec = load_image(path, ImageSpec("digit", size), 16.0)
    by_shape = load_image(path, size, 16.0)
    assert by_spec.pixels.dtype == by_shape.pixels.dtype == np.float32
    assert by_spec.pixels.shape == by_shape.pixels.shape
    assert by_spec.pixels.tobytes() == by_shape.pixels.tobytes()
    assert by_spec.looked_empty == by_shape.looked_empty


def _one_line_error(path: Path, spec: ImageSpec | tuple[int, ...]) -> str:
    with pytest.raises(FcnnError) as caught:
        load_image(path, spec)
    assert caught.value.exit_code == 2 and "\n" not in caught.value.message
    return caught.value.message


@pytest.mark.parametrize("pipeline", ["digit", "object"])
def test_gray_pipelines_refuse_rgb(tmp_path: Path, pipeline: str) -> None:
    path = _save(tmp_path / "bag.png", _object_photo(40, 40, 10, 10, (20, 20)))
    message = _one_line_error(path, ImageSpec(pipeline, (28, 28), 3))
    assert "1 (gray)" in message and "not 3" in message and "resize" in message


@pytest.mark.parametrize(("spec", "words"), [
    (ImageSpec("sketch"), "unknown image pipeline 'sketch'"),
    (ImageSpec("resize", (28, 28), 3, "fill"), "unknown fit 'fill'"),
    (ImageSpec("resize", (28, 28), 2), "1 (gray) or 3 (RGB) channels, not 2"),
    (ImageSpec("resize", (0, 28)), "two positive numbers")])
def test_a_spec_no_pipeline_can_follow_is_an_error(tmp_path: Path, spec: ImageSpec,
                                                   words: str) -> None:
    path = _save(tmp_path / "bag.png", _object_photo(40, 40, 10, 10, (20, 20)))
    assert words in _one_line_error(path, spec)


def _truncated_png(path: Path) -> Path:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), np.uint8)).save(
        buffer, "PNG")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def _save_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


BAD_FILES: dict[str, Callable[[Path], Path]] = {
    "empty": lambda folder: _save_bytes(folder / "empty.png", b""),
    "text": lambda folder: _save_bytes(folder / "notes.png", b"remember the milk\n"),
    "truncated": lambda folder: _truncated_png(folder / "cut.png"),
    "one pixel": lambda folder: _save(folder / "dot.png", np.zeros((1, 1), np.uint8)),
    "too large": lambda folder: _save(folder / "wide.png", Image.new("1", (9000, 8000))),
    "missing": lambda folder: folder / "nope.png",
    "folder": lambda folder: folder / "a folder.png",
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each kind of unusable file, made once (the 9000×8000 one takes a while)."""
    folder = tmp_path_factory.mktemp("bad")
    (folder / "a folder.png").mkdir()
    return {bad: make(folder) for bad, make in BAD_FILES.items()}


@pytest.mark.parametrize("spec", [ImageSpec("digit"), OBJECT,
                                  ImageSpec("resize", (32, 32), 3, "pad"),
                                  ImageSpec("resize", (32, 32), 1, "crop")],
                         ids=lambda spec: spec.describe())
@pytest.mark.parametrize("bad", list(BAD_FILES))
def test_unreadable_files_give_the_digit_pipelines_errors(bad_files: dict[str, Path],
                                                          bad: str, spec: ImageSpec) -> None:
    path = bad_files[bad]
    assert _one_line_error(path, spec) == _one_line_error(path, (28, 28))


# --- show_image ---------------------------------------------------------------------------


def _drawn(monkeypatch: pytest.MonkeyPatch, pixels: np.ndarray) -> str:
    """What show_image prints, with its colours as escape codes."""
    console = Console(file=io.StringIO(), record=True, force_terminal=True,
                      color_system="truecolor", highlight=False, width=200)
    monkeypatch.setattr(ui, "_out", console)
    ui.show_image("picture.png", pixels)
    return console.export_text(styles=True)


def test_show_image_draws_rgb_in_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    pixels = np.zeros((3, 2, 3), np.float32)
    pixels[..., 0] = 255.0  # red; the third row stands alone, over black
    drawn = _drawn(monkeypatch, pixels)
    assert drawn.splitlines()[0] == "picture.png — what the network sees (3×2 RGB):"
    assert drawn.count("▀") == 4
    assert "38;2;255;0;0;48;2;255;0;0m" in drawn and "38;2;255;0;0;48;2;0;0;0m" in drawn


def test_show_image_still_draws_gray(monkeypatch: pytest.MonkeyPatch) -> None:
    pixels = np.array([[0.0, 8.0], [16.0, 16.0]], np.float32)
    drawn = _drawn(monkeypatch, pixels)
    assert drawn.splitlines()[0] == "picture.png — what the network sees (2×2):"
    assert "38;2;0;0;0;48;2;255;255;255m" in drawn and "38;2;127;127;127;48;2;255;255;255m" in drawn


def _pixels_and_empty(*args: object) -> tuple[np.ndarray, np.ndarray]:
    prepared = prepare_files(*args)  # type: ignore[arg-type]
    return prepared.pixels, prepared.looked_empty
