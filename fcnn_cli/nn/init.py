"""Weight initialisers: each returns (w, b) for one layer, w of shape (n_out, n_in)."""

from __future__ import annotations

import numpy as np

Array = np.ndarray
NAMES = ("he", "glorot", "nielsen", "normal")


def init_layer(name: str, n_in: int, n_out: int, rng: np.random.Generator,
               dtype: np.dtype | type = np.float32) -> tuple[Array, Array]:
    """He and Glorot keep the activations' variance steady through depth (biases 0);
    `nielsen` is N(0, 1/n_in) weights and `normal` N(0, 1) weights, both with N(0, 1)
    biases as in the lecture's network.py."""
    shape = (n_out, n_in)
    if name == "he":
        w, b = rng.standard_normal(shape) * np.sqrt(2.0 / n_in), np.zeros(n_out)
    elif name == "glorot":
        limit = np.sqrt(6.0 / (n_in + n_out))
        w, b = rng.uniform(-limit, limit, shape), np.zeros(n_out)
    elif name == "nielsen":
        w, b = rng.standard_normal(shape) / np.sqrt(n_in), rng.standard_normal(n_out)
    elif name == "normal":
        w, b = rng.standard_normal(shape), rng.standard_normal(n_out)
    else:
        raise ValueError(f"unknown initialiser {name!r}; expected one of {', '.join(NAMES)}")
    return w.astype(dtype), b.astype(dtype)
