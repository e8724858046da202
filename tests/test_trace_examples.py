"""The built-in forward-trace examples print the lecture's numbers.

Every expected value is worked out here, by hand or with the small pure-Python
network below (math.exp and loops, no fcnn code), never read from fcnn's output.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from trace_cli import run, trace_json
from typer.testing import CliRunner

runner = CliRunner()


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def reference(xs: list[list[float]], ys: list[list[float]], ws: list[list[list[float]]],
              bs: list[list[float]], eta: float) -> list[dict]:
    """A sigmoid network with C = ½Σ(y − a)², one example at a time, the lecture's way."""
    per_example = []
    for x, y in zip(xs, ys):
        zs, acts = [], [x]
        for w, b in zip(ws, bs):
            z = [sum(w_jk * a_k for w_jk, a_k in zip(row, acts[-1])) + b_j
                 for row, b_j in zip(w, b)]
            zs.append(z)
            acts.append([sigmoid(v) for v in z])
        deltas = [None] * len(ws)
        deltas[-1] = [(a - t) * sigmoid(z) * (1 - sigmoid(z))
                      for a, t, z in zip(acts[-1], y, zs[-1])]
        for l in range(len(ws) - 2, -1, -1):
            w_next = ws[l + 1]
            deltas[l] = [sum(w_next[i][j] * deltas[l + 1][i] for i in range(len(w_next)))
                         * sigmoid(zs[l][j]) * (1 - sigmoid(zs[l][j]))
                         for j in range(len(zs[l]))]
        per_example.append((zs, acts, deltas))
    n = len(xs)
    layers = []
    for l, (w, b) in enumerate(zip(ws, bs)):
        grad_w = [[sum(d[l][j] * a[l][k] for _, a, d in per_example) / n
                   for k in range(len(w[0]))] for j in range(len(w))]
        grad_b = [sum(d[l][j] for _, _, d in per_example) / n for j in range(len(w))]
        layers.append({
            "z": [z[l] for z, _, _ in per_example], "a": [a[l + 1] for _, a, _ in per_example],
            "delta": [d[l] for _, _, d in per_example], "dC_dw": grad_w, "dC_db": grad_b,
            "w_new": [[w_jk - eta * g for w_jk, g in zip(row, g_row)]
                      for row, g_row in zip(w, grad_w)],
            "b_new": [b_j - eta * g for b_j, g in zip(b, grad_b)],
        })
    return layers


def assert_close(actual: object, expected: object, tol: float = 1e-12) -> None:
    if isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_close(a, e, tol)
    else:
        assert actual == pytest.approx(expected, rel=tol, abs=tol)


def assert_matches_reference(out: dict, layers: list[dict]) -> None:
    for got, want in zip(out["layers"], layers, strict=True):
        for key in ("z", "a", "delta", "dC_dw", "dC_db", "w_new", "b_new"):
            assert_close(got[key], want[key])


def test_list_names_every_example_with_a_description() -> None:
    out = run("--list")
    for name in ("softmax", "gate", "mlp-2-3-1", "architecture", "mini-batch",
                 "cross-entropy-vs-quadratic"):
        assert name in out
    listed = json.loads(run("--list", "--format", "json"))
    assert all(item["description"] for item in listed)


def test_softmax_example_gives_the_lecture_table() -> None:
    out = trace_json("softmax")
    assert out["x"] == [2, 1, -1]
    assert [round(v, 2) for v in out["exp"]] == [7.39, 2.72, 0.37]
    assert round(out["exp_total"], 2) == 10.48
    assert [round(v, 2) for v in out["softmax"]] == [0.71, 0.26, 0.04]
    assert round(out["softmax_total"], 2) == 1.00
    total = math.e ** 2 + math.e + math.e ** -1
    assert_close(out["softmax"], [math.e ** 2 / total, math.e / total, math.e ** -1 / total])


def test_softmax_table_prints_the_lectures_two_decimals_and_totals() -> None:
    out = run("softmax")
    for text in ("7.39", "2.72", "0.37", "10.48", "0.71", "0.26", "0.04", "1.00"):
        assert text in out


def test_gate_example_gives_forward_values_and_chained_gradients() -> None:
    out = trace_json("gate")
    assert out["inputs"] == {"x": -2, "y": 5, "z": -4}
    assert out["forward"] == {"q": 3, "f": -12}
    assert out["local"] == {"df_dq": -4, "df_dz": 3, "dq_dx": 1, "dq_dy": 1}
    assert out["chained"] == {"df_dx": -4, "df_dy": -4, "df_dz": 3}
    assert out["nudge"] == {"input": "x", "by": 1, "f_after": -16, "change": -4}


def test_gate_table_states_the_sensitivity_check() -> None:
    assert "x: -2 → -1 changes f by -4" in run("gate")


def test_mlp_2_3_1_states_the_assumed_x_y_and_b() -> None:
    out = trace_json("mlp-2-3-1")
    assert out["x"] == [[0.5, -1.0]] and out["y"] == [[0.0]]
    assert [layer["b"] for layer in out["layers"]] == [[0, 0, 0], [0]]
    assert [layer["w"] for layer in out["layers"]] == [[[1, 2], [3, 4], [5, 6]], [[7, 8, 9]]]
    assert out["architecture"] == [2, 3, 1] and out["lr"] == 0.01
    assert out["cost_name"] == "quadratic"
    assert [layer["activation"] for layer in out["layers"]] == ["sigmoid", "sigmoid"]
    text = run("mlp-2-3-1")
    assert "x = (0.5, −1)" in text and "y = 0" in text and "b = 0" in text


