"""Picture files decode to the levels they hold, whatever the format and mode; hostile or
broken files are refused in one line, before any pixel is decoded and with nothing else
on stderr; the object and resize pipelines do what their specs say, the same every time."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fcnn_cli.data.image_spec import ImageSpec
from fcnn_cli.data.images import load_image, thumbnail
from fcnn_cli.data.prepare import prepare_files
from fcnn_cli.errors import FcnnError

OBJECT = ImageSpec("object")


def _save(path: Path, picture: np.ndarray | Image.Image, **options: object) -> Path:
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    image.save(path, **options)
    return path


def _as_is(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """The decoded levels: the resize pipeline, stretched to the picture's own size, keeps
    them as they are (gray for a 2-d shape, RGB for (h, w, 3))."""
    channels = 3 if len(shape) == 3 else 1
    return load_image(path, ImageSpec("resize", shape[:2], channels, "stretch")).pixels


def _error(path: Path, spec: ImageSpec | tuple[int, ...] = (28, 28)) -> str:
    with pytest.raises(FcnnError) as caught:
        load_image(path, spec)
    assert caught.value.exit_code == 2 and "\n" not in caught.value.message
    return caught.value.message


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header(width: int, height: int) -> bytes:
    """A PNG's signature and header for an 8-bit gray picture of this size, no pixels."""
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height,
                                                              8, 0, 0, 0, 0))


def _stripes() -> np.ndarray:
    """48×64 gray with distinct levels, so that any mix-up of pixels shows."""
    return (np.arange(48 * 64).reshape(48, 64) % 251).astype(np.uint8)


# --- every decode path -----------------------------------------------------------------


def test_a_gray_png_decodes_to_its_levels(tmp_path: Path) -> None:
    path = _save(tmp_path / "gray.png", _stripes())
    assert np.array_equal(_as_is(path, (48, 64)), _stripes())


def test_an_rgb_png_decodes_to_its_colours(tmp_path: Path) -> None:
    rgb = np.stack([_stripes(), 255 - _stripes(), np.full((48, 64), 7, np.uint8)], axis=2)
    assert np.array_equal(_as_is(_save(tmp_path / "rgb.png", rgb), (48, 64, 3)), rgb)


def test_rgba_is_composited_onto_white(tmp_path: Path) -> None:
    rgba = np.zeros((40, 40, 4), np.uint8)  # transparent black
    rgba[:20, :, :] = (200, 0, 0, 255)  # opaque red at the top
    rgba[20:30, :, 3] = 128  # half-transparent black below it
    pixels = _as_is(_save(tmp_path / "t.png", Image.fromarray(rgba, "RGBA")), (40, 40, 3))
    assert (pixels[:20] == (200, 0, 0)).all()
    assert np.allclose(pixels[20:30], 127, atol=1) and (pixels[30:] == 255).all()


def test_gray_with_alpha_is_composited_onto_white(tmp_path: Path) -> None:
    levels = np.zeros((30, 30, 2), np.uint8)  # black, transparent on the left half
    levels[:, 15:, 1] = 255
    pixels = _as_is(_save(tmp_path / "la.png", Image.fromarray(levels, "LA")), (30, 30))
    assert (pixels[:, :15] == 255).all() and (pixels[:, 15:] == 0).all()


def test_a_palette_pngs_transparent_colour_becomes_white(tmp_path: Path) -> None:
    indices = np.zeros((30, 30), np.uint8)
    indices[10:20, 10:20] = 1  # a square of colour 1 on colour 0, which is transparent
    picture = Image.fromarray(indices, "P")
    picture.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    path = _save(tmp_path / "p.png", picture, transparency=0)
    pixels = _as_is(path, (30, 30, 3))
    assert (pixels[0, 0] == 255).all() and (pixels[15, 15] == (0, 0, 255)).all()


