"""A bad trace file exits 2 with one line that says what is wrong, where, and the shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fcnn_cli.cli import app

runner = CliRunner()

GOOD = """\
x: [[1.0, 2.0]]
y: [[1.0]]
activation: sigmoid
cost: quadratic
lr: 0.01
layers:
  - {w: [[1, 2], [3, 4], [5, 6]], b: [0, 0, 0]}
  - {w: [[7, 8, 9]], b: [0]}
"""


def fails(text: str, tmp_path: Path) -> str:
    """Run forward-trace on `text`; assert exit 2, one line on stderr, no traceback."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["forward-trace", str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and str(path) in lines[0]
    return lines[0]


def test_the_good_file_traces(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD)
    assert runner.invoke(app, ["forward-trace", str(path)]).exit_code == 0


def test_weights_that_do_not_chain_name_the_layer_and_both_shapes(tmp_path: Path) -> None:
    line = fails(GOOD.replace("[[7, 8, 9]]", "[[7, 8, 9, 10]]"), tmp_path)
    assert "layer 2" in line and "w² is 1×4" in line and "w¹ is 3×2" in line
    assert "3 neurons" in line


def test_ragged_rows_name_the_layer_and_the_row_lengths(tmp_path: Path) -> None:
    line = fails(GOOD.replace("[[1, 2], [3, 4], [5, 6]]", "[[1, 2], [3], [5, 6]]"), tmp_path)
    assert "layer 1" in line and "w¹" in line and "ragged" in line
    assert "row 2 has 1 number but row 1 has 2" in line


def test_an_unknown_activation_names_the_layer_and_suggests_one(tmp_path: Path) -> None:
    line = fails(GOOD.replace("b: [0]}", "b: [0], activation: sigmod}"), tmp_path)
    assert "layer 2" in line and "'sigmod'" in line and "did you mean 'sigmoid'" in line


def test_an_unknown_default_activation_is_an_error(tmp_path: Path) -> None:
    line = fails(GOOD.replace("activation: sigmoid", "activation: gelu"), tmp_path)
    assert "unknown activation 'gelu'" in line and "relu" in line


def test_an_unknown_cost_lists_the_known_ones(tmp_path: Path) -> None:
    line = fails(GOOD.replace("cost: quadratic", "cost: quadratc"), tmp_path)
    assert "unknown cost 'quadratc'" in line and "did you mean 'quadratic'" in line
    assert "cross-entropy" in line and "log-likelihood" in line


def test_x_wider_than_w1_has_columns_names_both_shapes(tmp_path: Path) -> None:
    line = fails(GOOD.replace("x: [[1.0, 2.0]]", "x: [[1.0, 2.0, 3.0]]"), tmp_path)
    assert "x is 1×3" in line and "w¹ is 3×2" in line and "2 inputs" in line


def test_y_wider_than_the_output_layer_names_both_shapes(tmp_path: Path) -> None:
    line = fails(GOOD.replace("y: [[1.0]]", "y: [[1.0, 0.0]]"), tmp_path)
    assert "y is 1×2" in line and "output layer 2 has 1 unit" in line and "w² is 1×3" in line


def test_b_shorter_than_w_has_rows_names_the_layer_and_shapes(tmp_path: Path) -> None:
    line = fails(GOOD.replace("b: [0, 0, 0]", "b: [0, 0]"), tmp_path)
    assert "layer 1" in line and "b¹ has 2 numbers" in line and "w¹ is 3×2 (3 neurons)" in line


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    line = fails(GOOD.replace("lr: 0.01", "lr: [0.01"), tmp_path)
    assert "malformed YAML" in line and "line " in line


def test_x_and_y_with_different_numbers_of_examples(tmp_path: Path) -> None:
    line = fails(GOOD.replace("y: [[1.0]]", "y: [[1.0], [0.0]]"), tmp_path)
    assert "x has 1 row but y has 2 rows" in line


def test_an_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    line = fails(GOOD.replace("lr: 0.01", "lrate: 0.01"), tmp_path)
    assert "unknown key 'lrate'" in line and "did you mean 'lr'" in line


def test_a_missing_key_is_named(tmp_path: Path) -> None:
    line = fails(GOOD.replace("lr: 0.01\n", ""), tmp_path)
    assert "missing key 'lr'" in line


def test_a_weight_that_is_not_a_number_is_located(tmp_path: Path) -> None:
    line = fails(GOOD.replace("[[7, 8, 9]]", "[[7, eight, 9]]"), tmp_path)
    assert "layer 2" in line and "row 1 column 2" in line and "'eight'" in line


def test_an_unknown_layer_key_names_the_layer(tmp_path: Path) -> None:
    line = fails(GOOD.replace("b: [0]}", "bias: [0]}"), tmp_path)
    assert "layer 2" in line and "unknown key 'bias'" in line


def test_a_negative_learning_rate_is_refused(tmp_path: Path) -> None:
    assert "lr" in fails(GOOD.replace("lr: 0.01", "lr: -0.1"), tmp_path)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    assert "expected a mapping" in fails("- 1\n- 2\n", tmp_path)


def test_an_empty_layer_list_is_refused(tmp_path: Path) -> None:
    text = GOOD.split("layers:")[0] + "layers: []\n"
    assert "layers must be a non-empty list" in fails(text, tmp_path)


def test_a_missing_trace_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["forward-trace", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2 and "not found" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args, message", [
    (["no-such-example"], "unknown example"),
    ([], "give an example name or a trace file"),
    (["mlp-2-3-1", "--format", "xml"], "--format 'xml'"),
    (["--input", "x.npy"], "--model MODEL and --input"),
    (["mlp-2-3-1", "--target", "3"], "--target and --lr go with --model"),
])
def test_bad_usage_exits_2_with_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["forward-trace", *args])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_failed_gradient_check_is_warned_about(tmp_path: Path) -> None:
    # w·x = 500: the sigmoid saturates at exactly 1, where the cross-entropy is clipped.
    path = tmp_path / "saturated.yaml"
    path.write_text("x: [[1.0, 2.0]]\ny: [[0.0]]\ncost: cross-entropy\nlr: 0.1\n"
                    "layers:\n  - {w: [[100, 200]], b: [0]}\n")
    result = runner.invoke(app, ["forward-trace", str(path)])
    assert result.exit_code == 0, result.output
    assert "warning: backprop and finite differences disagree" in result.output
