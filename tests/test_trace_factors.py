"""forward-trace shows every factor of the backprop equations: f′(z^l), ∇_a C for the output
layer, (w^{l+1})ᵀδ^{l+1} for hidden layers, PReLU's α and ∂C/∂α, and a per-layer summary.

Expected values are worked out here by hand (math.exp and loops, or a few NumPy lines
written from the lecture's formulas), never read from fcnn's own code.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from trace_cli import run, trace_json
from typer.testing import CliRunner

runner = CliRunner()


def prose(out: str) -> str:
    """The terminal output as one line of words: lines wrapped inside a panel joined again."""
    return " ".join(out.replace("│", " ").split())


def write(tmp_path: Path, spec: dict) -> str:
    path = tmp_path / "trace.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# --- mlp-2-3-1 by hand -------------------------------------------------------------------

W1 = [[1, 2], [3, 4], [5, 6]]
W2 = [7, 8, 9]
X = [0.5, -1.0]


def mlp_by_hand() -> dict:
    """The lecture's 2-3-1 sigmoid network on x = (0.5, −1), y = 0, b = 0, quadratic cost."""
    z1 = [sum(w * x for w, x in zip(row, X)) for row in W1]
    a1 = [sigmoid(z) for z in z1]
    z2 = sum(w * a for w, a in zip(W2, a1))
    a2 = sigmoid(z2)
    dC_da = a2 - 0.0                                   # ∇_a C = a − y for ½(y − a)²
    f2 = a2 * (1 - a2)
    delta2 = dC_da * f2
    wT_delta = [w * delta2 for w in W2]                # (w²)ᵀδ²: w² is 1×3
    f1 = [a * (1 - a) for a in a1]
    return {"dC_da": dC_da, "f2": f2, "delta2": delta2, "wT_delta": wT_delta, "f1": f1,
            "delta1": [g * f for g, f in zip(wT_delta, f1)]}


def test_mlp_output_layer_factors_match_hand_computation() -> None:
    out, hand = trace_json("mlp-2-3-1"), mlp_by_hand()
    output = out["layers"][1]
    assert output["dC_da"] == [[pytest.approx(hand["dC_da"], rel=1e-12)]]
    assert output["f_prime"] == [[pytest.approx(hand["f2"], rel=1e-12)]]
    assert output["delta"] == [[pytest.approx(hand["delta2"], rel=1e-12)]]
    assert output["delta_rule"] == "dC_da * f_prime" and "wT_delta" not in output


def test_mlp_hidden_layer_factors_match_hand_computation() -> None:
    out, hand = trace_json("mlp-2-3-1"), mlp_by_hand()
    hidden = out["layers"][0]
    assert hidden["wT_delta"][0] == pytest.approx(hand["wT_delta"], rel=1e-12)
    assert hidden["f_prime"][0] == pytest.approx(hand["f1"], rel=1e-12)
    assert hidden["delta"][0] == pytest.approx(hand["delta1"], rel=1e-12)
    assert hidden["delta_rule"] == "wT_delta * f_prime" and "dC_da" not in hidden


def test_delta_is_exactly_the_product_of_its_factors() -> None:
    for example in ("mlp-2-3-1", "mini-batch"):
        for layer in trace_json(example)["layers"]:
            factor = np.array(layer.get("dC_da", layer.get("wT_delta")))
            np.testing.assert_array_equal(factor * np.array(layer["f_prime"]),
                                          np.array(layer["delta"]))


def test_quadratic_cost_gradient_is_a_minus_y(tmp_path: Path) -> None:
    spec = {"x": [[1, -2], [0.5, 0.5]], "y": [[0.2, 1], [0, 0.7]], "lr": 0.1,
            "cost": "quadratic", "activation": "tanh",
            "layers": [{"w": [[0.3, -0.1], [0.2, 0.4]], "b": [0.1, 0]},
                       {"w": [[1, -1], [0.5, 2]], "b": [0, 0.2]}]}
    output = trace_json(write(tmp_path, spec))["layers"][-1]
    np.testing.assert_allclose(output["dC_da"], np.array(output["a"]) - np.array(spec["y"]),
                               rtol=0, atol=1e-15)
    np.testing.assert_allclose(output["f_prime"], 1 - np.array(output["a"]) ** 2, rtol=1e-12)


