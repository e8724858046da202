"""The playground's state: the URL query <-> every control <-> the config `fcnn train`
runs, with one clear line for every key or value it cannot take."""

from __future__ import annotations

from pathlib import Path

import pytest

from fcnn_cli.config import config_warnings, load_config
from fcnn_cli.errors import FcnnError
from fcnn_cli.serving.playground.state import CsvFile, PlaygroundState, read_csv
from fcnn_cli.yamlfile import parse

DEFAULT_QUERY = ("dataset=circle&samples=500&noise=0&train=50&batch=10&layers=4,2&"
                 "activation=tanh&dropout=0&output=sigmoid&cost=cross-entropy&optimizer=sgd&"
                 "lr=0.03&l2=0&init=glorot&seed=1")


def state(**query: str) -> PlaygroundState:
    return PlaygroundState.from_query(query, {})


def refused(query: dict[str, str], csv: dict | None = None) -> str:
    with pytest.raises(FcnnError) as error:
        PlaygroundState.from_query(query, csv or {})
    message = error.value.message
    assert "\n" not in message
    return message


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "points.csv"
    path.write_text("u,v,kind\n" + "".join(f"{i},{i * i % 7},{'abc'[i % 3]}\n"
                                           for i in range(30)))
    return path


# --- the query -----------------------------------------------------------------------

def test_the_default_query_lists_every_key_in_order() -> None:
    assert PlaygroundState.from_query({}, {}).query() == DEFAULT_QUERY


def test_a_state_survives_its_own_query(csv_file: Path) -> None:
    csv = {"mine": CsvFile(csv_file, "kind")}
    for query in [
        {"dataset": "spiral", "samples": "1200", "noise": "0.35", "train": "70",
         "batch": "1", "layers": "16,8,3", "activation": "relu,tanh,swish",
         "dropout": "0.5,0,0.25", "output": "softmax", "cost": "log-likelihood",
         "optimizer": "adam", "lr": "1e-05", "l2": "0.001", "init": "he", "seed": "2147483647",
         "noise_hide": "true", "cost_hide": "true"},
        {"layers": "", "activation": "relu"},
        {"dataset": "csv", "csv": "mine", "output": "softmax"},
    ]:
        first = PlaygroundState.from_query(query, csv)
        again = PlaygroundState.from_query_string(first.query(), csv)
        assert again == first
        assert again.query() == first.query()


def test_hidden_controls_stay_in_the_query_and_change_no_number() -> None:
    hidden = state(noise_hide="true", cost_hide="true", lr_hide="false")
    assert hidden.query() == DEFAULT_QUERY + "&cost_hide=true&noise_hide=true"
    assert hidden.config_dict(5, {}) == state().config_dict(5, {})


def test_one_value_for_every_layer_is_written_once() -> None:
    assert state(activation="relu,relu").query() == state(activation="relu").query()
    assert "activation=relu,tanh" in state(activation="relu,tanh").query()


