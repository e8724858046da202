"""The 2-D teaching datasets: xor, circle, gauss, spiral (TensorFlow Playground's) and
moons (scikit-learn's make_moons), drawn from a seed with `samples` points and `noise`."""

from __future__ import annotations

import numpy as np
import pytest

from fcnn_cli.config import load_config
from fcnn_cli.data import PLANAR_DATASETS
from fcnn_cli.data.planar import generate
from fcnn_cli.data.sources import load_dataset
from fcnn_cli.errors import FcnnError

CLOUDS = ("xor", "circle", "gauss", "spiral", "moons")  # every one, xor as Playground's cloud


def config_for(dataset: str, **data: object) -> dict:
    return {"seed": 3, "data": {"dataset": dataset, **data},
            "model": {"layers": [{"units": 2, "activation": "softmax"}]}}


def test_the_2d_datasets_are_the_five_named() -> None:
    assert PLANAR_DATASETS == CLOUDS


@pytest.mark.parametrize("name", CLOUDS)
def test_each_is_the_asked_number_of_points_x1_x2_in_classes_0_and_1(name: str) -> None:
    ds = load_dataset(name, samples=101, noise=0.1, seed=3)
    assert ds.x_train.shape == (101, 2) and ds.x_train.dtype == np.float32
    assert ds.y_train.shape == (101,) and ds.y_train.dtype == np.int64
    assert set(ds.y_train.tolist()) == {0, 1}
    assert ds.class_names == ["0", "1"] and ds.feature_names == ["x1", "x2"]
    assert ds.input_shape == (2,) and ds.pixel_max is None
    assert ds.x_test is None and ds.y_test is None  # val/test_fraction carve them
    assert np.isfinite(ds.x_train).all()


@pytest.mark.parametrize("name", CLOUDS)
def test_the_same_seed_gives_the_same_points_bit_for_bit(name: str) -> None:
    (x1, y1), (x2, y2) = generate(name, 200, 0.2, seed=9), generate(name, 200, 0.2, seed=9)
    assert x1.tobytes() == x2.tobytes() and y1.tobytes() == y2.tobytes()


@pytest.mark.parametrize("name", CLOUDS)
def test_another_seed_gives_other_points(name: str) -> None:
    (x1, _), (x2, _) = generate(name, 200, 0.2, seed=9), generate(name, 200, 0.2, seed=10)
    assert not np.array_equal(x1, x2)


@pytest.mark.parametrize("name", ["circle", "gauss", "spiral", "moons"])
def test_without_noise_the_classes_are_as_even_as_the_count_allows(name: str) -> None:
    _, y = generate(name, 501, 0.0, seed=1)
    assert np.bincount(y).tolist() == [250, 251]


def test_the_xor_cloud_is_about_half_each_class() -> None:
    _, y = generate("xor", 2000, 0.0, seed=1)
    assert 0.45 < y.mean() < 0.55


@pytest.mark.parametrize("name", CLOUDS)
def test_noise_changes_the_data(name: str) -> None:
    (x0, y0), (x5, y5) = generate(name, 400, 0.0, seed=4), generate(name, 400, 0.5, seed=4)
    assert not (np.array_equal(x0, x5) and np.array_equal(y0, y5))


@pytest.mark.parametrize("name", ["xor", "circle"])
def test_noise_mixes_the_labels_near_the_boundary_of_xor_and_circle(name: str) -> None:
    """Playground's way: the points stay, their labels are read at a point moved by noise."""
    def geometric(x: np.ndarray) -> np.ndarray:  # the class the position alone gives
        if name == "xor":
            return (x[:, 0] * x[:, 1] < 0).astype(np.int64)
        return (np.hypot(x[:, 0], x[:, 1]) < 2.5).astype(np.int64)

    (x0, y0), (x5, y5) = generate(name, 1000, 0.0, seed=4), generate(name, 1000, 0.5, seed=4)
    np.testing.assert_array_equal(x0, x5)
    np.testing.assert_array_equal(y0, geometric(x0))
    assert 0.1 < np.mean(y5 != geometric(x5)) < 0.5