def test_mlp_2_3_1_forward_numbers_by_hand() -> None:
    out = trace_json("mlp-2-3-1")
    # z¹ = w¹x = (1·0.5 − 2, 3·0.5 − 4, 5·0.5 − 6)
    assert out["layers"][0]["z"] == [[-1.5, -2.5, -3.5]]
    a1 = [sigmoid(-1.5), sigmoid(-2.5), sigmoid(-3.5)]
    z2 = 7 * a1[0] + 8 * a1[1] + 9 * a1[2]
    assert_close(out["layers"][0]["a"], [a1])
    assert_close(out["layers"][1]["z"], [[z2]])
    assert out["layers"][1]["a"][0][0] == pytest.approx(0.8954, abs=5e-5)
    assert out["cost"] == pytest.approx(0.5 * sigmoid(z2) ** 2, rel=1e-12)


def test_mlp_2_3_1_backward_and_update_match_a_separate_computation() -> None:
    out = trace_json("mlp-2-3-1")
    layers = reference([[0.5, -1.0]], [[0.0]], [[[1, 2], [3, 4], [5, 6]], [[7, 8, 9]]],
                       [[0, 0, 0], [0]], 0.01)
    assert_matches_reference(out, layers)
    a2 = sigmoid(out["layers"][1]["z"][0][0])
    assert out["layers"][1]["delta"][0][0] == pytest.approx(a2 * a2 * (1 - a2), rel=1e-12)


def test_architecture_example_reads_2_4_1_2_from_the_shapes() -> None:
    out = trace_json("architecture")
    assert out["shapes"] == [[4, 2], [1, 4], [2, 1]]
    assert out["architecture"] == [2, 4, 1, 2]
    text = run("architecture")
    assert "2-4-1-2" in text and "one row per neuron of layer l" in text


def test_mini_batch_shows_each_examples_delta_and_the_mean_update() -> None:
    spec = {"x": [[0, 1], [1, 0], [1, 1]], "y": [[1], [1], [0]],
            "w": [[[0.5, -0.5], [0.3, 0.8]], [[1.0, -1.0]]], "b": [[0.1, -0.2], [0.2]]}
    out = trace_json("mini-batch")
    assert out["x"] == spec["x"] and out["y"] == spec["y"] and out["lr"] == 0.5
    assert [layer["w"] for layer in out["layers"]] == spec["w"]
    assert [layer["b"] for layer in out["layers"]] == spec["b"]
    layers = reference(spec["x"], spec["y"], spec["w"], spec["b"], 0.5)
    assert_matches_reference(out, layers)
    assert len(out["layers"][0]["delta"]) == 3          # one δ^{n,1} per example
    assert "η/N Σₙ ∂Cₙ/∂w¹" in run("mini-batch")


def test_cross_entropy_example_shows_the_saturated_quadratic_gradient() -> None:
    out = trace_json("cross-entropy-vs-quadratic")
    assert out["x"] == [[1.0]] and out["y"] == [[0.0]]
    assert out["layers"][0]["w"] == [[2.0]] and out["layers"][0]["b"] == [2.0]
    a = sigmoid(4.0)                                    # z = wx + b = 4
    assert out["cost_name"] == "quadratic"
    assert out["layers"][0]["dC_dw"][0][0] == pytest.approx(a * a * (1 - a), rel=1e-12)


def test_cross_entropy_example_compares_both_costs(tmp_path: Path) -> None:
    a = sigmoid(4.0)
    quadratic, cross_entropy = a * a * (1 - a), a       # (a − y)σ'(z) versus a − y
    text = run("cross-entropy-vs-quadratic")
    assert f"{quadratic:.4g}" in text and f"{cross_entropy:.4g}" in text
    assert cross_entropy / quadratic > 50
    # The same neuron as a plain trace file under cross-entropy.
    source = Path(__file__).parents[1] / "fcnn_cli" / "examples" / "cross-entropy-vs-quadratic.yaml"
    data = yaml.safe_load(source.read_text())
    for key in ("compare_costs", "description", "notes"):
        data.pop(key)
    data["cost"] = "cross-entropy"
    path = tmp_path / "ce.yaml"
    path.write_text(yaml.safe_dump(data))
    out = trace_json(str(path))
    assert out["layers"][0]["dC_dw"][0][0] == pytest.approx(cross_entropy, rel=1e-12)
    assert out["cost"] == pytest.approx(-math.log(1 - a), rel=1e-12)


@pytest.mark.parametrize("name", ["mlp-2-3-1", "mini-batch", "cross-entropy-vs-quadratic"])
def test_network_examples_end_with_a_passing_gradient_check(name: str) -> None:
    assert trace_json(name)["gradient_check"]["max_rel_error"] < 1e-7
    assert "gradient check" in run(name)


@pytest.mark.parametrize("name", ["softmax", "gate", "mlp-2-3-1", "architecture",
                                  "mini-batch", "cross-entropy-vs-quadratic"])
def test_every_example_renders_as_markdown_with_latex_symbols(name: str) -> None:
    out = run(name, "--format", "markdown")
    assert out.startswith("# ") and "|---|" in out and "$" in out


def test_markdown_uses_the_lectures_latex_symbols() -> None:
    out = run("mlp-2-3-1", "--format", "markdown")
    for symbol in ("$z^{1}_j$", r"$\delta^{2}_j$", r"\frac{\partial C}{\partial w^{2}",
                   r"$w^{1} \to w^{1} - \eta \frac{\partial C}{\partial w^{1}}$"):
        assert symbol in out


def test_table_heads_each_layer_with_the_lectures_symbols() -> None:
    out = run("mlp-2-3-1")
    for symbol in ("layer 1: sigmoid, 3 units", "z¹ = w¹a⁰ + b¹", "δ²", "∂C/∂w²",
                   "w¹ → w¹ − η∂C/∂w¹"):
        assert symbol in out
