"""The lecture's worked numbers, reproduced by the core."""

import math

import numpy as np

from fcnn_cli.nn import Network, make_activation
from fcnn_cli.nn.activations import Sigmoid
from fcnn_cli.nn.costs import Quadratic
from fcnn_cli.nn.optimizers import SGD


def test_softmax_of_2_1_minus1_is_071_026_004() -> None:
    a = make_activation("softmax", 3, np.float64).f(np.array([[2.0, 1.0, -1.0]]))
    assert np.round(np.exp([2.0, 1.0, -1.0]), 2).tolist() == [7.39, 2.72, 0.37]
    assert round(float(np.exp([2.0, 1.0, -1.0]).sum()), 2) == 10.48
    assert np.round(a, 2).tolist() == [[0.71, 0.26, 0.04]]
    assert math.isclose(a.sum(), 1.0)


def test_hadamard_product_of_1_2_and_3_4_is_3_8() -> None:
    assert (np.array([1, 2]) * np.array([3, 4])).tolist() == [3, 8]


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma() -> None:
    sig = Sigmoid()
    z = np.linspace(-6, 6, 13)
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(sig.prime(z, sig.f(z)), s * (1 - s), rtol=1e-12)


def test_sigmoid_is_stable_for_large_inputs() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = Sigmoid().f(np.array([-1000.0, 0.0, 1000.0]))
    assert a.tolist() == [0.0, 0.5, 1.0]


def test_softmax_is_stable_for_large_inputs() -> None:
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = make_activation("softmax", 2, np.float64).f(np.array([[1000.0, 1000.0]]))
    assert a.tolist() == [[0.5, 0.5]]


def sigma(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def test_one_sgd_step_on_the_2_3_1_network_matches_the_hand_computation() -> None:
    # Assumed: x = (0.5, −0.3), y = 1, b¹ = (0, 0, 0), b² = (−14), η = 0.01;
    # the weights are the lecture's w¹ = [[1,2],[3,4],[5,6]], w² = [[7,8,9]].
    x, y, eta = [0.5, -0.3], 1.0, 0.01
    w1, w2, b2 = [[1, 2], [3, 4], [5, 6]], [7, 8, 9], -14.0
    # Forward, one neuron at a time.
    z1 = [w1[j][0] * x[0] + w1[j][1] * x[1] for j in range(3)]        # −0.1, 0.3, 0.7
    a1 = [sigma(z) for z in z1]
    z2 = sum(w2[j] * a1[j] for j in range(3)) + b2
    a2 = sigma(z2)
    # Backward: δ² = (a² − y) σ'(z²), δ¹_j = w²_j δ² σ'(z¹_j).
    d2 = (a2 - y) * a2 * (1 - a2)
    d1 = [w2[j] * d2 * a1[j] * (1 - a1[j]) for j in range(3)]
    w2_new = [w2[j] - eta * d2 * a1[j] for j in range(3)]
    w1_new = [[w1[j][i] - eta * d1[j] * x[i] for i in range(2)] for j in range(3)]
    b2_new = b2 - eta * d2

    net = Network([np.array(w1, float), np.array([w2], float)], [np.zeros(3), np.array([b2])],
                  [Sigmoid(), Sigmoid()], Quadratic())
    grads, trace = net.backprop(np.array([x]), np.array([[y]]))
    np.testing.assert_allclose(trace.zs[0][0], z1)
    np.testing.assert_allclose(trace.activations[2][0, 0], a2)
    np.testing.assert_allclose(trace.deltas[1][0, 0], d2)
    np.testing.assert_allclose(trace.deltas[0][0], d1)
    SGD(eta).update(net.params(), net.grads_list(grads), net.decays())
    np.testing.assert_allclose(net.w[1][0], w2_new)
    np.testing.assert_allclose(net.w[0], w1_new)
    np.testing.assert_allclose(net.b[1], [b2_new])
    # By hand: σ(−0.1), σ(0.3), σ(0.7) = 0.4750, 0.5744, 0.6682; z² = 13.9344 − 14.
    assert round(z2, 4) == -0.0656 and round(a2, 4) == 0.4836
