"""The 2-D recipes (circle, gauss, spiral, moons, xor-linear) and the vanishing-gradient
pair, and the config keys data.samples and data.noise as `fcnn train` sees them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.config import declared_bytes, load_config
from fcnn_cli.store import load_model

runner = CliRunner()

TWO_D = {"circle": "circle", "gauss": "gauss", "spiral": "spiral", "moons": "moons",
         "xor-linear": "xor"}
VANISHING = ("vanishing-sigmoid", "vanishing-relu")


def train(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["train", *args, "--quiet"])
    return result.exit_code, result.output


def refused(tmp_path: Path, *args: str) -> str:
    """`fcnn train ARGS --out tmp_path/m.h5`: exit 2, one `error:` line, nothing written."""
    before = sorted(tmp_path.iterdir())
    result = runner.invoke(app, ["train", *args, "--out", str(tmp_path / "m.h5")])
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert sorted(tmp_path.iterdir()) == before
    return lines[0]


def test_config_list_shows_the_new_recipes() -> None:
    result = runner.invoke(app, ["config", "list"])
    assert result.exit_code == 0, result.output
    for name in [*TWO_D, *VANISHING]:
        assert name in result.stdout


@pytest.mark.parametrize("recipe", TWO_D)
def test_each_2d_recipe_draws_its_dataset_and_takes_x1_x2_alone(recipe: str) -> None:
    config = load_config(recipe)
    assert config.data.dataset == TWO_D[recipe] and config.data.samples is not None
    assert config.data.test_fraction > 0  # the 2-D datasets have no official test split
    assert declared_bytes(config) == declared_bytes(config, 2)  # the memory check knows


def test_the_spiral_recipe_is_a_small_network() -> None:
    layers = load_config("spiral").model.layers
    sizes = [2, *(layer.units for layer in layers)]
    assert sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes, sizes[1:])) < 2_000


def test_the_vanishing_pair_differs_only_in_the_hidden_units_and_their_init() -> None:
    sigmoid, relu = (load_config(name) for name in VANISHING)
    assert [layer.units for layer in sigmoid.model.layers] == [30, 30, 30, 30, 10]
    assert {layer.activation for layer in sigmoid.model.layers} == {"sigmoid"}
    assert [layer.activation for layer in relu.model.layers] == ["relu"] * 4 + ["sigmoid"]
    assert (sigmoid.model.init, relu.model.init) == ("nielsen", "he")
    assert sigmoid.cost == relu.cost == "cross-entropy"
    assert sigmoid.training == relu.training and sigmoid.data == relu.data
    assert sigmoid.training.optimizer.lr == 0.1  # Nielsen's η


def test_a_short_training_of_the_circle_recipe_learns_it(tmp_path: Path) -> None:
    code, output = train("circle", "--set", "training.epochs=40", "--out",
                         str(tmp_path / "c.h5"))
    assert code == 0, output
    model = load_model(tmp_path / "c.h5")
    assert model.network.sizes[0] == 2 and model.feature_names == ["x1", "x2"]
    assert model.class_names == ["0", "1"]
    result = runner.invoke(app, ["eval", str(tmp_path / "c.h5"), "--json"])
    scores = json.loads(result.stdout)
    assert scores["n"] == 100 and scores["accuracy"] >= 0.9  # 500 points, 20 % for test


def test_eval_of_a_2d_model_draws_the_same_points_again(tmp_path: Path) -> None:
    """The stored config's seed, samples and noise give the very test split trained on."""
    assert train("moons", "--set", "training.epochs=5", "--out", str(tmp_path / "m.h5"))[0] == 0
    by_config = runner.invoke(app, ["eval", str(tmp_path / "m.h5"), "--json"])
    by_name = runner.invoke(app, ["eval", str(tmp_path / "m.h5"), "--data", "moons", "--json"])
    assert json.loads(by_config.stdout) == json.loads(by_name.stdout)


def test_a_linear_network_cannot_separate_xor_and_one_tanh_layer_can(tmp_path: Path) -> None:
    assert train("xor-linear", "--out", str(tmp_path / "lin.h5"))[0] == 0
    assert train("xor-linear", "--set", "model.layers[0].activation=tanh",
                 "--out", str(tmp_path / "tanh.h5"))[0] == 0
    linear = json.loads(runner.invoke(app, ["eval", str(tmp_path / "lin.h5"), "--json"]).stdout)
    bent = json.loads(runner.invoke(app, ["eval", str(tmp_path / "tanh.h5"), "--json"]).stdout)
    assert linear["accuracy"] < 0.6 and linear["loss"] > 0.68  # ln 2 ≈ 0.693: a coin's
    assert bent["accuracy"] > 0.95