@pytest.mark.parametrize(("query", "message"), [
    ({"nosie": "0.1"}, "unknown playground setting 'nosie' (did you mean 'noise'?); the "
                       "settings are dataset, csv"),
    ({"nosie_hide": "true"}, "unknown control in 'nosie_hide' (did you mean 'noise'?)"),
    ({"cost_hide": "yes"}, "cost_hide is 'yes'; give true or false"),
    ({"dataset": "circles"}, "dataset is 'circles' (did you mean 'circle'?); choose one of "
                             "xor, circle, gauss, spiral, moons, csv"),
    ({"samples": "5"}, "samples is '5'; give a whole number from 20 to 5000"),
    ({"samples": "100.5"}, "samples is '100.5'; give a whole number from 20 to 5000"),
    ({"noise": "0.7"}, "noise is '0.7'; give a number from 0 to 0.5"),
    ({"noise": "nan"}, "noise is 'nan'; give a number from 0 to 0.5"),
    ({"train": "95"}, "train is '95'; give a whole number from 10 to 90"),
    ({"batch": "0"}, "batch is '0'; give a whole number from 1 to 1000"),
    ({"layers": "4,17"}, "layers is '4,17'; give 0 to 6 hidden layers as a comma list of "
                         "units, each 1 to 16"),
    ({"layers": "1,1,1,1,1,1,1"}, "layers is '1,1,1,1,1,1,1'; give 0 to 6 hidden layers"),
    ({"activation": "relu,tanh,relu"}, "activation lists 3 values but there are 2 hidden "
                                       "layers; give one value for all of them or one per"),
    ({"activation": "rleu"}, "activation is 'rleu' (did you mean 'relu'?); choose one of "
                             "linear, sigmoid, tanh, relu"),
    ({"dropout": "1"}, "dropout is '1'; give a number from 0, below 1"),
    ({"output": "soft-max"}, "output is 'soft-max' (did you mean 'softmax'?)"),
    ({"cost": "mse"}, "cost is 'mse'; choose one of quadratic, cross-entropy, log-likelihood"),
    ({"optimizer": "rmsprop"}, "optimizer is 'rmsprop'; choose one of sgd, adam"),
    ({"lr": "0"}, "lr is '0'; give a number above 0, at most 10"),
    ({"lr": "11"}, "lr is '11'; give a number above 0, at most 10"),
    ({"l2": "-0.1"}, "l2 is '-0.1'; give a number from 0 to 1"),
    ({"init": "xavier"}, "init is 'xavier'; choose one of he, glorot, nielsen, normal"),
    ({"seed": "-1"}, "seed is '-1'; give a whole number from 0 to 2147483647"),
])
def test_a_bad_key_or_value_is_one_line_naming_what_is_allowed(
        query: dict[str, str], message: str) -> None:
    assert refused(query).startswith(message)


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(FcnnError, match="'seed' is given twice in the query; give it once"):
        PlaygroundState.from_query_string("seed=1&seed=2", {})


def test_csv_needs_a_file_the_playground_knows(csv_file: Path) -> None:
    known = {"points": csv_file}
    assert refused({"dataset": "csv"}, known).startswith(
        "dataset=csv needs csv=<name> of a CSV the playground knows (known: points)")
    assert refused({"dataset": "csv", "csv": "pionts"}, known).startswith(
        "csv='pionts' is not a CSV this playground knows (known: points) (did you mean "
        "'points'?)")
    assert refused({"dataset": "circle", "csv": "points"}, known).startswith(
        "csv='points' goes with dataset=csv, not dataset=circle")


def test_samples_and_noise_are_refused_with_a_csv(csv_file: Path) -> None:
    known = {"points": csv_file}
    assert refused({"dataset": "csv", "csv": "points", "samples": "500", "noise": "0"},
                   known).startswith("samples and noise apply only to the drawn datasets")


# --- the config ----------------------------------------------------------------------

def test_the_state_becomes_the_config_the_table_describes() -> None:
    config = state(dataset="xor", samples="300", noise="0.1", train="70", batch="25",
                   layers="8,8", activation="relu", dropout="0.1,0.2", output="sigmoid",
                   optimizer="adam", lr="0.01", l2="0.002", init="he",
                   seed="7").config(12, {})
    data, training, layers = config.data, config.training, config.model.layers
    assert (data.dataset, data.samples, data.noise, data.val_fraction, data.test_fraction) \
        == ("xor", 300, 0.1, 0.0, 0.3)
    assert (data.normalize, data.task, config.seed, config.model.init) == \
        ("standardize", "classification", 7, "he")
    assert [(x.units, x.activation, x.dropout) for x in layers] == \
        [(8, "relu", 0.1), (8, "relu", 0.2), (1, "sigmoid", 0.0)]
    assert (training.epochs, training.batch_size, training.optimizer.name,
            training.optimizer.lr, training.l2, training.threads, training.checkpoint_every,
            training.lr_schedule.name, config.model.dtype) == \
        (12, 25, "adam", 0.01, 0.002, 1, 0, "constant", "float32")


