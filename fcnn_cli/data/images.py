"""A picture file -> one model input, by one of three pipelines (an `ImageSpec` names it).

- `digit` (the default; a bare input shape means this one): as MNIST made its digits,
  white ink on black, the ink's box fitted in 20×20 and placed in 28×28 by its centre of
  mass; gray (the steps: fcnn_cli/data/digit.py);
- `object`: as Fashion-MNIST made its product shots (Xiao et al. 2017): the edges close
  to the background colour trimmed, the longer side resized to the size, padded to the
  size and centred, sharpened, gray; a light background inverted, and the levels
  stretched so that the background is 0 and the object light;
- `resize`: any photo resized to the size, gray or RGB, the aspect ratio kept by padding
  with the border's colour or by a centre crop (`fit` pad, crop), or not (stretch); no
  inversion, no contrast change.

All three decode alike: any PNG/JPEG/GIF/BMP mode, EXIF orientation applied, transparency
put on white, 16-bit levels scaled to 8, very large pictures reduced first (a JPEG decoded
at 1/2..1/8 of its size); a bad file is one FcnnError that says why. A plain PNG (8-bit
gray or RGB, no transparency, nothing but its header, pixels and resolution, every chunk's
checksum right, the pixels inflating to exactly its rows: what scanners, Pillow and OpenCV
write) is decoded by OpenCV, in 60 % of Pillow's time; any other file by Pillow (the
libpng inside OpenCV prints warnings to stderr, "libpng warning: iCCP: ...", that everyday
files set off, and it reads no EXIF). The pixels are the same either way: PNG is lossless.
OpenCV does everything after decoding.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import re
import stat
import struct
import warnings
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from fcnn_cli.data.digit import Steps, digit_field, resized
from fcnn_cli.data.image_spec import ImageSpec
from fcnn_cli.errors import FcnnError

if TYPE_CHECKING:
    from PIL import Image

MIN_SIDE = 4  # a smaller picture cannot hold a digit
DECODE_AHEAD = 32  # load_images decodes this many pictures before preparing them
MAX_PIXELS = 64_000_000  # refuse before decoding anything bigger (8000×8000)
WORK_SIDE = 512  # bigger pictures are reduced to this first (object, resize: ≥ 2× the output)
TRIM_TOLERANCE = 0.05  # Fashion-MNIST: within 5% of the largest RGB distance is background
# Fashion-MNIST's unsharp mask (Pillow's, radius 1): a level within the threshold of the
# blurred one (JPEG noise in the background) is left alone
SHARPEN_SIGMA, SHARPEN_AMOUNT, SHARPEN_THRESHOLD = 1.0, 1.0, 3


@dataclasses.dataclass
class PreparedImage:
    """A model input in raw units, float32 of input_shape (or the spec's shape): white ink or
    object on black (digit, object), or the picture as is (resize); steps: see load_image."""

    pixels: np.ndarray  # 0..pixel_max
    looked_empty: bool  # no ink or object found: the pixels are all zero
    steps: list[tuple[str, np.ndarray]] = dataclasses.field(default_factory=list)


def load_image(path: str | Path, spec: ImageSpec | tuple[int, ...] = (28, 28),
               pixel_max: float = 255.0, steps: bool = False) -> PreparedImage:
    """Read an image file and prepare it by `spec`'s pipeline (see module doc); a bare
    shape means the digit pipeline with that input shape. `steps` keeps the digit
    pipeline's intermediate pictures (for `predict --show`)."""
    return _prepared(_decoded(Path(path), spec), spec, pixel_max, steps)


def load_images(paths: Sequence[str | Path], spec: ImageSpec | tuple[int, ...],
                pixel_max: float = 255.0) -> Iterator[PreparedImage | FcnnError]:
    """`load_image(path, spec, pixel_max)` of each path in turn, or the FcnnError it raises.
    The pictures are decoded DECODE_AHEAD at a time, then prepared: Pillow's decoder and
    OpenCV, taking turns picture by picture, push each other out of the processor's caches
    (a 112×112 PNG took a sixth longer)."""
    for start in range(0, len(paths), DECODE_AHEAD):
        decoded: list[np.ndarray | FcnnError] = []
        for path in paths[start:start + DECODE_AHEAD]:
            try:
                decoded.append(_decoded(Path(path), spec))
            except FcnnError as error:
                decoded.append(error)
        for picture in decoded:
            yield picture if isinstance(picture, FcnnError) else \
                _prepared(picture, spec, pixel_max, False)


def _decoded(path: Path, spec: ImageSpec | tuple[int, ...]) -> np.ndarray:
    """The picture as `spec`'s pipeline starts from it (the spec checked first)."""
    if isinstance(spec, ImageSpec) and (problem := spec.problem()) is not None:
        raise FcnnError(problem)
    if isinstance(spec, ImageSpec) and spec.pipeline != "digit":
        gray = spec.pipeline == "resize" and spec.channels == 1
        return _decode(path, max(WORK_SIDE, 2 * max(spec.size)), gray=gray)
    if _field_shape(spec) is None:  # (a bare input shape: an ImageSpec's size is a picture's)
        raise FcnnError(f"{path}: the model takes inputs of shape {spec}, not images; "
                        "give its inputs as a .npy or .csv file instead")
    return _decode(path, WORK_SIDE, gray=True)


def _prepared(picture: np.ndarray, spec: ImageSpec | tuple[int, ...], pixel_max: float,
              steps: bool) -> PreparedImage:
    if isinstance(spec, ImageSpec) and spec.pipeline == "object":
        return _object(picture, spec.size, pixel_max)
    if isinstance(spec, ImageSpec) and spec.pipeline == "resize":
        return _resize(picture, spec, pixel_max)
    return _digit(picture, spec, pixel_max, steps)


def _digit(gray: np.ndarray, spec: ImageSpec | tuple[int, ...], pixel_max: float,
           steps: bool) -> PreparedImage:
    """The MNIST way (fcnn_cli/data/digit.py)."""
    shape = spec.size if isinstance(spec, ImageSpec) else spec
    height, width = _field_shape(spec) or (0, 0)  # (an image shape: checked before decoding)
    shown: Steps = [("the picture, gray", gray.astype(np.float32))] if steps else None
    field = digit_field(gray, height, width, shown)
    pixels = (np.zeros(shape, np.float32) if field is None
              else (field * np.float32(pixel_max / 255.0)).reshape(shape))
    return PreparedImage(pixels, field is None, shown or [])


def _field_shape(spec: ImageSpec | tuple[int, ...]) -> tuple[int, int] | None:
    """(height, width) of the digit's field; a flat input of n×n values counts as n×n; None
    for an input shape that is no picture."""
    shape = spec.size if isinstance(spec, ImageSpec) else spec
    if len(shape) == 2:
        return int(shape[0]), int(shape[1])
    if len(shape) == 1 and math.isqrt(shape[0]) ** 2 == shape[0]:
        return math.isqrt(shape[0]), math.isqrt(shape[0])
    return None


# --- decoding ------------------------------------------------------------------------


def _decode(path: Path, work_side: int, gray: bool = False) -> np.ndarray:
    """The picture upright, uint8 RGB (h, w, 3) or gray (h, w) (`gray`: always, a JPEG decoded
    straight to gray), longer side at most `work_side`; any unreadable file: one FcnnError."""
    _check_file(path)
    values = _plain_png(path)
    if values is None:
        values = _pillow(path, work_side, gray)
    # a large picture box-averaged by a whole factor (OpenCV's fast path; the rows and
    # columns that make no whole box are dropped): every later step is then cheap
    factor = math.ceil(max(values.shape[:2]) / work_side)
    if factor > 1:
        height, width = max(1, values.shape[0] // factor), max(1, values.shape[1] // factor)
        values = cv2.resize(values[:height * factor, :width * factor], (width, height),
                            interpolation=cv2.INTER_AREA)
    return _gray(values) if gray else values


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PLAIN_LAYOUT = re.compile(r"IHDR(pHYs)?(IDAT)+IEND")  # the chunks, in order, of a plain PNG
# bit depth, colour type (0 gray, 2 RGB), compression, filter method, interlace (none)
PLAIN_HEADERS = ((8, 0, 0, 0, 0), (8, 2, 0, 0, 0))
PLAIN_MAX_PIXELS = 4_000_000  # (it is inflated twice: a larger picture goes to Pillow)


def _plain_png(path: Path) -> np.ndarray | None:
    """A plain PNG's pixels (module doc), decoded by OpenCV: uint8 gray (h, w) or RGB (h, w, 3)
    as the file holds them, as Pillow gives them; None for any other file."""
    if path.suffix.lower() != ".png":
        return None
    try:
        with path.open("rb") as file:
            data = file.read(33)  # the signature and the header: a large file is read if plain
            if not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR" or len(data) < 33:
                return None
            width, height, *header = struct.unpack_from(">IIBBBBB", data, 16)
            if tuple(header) not in PLAIN_HEADERS or min(width, height) < MIN_SIDE \
                    or width * height > PLAIN_MAX_PIXELS:
                return None  # (Pillow says what is wrong with a picture it cannot take)
            data += file.read()
    except OSError:  # (and Pillow what keeps it from being read)
        return None
    row = width * (1 if header[1] == 0 else 3)
    stream = _plain_stream(data)
    if stream is None or not _inflates_to_rows(stream, height, row):
        return None
    values = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if values is None or values.shape[:2] != (height, width):
        return None
    return values if values.ndim == 2 else cv2.cvtColor(values, cv2.COLOR_BGR2RGB)


def _plain_stream(data: bytes) -> bytes | None:
    """The compressed pixels of the PNG `data` if its chunks are laid out as PLAIN_LAYOUT, each
    whole and with its checksum right; None otherwise (libpng would warn of it on stderr)."""
    view, at, kinds, stream = memoryview(data), 8, [], []
    while at + 12 <= len(data) and kinds[-1:] != ["IEND"]:
        length, kind = struct.unpack_from(">I4s", data, at)
        end = at + 8 + length
        if end + 4 > len(data) \
                or zlib.crc32(view[at + 4:end]) != struct.unpack_from(">I", data, end)[0]:
            return None
        kinds.append(kind.decode("latin-1"))
        if kind == b"IDAT":
            stream.append(view[at + 8:end])
        at = end + 4
    return b"".join(stream) if PLAIN_LAYOUT.fullmatch("".join(kinds)) else None


def _inflates_to_rows(stream: bytes, height: int, row: int) -> bool:
    """Whether `stream` inflates to exactly `height` rows of `row` bytes, each after a filter
    byte of PNG's five: a file made to pass the checksums may not, and libpng would print
    its complaint to stderr (19 µs for a 112×112 picture, decoding 50)."""
    inflate = zlib.decompressobj()
    size = height * (row + 1)
    try:
        rows = inflate.decompress(stream, size + 1)
    except zlib.error:
        return False
    return len(rows) == size and inflate.eof and not inflate.unused_data \
        and max(rows[::row + 1]) <= 4


def _pillow(path: Path, work_side: int, gray: bool) -> np.ndarray:
    """The picture decoded by Pillow, upright, as uint8 gray or RGB (a JPEG decoded straight
    to gray when `gray`, reduced while decoded when far larger than `work_side`)."""
    from PIL import ExifTags, Image, UnidentifiedImageError  # (a plain PNG needs none)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # the header only; a GIF opens at its 1st frame
                _check_size(image.size, path)
                image.draft("L" if gray else None, (work_side, work_side))  # JPEG: 1/2..1/8
                image.load()
                if image.getexif().get(ExifTags.Base.Orientation, 1) != 1:  # taken turned
                    from PIL import ImageOps

                    ImageOps.exif_transpose(image, in_place=True)
                values = _levels(image, path)
    except UnidentifiedImageError:
        raise FcnnError(f"{path}: not an image Pillow can read; "
                        "give a PNG, JPEG, GIF or BMP file") from None
    except Image.DecompressionBombError:
        raise FcnnError(f"{path}: the image is too large to read safely; downsize it") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise FcnnError(f"{path}: the image data is truncated or corrupt ({error}); "
                        "save or copy the image again") from None
    return values


def _levels(image: Image.Image, path: Path) -> np.ndarray:
    """A decoded picture of any mode as uint8 gray or RGB; transparency put on white."""
    from PIL import Image

    mode = image.mode
    if mode in ("L", "RGB") and "transparency" not in image.info:
        return np.asarray(image)
    if mode.startswith("I") or mode == "F":  # 16- and 32-bit gray, scaled to 8 bits
        values = np.asarray(image, dtype=np.float32)
        top = float(values.max(initial=0))
        full = 65535.0 if mode.startswith("I;16") or top > 255 else 255.0
        full = 1.0 if mode == "F" and top <= 1 else full
        return np.rint(np.clip(values * np.float32(255.0 / full), 0, 255)).astype(np.uint8)
    if mode in ("LA", "La", "PA", "RGBA", "RGBa") or "transparency" in image.info:
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, image.convert("RGBA")).convert("RGB"))
    try:
        return np.asarray(image.convert("L" if mode == "1" else "RGB"))  # palette, CMYK, ...
    except ValueError:
        raise FcnnError(f"{path}: image mode {mode} is not supported; "
                        "save it as an RGB or grayscale PNG or JPEG") from None