def test_json_factors_are_n_by_units_arrays() -> None:
    out = trace_json("mini-batch")
    n = len(out["x"])
    for layer, units in zip(out["layers"], out["architecture"][1:]):
        assert np.array(layer["f_prime"]).shape == (n, units)
    assert np.array(out["layers"][-1]["dC_da"]).shape == (n, out["architecture"][-1])
    for layer, units in zip(out["layers"][:-1], out["architecture"][1:]):
        assert np.array(layer["wT_delta"]).shape == (n, units)


# --- softmax with log-likelihood --------------------------------------------------------

SOFTMAX_NET = {
    "x": [[0.5, -1], [1, 2]], "y": [[0, 1, 0], [1, 0, 0]], "lr": 0.5, "cost": "log-likelihood",
    "layers": [{"w": [[0.1, 0.2], [-0.3, 0.4]], "b": [0.1, -0.1], "activation": "tanh"},
               {"w": [[1, -1], [0.5, 0.5], [-1, 2]], "b": [0, 0.1, 0], "activation": "softmax"}],
}


def softmax_by_hand() -> dict:
    x, y = np.array(SOFTMAX_NET["x"], float), np.array(SOFTMAX_NET["y"], float)
    (w1, b1), (w2, b2) = [(np.array(layer["w"], float), np.array(layer["b"], float))
                          for layer in SOFTMAX_NET["layers"]]
    a1 = np.tanh(x @ w1.T + b1)
    e = np.exp(a1 @ w2.T + b2)
    a2 = e / e.sum(axis=1, keepdims=True)
    delta2 = a2 - y                                    # softmax + log-likelihood
    wT_delta = delta2 @ w2
    return {"a2": a2, "dC_da": -y / a2, "f2": a2 * (1 - a2), "delta2": delta2,
            "wT_delta": wT_delta, "f1": 1 - a1 ** 2, "delta1": wT_delta * (1 - a1 ** 2)}


