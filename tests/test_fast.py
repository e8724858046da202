"""The fast epoch runner computes what the lecture-shaped reference computes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fcnn_cli.nn.fast as fast
from fcnn_cli.nn import SGD, Adam, Network
from fcnn_cli.nn.epoch import DivergenceError, EpochStats, RawInputs, run_epoch
from fcnn_cli.nn.fast import EpochRunner

# (sizes, activations, cost): every accelerated hidden activation and output/cost pair
ARCHITECTURES = [
    ([6, 9, 4], ["relu", "softmax"], "log-likelihood"),
    ([6, 9, 7, 4], ["relu", "tanh", "softmax"], "log-likelihood"),
    ([6, 8, 5, 3], ["sigmoid", "tanh", "sigmoid"], "quadratic"),
    ([6, 5, 1], ["tanh", "sigmoid"], "cross-entropy"),
    ([6, 5, 3], ["relu", "sigmoid"], "cross-entropy"),
    ([6, 5, 3], ["linear", "relu"], "quadratic"),
    ([6, 5, 2], ["relu", "linear"], "quadratic"),
    ([6, 5, 3], ["sigmoid", "tanh"], "quadratic"),
]


def make_data(sizes: list[int], activations: list[str], n: int, dtype=np.float32, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, sizes[0])).astype(dtype)
    k = sizes[-1]
    if activations[-1] == "softmax":
        y = np.eye(k, dtype=dtype)[rng.integers(0, k, n)]
    elif activations[-1] == "sigmoid":
        y = (rng.random((n, k)) < 0.5).astype(dtype)
    else:
        y = rng.random((n, k)).astype(dtype)
    return x, y


def make_net(sizes, activations, cost, dtype=np.float32, dropout=None) -> Network:
    return Network.create(sizes, activations, cost, "he", np.random.default_rng(1), dtype, dropout)


def reference_gradients(net: Network, x, y, rng=None) -> list[np.ndarray]:
    grads, _ = net.backprop(x, y, rng)
    return net.grads_list(grads)


def assert_close_lists(got: list[np.ndarray], want: list[np.ndarray], rtol: float) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * float(np.max(np.abs(w)) + 1e-30))


@pytest.mark.parametrize(("sizes", "activations", "cost"), ARCHITECTURES)
def test_fast_gradients_equal_backprop_to_float32_precision(sizes, activations, cost):
    net = make_net(sizes, activations, cost)
    x, y = make_data(sizes, activations, 11)
    runner = EpochRunner(net, SGD(0.1), 4)
    assert runner.fast, runner.fallback_reason
    assert_close_lists(runner.gradients(x, y), reference_gradients(net, x, y), rtol=2e-5)


@pytest.mark.parametrize(("sizes", "activations", "cost"), ARCHITECTURES)
def test_fast_gradients_equal_backprop_in_float64(sizes, activations, cost):
    net = make_net(sizes, activations, cost, np.float64)
    x, y = make_data(sizes, activations, 11, np.float64)
    got = EpochRunner(net, SGD(0.1), 4).gradients(x, y)
    assert_close_lists(got, reference_gradients(net, x, y), rtol=1e-12)


def test_fast_gradients_with_dropout_use_the_same_draws_as_backprop():
    sizes, activations = [6, 9, 7, 4], ["relu", "sigmoid", "softmax"]
    net = make_net(sizes, activations, "log-likelihood", dropout=[0.3, 0.5, 0.0])
    x, y = make_data(sizes, activations, 11)
    got = EpochRunner(net, SGD(0.1), 4).gradients(x, y, np.random.default_rng(7))
    want = reference_gradients(net, x, y, np.random.default_rng(7))
    assert_close_lists(got, want, rtol=2e-5)


OPTIMIZERS = {
    "sgd": lambda: SGD(0.1),
    "sgd+l2": lambda: SGD(0.1, l2=1e-3),
    "momentum": lambda: SGD(0.1, momentum=0.9),
    "nesterov": lambda: SGD(0.05, momentum=0.9, nesterov=True),
    "nesterov+l2": lambda: SGD(0.05, momentum=0.9, nesterov=True, l2=1e-3),
    "adam+l2": lambda: Adam(0.01, l2=1e-3),
}


@pytest.mark.parametrize("fold", ["large-matrices-folded", "every-matrix-folded"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_an_epoch_ends_with_the_weights_of_the_reference_loop(name, fold, monkeypatch):
    if fold == "every-matrix-folded":  # the steps inside the products (BLAS's β) everywhere
        monkeypatch.setattr(fast, "FOLD_MIN", 0)
    sizes, activations = [6, 9, 7, 4], ["relu", "tanh", "softmax"]
    x, y = make_data(sizes, activations, 103)
    perm = np.random.default_rng(2).permutation(len(x))
    nets = [make_net(sizes, activations, "log-likelihood", dropout=[0.2, 0.1, 0.0])
            for _ in range(2)]
    opts = [OPTIMIZERS[name]() for _ in range(2)]
    fast_stats = EpochRunner(nets[0], opts[0], 8).run(
        x, y, perm, dropout_rng=np.random.default_rng(3))
    ref_stats = run_epoch(nets[1], opts[1], x, y, perm, 8, dropout_rng=np.random.default_rng(3))
    assert_close_lists(nets[0].params(), nets[1].params(), rtol=1e-4)
    assert (fast_stats.correct, fast_stats.seen, fast_stats.batches) == \
        (ref_stats.correct, ref_stats.seen, ref_stats.batches)
    assert fast_stats.cost == pytest.approx(ref_stats.cost, rel=1e-5)
    assert sorted(opts[0].state()) == sorted(opts[1].state())


def test_the_same_inputs_give_bit_identical_weights():
    sizes, activations = [6, 9, 4], ["sigmoid", "softmax"]
    x, y = make_data(sizes, activations, 50)
    results = []
    for _ in range(2):
        net = make_net(sizes, activations, "log-likelihood", dropout=[0.25, 0.0])
        EpochRunner(net, SGD(0.5, momentum=0.9), 7).run(
            x, y, np.random.default_rng(4).permutation(50), dropout_rng=np.random.default_rng(5))
        results.append(net.params())
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["nesterov+l2", "adam+l2"])
def test_resuming_at_a_batch_gives_the_weights_of_the_uninterrupted_run(name):
    sizes, activations = [6, 9, 7, 4], ["relu", "relu", "softmax"]
    x, y = make_data(sizes, activations, 90)
    perm = np.random.default_rng(2).permutation(len(x))

    def fresh() -> tuple[Network, SGD | Adam]:
        net = make_net(sizes, activations, "log-likelihood", dropout=[0.2, 0.2, 0.0])
        return net, OPTIMIZERS[name]()

    whole_net, whole_opt = fresh()
    whole = EpochRunner(whole_net, whole_opt, 8).run(x, y, perm,
                                                     dropout_rng=np.random.default_rng(3))

    # Stop after batch 5 and keep what a checkpoint keeps ...
    net, opt = fresh()
    dropout_rng = np.random.default_rng(3)
    first = EpochRunner(net, opt, 8).run(x, y, perm, dropout_rng=dropout_rng,
                                         on_batch=lambda i, n, stats: i < 5)
    params = [p.copy() for p in net.params()]
    opt_state = {key: np.array(value) for key, value in opt.state().items()}
    rng_state, stats_fields = dropout_rng.bit_generator.state, dict(vars(first))
    # ... then go on from it in a fresh network, optimiser and runner.
    net, opt = fresh()
    for p, value in zip(net.params(), params):
        p[...] = value
    opt.load_state(opt_state)
    rng = np.random.default_rng()
    rng.bit_generator.state = rng_state
    stats = EpochRunner(net, opt, 8).run(x, y, perm, start_batch=5,
                                         stats=EpochStats(**stats_fields), dropout_rng=rng)

    assert first.batches == 5
    for resumed, uninterrupted in zip(net.params(), whole_net.params()):
        np.testing.assert_array_equal(resumed, uninterrupted)
    for key, value in whole_opt.state().items():
        np.testing.assert_array_equal(opt.state()[key], value)
    assert stats == whole


def test_all_optimizer_state_lives_in_the_optimizer():
    sizes, activations = [6, 9, 4], ["relu", "softmax"]
    x, y = make_data(sizes, activations, 40)
    net, sgd, adam = make_net(sizes, activations, "log-likelihood"), SGD(0.1, 0.9), Adam()
    EpochRunner(net, sgd, 16).run(x, y, np.arange(40))
    EpochRunner(net, adam, 16).run(x, y, np.arange(40))
    assert sorted(sgd.velocity) == sorted(adam.m) == sorted(adam.v) == [0, 1, 2, 3]
    assert adam.t == 3  # one step per batch: 16 + 16 + 8
    assert all(v.shape == p.shape for v, p in zip(sgd.velocity.values(), net.params()))


class Float64Detector:
    """Stands in for numpy inside fcnn_cli.nn.fast and records any float64 array it sees."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def check(self, where: str, values) -> None:
        for value in values:
            if isinstance(value, np.ndarray) and value.dtype == np.float64:
                self.seen.append(f"{where}: {value.shape}")

    def wrap(self, name: str, fn):
        def checked(*args, **kwargs):
            self.check(f"{name} argument", [*args, *kwargs.values()])
            result = fn(*args, **kwargs)
            self.check(f"{name} result", result if isinstance(result, tuple) else [result])
            return result
        return checked

    def __getattr__(self, name: str):
        value = getattr(np, name)
        if isinstance(value, np.ufunc):
            return UfuncWrapper(self, name, value)
        if callable(value) and not isinstance(value, type):
            return self.wrap(name, value)
        return value


