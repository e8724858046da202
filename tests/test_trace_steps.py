"""forward-trace --steps K and `vary:`: several gradient-descent steps on the same
examples, and one thing varied side by side.

The expected numbers are worked out here: the slowdown figures with math.exp alone, the
step histories by updating a Network by hand with its own backprop."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from trace_cli import run, trace_json
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.trace import load

runner = CliRunner()

NEURON = {"x": [[1.0]], "y": [[0.0]], "lr": 0.15, "layers": [{"w": [[2.0]], "b": [2.0]}]}
TWO_THREE_ONE = {"x": [[0.5, -1.0]], "y": [[0.0]], "lr": 0.1,
                 "layers": [{"w": [[1, 2], [3, 4], [5, 6]], "b": [0, 0, 0]},
                            {"w": [[7, 8, 9]], "b": [0], "activation": "sigmoid"}]}


def written(tmp_path: Path, data: dict, name: str = "trace.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def fails(args: list[str]) -> str:
    """Run forward-trace; assert exit 2 and one error line on stderr, nothing on stdout."""
    result = runner.invoke(app, ["forward-trace", *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def slowdown_by_hand(cross_entropy: bool, steps: int) -> float:
    """a after `steps` updates of the lecture's neuron (w = b = 2, x = 1, y = 0, η = 0.15)."""
    w = b = 2.0
    for _ in range(steps):
        a = 1.0 / (1.0 + math.exp(-(w + b)))
        delta = a if cross_entropy else a * a * (1.0 - a)  # (a − y), or (a − y)σ'(z)
        w, b = w - 0.15 * delta, b - 0.15 * delta
    return 1.0 / (1.0 + math.exp(-(w + b)))


# --- the learning slowdown -------------------------------------------------------------

def test_learning_slowdown_quadratic_plateaus_and_cross_entropy_drops() -> None:
    out = trace_json("learning-slowdown")
    quadratic, cross_entropy = out["variants"]
    assert (quadratic["label"], cross_entropy["label"]) == ("cost: quadratic",
                                                            "cost: cross-entropy")
    assert quadratic["steps"] == cross_entropy["steps"] == 150
    a_quadratic, a_cross = quadratic["a_after"][0][0], cross_entropy["a_after"][0][0]
    assert a_quadratic == pytest.approx(0.93, abs=0.005)
    assert a_cross < 0.03
    assert a_quadratic == pytest.approx(slowdown_by_hand(False, 150), rel=1e-12)
    assert a_cross == pytest.approx(slowdown_by_hand(True, 150), rel=1e-12)
    # the plateau and the drop: the quadratic cost keeps 90 % of its start, cross-entropy 1 %
    history_q, history_ce = quadratic["cost_history"], cross_entropy["cost_history"]
    assert history_q[-1] / history_q[0] > 0.9 and history_ce[-1] / history_ce[0] < 0.01


def test_learning_slowdown_prints_both_outputs_and_one_chart() -> None:
    text = run("learning-slowdown")
    assert "a¹ after 150 steps" in text and "0.9334" in text and "0.02569" in text
    assert "C_k / C_0" in text  # two kinds of cost: each drawn relative to its start
    assert "● cost: quadratic: C 0.4822 → 0.4356" in text
    assert "▲ cost: cross-entropy: C 4.018 → 0.02602" in text


def test_steps_on_the_command_line_override_the_file() -> None:
    out = trace_json("learning-slowdown", "--steps", "300")
    quadratic = out["variants"][0]
    assert len(quadratic["cost_history"]) == 301
    assert quadratic["a_after"][0][0] == pytest.approx(slowdown_by_hand(False, 300), rel=1e-12)


# --- the steps -------------------------------------------------------------------------

def test_cost_history_has_k_plus_one_costs_starting_at_the_one_step_cost() -> None:
    one = trace_json("mlp-2-3-1")
    many = trace_json("mlp-2-3-1", "--steps", "7")
    assert "cost_history" not in one and "variants" not in one
    assert len(many["cost_history"]) == 8 and many["steps"] == 7
    assert many["cost_history"][0] == pytest.approx(one["cost"], rel=1e-15)
    assert many["cost_history"][6] == pytest.approx(many["cost"], rel=1e-15)  # step 7's pass


def test_two_steps_are_the_updates_done_by_hand_with_backprop() -> None:
    spec = load("mlp-2-3-1")
    net = spec.network()
    costs, weights = [], []
    for _ in range(2):
        grads, trace = net.backprop(spec.x, spec.y)
        costs.append(net.cost_value(spec.x, spec.y))
        weights.append([w.copy() for w in net.w])
        net.w = [w - spec.lr * g for w, g in zip(net.w, grads.w)]
        net.b = [b - spec.lr * g for b, g in zip(net.b, grads.b)]
    costs.append(net.cost_value(spec.x, spec.y))
    out = trace_json("mlp-2-3-1", "--steps", "2")
    assert out["cost_history"] == pytest.approx(costs, rel=1e-13)
    for l, layer in enumerate(out["layers"]):  # the tables: step 2's pass, w_new its update
        assert np.allclose(layer["w"], weights[1][l], rtol=1e-13, atol=0)
        assert np.allclose(layer["w_new"], net.w[l], rtol=1e-13, atol=0)
    assert np.allclose(out["a_after"], net.predict(spec.x), rtol=1e-13, atol=0)


