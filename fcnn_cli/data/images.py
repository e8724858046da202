"""A picture file -> one model input, the way MNIST's digits were made.

MNIST digits are white ink on black, the ink's box scaled to fit 20×20 (anti-aliased,
aspect ratio kept) and placed in 28×28 with its centre of mass at the centre. A user's
picture is brought to that form step by step (DESIGN.md §8):

1. decode any PNG/JPEG/GIF/BMP mode: EXIF orientation applied, transparency put on
   white, palette and 16-bit turned into gray; very large pictures are reduced first;
2. polarity from the border's median: a light background means dark ink, inverted;
3. the ink's box from Otsu's threshold on a lightly median-filtered copy (noise and
   paper grain stay out of it), contrast stretched so background is 0 and ink 255;
4. strokes thickened when shrinking to 20 px would make them thinner than MNIST's;
5. resized into the 20 px box and shifted (by slicing, no wrap-around) so the centre
   of mass sits at the centre; other input shapes scale the 20/28 box proportionally.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from fcnn_cli.errors import FcnnError

MIN_SIDE = 4  # a smaller picture cannot hold a digit
MAX_PIXELS = 64_000_000  # refuse before decoding anything bigger (8000×8000)
WORK_SIDE = 512  # bigger pictures are reduced to about this before any other step
BOX_FRACTION = 20 / 28  # MNIST's 20 px box in its 28 px field
STROKE_PX = 2.5  # MNIST's stroke width at 28×28
THICKEN_BELOW_SCALE = 0.5  # only shrinking 2× or more loses strokes; thin small digits are real
EMPTY_CONTRAST = 24.0  # ink must differ from the background by this much (of 255) to count
MEDIAN_MIN_SIDE = 56  # below this a 3×3 median would erase real strokes, not noise


@dataclass
class PreparedImage:
    """A model input in raw units: float32, shape input_shape, white ink on black."""

    pixels: np.ndarray  # 0..pixel_max
    looked_empty: bool  # no ink found: the pixels are all zero


def load_image(path: str | Path, input_shape: tuple[int, ...] = (28, 28),
               pixel_max: float = 255.0) -> PreparedImage:
    """Read an image file and prepare it as MNIST prepared its digits (see module doc)."""
    path = Path(path)
    height, width = _field_shape(input_shape, path)
    gray = _read_gray(path)
    ink = _ink_on_black(gray)
    if ink is None:
        return PreparedImage(np.zeros(input_shape, np.float32), looked_empty=True)
    box_h, box_w = max(1, round(BOX_FRACTION * height)), max(1, round(BOX_FRACTION * width))
    crop, stroke_width = ink
    scale = min(box_h / crop.shape[0], box_w / crop.shape[1])
    if scale < THICKEN_BELOW_SCALE:
        crop = _thicken(crop, stroke_width, target=STROKE_PX * min(height, width) / 28 / scale)
        scale = min(box_h / crop.shape[0], box_w / crop.shape[1])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    patch = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.LANCZOS))
    field = _centre_of_mass_paste(np.clip(patch, 0.0, 255.0), height, width)
    pixels = (field * np.float32(pixel_max / 255.0)).reshape(input_shape)
    return PreparedImage(pixels.astype(np.float32), looked_empty=False)


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
    if not path.exists():
        raise FcnnError(f"{path}: image file not found")
    if not path.is_file():
        raise FcnnError(f"{path}: not a file; give an image file (.png, .jpg, .gif, .bmp)")
    if path.stat().st_size == 0:
        raise FcnnError(f"{path}: the file is empty (0 bytes), not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # an animated GIF opens at its first frame
                _check_size(image.size, path)
                image.draft(None, (WORK_SIDE, WORK_SIDE))  # JPEG only: decode at 1/2..1/8 size
                image.load()
                gray = _to_gray(ImageOps.exif_transpose(image), path)
    except UnidentifiedImageError:
        raise FcnnError(f"{path}: not an image Pillow can read; "
                        "give a PNG, JPEG, GIF or BMP file") from None
    except Image.DecompressionBombError:
        raise FcnnError(f"{path}: the image is too large to read safely; downsize it") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise FcnnError(f"{path}: the image data is truncated or corrupt ({error}); "
                        "save or copy the image again") from None
    longer = max(gray.size)
    if longer > WORK_SIDE:  # box-average early: every later step is then cheap
        gray = gray.reduce(math.ceil(longer / WORK_SIDE))
    return np.asarray(gray, dtype=np.float32)


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
    try:
        return image.convert("L")
    except ValueError:
        raise FcnnError(f"{path}: image mode {mode} is not supported; "
                        "save it as an RGB or grayscale PNG or JPEG") from None


# --- 2., 3. polarity, ink box, contrast ------------------------------------------------


def _ink_on_black(gray: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The cropped ink (0 background .. 255 ink) and its stroke width in pixels, or None
    when the picture holds no ink."""
    height, width = gray.shape
    ring = max(1, round(0.02 * min(height, width)))
    on_border = np.ones(gray.shape, bool)
    on_border[ring:-ring, ring:-ring] = False
    background_level = float(np.median(gray[on_border]))
    light_background = background_level > (float(gray.min()) + float(gray.max())) / 2
    background, noise = _border_plane(gray, on_border)
    ink = np.maximum(background - gray if light_background else gray - background, 0.0)

    smooth = _median3(ink) if min(height, width) >= MEDIAN_MIN_SIDE else ink
    if smooth.max() < EMPTY_CONTRAST:
        smooth = ink  # strokes only a pixel wide do not survive the median: use them as they are
        if ink.max() < EMPTY_CONTRAST:
            return None
    threshold = _otsu(smooth)
    mask = smooth > threshold

    # paper grain and JPEG noise (at least half a gray level: the plane's rounding), never ink
    floor = min(max(3.0 * noise, 0.5), 0.5 * threshold)
    full = max(float(np.percentile(ink[mask], 90)), floor + 1.0)
    stretched = np.clip((ink - floor) * (255.0 / (full - floor)), 0.0, 255.0).astype(np.float32)

    top, bottom, left, right = _bounding_box(mask)
    margin = 2 + round(0.01 * max(height, width))  # take back the anti-aliased edge of the box
    top, left = max(top - margin, 0), max(left - margin, 0)
    bottom, right = min(bottom + margin, height), min(right + margin, width)
    region = stretched[top:bottom, left:right]
    if not (region > 0).any():
        return None
    t, b, lft, rgt = _bounding_box(region > 0)
    crop = region[t:b, lft:rgt]
    return crop, _stroke_width(mask[top:bottom, left:right][t:b, lft:rgt])