class UfuncWrapper:
    def __init__(self, detector: Float64Detector, name: str, ufunc: np.ufunc) -> None:
        self._call = detector.wrap(name, ufunc)
        self.reduce = detector.wrap(f"{name}.reduce", ufunc.reduce)

    def __call__(self, *args, **kwargs):
        return self._call(*args, **kwargs)


@pytest.mark.parametrize(("sizes", "activations", "cost"), ARCHITECTURES)
@pytest.mark.parametrize("optimizer", ["nesterov+l2", "adam+l2"])
def test_a_float32_training_step_makes_no_float64_array(monkeypatch, sizes, activations, cost,
                                                        optimizer):
    detector = Float64Detector()
    monkeypatch.setattr(fast, "np", detector)
    x, y = make_data(sizes, activations, 20)
    dropout = [0.2] * (len(sizes) - 2) + [0.0]
    net = make_net(sizes, activations, cost, dropout=dropout)
    opt = OPTIMIZERS[optimizer]()
    runner = EpochRunner(net, opt, 8)
    runner.run(x, y, np.arange(20), dropout_rng=np.random.default_rng(0))
    assert detector.seen == []
    assert {p.dtype for p in net.params()} | {v.dtype for v in opt.state().values()
                                              if v.ndim} == {np.dtype(np.float32)}


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_a_non_finite_cost_raises_divergence_with_the_batch_number():
    sizes, activations = [6, 9, 4], ["relu", "softmax"]
    x, y = make_data(sizes, activations, 40)
    x[25] = np.inf  # the 4th batch of 8
    net = make_net(sizes, activations, "log-likelihood")
    before = [p.copy() for p in net.params()]
    with pytest.raises(DivergenceError) as error:
        EpochRunner(net, SGD(0.0), 8).run(x, y, np.arange(40))
    assert error.value.batch == 4
    for p, q in zip(net.params(), before):  # η = 0: nothing moved, and batch 4 never applied
        np.testing.assert_array_equal(p, q)


