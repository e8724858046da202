"""Per-layer diagnostics: what each number measures, and how training records them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fcnn_cli.config import load_config
from fcnn_cli.nn import Network
from fcnn_cli.nn import diagnostics as diag
from fcnn_cli.training import Trainer, build_network
from fcnn_cli.ui import QuietReporter


def network(activation: str, scale: float = 1.0, seed: int = 0) -> Network:
    """An 8-20-3 network, its hidden layer's weights multiplied by `scale`."""
    net = Network.create([8, 20, 3], [activation, "softmax"], init="glorot",
                         rng=np.random.default_rng(seed), dtype=np.float64)
    net.w[0] *= scale
    return net


def batch(rows: int = 200, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 8))
    return x, np.eye(3)[rng.integers(0, 3, rows)]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_a_network_with_big_weights_is_saturated_and_one_with_small_weights_is_not(
        activation: str) -> None:
    x, y = batch()
    assert diag.measure(network(activation, scale=50.0), x, y)[0]["saturated"] > 0.9
    assert diag.measure(network(activation, scale=0.01), x, y)[0]["saturated"] == 0.0


def test_a_unit_saturated_on_only_half_of_the_rows_is_not_counted() -> None:
    # f'(z) of sigmoid at z = ±10 is 4.5e-5: saturated; at 0 it is 0.25, the maximum
    z = np.array([[10.0, 10.0], [10.0, 0.0], [0.0, 0.0], [10.0, 10.0]])
    a = 1 / (1 + np.exp(-z))
    # unit 0 is saturated on 3 of the 4 rows, unit 1 on only 2
    assert diag.saturated_fraction("sigmoid", z, a) == 0.5


def test_negative_biases_on_a_relu_layer_show_dead_units() -> None:
    x, y = batch()
    for activation in ("relu", "leaky-relu", "prelu"):
        net = network(activation)
        assert diag.measure(net, x, y)[0]["dead"] == 0.0
        net.b[0][:5] = -1e3  # 5 of the 20 units never above zero
        assert diag.measure(net, x, y)[0]["dead"] == 0.25


def test_only_the_activations_that_can_saturate_or_die_get_those_fractions() -> None:
    z = np.zeros((3, 2))
    assert diag.saturated_fraction("relu", z, z) is None
    assert diag.saturated_fraction("softmax", z, z) is None
    assert diag.dead_fraction("sigmoid", z) is None and diag.dead_fraction("linear", z) is None
    rows = diag.measure(network("relu"), *batch())
    assert rows[1]["saturated"] is None and rows[1]["dead"] is None  # the softmax output


def test_the_speed_of_learning_is_the_norm_of_the_mean_delta_computed_by_hand() -> None:
    net, (x, y) = network("sigmoid", scale=3.0), batch()
    _, trace = net.backprop(x, y)
    for layer, row in zip(trace.deltas, diag.measure(net, x, y)):
        by_hand = math.sqrt(sum(float(np.mean(layer[:, j])) ** 2 for j in range(layer.shape[1])))
        assert math.isclose(row["speed"], by_hand, rel_tol=1e-12)


def test_the_update_ratio_is_the_step_over_the_weights_in_frobenius_norms() -> None:
    before = np.array([[3.0, 0.0], [0.0, 4.0]])  # ‖w‖_F = 5
    after = before + np.array([[0.0, 0.03], [0.04, 0.0]])  # ‖Δw‖_F = 0.05
    assert math.isclose(diag.update_ratio(before, after), 0.01)
    assert math.isnan(diag.update_ratio(np.zeros(2), np.zeros(2)))


def test_the_probe_batch_is_fixed_by_the_seed_and_holds_at_most_probe_size_rows() -> None:
    assert np.array_equal(diag.probe_rows(60000, 42), diag.probe_rows(60000, 42))
    assert not np.array_equal(diag.probe_rows(60000, 42), diag.probe_rows(60000, 43))
    rows = diag.probe_rows(60000, 42)
    assert len(rows) == diag.PROBE_SIZE == len(np.unique(rows)) and rows.max() < 60000
    assert np.array_equal(diag.probe_rows(7, 1), np.arange(7))


# --- recorded in training ----------------------------------------------------------------

def test_training_records_the_speed_measured_by_hand_on_its_probe_batch(tmp_path) -> None:
    config = load_config("digits", ["training.epochs=2", "training.early_stopping=null"])
    trainer = Trainer(config, "", tmp_path / "m.h5", QuietReporter())
    model = trainer.run().model
    x, y = trainer.probe
    rows = diag.probe_rows(len(trainer.splits.x_train), config.seed)
    pixels = trainer.splits.x_train[rows]  # kept raw, normalised as batches are taken
    assert len(x) == diag.PROBE_SIZE and np.array_equal(x, trainer.splits.normalizer(pixels))
    _, trace = model.network.backprop(x, y)  # the final weights: the last epoch's numbers
    for layer, delta in zip(model.diagnostics, trace.deltas):
        by_hand = float(np.linalg.norm(delta.astype(np.float64).mean(axis=0)))
        assert len(layer["speed"]) == 2
        assert math.isclose(layer["speed"][-1], by_hand, rel_tol=1e-5)
    assert [d["activation"] for d in model.diagnostics] == ["relu", "softmax"]
    assert [d["units"] for d in model.diagnostics] == [64, 10]


