"""The digit pipeline: a gray picture -> the digit as MNIST made its digits (steps 2-6
of fcnn_cli/data/images.py's module doc; the ones for photographed pages are in
fcnn_cli/data/ink.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from PIL import Image

from fcnn_cli.data.ink import digit_pixels, flatten, lines, running

BOX_FRACTION = 20 / 28  # MNIST's 20 px box in its 28 px field
STROKE_PX = 2.5  # MNIST's stroke width at 28×28
THICKEN_BELOW_SCALE = 0.5  # only shrinking 2× or more loses strokes; thin small digits are real
EMPTY_CONTRAST = 24.0  # ink must differ from the background by this much (of 255) to count
MEDIAN_MIN_SIDE = 56  # below this a 3×3 median would erase real strokes, not noise
PAGE_WINDOW = 0.5  # the page's light is estimated over half of the shorter side,
#                     wider than any stroke ...
HYSTERESIS = 0.5  # a fainter pixel is ink when it joins pixels above Otsu's threshold
CLEAR_POLARITY = 0.2  # the median this far (of the range) from the middle settles it
POLARITY_TAIL = 0.1  # percent of a picture at each end of its levels that decide polarity
STROKE_WINDOWS = 4  # ... and then over four stroke widths, when that is smaller
LINE_INK = 1.6  # on a ruled line, a pixel this much darker than the line is ink on it


def digit_field(gray: np.ndarray, height: int, width: int,
                steps: list[tuple[str, np.ndarray]] | None = None) -> np.ndarray | None:
    """The digit of a gray picture (float32 levels 0..255, white 255) as MNIST made its
    digits: a height×width float32 field, white ink 0..255 on black, the ink's box scaled
    to fit 20/28 of it and its centre of mass at the centre; None when the picture holds
    no ink. `steps` collects the pictures on the way (for `predict --show`)."""
    ink = _ink_on_black(gray, steps)
    if ink is None:
        return None
    box_h, box_w = max(1, round(BOX_FRACTION * height)), max(1, round(BOX_FRACTION * width))
    crop, stroke_width = ink
    scale = min(box_h / crop.shape[0], box_w / crop.shape[1])
    if scale < THICKEN_BELOW_SCALE:
        crop = _thicken(crop, stroke_width, target=STROKE_PX * min(height, width) / 28 / scale)
        scale = min(box_h / crop.shape[0], box_w / crop.shape[1])
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    patch = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.LANCZOS))
    return _centre_of_mass_paste(np.clip(patch, 0.0, 255.0), height, width)


# --- 2., 3. polarity, ink box, contrast ------------------------------------------------


def _ink_on_black(gray: np.ndarray, steps: list[tuple[str, np.ndarray]] | None = None
                  ) -> tuple[np.ndarray, float] | None:
    """The cropped ink of the digit (0 background .. 255 ink) and its stroke width in
    pixels, or None when the picture holds no ink. `steps` collects the pictures on the
    way: the page with its light divided out, the pieces kept as the digit."""
    page = _ink_of_page(gray)
    if page is None:
        return None
    ink, smooth, lined, threshold = page
    strong = smooth > threshold
    # paper grain and JPEG noise (the median of half-normal noise is 0.67σ), never ink
    paper = ink[::2, ::2][~strong[::2, ::2]]  # every fourth pixel tells the grain as well
    noise = _median(paper) / 0.6745 if paper.size else 0.0
    floor = min(max(3.0 * noise, 0.5), 0.5 * threshold)
    mask = digit_pixels(smooth > max(HYSTERESIS * threshold, floor), strong)
    if steps is not None:
        steps.append(("the ink, the page's light divided out"
                      + (", lines removed" if lined else ""), smooth.astype(np.float32)))
        steps.append(("the pieces kept as the digit",
                      np.where(mask, smooth, 0).astype(np.float32)))
    if not mask.any():
        return None
    return _cropped(ink, mask, floor)


def _ink_of_page(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, int] | None:
    """(ink, its whole levels lightly median-filtered, whether ruled lines were taken
    away, Otsu's threshold of those levels): the page's light divided out, over a window
    fitted to the strokes when they are thin (the tip of a shadow, narrower than the page
    window, would pass for a thick stroke). None when the picture holds no ink."""
    height, width = gray.shape
    window = _odd(PAGE_WINDOW * min(height, width))
    light = _light_page(gray, window)
    rough = _rough_strokes(gray, light, window)
    if rough is None:
        return None
    strokes, flattened = rough
    fitted = min(window, _odd(STROKE_WINDOWS * strokes))
    if flattened is None or (fitted < window and min(height, width) >= MEDIAN_MIN_SIDE):
        flattened = _flattened(gray, light, fitted)
        if flattened is None:
            return None
    ink, smooth = flattened
    threshold = _otsu(smooth)
    if min(height, width) < MEDIAN_MIN_SIDE:
        return ink, smooth, False, int(threshold)
    ruled = lines(smooth, threshold)
    if not ruled.any():
        return ink, smooth, False, int(threshold)
    # ruled or grid paper: the lines go (but not the ink written along one, darker than
    # the line), and Otsu then looks at the ink alone
    ruled &= smooth <= LINE_INK * _median(smooth[ruled].astype(np.float32))
    smooth = np.where(ruled, 0, smooth).astype(np.uint8)
    ink[ruled] = 0.0
    return (ink, smooth, True, int(_otsu(smooth))) if smooth.max() >= EMPTY_CONTRAST else None


def _cropped(ink: np.ndarray, mask: np.ndarray, floor: float
             ) -> tuple[np.ndarray, float] | None:
    """The box around the digit's pixels, contrast stretched (`floor` and below to 0, the
    ink's 90th percentile to 255), other marks in the box left out; and the stroke width."""
    height, width = ink.shape
    full = max(_percentile(ink[mask], 90), floor + 1.0)
    top, bottom = _true_span(mask.any(axis=1))
    left, right = _true_span(mask.any(axis=0))
    margin = 2 + round(0.01 * max(height, width))  # take back the anti-aliased edge of the box
    top, left = max(top - margin, 0), max(left - margin, 0)
    bottom, right = min(bottom + margin, height), min(right + margin, width)
    # only the digit's strokes and their anti-aliased edges: other marks in the box go
    near = running(running(mask[top:bottom, left:right], 2 * margin + 1, 0, np.maximum),
                   2 * margin + 1, 1, np.maximum)
    region = ink[top:bottom, left:right] - floor
    region *= 255.0 / (full - floor)
    np.clip(region, 0.0, 255.0, out=region)
    region[~near] = 0.0
    inked = region > 0
    if not inked.any():
        return None
    t, b = _true_span(inked.any(axis=1))
    lft, rgt = _true_span(inked.any(axis=0))
    rows, cols = slice(top + t, top + b), slice(left + lft, left + rgt)
    return region[t:b, lft:rgt], _stroke_width(mask[rows, cols])


def _flattened(gray: np.ndarray, light: bool, window: int
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """(ink, its whole levels lightly median-filtered against noise), the page's light
    divided out over `window`; None when nothing on the page stands out as ink."""
    ink = flatten(gray, light, window)
    levels = ink.astype(np.uint8)  # Otsu's histogram takes whole levels
    smooth = _median3(levels) if min(gray.shape) >= MEDIAN_MIN_SIDE else levels
    if smooth.max() < EMPTY_CONTRAST:
        if smooth is levels or levels.max() < EMPTY_CONTRAST:
            return None
        smooth = levels  # strokes only a pixel wide do not survive the median
    return ink, smooth


def _rough_strokes(gray: np.ndarray, light: bool, window: int
                   ) -> tuple[float, tuple[np.ndarray, np.ndarray] | None] | None:
    """The strokes' width in pixels, measured on a copy of a quarter the size (block
    means) when the picture is large: it only has to tell thin strokes from thick ones.
    A small picture is measured as it is, and its flattened ink comes along for reuse.
    None when the picture holds no ink."""
    factor = 4 if min(gray.shape) >= 4 * MEDIAN_MIN_SIDE else 1
    small = gray
    if factor > 1:
        height, width = (side // factor for side in gray.shape)
        small = gray[:height * factor, :width * factor].reshape(
            height, factor, width, factor).mean(axis=(1, 3))
    flattened = _flattened(small, light, _odd(window / factor))
    if flattened is None:
        return None
    smooth = flattened[1]
    return factor * _stroke_width(smooth > _otsu(smooth)), None if factor > 1 else flattened


def _light_page(gray: np.ndarray, window: int) -> bool:
    """Dark ink on a light page (True), or chalk on a board.

    Ink is the smaller part of a picture, so the median level is the page's: near the
    light end, a light page. A large shadow can pull the median to the middle; then the
    answer is whichever stands out further from its surroundings, darker or lighter, in
    the picture less a blur of it as wide as the page window: strokes stand out sharply,
    a shadow's edge only a little and both ways."""
    low, high = float(gray.min()), float(gray.max())
    middle = _median(gray[::2, ::2].ravel() if gray.size > 4096 else gray.ravel())
    if abs(middle - (low + high) / 2) > CLEAR_POLARITY * (high - low):
        return middle > (low + high) / 2
    from PIL import ImageFilter

    levels = Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8))
    blurred = np.asarray(levels.filter(ImageFilter.BoxBlur(window // 2)), dtype=np.float32)
    darkest, lightest = np.percentile(gray - blurred, (POLARITY_TAIL, 100 - POLARITY_TAIL))
    return bool(-darkest >= lightest)


def _odd(size: float) -> int:
    return max(3, 2 * round(size / 2) + 1)


def _true_span(flags: np.ndarray) -> tuple[int, int]:
    """(first, last + 1) of the True entries of a 1-D array."""
    where = np.flatnonzero(flags)
    return int(where[0]), int(where[-1]) + 1


# --- np.median and np.percentile, exactly, for small 1-D float arrays ---------------------


_Real = TypeVar("_Real", float, np.floating)


@dataclass
class _Middle:
    """The middle value of a sorted array, or the two middle values of an even count, and
    its extremes."""

    low: np.floating
    high: np.floating  # the same as low for an odd count
    odd: bool
    lowest: np.floating
    highest: np.floating


def _middle(values: np.ndarray, scratch: bool = False) -> _Middle | None:
    """The middle of np.median's partition (its kth, plus the minimum; partitioned values
    are order statistics, so the middle comes out the same), in place when `values` is
    a `scratch` array; None for an empty array or one holding a NaN, where np.median
    itself should answer."""
    size = values.size
    if size == 0:
        return None
    half = size // 2
    odd = bool(size % 2)
    part = values if scratch else values.copy()
    part.partition([0, half, -1] if odd else [0, half - 1, half, -1])  # a NaN sorts last
    if np.isnan(part[-1]):
        return None
    return _Middle(part[half] if odd else part[half - 1], part[half], odd, part[0], part[-1])


def _mean_of_middle(low: _Real, high: _Real, odd: bool) -> _Real:
    """np.median's mean of the middle values: their sum in their own float type, halved."""
    return low if odd else (low + high) / 2


def _median(values: np.ndarray, middle: _Middle | None = None) -> float:
    """float(np.median(values)) of a 1-D float array, bit for bit (np.median's own overhead
    is several times the work on a border's few hundred pixels)."""
    if middle is None:
        middle = _middle(values)
    if middle is None:
        return float(np.median(values))  # empty or NaN: NumPy's answer, and its warning
    return float(_mean_of_middle(middle.low, middle.high, middle.odd))


def _percentile(values: np.ndarray, q: int) -> float:
    """float(np.percentile(values, q)) of a 1-D float32 array, NumPy's 'linear' method
    done by hand: the same partition and the same float32 interpolation."""
    size = values.size
    if size == 0 or values.dtype != np.float32 or not _PERCENTILE_IN_FLOAT32:
        return float(np.percentile(values, q))
    virtual = (size - 1) * (q / 100)
    below = math.floor(virtual)
    above = below + 1
    if virtual >= size - 1:  # the top: NumPy takes the last value for both
        below = above = -1
    part = np.partition(values, sorted({0, -1, below, above}))
    if np.isnan(part[-1]):
        return float(part[-1])
    low, high = part[below], part[above]
    gamma = virtual - below
    difference = high - low
    # np.lib's _lerp: from the nearer end, the weight cast to float32 (a weak Python float)
    if gamma >= 0.5:
        return float(high - difference * np.float32(1 - gamma))
    return float(low + difference * np.float32(gamma))


# NumPy 2's np.percentile of float32 data with a Python number q interpolates in float32
# (NEP 50); older NumPy does it in float64, and there np.percentile is used as it is.
_PERCENTILE_IN_FLOAT32 = int(np.__version__.split(".")[0]) >= 2


def _median3(levels: np.ndarray) -> np.ndarray:
    """3×3 median of uint8 levels, edges repeated: what Pillow's ImageFilter.MedianFilter(3)
    gives, from a few min/max passes (a rank filter per pixel costs ~10× more).

    Each column of three is sorted first; the median of the nine is then the median of
    (the largest column minimum, the median of the column medians, the smallest column
    maximum), a known exact identity for 3×3 windows. The passes run over the padded
    picture as one flat run (neighbours in a row are ±1 apart, in a column ±a row), so
    each is one contiguous array operation; what lands in the padding is thrown away.
    """
    height, width = levels.shape
    stride = width + 2
    padded = np.empty((height + 2, stride), np.uint8)
    padded[1:-1, 1:-1] = levels
    padded[0, 1:-1], padded[-1, 1:-1] = levels[0], levels[-1]
    padded[:, 0], padded[:, -1] = padded[:, 1], padded[:, -2]
    flat = padded.ravel()
    up, centre, down = flat[:-2 * stride], flat[stride:-stride], flat[2 * stride:]
    low, high = np.minimum(up, centre), np.maximum(up, centre)
    middle = np.maximum(low, np.minimum(high, down))
    low, high = np.minimum(low, down), np.maximum(high, down)
    low = np.maximum(np.maximum(low[:-2], low[1:-1]), low[2:])
    high = np.minimum(np.minimum(high[:-2], high[1:-1]), high[2:])
    middle = _median_of_three(middle[:-2], middle[1:-1], middle[2:])
    median = np.empty(height * stride, np.uint8)  # position i·stride + j holds pixel (i, j)
    median[:-2] = _median_of_three(low, middle, high)
    return median.reshape(height, stride)[:, :width]


def _median_of_three(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))


def _otsu(levels: np.ndarray) -> float:
    """Otsu's threshold: the level that best separates two classes of uint8 levels."""
    # bincount widens its input to 64-bit integers first: give it only the inked levels and
    # count the background (level 0, most of a picture) by subtraction
    inked = levels[levels > 0]
    histogram = np.bincount(inked, minlength=256)
    histogram[0] = levels.size - inked.size
    weight = np.cumsum(histogram, dtype=np.float64)  # pixels at or below each level (exact)
    total = weight[-1]
    # only levels with pixels on both sides are candidates (elsewhere a class is empty and
    # the formula gives NaN, which never wins): from the lowest used level to below the top
    used = np.flatnonzero(histogram)
    first, last = int(used[0]), int(used[-1])
    if first == last:
        return 0.0  # one level only: no level separates anything
    moment = np.cumsum(histogram * _LEVELS)
    weight_low, moment_low = weight[first:last], moment[first:last]
    weight_high = total - weight_low
    mean_low = moment_low / weight_low
    mean_high = (moment[-1] - moment_low) / weight_high
    between = weight_low * weight_high * (mean_low - mean_high) ** 2
    return float(first + np.argmax(between))  # the first best, as np.nanargmax takes it


_LEVELS = np.arange(256, dtype=np.float64)


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width: area over half the outline (a stroke of length L and width w
    has area L·w and an outline of about 2·L)."""
    # the outline counts every change between neighbours, the edges of the mask included
    outline = (np.count_nonzero(mask[1:] != mask[:-1]) + np.count_nonzero(mask[0])
               + np.count_nonzero(mask[-1]) + np.count_nonzero(mask[:, 1:] != mask[:, :-1])
               + np.count_nonzero(mask[:, 0]) + np.count_nonzero(mask[:, -1]))
    return 2.0 * float(np.count_nonzero(mask)) / max(float(outline), 1.0)


# --- 4., 5. strokes, size, centre -------------------------------------------------------


def _thicken(crop: np.ndarray, width: float, target: float) -> np.ndarray:
    """Widen strokes thinner than `target` (in crop pixels) with a square max filter."""
    if width >= 0.75 * target:
        return crop
    size = 2 * round((target - width) / 2) + 1  # odd: the filter stays centred
    if size < 3:
        return crop
    # room for the strokes that grow past the box (size // 2) and for each running max's
    # window (size // 2 again), zeros all round, set up once for both axes
    pad = 2 * (size // 2)
    grown = np.zeros((crop.shape[0] + 2 * pad, crop.shape[1] + 2 * pad), np.float32)
    grown[pad:pad + crop.shape[0], pad:pad + crop.shape[1]] = crop
    for axis in (0, 1):
        grown = _window_max(grown, size, axis)
    return grown


def _window_max(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Running maximum over `size` cells along `axis`, as many cells shorter: a zero-padded
    array gives the centred running max; window doubling makes it log(size) operations."""
    result = values
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


