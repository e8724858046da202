"""What misled in forward-trace, fixed: a one-sigmoid binary classifier's prediction and
target, the gradient check at a ReLU kink, one rounding rule for a number and its update,
the weights' index letters, every weight listed, and every trace-file key documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.trace.formatting import fmt_pair

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["forward-trace", *args])
    return result.exit_code, result.stdout, result.stderr


def run(*args: str) -> str:
    code, out, err = invoke(*args)
    assert code == 0, out + err
    return out


def prose(out: str) -> str:
    """The terminal output as one line of words: lines wrapped inside a panel joined again."""
    return " ".join(out.replace("│", " ").split())


def write(tmp_path: Path, spec: dict, name: str = "trace.yaml") -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(spec, allow_unicode=True))
    return str(path)


# --- a model with one sigmoid output --------------------------------------------------------

def binary_model(folder: Path, bias: float) -> Path:
    """A 2-2-1 tanh/sigmoid classifier of classes "0" and "1"; its output's bias decides
    which side of 0.5 the input (0, 1) lands on."""
    from fcnn_cli.data.split import Normalizer
    from fcnn_cli.nn import Network
    from fcnn_cli.store import Model, save_model

    net = Network.create([2, 2, 1], ["tanh", "sigmoid"], "cross-entropy", "glorot",
                         np.random.default_rng(0), dtype=np.float32)
    net.w[1][:] = 0.5
    net.b[1][:] = bias
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    model = Model(net, Normalizer.fit("none", x, None), (2,), ["0", "1"], None,
                  "training:\n  optimizer: {name: sgd, lr: 0.5}\n")
    path = folder / f"binary{bias:+g}.h5"
    save_model(path, model)
    return path


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("binary")
    np.save(folder / "x01.npy", np.array([[0.0, 1.0]]))
    return {"high": binary_model(folder, 5.0), "low": binary_model(folder, -5.0),
            "input": folder / "x01.npy"}


@pytest.mark.parametrize("which, label", [("high", "1"), ("low", "0")])
def test_a_single_sigmoid_output_predicts_what_predict_says(binary: dict, which: str,
                                                            label: str) -> None:
    from fcnn_cli.store import load_model

    model = load_model(binary[which])
    assert model.predict(np.array([[0.0, 1.0]]))[0] == label      # predict's own answer
    out = run("--model", str(binary[which]), "--input", str(binary["input"]))
    assert f"prediction: '{label}' (a = " in out
    assert "the one sigmoid output a is the probability of '1'" in out


@pytest.mark.parametrize("target, y", [("1", 1.0), ("0", 0.0)])
def test_a_single_sigmoid_output_takes_target_0_or_1(binary: dict, target: str, y: float
                                                     ) -> None:
    code, out, err = invoke("--model", str(binary["high"]), "--input", str(binary["input"]),
                            "--target", target, "--format", "json")
    assert code == 0, out + err
    trace = json.loads(out)
    assert trace["y"] == [[y]]
    (a,), = trace["layers"][-1]["a"]
    assert trace["layers"][-1]["delta"] == [[pytest.approx(a - y)]]   # sigmoid + cross-entropy


def test_a_single_sigmoid_output_says_the_scalar_target(binary: dict) -> None:
    out = run("--model", str(binary["high"]), "--input", str(binary["input"]), "--target", "0")
    assert "target y: '0' (y = 0)" in out and "one-hot" not in out


def test_a_single_sigmoid_output_refuses_a_third_class(binary: dict) -> None:
    code, out, err = invoke("--model", str(binary["high"]), "--input", str(binary["input"]),
                            "--target", "2")
    assert code == 2 and "--target '2' is not one of the model's classes (0, 1)" in err
    assert "internal error" not in err + out


# --- the gradient check at a ReLU kink ----------------------------------------------------

KINK = {"x": [[1, 2]], "y": [[1]], "lr": 0.1,
        "layers": [{"w": [[1, -0.5], [0.5, 0.5]], "b": [0, 0], "activation": "relu"},
                   {"w": [[1, 1]], "b": [0], "activation": "sigmoid"}]}


def test_gradient_check_at_a_relu_kink_blames_the_kink(tmp_path: Path) -> None:
    code, out, err = invoke(write(tmp_path, KINK))               # z¹₁ = 1 − 1 = 0 exactly
    assert code == 0
    message = " ".join(err.split())
    assert "unit 1 of layer 1 (relu) has z = 0, at the kink of relu" in message
    assert "backprop uses f′(0) = 0 by convention" in message
    assert "finite differences straddle the kink" in message
    assert "saturated" not in message


def test_gradient_check_at_a_kink_in_markdown_too(tmp_path: Path) -> None:
    out = run(write(tmp_path, KINK), "--format", "markdown")
    assert "**Warning:**" in out and "at the kink of relu" in out


def test_no_kink_warning_when_z_is_off_the_kink(tmp_path: Path) -> None:
    spec = {**KINK, "layers": [{**KINK["layers"][0], "b": [0.1, 0]}, KINK["layers"][1]]}
    code, _, err = invoke(write(tmp_path, spec))
    assert code == 0 and "kink" not in err and "disagree" not in err


# --- one rounding rule for a number and its update ----------------------------------------

def decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


@pytest.mark.parametrize("old, new, expected", [
    (2, 2.000875, ("2.0000", "2.0009")),       # was 2 → 2.001
    (4, 4.0005, ("4.0000", "4.0005")),         # beside it: the same rule, the same digits
    (0.5, 0.3, ("0.5", "0.3")),                # zeros both end in are dropped from both
    (-12, -12.0004, ("-12.0000", "-12.0004")),  # was −12 → −12
    (0.15, 0.1497, ("0.1500", "0.1497")),
])
def test_a_number_and_its_update_share_one_rule(old: float, new: float,
                                                expected: tuple[str, str]) -> None:
    assert fmt_pair(old, new) == expected


def test_a_tiny_update_prints_both_numbers_to_the_same_digits() -> None:
    old, new = fmt_pair(-0.2795410156, -0.2795410156 + 3e-11)     # was −0.2795 → −0.2795410156
    assert decimals(old) == decimals(new) and old != new
    assert float(old) == pytest.approx(-0.2795410156, abs=1e-11)


def test_rounding_rule_holds_for_random_pairs() -> None:
    rng = np.random.default_rng(3)
    for _ in range(2000):
        old = float(rng.normal() * 10.0 ** rng.integers(-3, 4))
        new = old - float(rng.normal() * 10.0 ** rng.integers(-9, 1))
        a, b = fmt_pair(old, new)
        assert "e" in a or decimals(a) == decimals(b), (old, new, a, b)
        if abs(new - old) > 1e-10 * max(abs(old), abs(new)):   # within 12 digits: it shows
            assert a != b, (old, new)
        step = 10.0 ** -decimals(b)
        assert abs(float(a) - old) <= step / 2 * 1.0001 and abs(float(b) - new) <= step / 2 * 1.0001


def test_the_weights_table_and_the_update_table_use_the_same_digits() -> None:
    out = run("mlp-2-3-1")
    weights = out.split("weights w¹")[1].split("z¹ = ")[0]
    update = out.split("update, η = 0.01: w¹")[1].split("╰")[0]
    assert "│ 1 │ 1.0000 │ 2.0000 │" in weights    # w¹₁₁ = 1 → 0.99956, w¹₁₂ = 2 → 2.000875
    assert "│ 1 │ 0.9996 │ 2.0009 │" in update


def test_the_gate_nudge_shows_its_small_change() -> None:
    spec = {"kind": "gate", "x": -2, "y": 5, "z": -4, "nudge": {"x": 0.0001}}
    out = run(write_gate(spec))
    assert "x: -2.0000 → -1.9999" in out and "(f: -12.0000 → -12.0004)" in out


def write_gate(spec: dict) -> str:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    return write(folder, spec, "gate.yaml")


# --- index letters, and every weight listed ----------------------------------------------

def test_the_weight_tables_state_their_index_letters() -> None:
    out = prose(run("mlp-2-3-1"))
    assert "weights w¹[j,k] = w¹ⱼₖ (j: neuron of layer 1, k: input xₖ)" in out
    assert "weights w²[j,k] = w²ⱼₖ (j: neuron of layer 2, k: neuron of layer 1)" in out
    assert ("where the lecture writes the output layer's weights w²ₖⱼ (k: output neuron), "
            "its k is this j and its j this k") in out
    markdown = run("mlp-2-3-1", "--format", "markdown")
    assert "$w^{1}_{jk}$ connects input $x_k$ to neuron $j$ of layer 1" in markdown
    assert "$w^{2}_{jk}$ connects neuron $k$ of layer 1 to neuron $j$ of layer 2" in markdown
    assert "the lecture's output-layer $w^{L}_{kj}$ names the output neuron $k$" in markdown


FOURTEEN = {"x": [[1, 0.5]], "y": [[0, 1]], "lr": 0.001,
            "layers": [{"w": [[1, 2], [3, 4], [5, 6], [7, 8]]},
                       {"w": [[9, 10, 11, 12]]},
                       {"w": [[13], [14]]}]}


def test_every_one_of_fourteen_weights_is_listed(tmp_path: Path) -> None:
    path = write(tmp_path, FOURTEEN)
    out = run(path)
    found = []
    for table in (part.split(" = f(z")[0] for part in out.split("weights w")[1:]):
        for line in table.splitlines():
            cells = [c.strip() for c in line.split("│") if c.strip()]
            if cells and re.fullmatch(r"\d+", cells[0]):       # a row: j, w[j, 1..], b[j]
                found += [float(c) for c in cells[1:-1]]
    assert sorted(found) == [float(v) for v in range(1, 15)]
    markdown = run(path, "--format", "markdown")
    values = []
    for section in markdown.split("Forward: ")[1:]:
        rows = [line for line in section.split("Backward")[0].splitlines()
                if re.match(r"^\| \d", line)]
        header = section.split("\n\n")[1].splitlines()[0]
        weights = header.count("$w^{")
        values += [float(cell) for row in rows for cell in row.strip("|").split("|")[1:1 + weights]]
    assert sorted(values) == [float(v) for v in range(1, 15)]


# --- every trace-file key documented --------------------------------------------------------

def test_every_trace_file_key_is_documented_with_an_example() -> None:
    from fcnn_cli.trace import examples

    doc = examples.__doc__ or ""
    keys = {*examples._TRACE_REQUIRED, *examples._TRACE_OPTIONAL, "kind", "w", "b"}
    for required, optional in examples._KIND_KEYS.values():
        keys |= {*required, *optional}
    for key in keys:
        assert re.search(rf"(^|[\s{{,]){re.escape(key)}:(\s|$)", doc, re.MULTILINE), key


def test_the_documented_network_keys_parse_together(tmp_path: Path) -> None:
    spec = {"x": [[0.5, -1]], "y": [[0]], "lr": 0.01, "activation": "sigmoid",
            "cost": "quadratic", "description": "2-3-1", "notes": "Assumed: …",
            "compare_costs": ["cross-entropy"],
            "layers": [{"w": [[1, 2], [3, 4]], "b": [0, 0]},
                       {"w": [[5, 6]], "b": [0], "activation": "sigmoid"}]}
    out = run(write(tmp_path, spec))
    assert "2-3-1" in out and "Assumed: …" in out
