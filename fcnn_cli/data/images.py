"""A picture file -> one model input, by one of three pipelines (an `ImageSpec` names it).

- `digit` (the default; a bare input shape means this one): as MNIST made its digits,
  white ink on black, the ink's box scaled to fit 20×20 (anti-aliased, aspect ratio kept)
  and placed in 28×28 with its centre of mass at the centre; gray;
- `object`: as Fashion-MNIST made its product shots (Xiao et al. 2017): the edges close
  to the background colour trimmed, the longer side resized to the size, sharpened,
  padded to the size and centred, gray; a light background inverted, and the levels
  stretched so that the background is 0 (as if it were Fashion-MNIST's white) and the
  object light;
- `resize`: any photo resized to the size, gray or RGB, the aspect ratio kept by padding
  with the border's colour or by a centre crop (`fit` pad, crop), or not (stretch); no
  inversion, no contrast change.

All three decode alike: any PNG/JPEG/GIF/BMP mode, EXIF orientation applied,
transparency put on white, very large pictures reduced first; a bad file is one
FcnnError that says why.

The digit pipeline, step by step (DESIGN.md §8; a photographed page needs steps 2-4,
the ones in fcnn_cli/data/ink.py):

1. decode, palette and 16-bit turned into gray;
2. polarity: a light page with dark ink, or a dark board with chalk (the median level,
   or where a big shadow leaves that unclear, whichever stands out more sharply);
3. the page's own light (shadows, a lamp's hot spot, dark corners) estimated by a
   closing wider than the strokes and divided out; ruled and grid lines taken away;
4. the ink chosen with two thresholds (Otsu's, and half of it for pixels that touch
   those: faint pencil stays whole) on a lightly median-filtered copy, and of it only
   the digit: the largest piece and the pieces near it, no specks or far marks; then
   cropped, contrast stretched so background is 0 and ink 255;
5. strokes thickened when shrinking to 20 px would make them thinner than MNIST's;
6. resized into the 20 px box and shifted (by slicing, no wrap-around) so the centre
   of mass sits at the centre; other input shapes scale the 20/28 box proportionally.

Speed: a folder of pictures goes through here one file at a time, so the fixed cost of
each NumPy call matters more than the arithmetic. The helpers below compute exactly
what np.median, np.percentile, Pillow's MedianFilter and a plain Otsu give (the same
values, bit for bit: tests/test_images_exact.py holds them to that) with fewer and
cheaper array passes. The object and resize pipelines keep the picture in Pillow
(8-bit, one or three bands) until it is the size of the input.
"""

from __future__ import annotations

import dataclasses
import math
import os
import stat
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Pillow's ImageOps, ImageFilter and ImageChops are imported where a rarer path needs them:
# a digit from a scan or a clean file never does, and `fcnn predict` starts faster.
from PIL import Image, UnidentifiedImageError

from fcnn_cli.data.digit import digit_field
from fcnn_cli.data.image_spec import FITS, PIPELINES, ImageSpec
from fcnn_cli.errors import FcnnError

MIN_SIDE = 4  # a smaller picture cannot hold a digit
MAX_PIXELS = 64_000_000  # refuse before decoding anything bigger (8000×8000)
WORK_SIDE = 512  # bigger pictures are reduced to about this before any other step
TRIM_TOLERANCE = 0.05  # Fashion-MNIST: within 5% of the largest RGB distance is background
# Fashion-MNIST's Gaussian unsharp operator of radius 1.0; the threshold leaves JPEG
# noise in the background alone
SHARPEN = {"radius": 1.0, "percent": 100, "threshold": 3}  # ImageFilter.UnsharpMask's
# resize box-averages by whole factors until the last LANCZOS step shrinks 3× or less:
# indistinguishable from LANCZOS all the way (Pillow's docs), at a fraction of the cost
REDUCING_GAP = 3.0
LANCZOS = Image.Resampling.LANCZOS
ORIENTATION = 0x0112  # the EXIF tag
_Colour = float | tuple[int, ...]  # a colour as Image.new takes it: a level, or RGB


@dataclass
class PreparedImage:
    """A model input in raw units: float32, shape input_shape (or the spec's shape),
    white ink or object on black (digit, object), or the picture as it is (resize)."""

    pixels: np.ndarray  # 0..pixel_max
    looked_empty: bool  # no ink or object found: the pixels are all zero
    steps: list[tuple[str, np.ndarray]] = dataclasses.field(default_factory=list)  # with
    #                    steps=True: the picture on its way (title, 0..255 array)


