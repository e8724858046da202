"""data.augment's deformations: each transform does what it says, on synthetic pictures."""

import numpy as np
import pytest

from fcnn_cli.data.augment import (
    CHUNK,
    DeformedEpochs,
    Deformer,
    Draws,
    smoothing_basis,
    upsampled,
)
from fcnn_cli.data.augment_spec import AugmentSpec, Draw, Elastic

EVERYTHING = AugmentSpec(shift=Draw(2), rotate=Draw(15), scale=Draw(0.1), shear=Draw(0.2),
                         elastic=Elastic(34, 4), hflip=0.5)


def picture(size: int = 28, **dots: int) -> np.ndarray:
    """One (1, size²) picture, black but for dots given as name=row*size+col."""
    x = np.zeros((1, size * size), np.uint8)
    for index in dots.values():
        x[0, index] = 200
    return x


def warped(x: np.ndarray, size: int = 28, channels: int = 1, **draw: float) -> np.ndarray:
    """x deformed by exactly the given draws (the rest identity), as (size, size[, C])."""
    draws = Draws.identity(len(x))
    for name, value in draw.items():
        setattr(draws, name, np.full(len(x), value, np.float32))
    shape = (size, size) if channels == 1 else (size, size, channels)
    return Deformer(AugmentSpec(), shape)(x, draws).reshape(len(x), *shape)[0]


def test_a_shift_of_one_pixel_moves_a_dot_one_pixel_right_or_down() -> None:
    x = picture(dot=10 * 28 + 12)
    assert np.argwhere(warped(x, tx=1)).tolist() == [[10, 13]]
    assert np.argwhere(warped(x, ty=1)).tolist() == [[11, 12]]
    assert np.argwhere(warped(x, tx=-3, ty=2)).tolist() == [[12, 9]]


def test_a_half_pixel_shift_spreads_a_dot_over_two_pixels_at_half_strength() -> None:
    out = warped(picture(dot=10 * 28 + 12), tx=0.5)
    assert out[10, 12] == out[10, 13] == 100
    assert out.sum() == 200


def test_no_draws_give_the_picture_back_unchanged() -> None:
    x = np.random.default_rng(0).integers(0, 256, (5, 784), dtype=np.uint8)
    assert np.array_equal(Deformer(AugmentSpec(), (28, 28))(x, Draws.identity(5)), x)


def test_a_quarter_turn_is_a_clockwise_rot90() -> None:
    x = np.random.default_rng(1).integers(0, 256, (1, 784), dtype=np.uint8)
    out = warped(x, angle=np.pi / 2)
    assert np.array_equal(out, np.rot90(x.reshape(28, 28), k=-1))


def test_a_flip_mirrors_left_and_right() -> None:
    x = np.random.default_rng(2).integers(0, 256, (1, 784), dtype=np.uint8)
    assert np.array_equal(warped(x, flip=-1), x.reshape(28, 28)[:, ::-1])


def test_a_shear_of_one_turns_a_vertical_line_into_a_diagonal() -> None:
    x = np.zeros((29, 29), np.uint8)
    x[:, 14] = 200  # through the centre of an odd-sized picture
    out = warped(x.reshape(1, -1), size=29, shear=1.0)
    rows, cols = np.nonzero(out)
    assert (cols - 14 == rows - 14).all() and len(rows) == 29


def test_a_scale_of_two_doubles_a_bar_about_the_centre() -> None:
    x = np.zeros((28, 28), np.uint8)
    x[:, 11:17] = 200  # 6 columns, centred on 13.5
    out = warped(x.reshape(1, -1), scale=2.0)[14].astype(float)
    assert out.sum() == 2 * x[14].sum()
    assert (out == 200).sum() == 11  # and two half-covered columns at the ends
    assert np.average(np.arange(28), weights=out) == pytest.approx(13.5, abs=0.5)


def test_pixels_from_beyond_the_edge_repeat_the_edge() -> None:
    x = np.zeros((28, 28), np.uint8)
    x[:, 0] = 90
    out = warped(x.reshape(1, -1), tx=3)
    assert (out[:, :4] == 90).all() and (out[:, 4:] == 0).all()


def test_colour_pictures_move_with_their_channels_together() -> None:
    x = np.zeros((28, 28, 3), np.uint8)
    x[5, 7] = (250, 20, 90)
    out = warped(x.reshape(1, -1), channels=3, tx=2, ty=1)
    assert np.argwhere(out.any(axis=2)).tolist() == [[6, 9]]
    assert out[6, 9].tolist() == [250, 20, 90]