def test_the_output_layer_has_one_unit_per_class_and_one_for_two_unless_softmax(
        csv_file: Path) -> None:
    csv = {"points": CsvFile(csv_file, "kind")}
    units = [PlaygroundState.from_query(q, csv).config(1, csv).model.layers[-1].units for q in [
        {}, {"output": "softmax"}, {"dataset": "csv", "csv": "points"},
        {"dataset": "csv", "csv": "points", "output": "softmax"}]]
    assert units == [1, 2, 3, 3]


def test_no_hidden_layer_is_logistic_regression() -> None:
    layers = state(layers="").config(1, {}).model.layers
    assert [(x.units, x.activation) for x in layers] == [(1, "sigmoid")]


def test_the_exported_yaml_is_the_config_commented_for_a_teacher() -> None:
    chosen = state(dataset="gauss", noise="0.25", layers="3", lr="0.1", seed="9")
    text = chosen.config_text(42, {}, link="http://127.0.0.1:8765/?" + chosen.query())
    assert parse(text, "the export") == chosen.config_dict(42, {})
    assert load_config(parse(text, "the export")) == chosen.config(42, {})
    assert text.startswith("# Exported from fcnn playground.")
    assert f"# The playground's link: http://127.0.0.1:8765/?{chosen.query()}\n" in text
    assert "  epochs: 42" in text and "output: runs/playground-gauss.h5" in text
    assert sum("#" in line for line in text.splitlines()) >= 15


def test_the_exported_yaml_names_an_uploaded_csv_by_its_own_name(csv_file: Path) -> None:
    csv = {"points": CsvFile(csv_file, "kind", export_path="points.csv")}
    chosen = PlaygroundState.from_query({"dataset": "csv", "csv": "points"}, csv)
    exported = parse(chosen.config_text(3, csv), "the export")
    assert (exported["data"]["path"], exported["data"]["label_column"]) == ("points.csv", "kind")
    assert chosen.config(3, csv).data.path == str(csv_file.resolve())


def test_warnings_are_the_configs_own(tmp_path: Path) -> None:
    unwise = state(output="sigmoid", cost="log-likelihood")
    assert unwise.warnings({}) == config_warnings(unwise.config(1, {}))
    assert unwise.warnings({})[0].startswith("sigmoid output layer with the log-likelihood")
    assert state().warnings({}) == []


# --- the user's CSV ------------------------------------------------------------------

@pytest.mark.parametrize(("text", "message"), [
    ("a,b,c,label\n" + "1,2,3,0\n" * 20, "bad.csv has 3 feature column(s) (a, b, c); the "
                                         "playground draws points of a plane"),
    ("a,b,label\n" + "1,2,0\n" * 20, "bad.csv has 1 class(es) in 'label'; the playground "
                                     "takes 2 to 10"),
    ("a,b,label\n" + "".join(f"{i},1,{i}\n" for i in range(11)),
     "bad.csv has 11 class(es) in 'label'"),
    ("a,b,label\n1,2,0\n2,1,1\n", "bad.csv has 2 rows; the playground takes 10 to 20,000"),
])
def test_a_csv_the_playground_cannot_draw_is_one_line(tmp_path: Path, text: str,
                                                       message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(FcnnError) as error:
        read_csv(path)
    assert error.value.message.startswith(message)
    assert path.read_text() == text


def test_the_teachers_link_in_the_documentation_is_a_state_with_those_controls_hidden() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "tutorials" / "playground.md")
    link = next(line for line in page.read_text(encoding="utf-8").splitlines()
                if line.startswith("http://127.0.0.1:8765/?"))
    shown = PlaygroundState.from_query_string(link.split("?", 1)[1], {})
    assert (shown.dataset, shown.layers, shown.seed) == ("spiral", (8, 8, 6), 4)
    assert set(shown.hide) == {"dataset", "noise", "layers", "cost", "output", "seed"}