def load_image(path: str | Path, spec: ImageSpec | tuple[int, ...] = (28, 28),
               pixel_max: float = 255.0, steps: bool = False) -> PreparedImage:
    """Read an image file and prepare it by `spec`'s pipeline (see module doc); a bare
    shape means the digit pipeline with that input shape. `steps` keeps the digit
    pipeline's intermediate pictures (for `predict --show`)."""
    path = path if isinstance(path, Path) else Path(path)
    if not isinstance(spec, ImageSpec):
        return _digit(path, spec, pixel_max, steps)
    _check_spec(spec)
    if spec.pipeline == "digit":
        return _digit(path, spec.size, pixel_max, steps)
    if spec.pipeline == "object":
        return _object(path, spec.size, pixel_max)
    return _resize(path, spec, pixel_max)


def _check_spec(spec: ImageSpec) -> None:
    """Nothing for a spec the pipelines can follow; otherwise a one-line FcnnError."""
    if spec.pipeline not in PIPELINES:
        raise FcnnError(f"unknown image pipeline {spec.pipeline!r}; "
                        f"use one of {', '.join(PIPELINES)}")
    if spec.channels != 1 and (spec.pipeline != "resize" or spec.channels != 3):
        wanted = "1 (gray) or 3 (RGB)" if spec.pipeline == "resize" else "1 (gray)"
        hint = "" if spec.pipeline == "resize" else "; for RGB inputs use the resize pipeline"
        raise FcnnError(f"the {spec.pipeline} pipeline makes pictures of {wanted} channels, "
                        f"not {spec.channels}{hint}")
    if spec.fit not in FITS:
        raise FcnnError(f"unknown fit {spec.fit!r} for resized pictures; "
                        f"use one of {', '.join(FITS)}")
    if len(spec.size) != 2 or min(spec.size) < 1:
        raise FcnnError(f"an image size must be two positive numbers (height, width), "
                        f"not {spec.size}")


def _digit(path: Path, input_shape: tuple[int, ...], pixel_max: float,
           steps: bool = False) -> PreparedImage:
    """The MNIST way (fcnn_cli/data/digit.py)."""
    height, width = _field_shape(input_shape, path)
    gray = _read_gray(path)
    shown: list[tuple[str, np.ndarray]] | None = [("the picture, gray", gray)] if steps \
        else None
    field = digit_field(gray, height, width, shown)
    if field is None:
        return PreparedImage(np.zeros(input_shape, np.float32), True, shown or [])
    pixels = (field * np.float32(pixel_max / 255.0)).reshape(input_shape)
    return PreparedImage(pixels.astype(np.float32), False, shown or [])


def _field_shape(input_shape: tuple[int, ...], path: Path) -> tuple[int, int]:
    """(height, width) of the model's input; a flat input of n×n values counts as n×n."""
    if len(input_shape) == 2:
        return int(input_shape[0]), int(input_shape[1])
    if len(input_shape) == 1 and math.isqrt(input_shape[0]) ** 2 == input_shape[0]:
        return math.isqrt(input_shape[0]), math.isqrt(input_shape[0])
    raise FcnnError(f"{path}: the model takes inputs of shape {input_shape}, not images; "
                    "give its inputs as a .npy or .csv file instead")


# --- 1. decoding --------------------------------------------------------------------


def _read_gray(path: Path) -> np.ndarray:
    """The picture as float32 gray levels 0..255 (white 255), longer side at most ~WORK_SIDE."""
    return np.asarray(_decode(path, _to_gray, WORK_SIDE), dtype=np.float32)


def _decode(path: Path, convert: Callable[[Image.Image, Path], Image.Image],
            work_side: int) -> Image.Image:
    """The picture in the mode `convert` turns it into, upright, longer side at most about
    `work_side`; every way a file can be unreadable is a one-line FcnnError. The result
    holds its pixels in memory (Pillow keeps a loaded image's data when its file closes)."""
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # an animated GIF opens at its first frame
                _check_size(image.size, path)
                image.draft(None, (work_side, work_side))  # JPEG only: decode at 1/2..1/8 size
                image.load()
                if image.getexif().get(ORIENTATION, 1) != 1:  # a photo taken turned
                    from PIL import ImageOps

                    ImageOps.exif_transpose(image, in_place=True)  # in place: no copy
                return _reduced(convert(image, path), work_side)
    except UnidentifiedImageError:
        raise FcnnError(f"{path}: not an image Pillow can read; "
                        "give a PNG, JPEG, GIF or BMP file") from None
    except Image.DecompressionBombError:
        raise FcnnError(f"{path}: the image is too large to read safely; downsize it") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise FcnnError(f"{path}: the image data is truncated or corrupt ({error}); "
                        "save or copy the image again") from None


