"""The evenly-lit test's square check (`_holds_square`): an integral image in place of an
erosion, so it must say exactly what the erosion by the square said."""

import cv2
import numpy as np
import pytest

from fcnn_cli.data.digit import _holds_square


def eroded(mask: np.ndarray, side: int) -> bool:
    """The definition: an erosion by the side×side square, nothing past the edge counting."""
    core = cv2.erode(mask, np.ones((side, side), np.uint8), borderType=cv2.BORDER_CONSTANT,
                     borderValue=0)
    return bool(cv2.countNonZero(core))


def test_a_square_in_the_corner_counts_and_one_pixel_short_does_not() -> None:
    mask = np.zeros((20, 30), np.uint8)
    mask[:6, -6:] = 255  # 6×6, touching two edges
    assert _holds_square(mask, 6)
    assert not _holds_square(mask, 7)
    mask[0, -1] = 0  # one hole: no 6×6 square left
    assert not _holds_square(mask, 6)
    assert _holds_square(mask, 5)


def test_a_long_bar_is_no_square() -> None:
    mask = np.zeros((40, 40), np.uint8)
    mask[10:14, :] = 255  # 4 rows across the whole width
    assert _holds_square(mask, 4)
    assert not _holds_square(mask, 5)


def test_a_square_wider_than_the_mask_is_never_held() -> None:
    full = np.full((5, 9), 255, np.uint8)
    assert _holds_square(full, 5)
    assert not _holds_square(full, 6)


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_the_erosion_on_random_masks(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(40):
        height, width = rng.integers(1, 60, size=2)
        blobs = rng.random((height, width)) < rng.uniform(0.3, 0.95)
        mask = np.where(blobs, 255, 0).astype(np.uint8)
        mask = cv2.dilate(mask, np.ones((3, 3), np.uint8)) if rng.random() < 0.5 else mask
        for side in range(1, min(height, width) + 2):
            assert _holds_square(mask, side) == eroded(mask, side), (seed, mask.shape, side)
