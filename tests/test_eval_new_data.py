"""`fcnn eval` and `fcnn report` on data the user brings: new data are scored whole,
splits belong to the model's own dataset, models without a training config take
--data, and data that do not fit the model are one line, not a silent page."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fcnn_cli import api
from fcnn_cli.cli import app

ROOT = Path(__file__).resolve().parents[1]
CANCER = ROOT / "examples" / "data" / "cancer.csv"
runner = CliRunner()


def _rows(first: int, count: int, keep: str | None = None) -> tuple[list[str], list[list[str]]]:
    """`count` rows of the example cancer CSV from row `first` on (only `keep` labels)."""
    with CANCER.open(newline="") as file:
        header, *rows = list(csv.reader(file))
    if keep is not None:
        rows = [row for row in rows if row[-1] == keep]
    return header, rows[first:first + count]


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as file:
        csv.writer(file).writerows([header, *rows])
    return path


@pytest.fixture(scope="module")
def cancer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny classifier trained for two epochs on 200 rows of the cancer CSV (the
    training file) and its model file; test_fraction 0.1 gives a 20-row test split."""
    folder = tmp_path_factory.mktemp("cancer")
    data = _write(folder / "train.csv", *_rows(0, 200))
    config = {"seed": 3, "data": {"path": str(data), "label_column": "diagnosis",
                                  "test_fraction": 0.1, "normalize": "standardize"},
              "model": {"layers": [{"units": 8, "activation": "tanh"},
                                   {"units": 2, "activation": "softmax"}]},
              "cost": "log-likelihood",
              "training": {"epochs": 2, "batch_size": 32,
                           "optimizer": {"name": "adam", "lr": 0.01}}}
    api.train(config, out=folder / "m.h5")
    return data, folder / "m.h5"


@pytest.fixture
def new_rows(tmp_path: Path) -> Path:
    """18 labelled rows the model has never seen (rows 300-317 of the example CSV)."""
    return _write(tmp_path / "new.csv", *_rows(300, 18))