def _check_file(path: Path) -> None:
    """Nothing for a non-empty regular file; otherwise the FcnnError that says what it is."""
    with contextlib.suppress(OSError, ValueError):  # (one call where all is well)
        found = os.stat(path)
        if stat.S_ISREG(found.st_mode) and found.st_size > 0:
            return
    if not path.is_file():  # (by pathlib's rules: which errors mean "not found" varies)
        raise FcnnError(f"{path}: not a file; give an image file (.png, .jpg, .gif, .bmp)"
                        if path.exists() else f"{path}: image file not found")
    if path.stat().st_size == 0:
        raise FcnnError(f"{path}: the file is empty (0 bytes), not an image")


def _check_size(size: tuple[int, int], path: Path) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise FcnnError(f"{path}: the image is {width}×{height} pixels, more than the "
                        f"{MAX_PIXELS:,} fcnn reads; downsize it first")
    if min(width, height) < MIN_SIDE:
        raise FcnnError(f"{path}: the image is only {width}×{height} pixels; a digit needs at "
                        f"least {MIN_SIDE}×{MIN_SIDE}")


def _gray(values: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(values, cv2.COLOR_RGB2GRAY) if values.ndim == 3 else values


# --- the object and resize pipelines --------------------------------------------------------


def _border_colour(values: np.ndarray) -> tuple[float, ...]:
    """The background's colour, a level per band: the median over the border (2% of the
    shorter side), so that a stray pixel or a corner of the object does not move it."""
    ring = max(1, round(0.02 * min(values.shape[:2])))
    bands = 1 if values.ndim == 2 else values.shape[2]
    sides = (values[:ring], values[-ring:], values[:, :ring], values[:, -ring:])
    median = np.median(np.concatenate([side.reshape(-1, bands) for side in sides]), axis=0)
    return tuple(np.rint(median).tolist())


def _padded(values: np.ndarray, size: tuple[int, int], colour: tuple[float, ...]) -> np.ndarray:
    """`values` in the middle of a picture of `size` (height, width) filled with `colour`."""
    top, left = (size[0] - values.shape[0]) // 2, (size[1] - values.shape[1]) // 2
    bottom, right = size[0] - values.shape[0] - top, size[1] - values.shape[1] - left
    return cv2.copyMakeBorder(values, top, bottom, left, right, cv2.BORDER_CONSTANT, value=colour)


def _object(picture: np.ndarray, size: tuple[int, int], pixel_max: float) -> PreparedImage:
    """Trim the background, longer side to the size, pad and centre, sharpen, gray, a light
    background inverted; the background comes out 0 (module doc)."""
    colour = _border_colour(picture)
    trimmed = _trimmed(picture, colour)
    if trimmed is None:  # all background
        return PreparedImage(np.zeros(size, np.float32), looked_empty=True)
    # the background's level as its pixels have it: its colour as a 1×1 picture, grayed
    level = int(_gray(np.array([[colour]], np.uint8)).item() if len(colour) == 3 else colour[0])
    # gray first (one band to resize); sharpened after padding, so that the object's edges
    # are sharpened against the background: the difference from a blur added once more
    field = _padded(resized(_gray(trimmed), size, fit=True), size, (level,))
    blurred = cv2.GaussianBlur(field, (0, 0), SHARPEN_SIGMA, borderType=cv2.BORDER_REPLICATE)
    sharp = cv2.addWeighted(field, 1 + SHARPEN_AMOUNT, blurred, -SHARPEN_AMOUNT, 0)
    sharp = np.where(cv2.absdiff(field, blurred) >= SHARPEN_THRESHOLD, sharp, field)
    pixels = _on_black(sharp.astype(np.float32), level, pixel_max)
    return PreparedImage(pixels, looked_empty=not pixels.any())


def _trimmed(picture: np.ndarray, colour: tuple[float, ...]) -> np.ndarray | None:
    """`picture` less its edges' rows and columns with fewer than two pixels further from
    the background colour than TRIM_TOLERANCE of the largest distance (one alone is a speck
    of dust or a hot pixel, not the object); None when nothing is left."""
    difference = cv2.absdiff(picture, colour)
    squared = cv2.multiply(difference, difference, dtype=cv2.CV_32F)
    distance = cv2.transform(squared, np.ones((1, len(colour)), np.float32))  # squared, summed
    limit = (TRIM_TOLERANCE * 255.0) ** 2 * len(colour)  # 5% of 255·√bands, squared
    far = cv2.threshold(distance, limit, 1, cv2.THRESH_BINARY)[1]  # 1 where far
    rows = np.flatnonzero(cv2.reduce(far, 1, cv2.REDUCE_SUM) > 1)  # far pixels in each row
    cols = np.flatnonzero(cv2.reduce(far, 0, cv2.REDUCE_SUM) > 1)
    if not rows.size or not cols.size:
        return None
    return picture[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _on_black(gray: np.ndarray, level: int, pixel_max: float) -> np.ndarray:
    """The object's distance from the background level (Fashion-MNIST's negation of a light
    background), stretched: the background 0, the far end of the range pixel_max."""
    light = level > (float(gray.min()) + float(gray.max())) / 2  # as the digit pipeline decides
    distance = np.float32(level) - gray if light else gray - np.float32(level)
    distance *= np.float32(pixel_max / max(level if light else 255 - level, 1))
    return np.clip(distance, 0.0, np.float32(pixel_max), out=distance)


def _resize(picture: np.ndarray, spec: ImageSpec, pixel_max: float) -> PreparedImage:
    """The picture resized to the size, padded, cropped or stretched (module doc)."""
    size = spec.size
    if spec.fit == "pad":
        picture = _padded(resized(picture, size, fit=True), size, _border_colour(picture))
    elif spec.fit == "crop":  # the middle part, with the size's aspect ratio
        height, width = picture.shape[:2]
        scale = min(height / size[0], width / size[1])
        keep_h, keep_w = max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
        top, left = (height - keep_h) // 2, (width - keep_w) // 2
        picture = picture[top:top + keep_h, left:left + keep_w]
    picture = resized(picture, size)  # (padded: already the size)
    if picture.ndim < len(spec.shape):  # a gray picture, RGB wanted: the same in each band
        picture = cv2.cvtColor(picture, cv2.COLOR_GRAY2RGB)
    pixels = picture.astype(np.float32) * np.float32(pixel_max / 255.0)
    return PreparedImage(pixels, looked_empty=False)


def thumbnail(values: np.ndarray, longest: int = 56) -> np.ndarray:
    """A picture (0..255, gray or RGB) area-averaged so its longer side is at most
    `longest` pixels: small enough to draw in a terminal."""
    if max(values.shape[:2]) <= longest:
        return values
    return resized(np.asarray(values, np.float32), (longest, longest), fit=True)