def test_a_single_batch_epochs_update_ratio_is_the_sgd_step_computed_by_hand(tmp_path) -> None:
    config = load_config("xor", ["training.epochs=2", "training.optimizer.momentum=0"])
    trainer = Trainer(config, "", tmp_path / "m.h5", QuietReporter())
    model = trainer.run().model
    net = build_network(config, 2, np.random.default_rng(config.seed))  # the same start
    x, y = trainer.splits.x_train.astype(np.float32), trainer.probe[1]
    lr = config.training.optimizer.lr
    for epoch in range(2):
        grads, _ = net.backprop(x, y)  # one batch of all 4 examples: one step per epoch
        for l, (w, g) in enumerate(zip(net.w, grads.w)):
            expected = lr * np.linalg.norm(g.astype(np.float64)) / np.linalg.norm(
                w.astype(np.float64))
            assert math.isclose(model.diagnostics[l]["update_ratio"][epoch], expected,
                                rel_tol=1e-4)
            w -= lr * g
        for b, g in zip(net.b, grads.b):
            b -= lr * g


def test_diagnostics_off_records_none(tmp_path) -> None:
    config = load_config("xor", ["training.epochs=3"])
    model = Trainer(config, "", tmp_path / "m.h5", QuietReporter(), diagnostics=False).run().model
    assert model.diagnostics == []


# --- warnings ----------------------------------------------------------------------------

SATURATING = ["training.epochs=1", "model.layers[0].activation=sigmoid", "model.init=normal",
              "data.normalize=none", "training.early_stopping=null"]


def test_a_saturated_network_gets_a_warning_saying_what_to_try(tmp_path) -> None:
    import fcnn_cli as fcnn

    result = fcnn.train("digits", out=tmp_path / "m.h5", overrides=SATURATING)
    lines = [w for w in result.warnings if w.startswith("layer 1 (64 sigmoid units)")]
    assert len(lines) == 1 and "saturated" in lines[0] and "glorot init" in lines[0]
    assert result.model.diagnostics[0]["saturated"][-1] > 0.5


def test_a_healthy_run_gets_no_diagnostics_warning(tmp_path) -> None:
    import fcnn_cli as fcnn

    result = fcnn.train("digits", out=tmp_path / "m.h5", training__epochs=3)
    assert not [w for w in result.warnings if w.startswith("layer ")]


def test_fcnn_train_prints_the_warnings_at_the_end(tmp_path) -> None:
    from typer.testing import CliRunner

    from fcnn_cli.cli import app

    args = ["train", "digits", "--out", str(tmp_path / "m.h5"), "--quiet"]
    for item in SATURATING:
        args += ["--set", item]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "warning: layer 1 (64 sigmoid units):" in result.output


def series(**values: list[float] | None) -> dict:
    layer = {"layer": 1, "units": 10, "activation": "relu", "speed": [0.1], "saturated": None,
             "dead": None, "update_ratio": [1e-3]}
    return {**layer, **values}


@pytest.mark.parametrize("layer,fragment", [
    (series(dead=[0.0, 0.6]), "60% of the units are dead"),
    (series(activation="sigmoid", saturated=[0.9]), "relu instead of sigmoid"),
    (series(update_ratio=[1e-7, 1e-6, 1e-3]), "try a higher learning rate"),
    (series(update_ratio=[0.5, 0.3, 1e-3]), "try a lower learning rate"),
])
def test_each_worrying_layer_gets_one_line_with_what_to_try(layer: dict, fragment: str) -> None:
    lines = diag.advice([layer, series(layer=2, activation="softmax", dead=None)])
    assert len(lines) == 1 and fragment in lines[0] and lines[0].startswith("layer 1 (10 ")


def test_no_warning_for_healthy_numbers_or_the_saturation_that_fits_the_data() -> None:
    assert diag.advice([series(dead=[0.9, 0.5], update_ratio=[1e-2, 1e-4])]) == []
    hidden = series(activation="tanh", saturated=[0.9])
    assert diag.advice([hidden, series(layer=2)], fitted=True) == []
    sigmoid_out = series(activation="sigmoid", saturated=[0.9])
    assert diag.advice([sigmoid_out], fused_output=True) == []   # cross-entropy cancels f'
    assert diag.advice([sigmoid_out], fitted=True) == []          # every example right
    assert "cross-entropy cost" in diag.advice([sigmoid_out])[0]  # quadratic cost: f' slows