def _eval_json(*args: str) -> dict:
    result = runner.invoke(app, ["eval", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_new_data_is_scored_whole_by_default(cancer: tuple[Path, Path], new_rows: Path) -> None:
    report = _eval_json(str(cancer[1]), "--data", str(new_rows))
    assert report["n"] == 18
    assert report["split"] == "all" and report["data"] == str(new_rows)
    assert sum(m["support"] for m in report["per_class"].values()) == 18


def test_the_header_says_what_was_scored(cancer: tuple[Path, Path], new_rows: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(new_rows.parent)  # short names: the header fits one line
    (new_rows.parent / "net.h5").write_bytes(cancer[1].read_bytes())
    result = runner.invoke(app, ["eval", "net.h5", "--data", "new.csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("net.h5 on new.csv (all 18 rows): accuracy ")


def test_split_all_scores_the_whole_of_the_models_own_data(cancer: tuple[Path, Path]) -> None:
    report = _eval_json(str(cancer[1]), "--split", "all")
    assert report["n"] == 200 and report["split"] == "all"


def test_own_data_is_still_scored_on_its_test_split(cancer: tuple[Path, Path]) -> None:
    report = _eval_json(str(cancer[1]))
    assert report["n"] == 20 and report["split"] == "test"
    result = runner.invoke(app, ["eval", str(cancer[1])])
    assert "(test split, 20 of 200 rows)" in " ".join(result.stdout.split())


def test_own_data_named_again_by_path_keeps_its_splits(cancer: tuple[Path, Path]) -> None:
    report = _eval_json(str(cancer[1]), "--data", str(cancer[0]))
    assert report["n"] == 20 and report["split"] == "test"


def test_an_explicit_split_of_new_data_uses_the_models_fractions(
        cancer: tuple[Path, Path], tmp_path: Path) -> None:
    """A copy of the training file elsewhere, `--split test`: the very rows training
    held out (same fractions, same seed), so the numbers equal the own test split's."""
    copy = tmp_path / "moved.csv"
    copy.write_bytes(cancer[0].read_bytes())
    moved = _eval_json(str(cancer[1]), "--data", str(copy), "--split", "test")
    own = _eval_json(str(cancer[1]))
    assert moved["n"] == 20 and moved["split"] == "test"
    assert moved["confusion"] == own["confusion"] and moved["loss"] == own["loss"]


def test_new_rows_of_one_class_are_matched_by_class_name(cancer: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    """The file holds only 'malignant' rows, so its one class would be index 0
    ('benign' to the model) if classes were matched by position."""
    malignant = _write(tmp_path / "m.csv", *_rows(0, 12, keep="malignant"))
    report = _eval_json(str(cancer[1]), "--data", str(malignant))
    assert report["per_class"]["malignant"]["support"] == 12
    assert report["per_class"]["benign"]["support"] == 0


def test_classes_the_model_does_not_know_are_one_line(cancer: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    header, rows = _rows(0, 6)
    rows[2][-1] = "unsure"
    odd = _write(tmp_path / "odd.csv", header, rows)
    result = runner.invoke(app, ["eval", str(cancer[1]), "--data", str(odd)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "classes the model does not know: 'unsure'" in result.stderr


def test_an_unknown_split_names_all(cancer: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["eval", str(cancer[1]), "--split", "dev"])
    assert result.exit_code == 2 and "test, val, train, all" in result.stderr


# --- models that carry no training config (as `fcnn import` writes them) ----------------

@pytest.fixture(scope="module")
def bare(cancer: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cancer model with its training config removed, as an imported model has none."""
    model = api.load_model(cancer[1])
    model.config_text = ""
    out = tmp_path_factory.mktemp("bare") / "bare.h5"
    model.save(out)
    return out


def test_a_model_without_config_evaluates_the_data_given(bare: Path, new_rows: Path,
                                                         cancer: tuple[Path, Path]) -> None:
    """No config: the label column is the one the model does not read, the model's own
    normalisation is applied, and the numbers equal the full model's on the same rows."""
    report = _eval_json(str(bare), "--data", str(new_rows))
    assert report["n"] == 18 and report["split"] == "all"
    with_config = _eval_json(str(cancer[1]), "--data", str(new_rows))
    assert report["confusion"] == with_config["confusion"]
    assert report["loss"] == pytest.approx(with_config["loss"])


def test_a_model_without_config_and_without_data_asks_for_data(bare: Path) -> None:
    result = runner.invoke(app, ["eval", str(bare)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "carries no training config" in result.stderr and "give --data" in result.stderr


def test_a_split_of_new_data_without_config_is_one_line(bare: Path, new_rows: Path) -> None:
    result = runner.invoke(app, ["eval", str(bare), "--data", str(new_rows), "--split", "test"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "--split test of" in result.stderr and "leave --split out" in result.stderr


def test_report_of_a_model_without_config_includes_the_evaluation_of_data(
        bare: Path, new_rows: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(bare), "--data", str(new_rows),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert '<section id="evaluation">' in page and "All 18 rows of" in page


def test_report_of_a_model_without_config_and_data_warns_to_give_data(
        bare: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(bare), "--out", str(out)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "give --data" in warnings[0]
    assert '<section id="evaluation">' not in out.read_text(encoding="utf-8")


def test_an_exported_then_imported_model_evaluates_digits(digits_model: Path,
                                                          tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    exported, imported = tmp_path / "net.onnx", tmp_path / "net.h5"
    assert runner.invoke(app, ["export", str(digits_model), str(exported)]).exit_code == 0
    assert runner.invoke(app, ["import", str(exported), str(imported)]).exit_code == 0
    model = api.load_model(imported)
    model.config_text = ""  # as a graph from elsewhere: nothing about its training data
    model.save(imported)
    report = _eval_json(str(imported), "--data", "digits")
    assert report["n"] == 1797 and report["data"] == "digits"
    original = api.load_model(digits_model).evaluate("digits", "all")
    assert report["confusion"] == original.confusion.tolist()


# --- data that do not fit the model --------------------------------------------------------

def test_eval_on_data_that_does_not_fit_is_one_line(cancer: tuple[Path, Path]) -> None:
    result = runner.invoke(app, ["eval", str(cancer[1]), "--data", "xor"])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: xor has 2 inputs per example but the model "
                                    "takes 30")


def test_report_on_data_that_does_not_fit_is_an_error_and_writes_nothing(
        cancer: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(cancer[1]), "--data", "xor", "--out", str(out)])
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "xor has 2 inputs per example" in result.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_report_keeps_an_existing_page_when_the_data_do_not_fit(
        cancer: tuple[Path, Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    out.write_text("the earlier page")
    result = runner.invoke(app, ["report", str(cancer[1]), "--data", "xor", "--out", str(out)])
    assert result.exit_code == 2
    assert out.read_text() == "the earlier page"


def test_report_without_its_own_data_warns_on_the_terminal_and_writes_the_page(
        cancer: tuple[Path, Path], tmp_path: Path) -> None:
    """The training file is gone: the page is written without the evaluation, and the
    terminal says so in one warning line, not only the page."""
    data = tmp_path / "gone.csv"
    data.write_bytes(cancer[0].read_bytes())
    model = api.load_model(cancer[1])
    model.config_text = model.config_text.replace(str(cancer[0]), str(data))
    model.save(tmp_path / "m.h5")
    data.unlink()
    out = tmp_path / "r.html"
    result = runner.invoke(app, ["report", str(tmp_path / "m.h5"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "leaves out the evaluation" in warnings[0] and "gone.csv" in warnings[0]
    page = out.read_text(encoding="utf-8")
    assert "Left out: evaluation" in page and '<section id="evaluation">' not in page


def test_report_on_new_data_scores_all_of_it(cancer: tuple[Path, Path], new_rows: Path,
                                             tmp_path: Path) -> None:
    out = api.report(cancer[1], data=str(new_rows), out=tmp_path / "r.html")
    page = out.read_text(encoding="utf-8")
    assert "All 18 rows of" in page
    evaluated = api.load_model(cancer[1]).evaluate(str(new_rows))
    assert f"accuracy <b>{evaluated.accuracy:.2%}</b>" in page
    assert np.sum(evaluated.confusion) == 18


def test_a_named_datasets_folder_given_by_path_is_the_models_own_data(mnist_dir: Path) -> None:
    """`--data <the folder fcnn finds mnist in>` for a model trained on `mnist`: its own
    data, so the official test split, not all 70,000 images (60,000 of them trained on)."""
    report = _eval_json("mnist", "--data", str(mnist_dir))
    assert report["n"] == 10_000 and report["split"] == "test"