def test_on_batch_sees_every_batch_and_false_stops_the_epoch():
    sizes, activations = [6, 9, 4], ["relu", "softmax"]
    x, y = make_data(sizes, activations, 45)
    calls = []

    def on_batch(i: int, n: int, stats: EpochStats) -> bool:
        calls.append((i, n, stats.seen, stats.batches))
        return i < 3

    stats = EpochRunner(make_net(sizes, activations, "log-likelihood"), SGD(0.1), 10).run(
        x, y, np.arange(45), start_batch=1, on_batch=on_batch)
    assert calls == [(2, 5, 10, 2), (3, 5, 20, 3)]
    assert (stats.seen, stats.batches) == (20, 3)


def test_a_last_short_batch_is_trained_like_the_others():
    sizes, activations = [6, 5, 3], ["sigmoid", "sigmoid"]
    x, y = make_data(sizes, activations, 23)
    nets = [make_net(sizes, activations, "quadratic") for _ in range(2)]
    fast_stats = EpochRunner(nets[0], SGD(3.0), 10).run(x, y, np.arange(23)[::-1])
    ref_stats = run_epoch(nets[1], SGD(3.0), x, y, np.arange(23)[::-1], 10)
    assert (fast_stats.seen, fast_stats.batches, fast_stats.correct) == (23, 3, ref_stats.correct)
    assert_close_lists(nets[0].params(), nets[1].params(), rtol=1e-5)


