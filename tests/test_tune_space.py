"""The search space file of `fcnn tune`: every key and value checked against the config
schema before any training, one clear line for each kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from fcnn_cli.config import raw_config
from fcnn_cli.errors import FcnnError
from fcnn_cli.tuning.space import Param, load_space

DIGITS = raw_config("digits")[0]


def _space(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(FcnnError) as caught:
        load_space(_space(tmp_path, text), DIGITS)
    message = caught.value.message
    assert "\n" not in message and message.startswith(str(tmp_path / "space.yaml"))
    return message


def test_whole_number_bounds_make_an_integer_range(tmp_path: Path) -> None:
    space = load_space(_space(tmp_path, "model.layers[0].units: {low: 16, high: 128, step: 16}"),
                       DIGITS)
    assert space.params == (Param("model.layers[0].units", 16, 128, step=16, integer=True),)


def test_a_decimal_bound_makes_a_real_range_and_log_is_kept(tmp_path: Path) -> None:
    (param,) = load_space(_space(tmp_path, "training.optimizer.lr: {low: 0.001, high: 1, "
                                           "log: true}"), DIGITS).params
    assert not param.integer and param.log and (param.low, param.high) == (0.001, 1)


def test_exponent_bounds_that_yaml_reads_as_text_are_numbers(tmp_path: Path) -> None:
    (param,) = load_space(_space(tmp_path, "training.optimizer.lr: {low: 1e-3, high: 1e-1}"),
                          DIGITS).params
    assert (param.low, param.high) == (0.001, 0.1)


def test_choices_may_be_whole_layer_lists_to_search_the_depth(tmp_path: Path) -> None:
    text = ("model.layers: {choices: [[{units: 10, activation: softmax}], "
            "[{units: 32}, {units: 10, activation: softmax}]]}")
    (param,) = load_space(_space(tmp_path, text), DIGITS).params
    assert param.labels[1] == "[{units: 32}, {activation: softmax, units: 10}]"
    assert param.value(param.labels[1]) == [{"units": 32}, {"units": 10, "activation": "softmax"}]


def test_an_unknown_key_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    message = _error(tmp_path, "training.optimizer.lrr: {low: 0.01, high: 1.0}")
    assert "lrr" in message and "did you mean 'lr'" in message


def test_a_layer_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "model.layers[5].units: {low: 16, high: 64}")
    assert "model.layers[5].units" in message and "no such place" in message


def test_a_bound_outside_the_schema_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "model.layers[0].dropout: {low: 0.0, high: 1.5}")
    assert "model.layers[0].dropout = 1.5" in message and "less than 1" in message


def test_a_choice_outside_the_schema_is_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "training.optimizer.name: {choices: [sgd, adamw]}")
    assert "adamw" in message and "did you mean 'adam'" in message


def test_an_empty_range_is_refused(tmp_path: Path) -> None:
    assert "empty range" in _error(tmp_path, "training.optimizer.lr: {low: 0.5, high: 0.1}")
    assert "empty range" in _error(tmp_path, "training.batch_size: {low: 32, high: 32}")


def test_a_log_range_must_stay_above_zero(tmp_path: Path) -> None:
    assert "above 0" in _error(tmp_path, "training.l2: {low: 0, high: 0.01, log: true}")


def test_log_and_step_do_not_go_together(tmp_path: Path) -> None:
    assert "log or step" in _error(tmp_path, "training.batch_size: {low: 16, high: 128, "
                                             "step: 16, log: true}")


def test_a_misspelt_field_is_named_with_a_suggestion(tmp_path: Path) -> None:
    message = _error(tmp_path, "training.optimizer.lr: {low: 0.01, hihg: 1.0}")
    assert "'hihg'" in message and "did you mean 'high'" in message


def test_a_range_needs_both_bounds(tmp_path: Path) -> None:
    assert "missing high" in _error(tmp_path, "training.optimizer.lr: {low: 0.01}")


def test_choices_must_be_a_non_empty_list_without_repeats(tmp_path: Path) -> None:
    assert "non-empty list" in _error(tmp_path, "training.batch_size: {choices: []}")
    assert "repeat" in _error(tmp_path, "training.batch_size: {choices: [32, 32]}")


def test_a_bare_value_is_not_a_distribution(tmp_path: Path) -> None:
    assert "give a range" in _error(tmp_path, "training.optimizer.lr: 0.1")


def test_a_bound_must_be_a_number(tmp_path: Path) -> None:
    assert "must be a number" in _error(tmp_path, "training.optimizer.lr: {low: a, high: 1}")


def test_a_space_file_that_is_no_mapping_is_refused(tmp_path: Path) -> None:
    assert "mapping" in _error(tmp_path, "- training.optimizer.lr\n")


def test_the_grid_top_stands_for_a_stepped_range(tmp_path: Path) -> None:
    param = Param("model.layers[0].units", 16, 100, step=16, integer=True)
    assert param.corners() == [16, 96]
