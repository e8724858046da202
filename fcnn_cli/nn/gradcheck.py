"""Central finite differences: the independent check on backprop's gradients."""

from __future__ import annotations

import numpy as np

from .network import Network

Array = np.ndarray


def central_difference(net: Network, x: Array, y: Array, p: Array, i: tuple[int, ...] | int,
                       eps: float = 1e-5) -> float:
    """(C(p + ε) − C(p − ε)) / 2ε for the one entry p[i], which is restored afterwards."""
    saved = p[i]
    p[i] = saved + eps
    plus = net.cost_value(x, y)
    p[i] = saved - eps
    minus = net.cost_value(x, y)
    p[i] = saved
    return (plus - minus) / (2 * eps)


def numerical_gradients(net: Network, x: Array, y: Array, eps: float = 1e-5) -> list[Array]:
    """The central difference of every entry of every parameter, in `params()` order."""
    grads = []
    for p in net.params():
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            g[i] = central_difference(net, x, y, p, i, eps)
        grads.append(g)
    return grads


def max_relative_error(analytic: list[Array], numeric: list[Array]) -> float:
    """The worst, over parameter arrays, of ‖g − n‖ / (‖g‖ + ‖n‖) (Ng's criterion).

    Measured per array rather than per entry: an entry whose true gradient is 1e-12
    has a finite-difference error dominated by rounding, and would drown the signal.
    """
    worst = 0.0
    for g, n in zip(analytic, numeric):
        scale = np.linalg.norm(g) + np.linalg.norm(n)
        if scale > 0:
            worst = max(worst, float(np.linalg.norm(g - n) / scale))
    return worst


def gradient_check(net: Network, x: Array, y: Array, eps: float = 1e-5) -> float:
    """The largest relative error between backprop and finite differences (float64 nets)."""
    grads, _ = net.backprop(x, y)
    return max_relative_error(net.grads_list(grads), numerical_gradients(net, x, y, eps))