def test_a_palette_without_transparency_keeps_its_colours(tmp_path: Path) -> None:
    picture = Image.fromarray(np.uint8([[0, 1] * 8] * 16), "P")
    picture.putpalette([10, 200, 30, 250, 5, 90] + [0] * 762)
    pixels = _as_is(_save(tmp_path / "p.png", picture), (16, 16, 3))
    assert (pixels[:, 0] == (10, 200, 30)).all() and (pixels[:, 1] == (250, 5, 90)).all()


def test_sixteen_bit_gray_is_scaled_to_eight_bits(tmp_path: Path) -> None:
    path = _save(tmp_path / "deep.png", Image.fromarray(_stripes().astype(np.uint16) * 257))
    assert np.array_equal(_as_is(path, (48, 64)), _stripes())


def test_a_jpeg_with_exif_orientation_6_is_turned_upright(tmp_path: Path) -> None:
    stored = np.full((40, 60), 255, np.uint8)
    stored[:20, :20] = 0  # a dark block at the stored picture's top left
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to display"
    pixels = _as_is(_save(tmp_path / "phone.jpg", stored, exif=exif, quality=95), (60, 40))
    assert pixels[:20, -20:].mean() < 20  # now at the top right
    assert pixels[:20, :20].mean() > 235 and pixels[-20:, -20:].mean() > 235


def test_an_animated_gif_gives_its_first_frame(tmp_path: Path) -> None:
    first, second = np.zeros((20, 20), np.uint8), np.full((20, 20), 255, np.uint8)
    path = tmp_path / "anim.gif"
    Image.fromarray(first).save(path, save_all=True, append_images=[Image.fromarray(second)])
    assert (_as_is(path, (20, 20)) == 0).all()


def test_a_bmp_decodes_to_its_levels(tmp_path: Path) -> None:
    assert np.array_equal(_as_is(_save(tmp_path / "b.bmp", _stripes()), (48, 64)), _stripes())


def test_a_cmyk_jpeg_decodes_to_rgb(tmp_path: Path) -> None:
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[:, :16] = (220, 30, 30)
    rgb[:, 16:] = (250, 250, 250)
    path = _save(tmp_path / "print.jpg", Image.fromarray(rgb).convert("CMYK"), quality=95)
    with Image.open(path) as image:
        assert image.mode == "CMYK"
    pixels = _as_is(path, (32, 32, 3))
    assert np.allclose(pixels[8:24, 2:12], (220, 30, 30), atol=12)
    assert np.allclose(pixels[8:24, 20:30], 250, atol=12)


def test_a_large_photo_is_reduced_before_the_pipeline(tmp_path: Path) -> None:
    picture = np.full((3000, 2000), 255, np.uint8)
    picture[1000:2000, 500:1500] = 0  # a black square in the middle
    path = _save(tmp_path / "big.png", picture, compress_level=1)
    pixels = load_image(path, ImageSpec("resize", (30, 20), 1, "stretch")).pixels
    assert pixels[11:19, 6:14].max() < 5 and pixels[:9].min() > 250  # the square in place


# --- files refused, in one line --------------------------------------------------------


def test_a_picture_over_the_pixel_limit_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"  # a header that claims 9000×8000 pixels, and no pixels
    path.write_bytes(_png_header(9000, 8000) + _chunk(b"IEND", b""))
    message = _error(path, OBJECT)
    assert "9000×8000 pixels, more than the 64,000,000 fcnn reads; downsize it" in message


def test_a_decompression_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(100_000, 100_000) + _chunk(b"IEND", b""))
    assert "too large to read safely; downsize it" in _error(path)


