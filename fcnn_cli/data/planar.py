"""The 2-D teaching datasets: TensorFlow Playground's four (xor, circle, gauss, spiral)
and scikit-learn's two moons, drawn from a seed.

Each is `samples` points (x1, x2) in two classes, 0 and 1. `noise` is each generator's
own kind of noise, as in its source:

- xor    uniform on [−5, 5]², kept 0.3 off the axes; class 1 where x1 and x2 have
         different signs (the truth table's XOR of the signs). Noise: the label is read
         at a point moved by up to ±5·noise on each axis, so labels mix near the axes.
- circle class 1 within radius 2.5 of the origin, class 0 in the ring 3.5 to 5; noise
         mixes the labels as for xor.
- gauss  two normal clouds around (2, 2) (class 1) and (−2, −2) (class 0), of variance
         0.5 + 7·noise (Playground's 0.5 at noise 0, 4 at noise 0.5).
- spiral two arms of 1.75 turns out to radius 5, half a turn apart (class 1 starts at
         angle 0); each point moved by up to ±noise on each axis.
- moons  two interleaving half circles of radius 1 (scikit-learn's make_moons: the upper
         one class 0, the lower one class 1), plus normal noise of standard deviation noise.

Every draw is made whatever the noise, and the noise is drawn after the points, so two
datasets that differ only in `noise` share their underlying points: what changes is what
the noise does. The rows are shuffled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import PLANAR_DATASETS

DEFAULT_SAMPLES = 500  # Playground's
FEATURE_NAMES = ["x1", "x2"]
CLASS_NAMES = ["0", "1"]
# The seed's stream for generated data, apart from those of the split, the initial weights,
# shuffling and dropout (which use the seed itself and [seed, 1], [seed, 2]).
STREAM = 7

Generator = Callable[[int, float, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def generate(name: str, samples: int = DEFAULT_SAMPLES, noise: float = 0.0,
             seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`samples` points of the dataset `name`: x float32 (samples, 2), y int64 class
    indices (samples,); the same arguments give the same arrays, bit for bit."""
    if name not in PLANAR_DATASETS:
        raise ValueError(f"no 2-D dataset named {name!r}; the names: {PLANAR_DATASETS}")
    if samples < 1 or not noise >= 0:
        raise ValueError(f"samples must be at least 1 and noise at least 0, got {samples}, "
                         f"{noise}")
    rng = np.random.default_rng([seed, STREAM])
    x, y = _GENERATORS[name](samples, float(noise), rng)
    order = rng.permutation(samples)
    return x[order].astype(np.float32), y[order].astype(np.int64)


def _halves(n: int) -> tuple[int, int]:
    """How many points of class 0 and of class 1: n split as evenly as it goes."""
    return n // 2, n - n // 2


def _labels(counts: tuple[int, int]) -> np.ndarray:
    return np.repeat([0, 1], counts)


def _xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-5, 5, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)  # a gap along the axes, where the class flips
    seen = x + rng.uniform(-5, 5, (n, 2)) * noise
    return x, (seen[:, 0] * seen[:, 1] < 0).astype(np.int64)


def _circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    outside, inside = _halves(n)
    radius = np.concatenate([rng.uniform(3.5, 5, outside), rng.uniform(0, 2.5, inside)])
    x = _polar(radius, rng.uniform(0, 2 * np.pi, n))
    seen = x + rng.uniform(-5, 5, (n, 2)) * noise
    return x, (np.hypot(seen[:, 0], seen[:, 1]) < 2.5).astype(np.int64)


def _gauss(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    counts = _halves(n)
    y = _labels(counts)
    centres = np.where(y[:, None] == 1, 2.0, -2.0)
    return centres + np.sqrt(0.5 + 7 * noise) * rng.standard_normal((n, 2)), y


def _spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    counts = _halves(n)
    y = _labels(counts)
    along = np.concatenate([np.arange(m) / m for m in counts])  # 0 → 1 along each arm
    angle = 1.75 * 2 * np.pi * along + np.pi * (1 - y)  # class 0 half a turn behind
    x = _polar(5 * along, angle)
    return x + rng.uniform(-1, 1, (n, 2)) * noise, y


def _moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    upper, lower = _halves(n)
    t_upper, t_lower = np.linspace(0, np.pi, upper), np.linspace(0, np.pi, lower)
    x = np.concatenate([np.column_stack([np.cos(t_upper), np.sin(t_upper)]),
                        np.column_stack([1 - np.cos(t_lower), 0.5 - np.sin(t_lower)])])
    return x + noise * rng.standard_normal((n, 2)), _labels((upper, lower))


def _polar(radius: np.ndarray, angle: np.ndarray) -> np.ndarray:
    # Playground's orientation: angle 0 points up the x2 axis
    return np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])


_GENERATORS: dict[str, Generator] = {
    "xor": _xor, "circle": _circle, "gauss": _gauss, "spiral": _spiral, "moons": _moons}