def test_unsupported_layers_run_the_reference_loop_exactly():
    sizes, activations = [6, 9, 4], ["prelu", "softmax"]
    x, y = make_data(sizes, activations, 30)
    nets = [make_net(sizes, activations, "log-likelihood") for _ in range(2)]
    runner = EpochRunner(nets[0], SGD(0.1, 0.9), 8)
    assert not runner.fast and "PReLU" in runner.fallback_reason
    fast_stats = runner.run(x, y, np.arange(30))
    ref_stats = run_epoch(nets[1], SGD(0.1, 0.9), x, y, np.arange(30), 8)
    assert fast_stats == ref_stats
    for a, b in zip(nets[0].params(), nets[1].params()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("activations", "cost", "reason"), [
    (["leaky-relu", "softmax"], "log-likelihood", "hidden activation leaky-relu"),
    (["relu", "softmax"], "quadratic", "output softmax with cost quadratic"),
    (["relu", "tanh"], "cross-entropy", "output tanh with cost cross-entropy"),
])
def test_the_fallback_names_what_the_fast_path_lacks(activations, cost, reason):
    runner = EpochRunner(make_net([4, 3, 2], activations, cost), SGD(0.1), 2)
    assert runner.fallback_reason == reason


def test_indices_outside_the_data_are_an_error():
    sizes, activations = [6, 9, 4], ["relu", "softmax"]
    x, y = make_data(sizes, activations, 10)
    runner = EpochRunner(make_net(sizes, activations, "log-likelihood"), SGD(0.1), 4)
    with pytest.raises(IndexError, match="perm"):
        runner.run(x, y, np.array([0, 1, 10]))


def test_starting_past_the_last_batch_trains_nothing():
    sizes, activations = [6, 9, 4], ["relu", "softmax"]
    x, y = make_data(sizes, activations, 10)
    net = make_net(sizes, activations, "log-likelihood")
    before = [p.copy() for p in net.params()]
    stats = EpochRunner(net, SGD(0.1), 4).run(x, y, np.arange(10), start_batch=3)
    assert stats == EpochStats()
    for p, q in zip(net.params(), before):
        np.testing.assert_array_equal(p, q)