def test_the_spiral_recipe_reaches_95_percent_test_accuracy(tmp_path: Path) -> None:
    assert train("spiral", "--out", str(tmp_path / "s.h5"))[0] == 0  # a few seconds
    scores = json.loads(runner.invoke(app, ["eval", str(tmp_path / "s.h5"), "--json"]).stdout)
    assert scores["accuracy"] >= 0.95


def test_samples_on_a_dataset_that_is_not_drawn_is_one_line(tmp_path: Path) -> None:
    line = refused(tmp_path, "digits", "--set", "data.samples=500")
    assert "data.samples: applies only to the 2-D datasets xor, circle, gauss, spiral, " \
           "moons, not to digits; remove samples (or --set data.samples=null)" in line


def test_noise_on_your_own_files_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "own.yaml"
    config.write_text("data: {path: points.csv, noise: 0.1}\n"
                      "model: {layers: [{units: 2, activation: softmax}]}\n")
    line = refused(tmp_path, str(config))
    assert "data.noise: applies only to the 2-D datasets" in line and "not to data.path" in line


def test_noise_on_the_xor_truth_table_is_one_line(tmp_path: Path) -> None:
    line = refused(tmp_path, "xor", "--set", "data.noise=0.1")
    assert "data.noise: xor without data.samples is the four points of the truth table" in line


@pytest.mark.parametrize(("value", "message"), [
    ("12.5", "data.samples: input should be a valid integer"),
    ("9", "data.samples: input should be greater than or equal to 10"),
    ("1000001", "data.samples: input should be less than or equal to 1000000"),
    ("many", "data.samples: input should be a valid integer"),
    ("true", "data.samples: input should be greater than or equal to 10"),
])
def test_samples_must_be_a_whole_number_in_range(tmp_path: Path, value: str,
                                                 message: str) -> None:
    assert message in refused(tmp_path, "spiral", "--set", f"data.samples={value}")


@pytest.mark.parametrize(("value", "message"), [
    ("-0.1", "data.noise: input should be greater than or equal to 0"),
    (".nan", "data.noise: input should be a finite number"),
    (".inf", "data.noise: input should be a finite number"),
])
def test_noise_must_be_a_finite_number_at_least_0(tmp_path: Path, value: str,
                                                  message: str) -> None:
    assert message in refused(tmp_path, "spiral", "--set", f"data.noise={value}")


def test_config_schema_documents_samples_and_noise() -> None:
    result = runner.invoke(app, ["config-schema"])
    data = json.loads(result.stdout)["$defs"]["DataConfig"]["properties"]
    samples = data["samples"]["anyOf"][0]
    assert samples["type"] == "integer" and samples["minimum"] == 10
    assert samples["maximum"] == 1_000_000
    assert data["noise"]["anyOf"][0]["minimum"] == 0
    assert "spiral" in data["samples"]["description"]
    assert "spiral" in json.dumps(data["dataset"])


def test_a_search_loads_a_2d_dataset_again_when_its_seed_or_noise_changes() -> None:
    """Trials share a loaded dataset by key: a drawn dataset's key holds its seed and noise."""
    from fcnn_cli.tuning.search import Objective

    key = Objective._data_key
    spiral = key(load_config("spiral"))
    assert spiral != key(load_config("spiral", seed=1))
    assert spiral != key(load_config("spiral", data__noise=0.3))
    assert spiral != key(load_config("spiral", data__samples=600))
    assert key(load_config("digits")) == key(load_config("digits", seed=1))  # read, not drawn


def test_a_starter_config_for_a_2d_dataset_shows_samples_and_noise(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "s.yaml"), "--data", "spiral"])
    assert result.exit_code == 0, result.output
    config = load_config(tmp_path / "s.yaml")
    assert (config.data.dataset, config.data.samples, config.data.noise) == ("spiral", 500, 0.0)


def test_a_starter_config_for_xor_keeps_the_four_points(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "x.yaml"), "--data", "xor"])
    assert result.exit_code == 0, result.output
    assert load_config(tmp_path / "x.yaml").data.samples is None