def _reduced(picture: Image.Image, work_side: int) -> Image.Image:
    """A large picture box-averaged down to about `work_side`: every later step is then cheap."""
    longer = max(picture.size)
    if longer > work_side:
        return picture.reduce(math.ceil(longer / work_side))
    return picture


def _check_file(path: Path) -> None:
    """Nothing for a non-empty regular file; otherwise the FcnnError that says what it is."""
    try:
        status: os.stat_result | None = path.stat()  # one system call for a good file
    except (OSError, ValueError):
        status = None
    if status is None or not stat.S_ISREG(status.st_mode):
        # the reason, by pathlib's rules (which errors mean "not found" varies by version)
        if not path.exists():
            raise FcnnError(f"{path}: image file not found")
        if not path.is_file():
            raise FcnnError(f"{path}: not a file; give an image file (.png, .jpg, .gif, .bmp)")
        status = path.stat()
    if status.st_size == 0:
        raise FcnnError(f"{path}: the file is empty (0 bytes), not an image")


def _check_size(size: tuple[int, int], path: Path) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise FcnnError(f"{path}: the image is {width}×{height} pixels, more than the "
                        f"{MAX_PIXELS:,} fcnn reads; downsize it first")
    if min(width, height) < MIN_SIDE:
        raise FcnnError(f"{path}: the image is only {width}×{height} pixels; a digit needs at "
                        f"least {MIN_SIDE}×{MIN_SIDE}")


def _to_gray(image: Image.Image, path: Path) -> Image.Image:
    """Any mode -> 'L' or 'F' gray on a 0..255 scale; transparency composited onto white."""
    mode = image.mode
    if mode.startswith("I") or mode == "F":  # 16- and 32-bit gray
        values = np.asarray(image, dtype=np.float32)
        full = 65535.0 if mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        if mode == "F" and values.max(initial=0) <= 1.0:
            full = 1.0
        return Image.fromarray(values * np.float32(255.0 / full), mode="F")
    if mode in ("P", "PA", "LA", "La", "RGBA", "RGBa") or "transparency" in image.info:
        with_alpha = image.convert("RGBA").convert("LA")
        white = Image.new("L", image.size, 255)
        return Image.composite(with_alpha.getchannel("L"), white, with_alpha.getchannel("A"))
    if mode == "L":
        return image  # already gray (convert would only copy it)
    try:
        return image.convert("L")
    except ValueError:
        raise FcnnError(f"{path}: image mode {mode} is not supported; "
                        "save it as an RGB or grayscale PNG or JPEG") from None


def _to_colour(image: Image.Image, path: Path) -> Image.Image:
    """Any mode -> 'RGB', or gray as _to_gray gives it ('L', 'F': a gray picture need not
    be tripled to be measured or resized); transparency composited onto white."""
    mode = image.mode
    transparent = "transparency" in image.info
    if mode in ("L", "RGB") and not transparent:
        return image  # (convert would only copy it)
    if mode.startswith("I") or mode in ("F", "1"):
        return _to_gray(image, path)
    if mode in ("PA", "LA", "La", "RGBA", "RGBa") or transparent:
        with_alpha = image.convert("RGBA")
        white = Image.new("RGB", image.size, (255, 255, 255))
        white.paste(with_alpha, (0, 0), with_alpha)  # its alpha as the mask: a blend onto white
        return white
    try:
        return image.convert("RGB")  # a palette (may be colour), CMYK, YCbCr, ...
    except ValueError:
        raise FcnnError(f"{path}: image mode {mode} is not supported; "
                        "save it as an RGB or grayscale PNG or JPEG") from None


# --- the object pipeline (Fashion-MNIST) ------------------------------------------------


