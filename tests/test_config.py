"""The YAML config: schema, defaults, overrides, and one clear line for every mistake."""

import json
from pathlib import Path

import pytest

from fcnn_cli.config import Config, config_warnings, json_schema, load_config
from fcnn_cli.errors import FcnnError

GOOD = """\
data: {dataset: digits}
model:
  layers:
    - {units: 16, activation: relu}
    - {units: 10, activation: softmax}
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "config.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def error_of(tmp_path: Path, text: str | bytes, overrides: list[str] | None = None) -> str:
    with pytest.raises(FcnnError) as caught:
        load_config(write(tmp_path, text), overrides)
    assert caught.value.exit_code == 2
    assert "\n" not in caught.value.message
    return caught.value.message


def test_a_minimal_config_gets_documented_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert config.seed == 42 and config.cost == "log-likelihood"
    assert config.data.val_fraction == 0.1 and config.data.normalize == "scale"
    assert config.training.optimizer.name == "sgd" and config.model.init == "he"
    assert config.model.dtype == "float32"


def test_a_misspelt_activation_names_its_path_the_choices_and_a_suggestion(tmp_path) -> None:
    message = error_of(tmp_path, GOOD.replace("activation: softmax", "activation: rellu"))
    assert message.endswith(
        "model.layers[1].activation: 'rellu' is not one of linear, sigmoid, tanh, relu, "
        "leaky-relu, prelu, swish, softmax (did you mean 'relu'?)")


def test_an_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD + "training: {epoch: 3}\n")
    assert "training.epoch: unknown key (did you mean 'epochs'?)" in message


def test_a_yaml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    message = error_of(tmp_path, "data: {dataset: digits\nmodel: [\n")
    assert "YAML syntax error at line 2, column 6" in message


@pytest.mark.parametrize("text,expected", [
    ("", "is empty"),
    ("- a\n- b\n", "a config is a mapping"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe", "is not a text file"),
    (b"\x00\x01\x02binary", "not valid YAML"),
    (GOOD.replace("units: 16", "units: 0"),
     "model.layers[0].units: input should be greater than 0"),
    (GOOD.replace("units: 16", "units: -3"), "model.layers[0].units"),
    (GOOD + "training: {epochs: 0}\n", "training.epochs"),
    (GOOD + "training: {optimizer: {lr: -1}}\n", "training.optimizer.lr"),
    (GOOD + "training: {batch_size: 0}\n", "training.batch_size"),
    ("data: {dataset: digits}\nmodel: {layers: []}\n", "model.layers"),
    (GOOD.replace("digits", "mnsit"), "data.dataset: 'mnsit' is not one of"),
    (GOOD.replace("units: 16", "units: many"), "model.layers[0].units: input should be a valid"),
    ("model: {layers: [{units: 2}]}\n", "data: is required"),
])
def test_bad_configs_fail_with_one_line(tmp_path: Path, text: str | bytes, expected: str) -> None:
    assert expected in error_of(tmp_path, text)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FcnnError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_overrides_are_typed_by_the_schema(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), [
        "training.epochs=3", "training.optimizer.lr=0.5", "model.layers[0].units=32",
        "model.layers.1.activation=sigmoid", "training.optimizer.nesterov=true"])
    assert config.training.epochs == 3 and config.training.optimizer.lr == 0.5
    assert config.model.layers[0].units == 32
    assert config.model.layers[1].activation == "sigmoid"
    assert config.training.optimizer.nesterov is True


def test_a_badly_typed_override_names_the_key(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD, ["training.epochs=lots"])
    assert "training.epochs: input should be a valid integer" in message


def test_an_override_without_equals_sign_explains_the_form(tmp_path: Path) -> None:
    assert "expected KEY=VALUE" in error_of(tmp_path, GOOD, ["training.epochs"])


def test_dropout_on_the_output_layer_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, GOOD.replace("activation: softmax", "activation: softmax, "
                                                                     "dropout: 0.5"))
    assert "hidden layers only" in message


def test_unwise_choices_give_warnings_not_errors(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD), ["cost=cross-entropy",
                                                 "training.optimizer.lr=20"])
    warnings = " ".join(config_warnings(config))
    assert "softmax with the binary cross-entropy" in warnings
    assert "above 10" in warnings


def test_the_json_schema_lists_the_activation_choices() -> None:
    schema = json.dumps(json_schema())
    assert '"leaky-relu"' in schema and '"log-likelihood"' in schema
    assert Config.model_json_schema()["required"] == ["data", "model"]