def test_softmax_log_likelihood_factors_match_hand_computation(tmp_path: Path) -> None:
    out, hand = trace_json(write(tmp_path, SOFTMAX_NET)), softmax_by_hand()
    hidden, output = out["layers"]
    np.testing.assert_allclose(output["dC_da"], hand["dC_da"], rtol=1e-12)
    np.testing.assert_allclose(output["f_prime"], hand["f2"], rtol=1e-12)   # J's diagonal
    np.testing.assert_allclose(output["delta"], hand["delta2"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(hidden["wT_delta"], hand["wT_delta"], rtol=1e-12)
    np.testing.assert_allclose(hidden["f_prime"], hand["f1"], rtol=1e-12)
    np.testing.assert_allclose(hidden["delta"], hand["delta1"], rtol=1e-12)
    assert output["delta_rule"] == "a - y"


def test_softmax_log_likelihood_states_the_a_minus_y_simplification(tmp_path: Path) -> None:
    path = write(tmp_path, SOFTMAX_NET)
    table = prose(run(path))        # the title may wrap inside the panel
    assert "δ² = (J²)ᵀ∇ₐC = a² − y" in table
    assert "gives δ = Jᵀ∇ₐC = a − y exactly" in table
    markdown = run(path, "--format", "markdown")
    assert r"$\delta^{2} = (J^{2})^T \nabla_a C = a^{2} - y$" in markdown


def test_sigmoid_cross_entropy_delta_is_a_minus_y_and_the_product(tmp_path: Path) -> None:
    spec = {"x": [[1]], "y": [[0]], "lr": 0.15, "cost": "cross-entropy",
            "layers": [{"w": [[2]], "b": [2]}]}
    path = write(tmp_path, spec)
    (layer,) = trace_json(path)["layers"]
    a = sigmoid(4.0)
    assert layer["delta_rule"] == "a - y" and layer["delta"] == [[pytest.approx(a, rel=1e-12)]]
    assert layer["dC_da"] == [[pytest.approx(a / (a * (1 - a)), rel=1e-9)]]
    assert layer["dC_da"][0][0] * layer["f_prime"][0][0] == pytest.approx(a, rel=1e-9)
    table = prose(run(path))
    assert "δ¹ = ∇ₐC ⊙ f′(z¹) = a¹ − y" in table
    assert "∇ₐC = (a − y)/(a(1 − a)) and f′(z) = a(1 − a) cancel" in table


# --- the terminal and markdown show the factor columns -----------------------------------

def test_terminal_tables_have_a_column_per_factor() -> None:
    out = run("mlp-2-3-1")
    assert "δ¹ = (w²)ᵀδ² ⊙ f′(z¹)" in out and "δ² = ∇ₐC ⊙ f′(z²)" in out
    hand = mlp_by_hand()
    rows = [line for line in out.splitlines() if line.count("│") >= 7]
    hidden = next(line for line in rows if "-1.5" in line)   # unit 1 of layer 1: z¹ = −1.5
    cells = [c.strip() for c in hidden.split("│") if c.strip()]
    assert [float(c) for c in cells[3:6]] == [pytest.approx(v, rel=1e-3) for v in
                                              (hand["wT_delta"][0], hand["f1"][0],
                                               hand["delta1"][0])]


def test_markdown_has_a_column_per_factor() -> None:
    out = run("mlp-2-3-1", "--format", "markdown")
    assert r"Factors: $\delta^{1} = (w^{2})^T \delta^{2} \odot f'(z^{1})$" in out
    assert r"| $j$ | $\nabla_a C$ | $f'(z^{2})$ | $\delta^{2}_j$ |" in out
    hand = mlp_by_hand()
    row = next(line for line in out.splitlines() if line.startswith("| 1 | 0.5868"))
    assert [float(c) for c in row.strip("|").split("|")[1:4]] == [
        pytest.approx(v, rel=1e-3) for v in (hand["wT_delta"][0], hand["f1"][0],
                                             hand["delta1"][0])]


# --- PReLU: α, ∂C/∂α and the new α --------------------------------------------------------

PRELU_NET = {"x": [[0.5, -1], [-1, 0.3]], "y": [[1], [0]], "lr": 0.5, "cost": "quadratic",
             "layers": [{"w": [[0.1, 0.2], [-0.3, 0.4]], "b": [0.1, -0.1],
                         "activation": "prelu"},
                        {"w": [[1, -1]], "b": [0], "activation": "sigmoid"}]}


def test_prelu_slope_gradient_and_step_match_hand_computation(tmp_path: Path) -> None:
    out = trace_json(write(tmp_path, PRELU_NET))
    x, y = np.array(PRELU_NET["x"], float), np.array(PRELU_NET["y"], float)
    w1, b1 = np.array([[0.1, 0.2], [-0.3, 0.4]]), np.array([0.1, -0.1])
    w2 = np.array([[1.0, -1.0]])
    alpha = np.full(2, 0.01)                                # a trace file's PReLU starts at 0.01
    z1 = x @ w1.T + b1
    a1 = np.where(z1 > 0, z1, alpha * z1)
    a2 = 1 / (1 + np.exp(-(a1 @ w2.T)))
    delta2 = (a2 - y) * a2 * (1 - a2)
    dC_da1 = delta2 @ w2                                    # ∂C/∂a¹ = (w²)ᵀδ²
    dC_dalpha = (dC_da1 * np.minimum(z1, 0)).mean(axis=0)  # a = αz below 0: ∂a/∂α = z
    hidden = out["layers"][0]
    np.testing.assert_allclose(hidden["alpha"], alpha)
    np.testing.assert_allclose(hidden["dC_dalpha"], dC_dalpha, rtol=1e-12)
    np.testing.assert_allclose(hidden["alpha_new"], alpha - 0.5 * dC_dalpha, rtol=1e-12)
    np.testing.assert_allclose(hidden["f_prime"], np.where(z1 > 0, 1, alpha))
    assert "alpha" not in out["layers"][1]


def test_prelu_slopes_are_shown_in_the_table_and_markdown(tmp_path: Path) -> None:
    path = write(tmp_path, PRELU_NET)
    table = run(path)
    assert "PReLU slopes α¹" in table
    assert "┃ j ┃" in table and "∂C/∂α¹" in table and "new α¹" in table
    markdown = run(path, "--format", "markdown")
    assert "| j | α¹ | ∂C/∂α¹ | new α¹ |" in markdown


# --- the per-layer summary --------------------------------------------------------------

def test_summary_closes_the_trace_with_mean_delta_and_bias_gradient_norm() -> None:
    out, hand = trace_json("mlp-2-3-1"), mlp_by_hand()
    first, second = out["layer_summary"]
    assert first["mean_abs_delta"] == pytest.approx(np.mean(np.abs(hand["delta1"])), rel=1e-12)
    assert first["dC_db_norm"] == pytest.approx(np.linalg.norm(hand["delta1"]), rel=1e-12)
    assert second["mean_abs_delta"] == pytest.approx(hand["delta2"], rel=1e-12)
    table = run("mlp-2-3-1")
    assert "per-layer summary" in table and "sigmoid 0.025, tanh 0.1" in table
    markdown = run("mlp-2-3-1", "--format", "markdown")
    assert "## Per-layer summary" in markdown and "| 1 | sigmoid | 0.052 | 0.1016 |" in markdown


def test_summary_counts_a_saturated_sigmoid(tmp_path: Path) -> None:
    # σ′(4) ≈ 0.0177 < 0.025 (10 % of σ′'s maximum): saturated.
    spec = {"x": [[1]], "y": [[0]], "lr": 0.15, "cost": "quadratic",
            "layers": [{"w": [[2]], "b": [2]}]}
    (summary,) = trace_json(write(tmp_path, spec))["layer_summary"]
    assert summary["saturated"] == 1 and summary["dead"] is None
    assert summary["saturated_if_f_prime_below"] == pytest.approx(0.025)


def test_summary_counts_a_dead_relu_and_says_so(tmp_path: Path) -> None:
    spec = {"x": [[1, 1], [2, 0.5]], "y": [[0], [1]], "lr": 0.1,
            "layers": [{"w": [[-1, -1], [1, 1]], "b": [0, 0], "activation": "relu"},
                       {"w": [[1, 1]], "b": [0], "activation": "sigmoid"}]}
    path = write(tmp_path, spec)
    hidden, output = trace_json(path)["layer_summary"]
    assert hidden["dead"] == 1 and hidden["saturated"] is None
    assert output["dead"] is None
    row = next(line for line in run(path).splitlines() if "relu" in line and "of 2" in line)
    assert "1 of 2" in row


def test_softmax_with_quadratic_cost_forms_delta_through_the_jacobian(tmp_path: Path) -> None:
    spec = {"x": [[1, -1]], "y": [[0, 1]], "lr": 0.1, "cost": "quadratic",
            "layers": [{"w": [[0.5, 1], [-1, 0.25]], "b": [0, 0.5], "activation": "softmax"}]}
    path = write(tmp_path, spec)
    (layer,) = trace_json(path)["layers"]
    a = np.array(layer["a"][0])
    grad = a - np.array([0.0, 1.0])
    jacobian = np.diag(a) - np.outer(a, a)
    assert layer["delta_rule"] == "J^T dC_da"
    np.testing.assert_allclose(layer["delta"][0], jacobian.T @ grad, rtol=1e-12)
    np.testing.assert_allclose(layer["f_prime"][0], np.diag(jacobian), rtol=1e-12)
    assert "softmax couples its outputs" in prose(run(path))
