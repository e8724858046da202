"""Optimisers follow their update rules; schedules give the documented learning rates."""

import math

import numpy as np
import pytest

from fcnn_cli.nn import Network, make_optimizer, scheduled_lr


def step(name: str, g: float, times: int = 2, **kwargs: float) -> float:
    p = np.array([1.0])
    opt = make_optimizer(name, **kwargs)
    for _ in range(times):
        opt.update([p], [np.array([g])], [False])
    return float(p[0])


def test_plain_sgd_is_the_lecture_rule() -> None:
    assert step("sgd", 0.5, times=1, lr=0.1) == pytest.approx(1 - 0.1 * 0.5)


def test_momentum_accumulates_velocity() -> None:
    # v1 = −ηg, p1 = 1 + v1; v2 = μv1 − ηg, p2 = p1 + v2.
    v1 = -0.1 * 0.5
    v2 = 0.9 * v1 - 0.1 * 0.5
    assert step("sgd", 0.5, lr=0.1, momentum=0.9) == pytest.approx(1 + v1 + v2)


def test_nesterov_looks_ahead_along_the_velocity() -> None:
    v1 = -0.1 * 0.5
    p1 = 1 + 0.9 * v1 - 0.1 * 0.5
    v2 = 0.9 * v1 - 0.1 * 0.5
    p2 = p1 + 0.9 * v2 - 0.1 * 0.5
    assert step("sgd", 0.5, lr=0.1, momentum=0.9, nesterov=True) == pytest.approx(p2)


def test_adam_first_step_moves_each_parameter_by_about_lr() -> None:
    assert step("adam", 123.0, times=1, lr=0.01) == pytest.approx(1 - 0.01, rel=1e-6)


def test_l2_decays_weights_but_not_biases() -> None:
    net = Network.create([2, 2], ["linear"], "quadratic", init="normal",
                         rng=np.random.default_rng(0), dtype=np.float64)
    w0, b0 = net.w[0].copy(), net.b[0].copy()
    zeros = [np.zeros_like(p) for p in net.params()]
    make_optimizer("sgd", lr=0.1, l2=0.5).update(net.params(), zeros, net.decays())
    np.testing.assert_allclose(net.w[0], w0 * (1 - 0.1 * 0.5))
    np.testing.assert_array_equal(net.b[0], b0)


def test_prelu_slopes_are_updated_by_the_optimizer() -> None:
    rng = np.random.default_rng(0)
    net = Network.create([3, 4, 2], ["prelu", "softmax"], rng=rng, dtype=np.float64)
    before = net.activations[0].alpha.copy()
    x, y = -np.abs(rng.normal(size=(6, 3))), np.eye(2)[[0, 1, 0, 1, 0, 1]]
    net.w[0][:] = np.abs(net.w[0])  # negative inputs × positive weights: z < 0, slopes matter
    grads, _ = net.backprop(x, y)
    make_optimizer("sgd", lr=0.5).update(net.params(), net.grads_list(grads), net.decays())
    np.testing.assert_allclose(net.activations[0].alpha, before - 0.5 * grads.alpha[0])
    assert not np.allclose(net.activations[0].alpha, before)


def test_schedules() -> None:
    assert scheduled_lr("constant", 0.1, 7, 10) == 0.1
    assert scheduled_lr("step", 0.1, 25, 50, gamma=0.5, step_size=10) == pytest.approx(0.025)
    assert scheduled_lr("exponential", 0.1, 2, 10, gamma=0.75) == pytest.approx(0.05625)
    assert scheduled_lr("cosine", 0.1, 0, 10) == pytest.approx(0.1)
    assert scheduled_lr("cosine", 0.1, 5, 10) == pytest.approx(0.05)
    assert scheduled_lr("cosine", 0.1, 10, 10, min_lr=0.01) == pytest.approx(0.01)
    assert math.isclose(scheduled_lr("cosine", 0.2, 3, 12), 0.1 * (1 + math.cos(math.pi / 4)))


def test_optimizer_state_round_trips() -> None:
    p = [np.array([1.0, 2.0])]
    adam = make_optimizer("adam", lr=0.1)
    adam.update(p, [np.array([0.3, -0.2])], [False])
    clone = make_optimizer("adam", lr=0.1)
    clone.load_state(adam.state())
    q = [p[0].copy()]
    adam.update(p, [np.array([0.1, 0.1])], [False])
    clone.update(q, [np.array([0.1, 0.1])], [False])
    assert np.array_equal(p[0], q[0])
