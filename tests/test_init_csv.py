"""`fcnn init` on CSV files as they come from the wild: id and text columns left out of the
features (and said so in the config), --drop and --features, and other separators."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from fcnn_cli.cli import app
from fcnn_cli.data.sources import load_dataset

runner = CliRunner()


def _people(rows: int = 120, seed: int = 0) -> list[list[str]]:
    """A header and rows: a text id, two numbers, a city (3 values), a free-text note, a
    yes/no label that follows income."""
    rng = np.random.default_rng(seed)
    table = [["id", "age", "income", "city", "note", "bought"]]
    for i in range(rows):
        income = rng.normal(50, 10)
        table.append([f"W{i:04d}", str(rng.integers(18, 80)), f"{income:.2f}",
                      ("Berlin", "Paris", "Rome")[i % 3], f"called on day {i}, said maybe",
                      "yes" if income > 50 else "no"])
    return table


def _write(path: Path, table: list[list[str]], separator: str = ",") -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file, delimiter=separator).writerows(table)
    return path


def _init(tmp_path: Path, data: Path, *options: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["init", str(tmp_path / "c.yaml"), "--data", str(data),
                               *options])


def _trains(config: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["train", str(config), "--set", "training.epochs=1",
                                 "--out", str(tmp_path / "m.h5"), "--quiet"])
    assert result.exit_code == 0, result.output


def test_a_text_id_column_is_left_out_with_a_comment_and_the_config_trains(
        tmp_path: Path) -> None:
    data = _write(tmp_path / "people.csv", _people())
    result = _init(tmp_path, data)
    assert result.exit_code == 0, result.output
    assert "left out of the features: id, city, note" in result.stdout
    text = (tmp_path / "c.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["data"]["feature_columns"] == ["age", "income"]
    assert config["data"]["label_column"] == "bought"
    assert "#   id: is text with a different value in every row: an id" in text
    _trains(tmp_path / "c.yaml", tmp_path)


def test_a_category_and_free_text_are_left_out_each_with_its_reason(tmp_path: Path) -> None:
    data = _write(tmp_path / "people.csv", _people())
    assert _init(tmp_path, data).exit_code == 0
    text = (tmp_path / "c.yaml").read_text()
    assert ("#   city: is a category of 3 values (Berlin, Paris, Rome); fcnn has no one-hot "
            "encoding: add one 0/1 column per value to use it") in text
    assert "#   note: is free text (120 different values)" in text


def test_a_numeric_column_named_like_an_id_with_all_different_values_is_left_out(
        tmp_path: Path) -> None:
    table = [["customer_id", *row[1:3], row[5]] for row in _people()]
    table[1:] = [[str(1000 + i), *row[1:]] for i, row in enumerate(table[1:])]
    data = _write(tmp_path / "numbered.csv", table)
    assert _init(tmp_path, data).exit_code == 0
    text = (tmp_path / "c.yaml").read_text()
    assert yaml.safe_load(text)["data"]["feature_columns"] == ["age", "income"]
    assert "customer_id: is named like an id and its whole numbers all differ" in text


def test_a_csv_of_numbers_only_gets_no_feature_list(tmp_path: Path) -> None:
    table = [[row[1], row[2], row[5]] for row in _people()]
    assert _init(tmp_path, _write(tmp_path / "plain.csv", table)).exit_code == 0
    assert "feature_columns" not in yaml.safe_load((tmp_path / "c.yaml").read_text())["data"]


def test_drop_leaves_out_each_column_named(tmp_path: Path) -> None:
    data = _write(tmp_path / "people.csv", _people())
    result = _init(tmp_path, data, "--drop", "age", "--drop", "city")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "c.yaml").read_text()
    assert yaml.safe_load(text)["data"]["feature_columns"] == ["income"]
    assert "#   age: left out with --drop" in text and "#   city: left out with --drop" in text
    _trains(tmp_path / "c.yaml", tmp_path)


def test_features_takes_exactly_the_columns_given(tmp_path: Path) -> None:
    data = _write(tmp_path / "people.csv", _people())
    result = _init(tmp_path, data, "--features", "income, age")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "c.yaml").read_text()
    assert yaml.safe_load(text)["data"]["feature_columns"] == ["income", "age"]
    assert "# chosen with --features" in text


@pytest.mark.parametrize(("options", "message"), [
    (["--features", "age,id"], "--features column 'id' is text with a different value in "
                               "every row: an id; fcnn takes numbers as features"),
    (["--drop", "bought"], "column 'bought' is the label column; leave it out of --drop"),
    (["--drop", "agee"], "no column 'agee' (did you mean 'age'?)"),
    (["--features", "age,age"], "--features names column 'age' twice"),
])
def test_a_wrong_column_choice_is_one_error_and_writes_nothing(
        tmp_path: Path, options: list[str], message: str) -> None:
    data = _write(tmp_path / "people.csv", _people())
    result = _init(tmp_path, data, *options)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "c.yaml").exists()


def test_drop_on_data_that_is_not_a_csv_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "c.yaml"), "--data", "xor",
                                 "--drop", "x"])
    assert result.exit_code == 2 and "--drop and --features choose a .csv" in result.stderr
    assert not (tmp_path / "c.yaml").exists()


def test_a_label_column_that_names_the_rows_is_refused(tmp_path: Path) -> None:
    table = [row[1:3] + row[:1] for row in _people()]  # the id last: taken as the label
    result = _init(tmp_path, _write(tmp_path / "ids_last.csv", table))
    assert result.exit_code == 2
    assert "the label column 'id' has a different value in every row" in result.stderr
    assert "--label-column" in result.stderr


def test_training_on_a_text_feature_column_points_at_feature_columns(tmp_path: Path) -> None:
    data = _write(tmp_path / "people.csv", [row[:3] + row[5:] for row in _people()])
    config = tmp_path / "by-hand.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"path": str(data), "label_column": "bought"},
        "model": {"layers": [{"units": 2, "activation": "softmax"}]},
        "training": {"epochs": 1}, "output": str(tmp_path / "m.h5")}))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert ("row 2, column 'id': 'W0000' is not a number; features must be numeric; leave it "
            "out with data.feature_columns, or fcnn init --drop id") in result.stderr
    assert not (tmp_path / "m.h5").exists()


# --- separators ------------------------------------------------------------------------


def test_a_semicolon_csv_with_decimal_commas_reads_as_its_comma_twin(tmp_path: Path) -> None:
    table = [row[1:3] + row[5:] for row in _people()]
    commas = load_dataset(None, _write(tmp_path / "en.csv", table), "bought")
    european = [[cell.replace(".", ",") for cell in row] for row in table]
    semicolons = load_dataset(None, _write(tmp_path / "de.csv", european, ";"), "bought")
    assert semicolons.feature_names == commas.feature_names == ["age", "income"]
    np.testing.assert_array_equal(semicolons.x_train, commas.x_train)
    np.testing.assert_array_equal(semicolons.y_train, commas.y_train)


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_init_reads_other_separators_and_the_config_trains(tmp_path: Path,
                                                           separator: str) -> None:
    data = _write(tmp_path / "people.csv", _people(), separator)
    result = _init(tmp_path, data)
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / "c.yaml").read_text())["data"]["feature_columns"] == \
        ["age", "income"]
    _trains(tmp_path / "c.yaml", tmp_path)


def test_a_comma_csv_with_semicolons_inside_its_cells_stays_a_comma_csv(tmp_path: Path) -> None:
    table = [["a", "remark", "label"]] + [[str(i), f"seen; twice; {i}", str(i % 2)]
                                          for i in range(30)]
    dataset = load_dataset(None, _write(tmp_path / "quoted.csv", table), "label",
                           feature_columns=["a"])
    assert dataset.x_train[:3, 0].tolist() == [0.0, 1.0, 2.0]
    assert dataset.row_names is not None
    assert dataset.row_names.of(np.array([0, 29])) == {
        "CSV row": ["2", "31"], "remark": ["seen; twice; 0", "seen; twice; 29"]}


def test_a_file_with_an_unknown_separator_says_so(tmp_path: Path) -> None:
    path = tmp_path / "colons.csv"
    path.write_text("a:b:label\n1:2:0\n3:4:1\n")
    result = runner.invoke(app, ["init", str(tmp_path / "c.yaml"), "--data", str(path),
                                 "--label-column", "label"])
    assert result.exit_code == 2
    assert "no label column 'label'" in result.stderr
    assert "one column: the file's separator is not one of ',', ';', '\\t', '|'?" in \
        result.stderr
    assert not (tmp_path / "c.yaml").exists()


def test_predict_reads_a_semicolon_batch_as_its_comma_twin(tmp_path: Path) -> None:
    table = [row[1:3] + row[5:] for row in _people()]
    data = _write(tmp_path / "en.csv", table)
    assert _init(tmp_path, data).exit_code == 0
    _trains(tmp_path / "c.yaml", tmp_path)
    european = [[cell.replace(".", ",") for cell in row] for row in table[:20]]
    batch = _write(tmp_path / "de.csv", [european[0][::-1], *(row[::-1] for row in european[1:])],
                   ";")  # the columns in another order too: taken by name
    outputs = [runner.invoke(app, ["predict", str(tmp_path / "m.h5"), str(path), "--json"])
               for path in (data, batch)]
    assert all(result.exit_code == 0 for result in outputs), outputs[1].output
    first = [line.split('"label"')[1] for line in outputs[0].stdout.splitlines()[:19]]
    assert [line.split('"label"')[1] for line in outputs[1].stdout.splitlines()] == first


def test_column_names_that_yaml_would_misread_are_written_so_that_they_read_back(
        tmp_path: Path) -> None:
    names = ["yes", "x#1", "a: b", "two\nlines", "weight (kg)"]
    rng = np.random.default_rng(0)
    table = [["id", *names, "label"]] + [[f"Q{i}", *(f"{v:.3f}" for v in rng.normal(size=5)),
                                          str(i % 2)] for i in range(40)]
    result = _init(tmp_path, _write(tmp_path / "odd.csv", table))
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / "c.yaml").read_text())["data"]["feature_columns"] == names
    _trains(tmp_path / "c.yaml", tmp_path)


def test_escape_sequences_in_names_and_values_are_written_as_escapes(tmp_path: Path) -> None:
    """Classes, a column and category values holding terminal escape sequences (clear the
    screen, set the title) and line breaks: the config reads back, nothing obeys them."""
    table = [["a", "b\x1b[2J", "kind", "label"]] + [
        [str(i), str(i * 3 % 7), ("\x1b]0;t\x07", "y", "z")[i % 3],
         ("ok", "bad\x1b[2J", "two\nlines: 1")[i % 3]] for i in range(30)]
    result = _init(tmp_path, _write(tmp_path / "hostile.csv", table))
    assert result.exit_code == 0, result.output
    text = (tmp_path / "c.yaml").read_text()
    assert "\x1b" not in text and "\x07" not in text and "\x1b" not in result.output
    assert text.startswith("# ") and "3 classes (bad\\x1b[2J, ok, two lines: 1)" in \
        text.splitlines()[0]
    assert "#   kind: is a category of 3 values (\\x1b]0;t\\x07, y, z)" in text
    assert yaml.safe_load(text)["data"]["feature_columns"] == ["a", "b\x1b[2J"]
