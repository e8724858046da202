"""data.augment's deformations: each transform does what it says, on synthetic pictures."""

import numpy as np
import pytest

from fcnn_cli.data.augment import (
    CHUNK,
    DeformedEpochs,
    Deformer,
    Draws,
    smoothing_basis,
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
    assert (out >= 100).sum() == 12  # columns at least half inked
    assert np.average(np.arange(28), weights=out) == pytest.approx(13.5, abs=0.01)


def blob(size: int = 41, sigma: float = 2.0, at: tuple[float, float] = (20, 20),
         stretch: float = 1.0) -> np.ndarray:
    """One (1, size²) picture of a smooth Gaussian spot, `stretch` times as wide as tall,
    its ink well clear of the edges."""
    y, x = np.mgrid[:size, :size]
    spot = np.exp(-((y - at[0]) ** 2 / sigma ** 2 + (x - at[1]) ** 2 / (stretch * sigma) ** 2)
                  / 2)
    return np.round(250 * spot).astype(np.uint8).reshape(1, -1)


def moments(picture: np.ndarray) -> tuple[float, float, float, float, float]:
    """The ink's centre (y, x), its spread along and across its long axis, and the long
    axis's angle in degrees, clockwise from the x axis on the screen (y points down)."""
    y, x = np.mgrid[:picture.shape[0], :picture.shape[1]]
    ink = picture.astype(float) / picture.sum()
    cy, cx = (ink * y).sum(), (ink * x).sum()
    cov = np.cov(np.stack([(x - cx).ravel(), (y - cy).ravel()]), aweights=ink.ravel(), bias=True)
    values, vectors = np.linalg.eigh(cov)
    long_axis = vectors[:, 1] * np.sign(vectors[0, 1] or 1)
    angle = np.degrees(np.arctan2(long_axis[1], long_axis[0]))
    return cy, cx, float(np.sqrt(values[1])), float(np.sqrt(values[0])), float(angle)


@pytest.mark.parametrize("tx,ty", [(2.0, 0.0), (1.5, -2.25), (-0.4, 0.7)])
def test_a_shift_moves_the_centre_of_mass_by_the_shift(tx: float, ty: float) -> None:
    before, after = moments(blob().reshape(41, 41)), moments(warped(blob(), 41, tx=tx, ty=ty))
    assert after[0] - before[0] == pytest.approx(ty, abs=0.02)
    assert after[1] - before[1] == pytest.approx(tx, abs=0.02)


@pytest.mark.parametrize("degrees", [10.0, 30.0, -45.0])
def test_a_rotation_turns_a_bar_clockwise_by_its_angle(degrees: float) -> None:
    bar = blob(stretch=3.0)  # along the x axis
    out = warped(bar, 41, angle=np.radians(degrees))
    assert moments(out)[4] == pytest.approx(degrees, abs=0.2)
    assert moments(out)[:2] == pytest.approx((20, 20), abs=0.02)  # about the centre


@pytest.mark.parametrize("factor", [0.9, 1.1, 1.4])
def test_a_scale_changes_the_inks_extent_by_its_factor(factor: float) -> None:
    bar = blob(stretch=2.0)
    _, _, along, across, _ = moments(bar.reshape(41, 41))
    _, _, scaled_along, scaled_across, _ = moments(warped(bar, 41, scale=factor))
    assert scaled_along / along == pytest.approx(factor, rel=0.02)
    assert scaled_across / across == pytest.approx(factor, rel=0.03)


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
    shifts = np.concatenate([deformer.field(draws.noise[0]), deformer.field(draws.noise[1])])
    r = int(4 * sigma + 0.5)
    g = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    g /= g.sum()
    expected = alpha * np.sqrt(1 / 3) * np.sum(g ** 2)
    assert shifts.std() == pytest.approx(expected, rel=0.05)
    assert abs(shifts.mean()) < 0.05 * expected


def test_elastic_distortion_of_strength_zero_leaves_the_picture_as_it_is() -> None:
    x = np.random.default_rng(9).integers(0, 256, (50, 784), dtype=np.uint8)
    deformer = Deformer(AugmentSpec(elastic=Elastic(0, 4)), (28, 28))
    assert np.array_equal(deformer(x, np.random.default_rng(0)), x)
    assert not np.array_equal(Deformer(AugmentSpec(elastic=Elastic(2, 4)), (28, 28))(
        x, np.random.default_rng(0)), x)


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
    first = deformer.epoch(x, 7, 0, np.empty_like(x))
    assert np.array_equal(first, Deformer(EVERYTHING, (28, 28)).epoch(x, 7, 0, np.empty_like(x)))
    assert not np.array_equal(first, deformer.epoch(x, 7, 1, np.empty_like(x)))
    assert not np.array_equal(first, deformer.epoch(x, 8, 0, np.empty_like(x)))


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