def test_a_truncated_jpeg_is_an_error(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)
    Image.fromarray(noise).save(buffer, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    message = _error(tmp_path / "cut.jpg", ImageSpec("resize", (32, 32), 3))
    assert "cut.jpg: the image data is truncated or corrupt" in message


def test_a_corrupt_png_says_so_and_nothing_else_on_stderr(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    data = bytearray(_save(tmp_path / "ok.png", _stripes()).read_bytes())
    data[60] ^= 0xFF  # a byte of the compressed pixels flipped
    (tmp_path / "bad.png").write_bytes(bytes(data))
    assert "bad.png: the image data is truncated or corrupt" in _error(tmp_path / "bad.png")
    assert capfd.readouterr().err == ""


def test_a_png_with_a_broken_colour_profile_decodes_without_a_word(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    data = _save(tmp_path / "ok.png", _stripes()).read_bytes()
    profile = _chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(b"not a profile"))
    (tmp_path / "icc.png").write_bytes(data[:33] + profile + data[33:])  # after IHDR
    assert np.array_equal(_as_is(tmp_path / "icc.png", (48, 64)), _stripes())
    assert capfd.readouterr().err == ""  # (the libpng inside OpenCV would warn here)


@pytest.mark.parametrize(("make", "words"), [
    (lambda folder: folder / "empty.png", "empty.png: the file is empty (0 bytes)"),
    (lambda folder: folder, "not a file; give an image file"),
    (lambda folder: folder / "gone.png", "gone.png: image file not found")])
def test_files_that_are_no_pictures_are_refused(tmp_path: Path, make: Callable[[Path], Path],
                                                 words: str) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    assert words in _error(make(tmp_path), ImageSpec("resize", (8, 8), 3))


# --- the object pipeline -------------------------------------------------------------------


def _product(paper: int = 240, ink: int = 30, size: tuple[int, int] = (200, 300),
             box: tuple[int, int, int, int] = (60, 140, 100, 160)) -> np.ndarray:
    """A gray photo: a rectangle of `ink` (top, bottom, left, right) on `paper`."""
    picture = np.full(size, paper, np.uint8)
    top, bottom, left, right = box
    picture[top:bottom, left:right] = ink
    return picture


def _bounds(pixels: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(pixels.any(axis=1)), np.flatnonzero(pixels.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def test_on_a_light_background_the_background_is_0_and_the_object_bright(
        tmp_path: Path) -> None:
    pixels = load_image(_save(tmp_path / "shoe.png", _product()), OBJECT).pixels
    top, bottom, left, right = _bounds(pixels)
    assert (top, bottom) == (0, 28) and right - left == 21  # 80×60 → 28×21, trimmed first
    assert pixels[:, :left].max() == 0 and pixels[:, right:].max() == 0
    assert pixels[4:24, left + 3:right - 3].min() > 200


def test_on_a_dark_background_a_light_object_stays_light(tmp_path: Path) -> None:
    picture = _product(paper=20, ink=220)
    pixels = load_image(_save(tmp_path / "shirt.png", picture), OBJECT).pixels
    top, bottom, left, right = _bounds(pixels)
    assert pixels[:, :left].max() == 0 and pixels[4:24, left + 3:right - 3].min() > 200


def test_a_wide_margin_is_trimmed_and_the_object_fills_the_size(tmp_path: Path) -> None:
    picture = _product(size=(600, 600), box=(400, 460, 50, 110))  # 60×60 in a corner
    pixels = load_image(_save(tmp_path / "ring.png", picture), OBJECT).pixels
    assert _bounds(pixels) == (0, 28, 0, 28)


def test_a_hot_pixel_in_line_with_the_object_does_not_widen_its_box(tmp_path: Path) -> None:
    clean = _product()
    hot = clean.copy()
    hot[100, 290] = 0  # in one of the object's rows, far to its right
    pixels = load_image(_save(tmp_path / "clean.png", clean), OBJECT).pixels
    assert np.array_equal(load_image(_save(tmp_path / "hot.png", hot), OBJECT).pixels, pixels)


def test_jpeg_noise_in_the_background_stays_0(tmp_path: Path) -> None:
    path = _save(tmp_path / "shoe.jpg", _product(), quality=75)
    pixels = load_image(path, OBJECT).pixels
    top, bottom, left, right = _bounds(pixels > 127)
    assert pixels[:, :left - 1].max() == 0 and pixels[:, right + 1:].max() == 0


# --- the resize pipeline ---------------------------------------------------------------------


def _framed() -> np.ndarray:
    """100 high, 50 wide: a green frame 4 px wide around orange."""
    picture = np.zeros((100, 50, 3), np.uint8)
    picture[:] = (0, 160, 0)
    picture[4:-4, 4:-4] = (250, 120, 0)
    return picture


@pytest.mark.parametrize(("fit", "size"), [("pad", (16, 16)), ("crop", (16, 16)),
                                           ("stretch", (16, 16)), ("pad", (10, 30))])
def test_every_fit_gives_the_specs_shape(tmp_path: Path, fit: str,
                                         size: tuple[int, int]) -> None:
    path = _save(tmp_path / "framed.png", _framed())
    assert load_image(path, ImageSpec("resize", size, 3, fit)).pixels.shape == (*size, 3)
    assert load_image(path, ImageSpec("resize", size, 1, fit)).pixels.shape == size


def test_pad_fills_with_the_borders_colour(tmp_path: Path) -> None:
    spec = ImageSpec("resize", (16, 16), 3, "pad")
    pixels = load_image(_save(tmp_path / "framed.png", _framed()), spec).pixels
    assert (pixels[:, :4] == (0, 160, 0)).all() and (pixels[:, -4:] == (0, 160, 0)).all()
    assert np.allclose(pixels[8, 8], (250, 120, 0), atol=2)


def test_crop_keeps_the_middle_and_stretch_the_whole(tmp_path: Path) -> None:
    path = _save(tmp_path / "framed.png", _framed())
    cropped = load_image(path, ImageSpec("resize", (16, 16), 3, "crop")).pixels
    stretched = load_image(path, ImageSpec("resize", (16, 16), 3, "stretch")).pixels
    assert np.allclose(cropped[0, 8], (250, 120, 0), atol=2)  # the top frame cut away
    assert stretched[0, 8, 1] > stretched[0, 8, 0]  # the top frame, squeezed, still there


# --- the same every time --------------------------------------------------------------------


@pytest.mark.parametrize("spec", [OBJECT, ImageSpec("resize", (20, 24), 3, "pad"),
                                  ImageSpec("resize", (20, 24), 1, "crop")],
                         ids=lambda spec: spec.describe())
def test_preparing_twice_or_in_a_batch_gives_the_same_bits(tmp_path: Path,
                                                          spec: ImageSpec) -> None:
    paths = [_save(tmp_path / "shoe.jpg", _product(), quality=80),
             _save(tmp_path / "framed.png", _framed())]
    rows = prepare_files(paths, spec, 1.0).pixels
    for row, path in enumerate(paths):
        once, again = load_image(path, spec, 1.0).pixels, load_image(path, spec, 1.0).pixels
        assert once.tobytes() == again.tobytes() == rows[row].tobytes()


# --- thumbnails ------------------------------------------------------------------------------


def test_a_thumbnail_keeps_the_aspect_ratio_and_the_mean_level() -> None:
    gray = np.tile(np.linspace(0, 255, 300, dtype=np.float32), (150, 1))
    small = thumbnail(gray, 60)
    assert small.shape == (30, 60) and abs(small.mean() - gray.mean()) < 1


def test_a_thumbnail_of_rgb_stays_rgb_and_a_small_picture_stays_as_it_is() -> None:
    rgb = np.zeros((120, 80, 3), np.float32)
    rgb[..., 2] = 200.0
    assert thumbnail(rgb, 30).shape == (30, 20, 3) and (thumbnail(rgb, 30)[..., 2] == 200).all()
    small = rgb[:20, :20]
    assert thumbnail(small, 30) is small


# --- OpenCV only where pictures are prepared -------------------------------------------------


def test_help_and_model_loading_do_not_import_opencv() -> None:
    code = ("import sys\nfrom fcnn_cli.cli import main\nfrom fcnn_cli.api import load_model\n"
            "load_model('mnist')\nsys.argv = ['fcnn', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('cv2' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stderr.splitlines()[-1] == "False", done.stderr