def test_a_runner_follows_weights_replaced_between_epochs():
    # Restoring the best weights or a checkpoint may put new arrays into the network.
    sizes, activations = [6, 9, 4], ["relu", "softmax"]
    x, y = make_data(sizes, activations, 24)
    net = make_net(sizes, activations, "log-likelihood")
    runner, other = EpochRunner(net, SGD(0.1), 8), make_net(sizes, activations, "log-likelihood")
    runner.run(x, y, np.arange(24))
    net.w = [w.copy() for w in other.w]
    net.b = [b.copy() for b in other.b]
    runner.run(x, y, np.arange(24))
    run_epoch(other, SGD(0.1), x, y, np.arange(24), 8)
    assert_close_lists(net.params(), other.params(), rtol=1e-5)


def test_saturated_sigmoids_train_without_overflow_warnings():
    sizes, activations = [6, 5, 3], ["sigmoid", "sigmoid"]
    x, y = make_data(sizes, activations, 20)
    net = make_net(sizes, activations, "cross-entropy")
    net.w[0] *= 100.0  # |z| in the hundreds: e^−z overflows unless guarded
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = EpochRunner(net, SGD(0.1), 8).run(x, y, np.arange(20))
    assert np.isfinite(stats.cost)


def test_a_float64_network_trains_on_float32_data_like_the_reference():
    sizes, activations = [6, 9, 4], ["tanh", "softmax"]
    x, y = make_data(sizes, activations, 30)  # float32, as the data pipeline gives it
    nets = [make_net(sizes, activations, "log-likelihood", np.float64) for _ in range(2)]
    EpochRunner(nets[0], SGD(0.1, 0.9), 8).run(x, y, np.arange(30)[::-1])
    run_epoch(nets[1], SGD(0.1, 0.9), x, y, np.arange(30)[::-1], 8)
    assert {p.dtype for p in nets[0].params()} == {np.dtype(np.float64)}
    assert_close_lists(nets[0].params(), nets[1].params(), rtol=1e-12)


# ---- raw (uint8) inputs, normalised as they are gathered --------------------------------
NORMALISATIONS = {  # (offset, scale) as the data pipeline fits them
    "scale": (np.zeros((), np.float32), np.full((), 255.0, np.float32)),
    "standardize": (np.linspace(20, 90, 6, dtype=np.float32),
                    np.linspace(30, 70, 6, dtype=np.float32)),
}


def make_pixels(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (n, 6), dtype=np.uint8),
            np.eye(4, dtype=np.float32)[rng.integers(0, 4, n)])


