"""Backprop's gradients agree with central finite differences for every activation × cost."""

import itertools

import numpy as np
import pytest

from fcnn_cli.nn import ACTIVATIONS, COSTS, Network
from fcnn_cli.nn.activations import PReLU
from fcnn_cli.nn.gradcheck import gradient_check, max_relative_error, numerical_gradients


def random_net(activation: str, cost: str, seed: int = 0) -> tuple[Network, np.ndarray, np.ndarray]:
    """A 3-layer float64 network, every layer using `activation`, with a batch of 5.

    The output layer starts near z = 0.5 so that every activation's output lies in
    (0, 1), where the logarithmic costs are defined.
    """
    rng = np.random.default_rng(seed)
    net = Network.create([3, 5, 4, 3], [activation] * 3, cost, init="glorot", rng=rng,
                         dtype=np.float64)
    net.w[-1] *= 0.1
    net.b[-1][:] = 0.5
    for b in net.b[:-1]:
        b[:] = rng.normal(size=b.shape) * 0.5
    for act in net.activations:
        if isinstance(act, PReLU):
            act.alpha[:] = rng.uniform(0.1, 0.3, act.alpha.shape)
    x = rng.normal(size=(5, 3))
    y = np.eye(3)[rng.integers(0, 3, 5)]
    return net, x, y


@pytest.mark.parametrize("activation,cost", list(itertools.product(ACTIVATIONS, COSTS)))
def test_backprop_matches_finite_differences(activation: str, cost: str) -> None:
    net, x, y = random_net(activation, cost)
    assert gradient_check(net, x, y) < 1e-6


def test_prelu_slope_gradient_matches_finite_differences() -> None:
    net, x, y = random_net("prelu", "quadratic", seed=3)
    grads, _ = net.backprop(x, y)
    numeric = numerical_gradients(net, x, y)
    n_w_b = 2 * len(net.w)
    assert len(grads.alpha) == 3
    assert any(np.abs(g).max() > 1e-4 for g in grads.alpha.values())  # the check is not vacuous
    analytic_alpha = [grads.alpha[i] for i in sorted(grads.alpha)]
    assert max_relative_error(analytic_alpha, numeric[n_w_b:]) < 1e-6


def test_gradients_are_batch_means_of_per_example_gradients() -> None:
    net, x, y = random_net("tanh", "quadratic")
    batch, _ = net.backprop(x, y)
    singles = [net.backprop(x[i:i + 1], y[i:i + 1])[0] for i in range(len(x))]
    for l in range(3):
        np.testing.assert_allclose(batch.w[l], np.mean([g.w[l] for g in singles], axis=0))
        np.testing.assert_allclose(batch.b[l], np.mean([g.b[l] for g in singles], axis=0))


def test_fused_output_deltas_equal_the_general_chain_rule() -> None:
    for activation, cost in (("softmax", "log-likelihood"), ("sigmoid", "cross-entropy")):
        net, x, y = random_net(activation, cost)
        _, trace = net.backprop(x, y)
        z, a = trace.zs[-1], trace.activations[-1]
        general = net.activations[-1].backward(z, a, net.cost.grad_a(a, y))
        np.testing.assert_allclose(trace.deltas[-1], a - y)
        np.testing.assert_allclose(general, a - y, atol=1e-12)