@pytest.mark.parametrize("name", ["spiral", "moons"])
def test_noise_moves_the_points_of_spiral_and_moons_and_keeps_their_classes(name: str) -> None:
    (x0, y0), (x5, y5) = generate(name, 1000, 0.0, seed=4), generate(name, 1000, 0.5, seed=4)
    np.testing.assert_array_equal(y0, y5)
    moved = np.abs(x5 - x0)
    assert moved.mean() > 0.1
    if name == "spiral":  # uniform in ±noise on each axis
        assert moved.max() <= 0.5 + 1e-6


def test_noise_widens_the_gauss_clouds_as_playground_does() -> None:
    """Variance 0.5 at noise 0, 4 at noise 0.5 (0.5 + 7·noise), around (2, 2) and (−2, −2)."""
    for noise, variance in ((0.0, 0.5), (0.5, 4.0)):
        x, y = generate("gauss", 20_000, noise, seed=2)
        for label, centre in ((1, 2.0), (0, -2.0)):
            cloud = x[y == label]
            np.testing.assert_allclose(cloud.mean(axis=0), [centre, centre], atol=0.1)
            np.testing.assert_allclose(cloud.var(axis=0), [variance, variance], rtol=0.05)


def test_the_circle_is_a_disc_of_class_1_inside_a_ring_of_class_0() -> None:
    x, y = generate("circle", 1000, 0.0, seed=5)
    radius = np.hypot(x[:, 0], x[:, 1])
    assert radius[y == 1].max() < 2.5
    assert 3.5 <= radius[y == 0].min() and radius[y == 0].max() <= 5


def test_the_spiral_arms_are_half_a_turn_apart() -> None:
    """Without noise, class 0's arm is class 1's turned by 180°: −x of one is x of the other."""
    x, y = generate("spiral", 400, 0.0, seed=5)
    def rows(a: np.ndarray) -> np.ndarray:
        return a[np.lexsort(a.T)]

    np.testing.assert_allclose(rows(-x[y == 0]), rows(x[y == 1]), atol=1e-5)
    assert np.hypot(x[:, 0], x[:, 1]).max() < 5


def test_the_moons_are_scikit_learns_two_half_circles() -> None:
    x, y = generate("moons", 300, 0.0, seed=5)
    upper, lower = x[y == 0], x[y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1, atol=1e-5)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1, atol=1e-5)
    assert (upper[:, 1] >= -1e-6).all() and (lower[:, 1] <= 0.5 + 1e-6).all()


def test_xor_without_samples_is_the_truth_table_and_with_samples_a_cloud() -> None:
    np.testing.assert_array_equal(load_dataset("xor").x_train, [[0, 0], [0, 1], [1, 0], [1, 1]])
    cloud = load_dataset("xor", samples=300, seed=1)
    assert cloud.x_train.shape == (300, 2) and np.abs(cloud.x_train).max() > 1


def test_the_configs_seed_draws_the_data() -> None:
    first = load_config(config_for("moons", samples=50, noise=0.1)).data.load()
    again = load_config(config_for("moons", samples=50, noise=0.1)).data.load()
    other = load_config({**config_for("moons", samples=50, noise=0.1), "seed": 4}).data.load()
    assert first.x_train.tobytes() == again.x_train.tobytes()
    assert not np.array_equal(first.x_train, other.x_train)


def test_the_configs_samples_and_noise_reach_the_data() -> None:
    ds = load_config(config_for("spiral", samples=64, noise=0.3)).data.load()
    np.testing.assert_array_equal(ds.x_train, generate("spiral", 64, 0.3, seed=3)[0])


def test_a_2d_dataset_named_instead_of_the_configs_own_is_drawn_with_its_defaults() -> None:
    config = load_config(config_for("spiral", samples=64, noise=0.3))
    assert len(config.data.load("circle").x_train) == 500
    assert len(config.data.load("xor").x_train) == 4


def test_samples_for_a_dataset_that_is_not_drawn_is_refused_by_the_loader() -> None:
    with pytest.raises(FcnnError, match="apply only to the 2-D datasets .* not to digits"):
        load_dataset("digits", samples=100)


def test_noise_on_the_xor_truth_table_is_refused_by_the_loader() -> None:
    with pytest.raises(FcnnError, match="four points of the truth table"):
        load_dataset("xor", noise=0.1)