def normalised_up_front(raw: np.ndarray, offset: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """What split.Normalizer gives: float32, minus offset, divided by scale, in that order."""
    x = raw.astype(np.float32)
    x -= offset
    x /= scale
    return x


@pytest.mark.parametrize("kind", NORMALISATIONS)
def test_raw_rows_are_the_numbers_the_pipeline_normalises_up_front(kind):
    raw, _ = make_pixels(40)
    offset, scale = NORMALISATIONS[kind]
    inputs = RawInputs(raw, offset, scale)
    rows = np.array([3, 0, 39, 3])
    got = inputs[rows]
    assert got.dtype == np.float32 and got.shape == (4, 6) and len(inputs) == 40
    np.testing.assert_array_equal(got, normalised_up_front(raw, offset, scale)[rows])
    wide = RawInputs(raw, offset, scale, np.float64)[rows]  # float32 numbers, widened
    assert wide.dtype == np.float64
    np.testing.assert_array_equal(wide, got.astype(np.float64))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", NORMALISATIONS)
@pytest.mark.parametrize("name", ["momentum", "adam+l2"])
def test_raw_inputs_train_bit_identical_to_inputs_normalised_up_front(monkeypatch, name, kind,
                                                                        dtype):
    # Chunks of 3 batches of 8, so the epoch crosses chunk edges and ends on a short batch.
    monkeypatch.setattr(fast, "CHUNK_BYTES", 3 * 8 * 6 * np.dtype(dtype).itemsize)
    raw, y = make_pixels(61)
    y = y.astype(dtype)
    offset, scale = NORMALISATIONS[kind]
    ready = normalised_up_front(raw, offset, scale).astype(dtype)
    perm = np.random.default_rng(2).permutation(61)
    results = []
    for x in (ready, RawInputs(raw, offset, scale, dtype)):
        net = make_net([6, 9, 4], ["relu", "softmax"], "log-likelihood", dtype, [0.2, 0.0])
        stats = EpochRunner(net, OPTIMIZERS[name](), 8).run(
            x, y, perm, dropout_rng=np.random.default_rng(3))
        results.append((net.params(), stats))
    (got, got_stats), (want, want_stats) = results[1], results[0]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert got_stats == want_stats


@pytest.mark.parametrize("kind", NORMALISATIONS)
def test_raw_inputs_end_the_epoch_with_the_weights_of_the_reference_loop(kind):
    raw, y = make_pixels(70)
    inputs = RawInputs(raw, *NORMALISATIONS[kind])
    perm = np.random.default_rng(4).permutation(70)
    nets = [make_net([6, 9, 7, 4], ["relu", "tanh", "softmax"], "log-likelihood")
            for _ in range(2)]
    fast_stats = EpochRunner(nets[0], SGD(0.05, 0.9), 16).run(inputs, y, perm)
    ref_stats = run_epoch(nets[1], SGD(0.05, 0.9), inputs, y, perm, 16)
    assert_close_lists(nets[0].params(), nets[1].params(), rtol=1e-4)
    assert (fast_stats.correct, fast_stats.seen) == (ref_stats.correct, ref_stats.seen)
    assert fast_stats.cost == pytest.approx(ref_stats.cost, rel=1e-5)


def test_raw_inputs_resume_at_a_batch_bit_identical(monkeypatch):
    monkeypatch.setattr(fast, "CHUNK_BYTES", 2 * 8 * 6 * 4)
    raw, y = make_pixels(77)
    inputs = RawInputs(raw, *NORMALISATIONS["standardize"])
    perm = np.random.default_rng(5).permutation(77)
    whole = make_net([6, 9, 4], ["relu", "softmax"], "log-likelihood")
    EpochRunner(whole, SGD(0.1, 0.9), 8).run(inputs, y, perm)
    net, opt = make_net([6, 9, 4], ["relu", "softmax"], "log-likelihood"), SGD(0.1, 0.9)
    first = EpochRunner(net, opt, 8).run(inputs, y, perm, on_batch=lambda i, n, s: i < 5)
    EpochRunner(net, opt, 8).run(inputs, y, perm, start_batch=5, stats=first)
    for a, b in zip(net.params(), whole.params()):
        np.testing.assert_array_equal(a, b)


def test_a_float32_step_on_raw_inputs_makes_no_float64_array(monkeypatch):
    detector = Float64Detector()
    monkeypatch.setattr(fast, "np", detector)
    raw, y = make_pixels(20)
    net = make_net([6, 9, 4], ["relu", "softmax"], "log-likelihood")
    EpochRunner(net, SGD(0.1), 8).run(RawInputs(raw, *NORMALISATIONS["standardize"]), y,
                                      np.arange(20))
    assert detector.seen == []


def test_raw_inputs_must_be_rows():
    with pytest.raises(ValueError, match=r"\(N, I\)"):
        RawInputs(np.zeros((2, 3, 3), np.uint8), np.zeros(()), np.ones(()))


@pytest.mark.parametrize(("sizes", "batch", "cores", "threads"), [
    ([784, 128, 10], 64, 2, 1),             # workload A: small products, one thread
    ([784, 30, 10], 10, 8, 1),              # workload C
    ([784, 256, 10], 128, 2, 2),            # from here on every core
    ([784, 800, 800, 10], 128, 16, 16),     # workload B
    ([784, 800, 800, 10], 128, 0, 1),       # never fewer than one
])
def test_small_networks_default_to_one_blas_thread(sizes, batch, cores, threads):
    from fcnn_cli.threads import default_threads

    assert default_threads(sizes, batch, cores) == threads
