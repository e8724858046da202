"""Finding a digit's ink on a photographed page: the page's light divided out, ruled lines
taken away, the digit's pieces chosen (fcnn_cli/data/ink.py)."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from fcnn_cli.data import ink


def _pieces_by_search(mask: np.ndarray) -> list[set[tuple[int, int]]]:
    """8-connected pieces by breadth-first search: the plain reference."""
    seen = np.zeros_like(mask)
    found = []
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        piece, queue = set(), deque([start])
        seen[start] = True
        while queue:
            r, c = queue.popleft()
            piece.add((r, c))
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    near = (r + dr, c + dc)
                    if 0 <= near[0] < mask.shape[0] and 0 <= near[1] < mask.shape[1] \
                            and mask[near] and not seen[near]:
                        seen[near] = True
                        queue.append(near)
        found.append(piece)
    return found


@pytest.mark.parametrize("few_links", [ink.FEW_LINKS, 0], ids=["by-hand", "array-passes"])
def test_pieces_are_the_8_connected_pieces_with_their_area_and_box(
        few_links: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ink, "FEW_LINKS", few_links)
    rng = np.random.default_rng(0)
    for _ in range(60):
        mask = rng.random(tuple(rng.integers(1, 30, 2))) < rng.uniform(0.05, 0.6)
        found = ink.pieces(mask)
        expected = _pieces_by_search(mask)
        assert found.count == len(expected)
        for piece in expected:
            label = found.labels[next(iter(piece))]
            assert {tuple(p) for p in np.argwhere(found.labels == label)} == piece
            rows, cols = zip(*piece)
            assert found.area[label - 1] == len(piece)
            assert tuple(found.box[label - 1]) == (min(rows), min(cols),
                                                   max(rows) + 1, max(cols) + 1)


def test_a_winding_piece_is_one_piece() -> None:
    snake = np.zeros((40, 40), bool)
    snake[::4] = True
    snake[:, 0] = True
    for row in range(0, 40, 8):
        snake[row:row + 4, -1] = True
    assert ink.pieces(snake).count == 1


@pytest.mark.parametrize("size", [1, 2, 3, 6, 9])
def test_running_max_is_centred_with_the_edges_repeated(size: int) -> None:
    values = np.random.default_rng(1).random((7, 11))
    padded = np.pad(values, ((0, 0), (size // 2, size - 1 - size // 2)), mode="edge")
    expected = np.array([[padded[r, c:c + size].max() for c in range(11)] for r in range(7)])
    assert np.array_equal(ink.running(values, size, 1, np.maximum), expected)


def _page(shadow: bool) -> np.ndarray:
    """Paper at 230 with a stroke of ink at 40, and maybe a hard shadow over its right half
    that halves the light."""
    page = np.full((120, 160), 230.0, np.float32)
    page[30:90, 78:84] = 40.0
    if shadow:
        page[:, 81:] *= 0.5
    return page


def test_dividing_out_the_page_leaves_the_stroke_and_not_the_shadow() -> None:
    flat = ink.flatten(_page(shadow=True), light=True, window=31)
    assert flat[:, 90:].max() < 10 and flat[:, :75].max() < 10  # paper, lit or not: no ink
    assert flat[30:90, 78:84].min() > 128  # the stroke, in the light and in the shadow


def test_a_vignette_does_not_become_ink_at_the_edges() -> None:
    rows, cols = np.mgrid[0:100, 0:100]
    light = 1 - 0.6 * ((rows - 50) ** 2 + (cols - 50) ** 2) / 5000  # dark corners
    flat = ink.flatten((230 * light).astype(np.float32), light=True, window=25)
    assert flat.max() < 10


def test_ruled_lines_are_found_and_a_digits_stroke_is_not() -> None:
    page = np.zeros((100, 120), np.float32)
    page[20::20, :] = 120   # ruled lines across the page
    page[15:80, 60:63] = 250  # a tall stroke: 65 % of the height
    found = ink.lines(page, 60)
    assert found[20::20].all()
    # where the stroke crosses a line, the line's pixels (allowed to drift a little) go too
    crossing = np.abs((np.arange(100) + 10) % 20 - 10) <= ink.LINE_TILT_PX
    assert not found[~crossing, 60:63].any()


def test_a_slightly_tilted_line_is_still_a_line() -> None:
    page = np.zeros((100, 200), np.float32)
    cols = np.arange(200)
    page[50 + cols * 3 // 200, cols] = 200  # drifts three rows over its length
    assert ink.lines(page, 60)[page > 0].mean() > 0.95


def _strokes() -> tuple[np.ndarray, np.ndarray]:
    """(weak, strong): a digit-like bar, its faint tail, a detached flag near it, a speck
    and a faint smudge on their own, and a mark far away."""
    weak = np.zeros((100, 100), bool)
    strong = np.zeros_like(weak)
    strong[30:70, 40:44] = weak[30:70, 40:44] = True   # the digit's main stroke
    weak[70:78, 40:44] = True                           # its faint (pencil) tail
    strong[22:25, 42:56] = weak[22:25, 42:56] = True   # a 5's flag, a few pixels above
    strong[50, 60] = weak[50, 60] = True                # a speck of dust
    weak[80:90, 70:80] = True                           # a faint smudge, nothing strong
    strong[5:15, 88:98] = weak[5:15, 88:98] = True      # a mark in the far corner
    return weak, strong


def test_the_digit_keeps_its_faint_tail_and_detached_flag() -> None:
    weak, strong = _strokes()
    chosen = ink.digit_pixels(weak, strong)
    assert chosen[70:78, 40:44].all() and chosen[22:25, 42:56].all()


def test_specks_smudges_and_far_marks_are_left_out() -> None:
    weak, strong = _strokes()
    chosen = ink.digit_pixels(weak, strong)
    assert not chosen[50, 60] and not chosen[80:90, 70:80].any()
    assert not chosen[5:15, 88:98].any()


def test_grainy_strokes_a_pixel_apart_stay_one_piece() -> None:
    weak = np.zeros((60, 60), bool)
    weak[10:50:2, 30] = True  # a pencil line broken into dots
    strong = np.zeros_like(weak)
    strong[10, 30] = True
    assert ink.digit_pixels(weak, strong).sum() == weak.sum()


def test_a_piece_cut_by_the_edge_loses_to_the_digit() -> None:
    weak = np.zeros((80, 80), bool)
    weak[:, :3] = True         # a shadow's rim along the left edge, larger than the digit
    weak[25:55, 50:54] = True  # the digit
    chosen = ink.digit_pixels(weak, weak)
    assert chosen[25:55, 50:54].all() and not chosen[:, :3].any()