def test_upsampling_puts_the_rounded_mean_between_neighbours() -> None:
    x = np.array([[[10, 21], [255, 0]]], np.uint8)[..., None]
    up = upsampled(x)[0, ..., 0]
    assert up.tolist() == [[10, 16, 21], [133, 72, 11], [255, 128, 0]]


def test_the_smoothing_basis_gives_the_smoothed_noise_covariance() -> None:
    sigma, length = 4.0, 28
    r = int(4 * sigma + 0.5)
    kernel = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    g = np.array([np.convolve(np.eye(length + 2 * r)[j], kernel, "valid")
                  for j in range(length + 2 * r)]).T  # row i: pixel i's weights on the noise
    a = smoothing_basis(length, sigma)
    assert a.shape[1] < 10
    error = np.linalg.norm(a @ a.T - g @ g.T) / np.linalg.norm(g @ g.T)
    assert error < 1e-3


def test_elastic_displacements_have_simards_size() -> None:
    # α·(uniform noise smoothed by a normalised Gaussian of σ): std α·√(Σ g²/3) in 1-D…
    # in 2-D the kernel is the outer product, so the std is α·√(1/3)·Σ g².
    alpha, sigma = 34.0, 4.0
    deformer = Deformer(AugmentSpec(elastic=Elastic(alpha, sigma)), (28, 28))
    draws = deformer.draw(4000, np.random.default_rng(3))
    shifts = (draws.noise @ deformer.basis[3:]).reshape(-1)
    r = int(4 * sigma + 0.5)
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    g /= g.sum()
    expected = alpha * np.sqrt(1 / 3) * np.sum(g ** 2)
    assert shifts.std() == pytest.approx(expected, rel=0.05)
    assert abs(shifts.mean()) < 0.05 * expected


def test_a_transform_with_probability_zero_is_never_applied() -> None:
    spec = AugmentSpec(shift=Draw(3, p=0.0), rotate=Draw(20, p=0.0), elastic=Elastic(34, 4, p=0))
    x = np.random.default_rng(4).integers(0, 256, (50, 784), dtype=np.uint8)
    assert np.array_equal(Deformer(spec, (28, 28))(x, np.random.default_rng(0)), x)


def test_a_transform_with_probability_one_half_moves_about_half_the_pictures() -> None:
    draws = Deformer(AugmentSpec(shift=Draw(3, p=0.5)), (28, 28)).draw(
        4000, np.random.default_rng(5))
    assert 0.45 < np.mean(draws.tx != 0) < 0.55
    assert np.abs(draws.tx).max() <= 3


def test_an_epoch_is_the_same_for_the_same_seed_and_differs_between_epochs() -> None:
    x = np.random.default_rng(6).integers(0, 256, (CHUNK + 30, 784), dtype=np.uint8)
    deformer = Deformer(EVERYTHING, (28, 28))
    up = upsampled(x.reshape(-1, 28, 28, 1))
    first = deformer.epoch(up, 7, 0, np.empty_like(x))
    assert np.array_equal(first, deformer.epoch(up, 7, 0, np.empty_like(x)))
    assert not np.array_equal(first, deformer.epoch(up, 7, 1, np.empty_like(x)))
    assert not np.array_equal(first, deformer.epoch(up, 8, 0, np.empty_like(x)))


def test_epochs_made_in_the_background_equal_those_made_on_demand() -> None:
    x = np.random.default_rng(7).integers(0, 256, (600, 784), dtype=np.uint8)
    deformer = Deformer(EVERYTHING, (28, 28))
    with DeformedEpochs(deformer, x, seed=3) as ahead:
        made = [ahead.get(e, more=True).copy() for e in range(3)]
    with DeformedEpochs(deformer, x, seed=3) as alone:
        assert np.array_equal(alone.get(2), made[2])  # as a resumed run would ask for it
        assert np.array_equal(alone.get(0), made[0])
    assert not np.array_equal(made[0], made[1])


def test_the_training_pictures_themselves_are_never_changed() -> None:
    x = np.random.default_rng(8).integers(0, 256, (300, 784), dtype=np.uint8)
    kept = x.copy()
    with DeformedEpochs(Deformer(EVERYTHING, (28, 28)), x, seed=1) as deformed:
        deformed.get(0, more=True)
        deformed.get(1)
    assert np.array_equal(x, kept)


def test_the_spec_describes_itself_for_the_start_line() -> None:
    assert EVERYTHING.describe() == ("shift ±2 px, rotate ±15°, scale ±0.1, shear ±0.2, "
                                     "elastic α=34 σ=4, horizontal flip (p 0.5)")
    assert AugmentSpec(rotate=Draw(5, 0.3)).describe() == "rotate ±5° (p 0.3)"
