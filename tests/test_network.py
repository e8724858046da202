"""The network: shapes in the lecture's orientation, learning, reproducibility, dtypes, dropout."""

import numpy as np
import pytest

from fcnn_cli.nn import Network, make_optimizer
from fcnn_cli.nn.epoch import run_epoch
from fcnn_cli.nn.init import init_layer

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


def train_xor(seed: int, epochs: int = 1500) -> Network:
    rng = np.random.default_rng(seed)
    net = Network.create([2, 4, 1], ["tanh", "sigmoid"], "cross-entropy", init="glorot", rng=rng)
    optimizer = make_optimizer("sgd", lr=0.5, momentum=0.9)
    for _ in range(epochs):
        run_epoch(net, optimizer, XOR_X, XOR_Y, rng.permutation(4), batch_size=4)
    return net


def test_weights_have_one_row_per_neuron_and_one_column_per_input() -> None:
    net = Network.create([784, 30, 10], ["sigmoid", "softmax"])
    assert [w.shape for w in net.w] == [(30, 784), (10, 30)]
    assert [b.shape for b in net.b] == [(30,), (10,)]
    assert net.sizes == [784, 30, 10]


def test_a_network_learns_xor_which_no_linear_model_can() -> None:
    net = train_xor(seed=7)
    predictions = (net.predict(XOR_X) > 0.5).astype(np.float32)
    assert (predictions == XOR_Y).all()


def test_the_same_seed_gives_bit_identical_weights() -> None:
    first, second = train_xor(seed=3, epochs=50), train_xor(seed=3, epochs=50)
    for w1, w2 in zip(first.params(), second.params()):
        assert np.array_equal(w1, w2)


def test_different_seeds_give_different_weights() -> None:
    assert not np.array_equal(train_xor(seed=1, epochs=5).w[0], train_xor(seed=2, epochs=5).w[0])


@pytest.mark.parametrize("activation", ["sigmoid", "relu", "prelu", "swish", "softmax"])
def test_a_float32_training_step_creates_no_float64_arrays(activation: str) -> None:
    rng = np.random.default_rng(0)
    net = Network.create([6, 5, 3], [activation, "softmax"], "log-likelihood", rng=rng,
                         dropout=[0.5, 0.0])
    x = rng.random((8, 6), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    grads, trace = net.backprop(x, y, rng)
    produced = [*net.grads_list(grads), *trace.zs, *trace.activations, *trace.deltas]
    assert {a.dtype for a in produced} == {np.dtype(np.float32)}
    make_optimizer("adam", lr=0.01, l2=1e-4).update(net.params(), net.grads_list(grads),
                                                     net.decays())
    assert {p.dtype for p in net.params()} == {np.dtype(np.float32)}


def test_float64_networks_stay_float64() -> None:
    net = Network.create([3, 2], ["sigmoid"], "quadratic", dtype=np.float64)
    assert net.predict(np.ones((1, 3), dtype=np.float32)).dtype == np.float64


def test_dropout_is_off_without_a_random_generator() -> None:
    net = Network.create([4, 50, 2], ["relu", "softmax"], rng=np.random.default_rng(0),
                         dropout=[0.5, 0.0])
    x = np.ones((3, 4), dtype=np.float32)
    _, activations, masks = net.feedforward(x)
    assert masks == [None, None]
    np.testing.assert_array_equal(activations[-1], net.predict(x))


def test_inverted_dropout_zeroes_units_and_rescales_the_rest() -> None:
    rng = np.random.default_rng(0)
    net = Network.create([4, 2000, 2], ["relu", "softmax"], rng=rng, dropout=[0.25, 0.0])
    _, _, masks = net.feedforward(np.ones((2, 4), dtype=np.float32), rng)
    mask = masks[0]
    values = np.unique(mask)
    assert values[0] == 0 and values[1] == pytest.approx(1 / 0.75) and len(values) == 2
    assert abs((mask == 0).mean() - 0.25) < 0.03
    assert abs(mask.mean() - 1.0) < 0.05  # the expected activation is unchanged


@pytest.mark.parametrize("name,std", [("he", np.sqrt(2 / 400)), ("nielsen", np.sqrt(1 / 400)),
                                      ("normal", 1.0), ("glorot", np.sqrt(2 / 600))])
def test_initialisers_draw_weights_with_their_documented_spread(name: str, std: float) -> None:
    w, _ = init_layer(name, 400, 200, np.random.default_rng(0))
    assert w.shape == (200, 400) and w.dtype == np.float32
    assert abs(w.std() / std - 1) < 0.02