def _border_plane(gray: np.ndarray, on_border: np.ndarray) -> tuple[np.ndarray, float]:
    """The background as a plane a + b·row + c·column fitted to the border pixels (a photo's
    uneven light), and the spread of the border around it (the noise level).

    Pixels far from the median, then far from the first plane, are left out of the
    fit, so ink that touches the border does not tilt it.
    """
    rows, cols = np.nonzero(on_border)
    values = gray[on_border].astype(np.float64)
    design = np.column_stack([np.ones(len(rows)), rows, cols]).astype(np.float64)
    residual = values - np.median(values)
    for _ in range(2):
        keep = np.abs(residual) <= 3.0 * _robust_spread(residual) + 1.0
        coef = np.linalg.lstsq(design[keep], values[keep], rcond=None)[0]
        residual = values - design @ coef
    every_row = np.arange(gray.shape[0], dtype=np.float32)[:, None]
    every_col = np.arange(gray.shape[1], dtype=np.float32)[None, :]
    plane = coef[0] + coef[1] * every_row + coef[2] * every_col
    return plane.astype(np.float32), _robust_spread(residual[keep])


def _robust_spread(values: np.ndarray) -> float:
    """The standard deviation of normal noise, estimated from the median absolute deviation."""
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def _median3(values: np.ndarray) -> np.ndarray:
    as_bytes = Image.fromarray(np.clip(values, 0, 255).astype(np.uint8), mode="L")
    return np.asarray(as_bytes.filter(ImageFilter.MedianFilter(3)), dtype=np.float32)


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold: the level that best separates two classes of values (0..255)."""
    histogram = np.bincount(np.clip(values, 0, 255).astype(np.uint8).ravel(), minlength=256)
    weight = np.cumsum(histogram).astype(np.float64)  # pixels at or below each level
    total = weight[-1]
    moment = np.cumsum(histogram * np.arange(256, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_low = moment / weight
        mean_high = (moment[-1] - moment) / (total - weight)
        between = weight * (total - weight) * (mean_low - mean_high) ** 2
    return float(np.nanargmax(np.nan_to_num(between, nan=-1.0)))


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the True cells, as slice bounds."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width: area over half the outline (a stroke of length L and width w
    has area L·w and an outline of about 2·L)."""
    padded = np.pad(mask, 1).astype(np.int8)
    outline = np.abs(np.diff(padded, axis=0)).sum() + np.abs(np.diff(padded, axis=1)).sum()
    return 2.0 * float(mask.sum()) / max(float(outline), 1.0)


# --- 4., 5. strokes, size, centre -------------------------------------------------------


def _thicken(crop: np.ndarray, width: float, target: float) -> np.ndarray:
    """Widen strokes thinner than `target` (in crop pixels) with a square max filter."""
    if width >= 0.75 * target:
        return crop
    size = 2 * round((target - width) / 2) + 1  # odd: the filter stays centred
    if size < 3:
        return crop
    grown = np.pad(crop, size // 2)  # room for the strokes that grow past the box
    for axis in (0, 1):
        grown = _window_max(grown, size, axis)
    return grown


def _window_max(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Centred running maximum over `size` cells along `axis`, zero beyond the edges;
    window doubling makes it log(size) array operations."""
    pad = [(0, 0), (0, 0)]
    pad[axis] = (size // 2, size - 1 - size // 2)
    result = np.pad(values, pad)
    span = 1
    while span < size:
        step = min(span, size - span)
        head = [slice(None), slice(None)]
        tail = [slice(None), slice(None)]
        head[axis], tail[axis] = slice(None, -step), slice(step, None)
        result = np.maximum(result[tuple(head)], result[tuple(tail)])
        span += step
    return result


def _centre_of_mass_paste(patch: np.ndarray, height: int, width: int) -> np.ndarray:
    """Place `patch` in a height×width field so its centre of mass lands at the centre,
    MNIST's (14, 14) in 28×28; what would fall outside is cut off, never wrapped."""
    mass = float(patch.sum())
    if mass <= 0:
        return np.zeros((height, width), np.float32)
    rows, cols = np.arange(patch.shape[0]), np.arange(patch.shape[1])
    centre_row = float(patch.sum(axis=1) @ rows) / mass
    centre_col = float(patch.sum(axis=0) @ cols) / mass
    top, left = round(height / 2 - centre_row), round(width / 2 - centre_col)
    field = np.zeros((height, width), np.float32)
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    rows_n = min(patch.shape[0] - src_top, height - dst_top)
    cols_n = min(patch.shape[1] - src_left, width - dst_left)
    if rows_n > 0 and cols_n > 0:
        field[dst_top:dst_top + rows_n, dst_left:dst_left + cols_n] = \
            patch[src_top:src_top + rows_n, src_left:src_left + cols_n]
    return field
