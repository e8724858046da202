"""`fcnn forward-trace FILE --format json` on random trace files: DESIGN §5 exactly,
numbers equal to the NumPy core's and to central finite differences of the cost.

The finite differences use their own forward pass and costs, written here from the
formulas in DESIGN §5, so a shared mistake in fcnn's core cannot hide.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.nn import Network, make_activation, make_cost

runner = CliRunner()

TOP_KEYS = {"architecture", "x", "y", "cost_name", "cost", "lr", "layers", "gradient_check"}
LAYER_KEYS = {"l", "activation", "w", "b", "z", "a", "delta", "dC_dw", "dC_db", "w_new",
              "b_new"}
# Keys added since DESIGN §5 (additive: every design key keeps its meaning).
ADDED_TOP_KEYS = {"layer_summary", "cost_history", "variants"}
ADDED_LAYER_KEYS = {"f_prime", "dC_da", "wT_delta", "delta_rule", "alpha", "dC_dalpha",
                    "alpha_new"}
HIDDEN = ["sigmoid", "tanh", "linear", "relu", "leaky-relu", "prelu", "swish"]


def f(name: str, z: np.ndarray) -> np.ndarray:
    if name == "sigmoid":
        return 1 / (1 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name in ("leaky-relu", "prelu"):           # slope 0.01 for both in a trace file
        return np.where(z > 0, z, 0.01 * z)
    if name == "swish":
        return z / (1 + np.exp(-z))
    e = np.exp(z - z.max(axis=1, keepdims=True))  # softmax
    return e / e.sum(axis=1, keepdims=True)


def mean_cost(cost: str, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> float:
    """The mean over examples of the per-example cost; the log costs are written in terms
    of z (log σ(z) = −log(1 + e^−z), log softmax = z − log Σe^z), which stays accurate
    where 1 − a rounds away and finite differences would drown in that rounding."""
    if cost == "quadratic":
        per = 0.5 * ((y - a) ** 2).sum(axis=1)
    elif cost == "cross-entropy":            # sigmoid outputs in these tests
        per = (y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)).sum(axis=1)
    else:                                    # softmax outputs
        log_a = z - np.logaddexp.reduce(z, axis=1, keepdims=True)
        per = -(y * log_a).sum(axis=1)
    return float(per.mean())


def cost_of(spec: dict, ws: list[np.ndarray], bs: list[np.ndarray]) -> float:
    a = np.array(spec["x"], dtype=float)
    for layer, w, b in zip(spec["layers"], ws, bs):
        z = a @ w.T + b
        a = f(layer["activation"], z)
    return mean_cost(spec["cost"], z, a, np.array(spec["y"], dtype=float))


def finite_differences(spec: dict, eps: float = 1e-6) -> tuple[list, list]:
    ws = [np.array(layer["w"], dtype=float) for layer in spec["layers"]]
    bs = [np.array(layer["b"], dtype=float) for layer in spec["layers"]]
    grads = []
    for p in [*ws, *bs]:
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            saved = p[i]
            p[i] = saved + eps
            plus = cost_of(spec, ws, bs)
            p[i] = saved - eps
            minus = cost_of(spec, ws, bs)
            p[i] = saved
            g[i] = (plus - minus) / (2 * eps)
        grads.append(g)
    return grads[:len(ws)], grads[len(ws):]


def random_spec(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n, depth = int(rng.integers(1, 4)), 1 + seed % 3
    sizes = [int(s) for s in rng.integers(1, 5, size=depth + 1)]
    cost = ["quadratic", "cross-entropy", "log-likelihood"][seed % 3]
    if cost == "log-likelihood":
        sizes[-1] = max(sizes[-1], 2)
    acts = [HIDDEN[(seed + l) % len(HIDDEN)] for l in range(depth)]   # every one, over the seeds
    acts[-1] = {"quadratic": acts[-1], "cross-entropy": "sigmoid",
                "log-likelihood": "softmax"}[cost]
    if cost == "log-likelihood":
        y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=n)]
    else:
        y = rng.uniform(0, 1, size=(n, sizes[-1])).round(3)
    return {
        "x": rng.normal(size=(n, sizes[0])).round(4).tolist(),
        "y": y.tolist(),
        "cost": cost,
        "lr": round(float(rng.uniform(0.01, 1.0)), 3),
        "layers": [{"w": rng.normal(size=(n_out, n_in)).round(4).tolist(),
                    "b": rng.normal(size=n_out).round(4).tolist(), "activation": act}
                   for n_in, n_out, act in zip(sizes[:-1], sizes[1:], acts)],
    }


def run_json(spec: dict, tmp_path: Path) -> dict:
    path = tmp_path / "trace.yaml"
    path.write_text(yaml.safe_dump(spec))
    result = runner.invoke(app, ["forward-trace", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


SEEDS = range(9)


@pytest.mark.parametrize("seed", SEEDS)
def test_json_has_the_design_keys_and_only_additive_ones(seed: int, tmp_path: Path) -> None:
    spec = random_spec(seed)
    out = run_json(spec, tmp_path)
    assert TOP_KEYS <= set(out) <= TOP_KEYS | ADDED_TOP_KEYS
    assert set(out["gradient_check"]) == {"max_rel_error"}
    assert all(LAYER_KEYS <= set(layer) <= LAYER_KEYS | ADDED_LAYER_KEYS
               for layer in out["layers"])
    assert [layer["l"] for layer in out["layers"]] == list(range(1, len(spec["layers"]) + 1))
    assert out["x"] == spec["x"] and out["y"] == spec["y"]
    assert out["cost_name"] == spec["cost"] and out["lr"] == spec["lr"]
    assert out["architecture"] == [len(spec["x"][0])] + [len(layer["w"])
                                                         for layer in spec["layers"]]


@pytest.mark.parametrize("seed", SEEDS)
def test_json_gradients_match_finite_differences(seed: int, tmp_path: Path) -> None:
    spec = random_spec(seed)
    out = run_json(spec, tmp_path)
    grad_w, grad_b = finite_differences(spec)
    for layer, gw, gb in zip(out["layers"], grad_w, grad_b):
        np.testing.assert_allclose(layer["dC_dw"], gw, rtol=1e-5, atol=1e-8)
        np.testing.assert_allclose(layer["dC_db"], gb, rtol=1e-5, atol=1e-8)
    ws = [np.array(layer["w"], dtype=float) for layer in spec["layers"]]
    bs = [np.array(layer["b"], dtype=float) for layer in spec["layers"]]
    assert out["cost"] == pytest.approx(cost_of(spec, ws, bs), rel=1e-9)
    # fcnn's own check differences C(a), which rounds where an output saturates near 1
    # (seed 4 has 1 − a ≈ 1.6e-7), so it is looser than the comparison above.
    assert out["gradient_check"]["max_rel_error"] < 1e-5


@pytest.mark.parametrize("seed", SEEDS)
def test_json_equals_the_numpy_core(seed: int, tmp_path: Path) -> None:
    spec = random_spec(seed)
    out = run_json(spec, tmp_path)
    layers = spec["layers"]
    net = Network([np.array(layer["w"], dtype=np.float64) for layer in layers],
                  [np.array(layer["b"], dtype=np.float64) for layer in layers],
                  [make_activation(layer["activation"], len(layer["w"]), np.float64)
                   for layer in layers], make_cost(spec["cost"]))
    x, y = np.array(spec["x"], dtype=np.float64), np.array(spec["y"], dtype=np.float64)
    grads, trace = net.backprop(x, y)
    for l, got in enumerate(out["layers"]):
        np.testing.assert_allclose(got["z"], trace.zs[l], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(got["a"], trace.activations[l + 1], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(got["delta"], trace.deltas[l], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(got["dC_dw"], grads.w[l], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(got["dC_db"], grads.b[l], rtol=1e-13, atol=1e-15)
        lr = spec["lr"]
        np.testing.assert_allclose(got["w_new"], net.w[l] - lr * grads.w[l], rtol=1e-13)
        np.testing.assert_allclose(got["b_new"], net.b[l] - lr * grads.b[l], rtol=1e-13,
                                   atol=1e-15)
    assert out["cost"] == pytest.approx(net.cost_value(x, y), rel=1e-13)


def test_delta_is_each_examples_own_and_the_gradient_their_mean(tmp_path: Path) -> None:
    spec = random_spec(4)
    spec["x"] = spec["x"] * 2 if len(spec["x"]) == 1 else spec["x"]
    spec["y"] = spec["y"] * 2 if len(spec["y"]) == 1 else spec["y"]
    out = run_json(spec, tmp_path)
    first = run_json({**spec, "x": spec["x"][:1], "y": spec["y"][:1]}, tmp_path)
    for batch, single in zip(out["layers"], first["layers"]):
        np.testing.assert_allclose(batch["delta"][0], single["delta"][0], rtol=1e-13)
        delta = np.array(batch["delta"])
        a_prev = np.array(spec["x"]) if batch["l"] == 1 else np.array(
            out["layers"][batch["l"] - 2]["a"])
        np.testing.assert_allclose(batch["dC_dw"], delta.T @ a_prev / len(delta), rtol=1e-12)