def test_a_model_trace_takes_steps_on_its_input(tmp_path: Path) -> None:
    from fcnn_cli import api
    from fcnn_cli.nn import Network

    model = api.train("digits", out=tmp_path / "digits.h5", training__epochs=1).model
    x = api.load_config("digits").data.load().x_train[0]  # one picture in raw units
    one = model.trace(x)
    three = model.trace(x, steps=3)
    assert len(three.cost_history) == 4 and three.steps == 3
    assert three.cost_history[0] == pytest.approx(one.cost, rel=1e-12)
    # C_1: the network after the one-step trace's own update
    stepped = Network([layer.w_new for layer in one.layers], [layer.b_new for layer in one.layers],
                      model.network.activations, model.network.cost)
    assert three.cost_history[1] == pytest.approx(stepped.cost_value(one.x, one.y), rel=1e-9)
    assert any("3 plain gradient-descent steps" in line for line in three.header)


@pytest.mark.parametrize("steps", ["121", "122", "1000"])
def test_a_diverging_step_size_is_one_line_naming_the_step(steps: str, tmp_path: Path) -> None:
    # z = w + b and w, b ← w, b − 10z: z is multiplied by −19 a step; ½z² overflows at step 121
    linear = {**NEURON, "activation": "linear", "lr": 10}
    line = fails([written(tmp_path, linear), "--steps", steps])
    assert "the quadratic cost is no longer finite after 121 steps with η = 10: the weights " \
           "diverged; use a smaller η or fewer --steps" in line


def test_markdown_has_the_cost_at_chosen_steps() -> None:
    text = run("learning-slowdown", "--format", "markdown")
    assert "## The cost after each step (150 in all)" in text
    assert "| step k | cost: quadratic | cost: cross-entropy |" in text
    assert "| 0 | 0.4822 | 4.018 |" in text and "| 150 | 0.4356 | 0.02602 |" in text


@pytest.mark.parametrize("steps", ["0", "-3", "1.5", "abc", "100001", ""])
def test_a_bad_steps_value_is_one_line(steps: str) -> None:
    line = fails(["mlp-2-3-1", "--steps", steps])
    assert f"--steps {steps!r}: give a whole number of gradient-descent steps from 1 to " \
           "100,000" in line


@pytest.mark.parametrize("value", [0, "ten", 2.5, True])
def test_a_bad_steps_key_names_the_file_and_the_key(value: object, tmp_path: Path) -> None:
    path = written(tmp_path, {**NEURON, "steps": value})
    line = fails([path])
    assert f"{path}: steps must be a whole number from 1 to 100,000" in line


def test_steps_with_an_example_that_is_no_network_is_refused() -> None:
    assert "--steps goes with a network; softmax is a softmax example" in fails(
        ["softmax", "--steps", "3"])


# --- variants --------------------------------------------------------------------------

VARIANTS = [
    (NEURON, {"cost": ["quadratic", "cross-entropy"]}, ["cost: quadratic", "cost: cross-entropy"]),
    (NEURON, {"lr": [0.15, 1.5]}, ["η = 0.15", "η = 1.5"]),
    (TWO_THREE_ONE, {"activation": ["sigmoid", "tanh", "relu"]},
     ["activation: sigmoid", "activation: tanh", "activation: relu"]),
]


@pytest.mark.parametrize(("base", "vary", "labels"), VARIANTS)
def test_each_kind_of_variant_is_labelled_and_differs(base: dict, vary: dict, labels: list[str],
                                                      tmp_path: Path) -> None:
    out = trace_json(written(tmp_path, {**base, "vary": vary}), "--steps", "5")
    variants = out["variants"]
    assert [v["label"] for v in variants] == labels
    finals = [v["cost_history"][-1] for v in variants]
    assert len(set(finals)) == len(finals)  # each variant learned differently
    assert variants[0]["cost_history"] == out["cost_history"]  # the first is the trace shown


def test_a_varied_activation_leaves_a_layer_that_names_its_own(tmp_path: Path) -> None:
    out = trace_json(written(tmp_path, {**TWO_THREE_ONE, "vary": {"activation": ["relu", "tanh"]}}))
    assert [[layer["activation"] for layer in v["layers"]] for v in out["variants"]] == \
           [["relu", "sigmoid"], ["tanh", "sigmoid"]]