def _object(path: Path, size: tuple[int, int], pixel_max: float) -> PreparedImage:
    """Trim the background, longer side to the size, sharpen, pad and centre, gray, a light
    background inverted; the background comes out 0 (module doc)."""
    height, width = size
    picture = _decode(path, _to_colour, _work_side(size))
    if picture.mode == "F":
        picture = picture.convert("L")  # 16-bit gray: 8 bits are plenty for the input's size
    background = _fill(_median_colour(_ring(np.asarray(picture))), picture.mode)
    box = _trim_box(picture, background)
    if box is None:  # all background
        return PreparedImage(np.zeros(size, np.float32), looked_empty=True)
    level = _gray_level(background)
    # crop and gray first: the resize then works on one band, not three
    patch = picture.crop(box)
    if patch.mode != "L":
        patch = patch.convert("L")
    fitted = _fitted(patch.size, (width, height))
    patch = patch.resize(fitted, LANCZOS, reducing_gap=REDUCING_GAP)
    field = Image.new("L", (width, height), level)
    field.paste(patch, ((width - fitted[0]) // 2, (height - fitted[1]) // 2))
    # sharpened after padding, so the object's edges are sharpened against the background
    from PIL import ImageFilter

    gray = np.asarray(field.filter(ImageFilter.UnsharpMask(**SHARPEN)), dtype=np.float32)
    pixels = _on_black(gray, level, pixel_max)
    return PreparedImage(pixels, looked_empty=not pixels.any())


def _work_side(size: tuple[int, int]) -> int:
    """How far a large picture may be reduced before resizing: WORK_SIDE, or more for a
    large input, so that the last resize still has twice the detail it keeps."""
    return max(WORK_SIDE, 2 * max(size))


def _ring(values: np.ndarray) -> np.ndarray:
    """The border pixels (2% of the shorter side, as the digit pipeline's), one a row:
    shape (n, bands)."""
    height, width = values.shape[:2]
    ring = max(1, round(0.02 * min(height, width)))
    bands = 1 if values.ndim == 2 else values.shape[2]
    sides = (values[:ring], values[-ring:], values[ring:-ring, :ring], values[ring:-ring, -ring:])
    return np.concatenate([side.reshape(-1, bands) for side in sides])


def _median_colour(border: np.ndarray) -> np.ndarray:
    """The background colour: the median of each band over the border (float64, one value
    a band), so that a stray pixel or a corner of the object does not move it."""
    bands = border.T.copy()  # one band a row: each partitioned in place
    middle = bands.shape[1] // 2
    bands.partition([middle - 1, middle] if middle else [0], axis=1)
    if bands.shape[1] % 2:
        return bands[:, middle].astype(np.float64)
    return (bands[:, middle - 1].astype(np.float64) + bands[:, middle]) / 2


def _fill(colour: np.ndarray, mode: str) -> _Colour:
    """`colour` as Image.new takes it for a picture of `mode` ('L', 'F' or 'RGB')."""
    if mode == "F":
        return float(colour[0])
    levels = tuple(int(level) for level in np.clip(np.rint(colour), 0, 255))
    return levels[0] if mode == "L" else levels


def _gray_level(colour: _Colour) -> int:
    """The background's gray level, by Pillow's own RGB -> L rounding, so that background
    pixels and the padding get the same level."""
    if not isinstance(colour, tuple):
        return int(colour)
    return int(Image.new("RGB", (1, 1), colour).convert("L").getpixel((0, 0)))


def _trim_box(picture: Image.Image, background: _Colour) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of the rows and columns that hold two or more pixels
    further from the background colour than TRIM_TOLERANCE of the largest possible
    distance (one such pixel alone is a speck of dust or a hot pixel, not the object);
    None when there are none.

    Far pixels are found in Pillow (a few cheap passes in C, where NumPy would widen
    every band to float first): each band's difference, for RGB squared through a table
    and summed by a conversion to gray whose offset takes the limit away, so that only
    far pixels stay non-zero."""
    from PIL import ImageChops

    difference = ImageChops.difference(picture, Image.new(picture.mode, picture.size,
                                                          background))
    if picture.mode == "L":  # the limit taken away (clipped at 0): only far levels stay
        far = ImageChops.subtract(difference, Image.new("L", picture.size,
                                                        math.floor(_LIMIT_GRAY)))
    else:
        far = difference.point(_SQUARED * 3).convert("L", matrix=(1, 1, 1, -_SQUARED_LIMIT))
    box = far.getbbox()
    if box is None:
        return None
    # counted in the box only (usually the object's, give or take a speck): summing
    # bytes is about twice as fast as np.count_nonzero along an axis
    inside = (np.asarray(far.crop(box)) != 0).view(np.uint8)
    rows = np.flatnonzero(inside.sum(axis=1, dtype=np.int32) > 1)
    cols = np.flatnonzero(inside.sum(axis=0, dtype=np.int32) > 1)
    if not rows.size or not cols.size:
        return None
    left, top = box[0], box[1]
    return (left + int(cols[0]), top + int(rows[0]),
            left + int(cols[-1]) + 1, top + int(rows[-1]) + 1)


# The trim's distances, for 8-bit tables: a gray level is far past 5% of 255; an RGB
# colour past 5% of 255·√3, so one band past _CAP is far on its own. Squares of 0.._CAP
# are scaled to 0..255 (rounded; summed, off by 1.5 at most: the distance limit moves
# by 0.3% at most).
_LIMIT_GRAY = TRIM_TOLERANCE * 255.0
_LIMIT_RGB = _LIMIT_GRAY * math.sqrt(3)
_CAP = math.ceil(_LIMIT_RGB)
_SQUARED = [round(min(level, _CAP) ** 2 * 255 / _CAP**2) for level in range(256)]
# (with this offset a sum of floor(limit) + 1 converts to 1, and anything less to 0)
_SQUARED_LIMIT = math.floor(_LIMIT_RGB**2 * 255 / _CAP**2)


def _fitted(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """(width, height) of `size` scaled to fit in `box`, aspect ratio kept, at least 1 px."""
    scale = min(box[0] / size[0], box[1] / size[1])
    return (min(box[0], max(1, round(size[0] * scale))),
            min(box[1], max(1, round(size[1] * scale))))


def _on_black(gray: np.ndarray, level: int, pixel_max: float) -> np.ndarray:
    """The object's distance from the background level, in place: a light background
    inverted (Fashion-MNIST's negation), then stretched so the background is 0 and the
    far end of the range (black on light, white on dark) pixel_max."""
    light = level > (float(gray.min()) + float(gray.max())) / 2  # as the digit pipeline decides
    if light:
        np.subtract(np.float32(level), gray, out=gray)
    else:
        gray -= np.float32(level)
    span = level if light else 255 - level
    gray *= np.float32(pixel_max / max(span, 1))
    return np.clip(gray, 0.0, np.float32(pixel_max), out=gray)


# --- the resize pipeline -------------------------------------------------------------------


def _resize(path: Path, spec: ImageSpec, pixel_max: float) -> PreparedImage:
    """The picture resized to the size, padded, cropped or stretched (module doc)."""
    height, width = spec.size
    picture = _decode(path, _to_gray if spec.channels == 1 else _to_colour,
                      _work_side(spec.size))
    if spec.fit == "stretch":
        resized = picture.resize((width, height), LANCZOS, reducing_gap=REDUCING_GAP)
    elif spec.fit == "crop":
        resized = picture.resize((width, height), LANCZOS, reducing_gap=REDUCING_GAP,
                                 box=_centre_box(picture.size, (width, height)))
    else:
        resized = _padded(picture, (width, height))
    return PreparedImage(_scaled(resized, spec.shape, pixel_max), looked_empty=False)


def _centre_box(size: tuple[int, int], target: tuple[int, int]) -> tuple[float, ...]:
    """The middle part of a picture of `size` with the aspect ratio of `target` (w, h)."""
    scale = max(target[0] / size[0], target[1] / size[1])
    keep_w, keep_h = target[0] / scale, target[1] / scale
    left, top = (size[0] - keep_w) / 2, (size[1] - keep_h) / 2
    return left, top, left + keep_w, top + keep_h


def _padded(picture: Image.Image, target: tuple[int, int]) -> Image.Image:
    """The whole picture fitted in `target` (w, h), centred on its border's median colour."""
    fitted = _fitted(picture.size, target)
    inner = picture.resize(fitted, LANCZOS, reducing_gap=REDUCING_GAP)
    if fitted == target:
        return inner
    colour = _median_colour(_ring(np.asarray(picture)))
    canvas = Image.new(picture.mode, target, _fill(colour, picture.mode))
    canvas.paste(inner, ((target[0] - fitted[0]) // 2, (target[1] - fitted[1]) // 2))
    return canvas


def _scaled(resized: Image.Image, shape: tuple[int, ...], pixel_max: float) -> np.ndarray:
    """float32 pixels of `shape` on 0..pixel_max; a gray picture repeated in each band
    when `shape` is RGB (it was resized as one band)."""
    values = np.asarray(resized)
    if resized.mode == "F":  # LANCZOS overshoots, and 8-bit modes clip it: clip float too
        values = np.clip(values, 0.0, 255.0)
    if values.ndim < len(shape):
        values = values[..., None]
    pixels = np.empty(shape, np.float32)
    np.multiply(values, np.float32(pixel_max / 255.0), out=pixels)
    return pixels


def thumbnail(values: np.ndarray, longest: int = 56) -> np.ndarray:
    """A picture (0..255, gray or RGB) box-averaged so its longer side is at most
    `longest` pixels: small enough to draw in a terminal."""
    height, width = values.shape[:2]
    if max(height, width) <= longest:
        return values
    scale = longest / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if values.ndim == 2:
        return np.asarray(Image.fromarray(values.astype(np.float32), mode="F")
                          .resize(size, Image.Resampling.BOX))
    rgb = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))
    return np.asarray(rgb.resize(size, Image.Resampling.BOX), dtype=np.float32)