def test_varied_initial_weights_are_labelled_with_them(tmp_path: Path) -> None:
    data = {key: NEURON[key] for key in ("x", "y", "lr")}
    data["vary"] = {"layers": [[{"w": [[2.0]], "b": [2.0]}], [{"w": [[0.6]], "b": [0.9]}]]}
    out = trace_json(written(tmp_path, data), "--steps", "3")
    assert [v["label"] for v in out["variants"]] == ["weights: w¹ = 2, b¹ = 2",
                                                      "weights: w¹ = 0.6, b¹ = 0.9"]
    assert [v["layers"][0]["b"] for v in out["variants"]] != [[2.0], [2.0]]
    start = [v["cost_history"][0] for v in out["variants"]]
    assert start == pytest.approx([0.5 / (1 + math.exp(-4)) ** 2,
                                   0.5 / (1 + math.exp(-1.5)) ** 2], rel=1e-12)


def test_variants_are_columns_in_the_terminal(tmp_path: Path) -> None:
    text = run(written(tmp_path, {**NEURON, "vary": {"lr": [0.15, 1.5]}}), "--steps", "20")
    header = next(line for line in text.splitlines() if "η = 0.15" in line and "η = 1.5" in line)
    assert header.index("η = 0.15") < header.index("η = 1.5")
    assert "‖∂C/∂b¹‖" in text and "cost C after each step k = 0 … 20" in text


def test_compare_costs_is_still_the_shorthand_for_varying_the_cost() -> None:
    out = trace_json("cross-entropy-vs-quadratic")
    assert [v["label"] for v in out["variants"]] == ["cost: quadratic", "cost: cross-entropy"]
    assert "cost_history" not in out  # no steps: one step, as before


def test_a_variant_that_diverges_is_named(tmp_path: Path) -> None:
    data = {**NEURON, "activation": "linear", "vary": {"lr": [0.15, 10]}}
    line = fails([written(tmp_path, data), "--steps", "1000"])
    assert line.startswith("error: variant η = 10: the quadratic cost is no longer finite "
                           "after ")


@pytest.mark.parametrize(("vary", "message"), [
    ({"lr": [0.1, 0.2], "cost": ["quadratic", "cross-entropy"]},
     "vary names 2 things (lr, cost); vary one thing at a time"),
    ({"costs": ["quadratic", "cross-entropy"]},
     "vary: unknown key 'costs' (did you mean 'cost'?); it may vary one of activation, cost, "
     "lr, layers"),
    ({"lr": [0.1]}, "vary: lr must be a list of 2 to 8 values to compare, e.g. "
                    "vary: {lr: [0.15, 1.5]}"),
    ({"cost": ["quadratic", "cross-entropi"]},
     "unknown cost in vary: cost 'cross-entropi' (did you mean 'cross-entropy'?)"),
    ({"lr": [0.1, 0.1]}, "vary: lr lists 0.1 twice; give each value once"),
    ({"lr": [0.1, -1]}, "vary: lr entry 2 (η) must be ≥ 0, got -1.0"),
    ([{"lr": [0.1, 0.2]}], "vary must map one of activation, cost, lr, layers to a list"),
    ({"layers": [[{"w": [[1.0]]}], [{"w": [[2.0]]}]]},
     "give the weights once: either layers: or vary: {layers: [...]}"),
    ({"layers": [[{"w": [[1.0]]}], [{"w": [[1.0, 2.0]]}]]},
     "x is 1×1 (1 inputs per example) but w¹ is 1×2"),
])
def test_a_bad_vary_is_one_line_naming_the_key(vary: object, message: str,
                                               tmp_path: Path) -> None:
    data = {**NEURON, "vary": vary}
    if message.startswith("x is"):  # the varied weights alone, one of them too wide
        data.pop("layers")
    path = written(tmp_path, data)
    line = fails([path])
    assert line.startswith(f"error: {path}: ") and message in line


def test_vary_with_compare_costs_is_refused(tmp_path: Path) -> None:
    data = {**NEURON, "compare_costs": ["cross-entropy"], "vary": {"lr": [0.1, 0.2]}}
    assert "give vary or compare_costs, not both" in fails([written(tmp_path, data)])


def test_varying_an_activation_every_layer_fixes_is_refused(tmp_path: Path) -> None:
    layers = [{**layer, "activation": "sigmoid"} for layer in TWO_THREE_ONE["layers"]]
    data = {**TWO_THREE_ONE, "layers": layers, "vary": {"activation": ["relu", "tanh"]}}
    assert "vary: activation changes nothing: every layer names its own activation" in fails(
        [written(tmp_path, data)])


def test_a_varied_key_need_not_be_given_alone(tmp_path: Path) -> None:
    data = {key: value for key, value in NEURON.items() if key != "lr"}
    out = trace_json(written(tmp_path, {**data, "vary": {"lr": [0.5, 0.05]}}))
    assert out["lr"] == 0.5 and [v["lr"] for v in out["variants"]] == [0.5, 0.05]
