"""The report's mistakes for table data: only wrong predictions, most confident first, each
named by the CSV's own row number and id; and learning curves whose legend covers nothing."""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from fcnn_cli import api, figures, report
from fcnn_cli.metrics import classification_report

pytest.importorskip("matplotlib")


def _customers(path: Path, rows: int = 200, with_id: bool = True) -> Path:
    """Two features, a label that follows the first one but is flipped in a fifth of the
    rows (so that a good model still makes mistakes), an id that is not in row order, and
    a blank line (so that the n-th data row is not on line n + 1)."""
    rng = np.random.default_rng(3)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "a", "b", "label"] if with_id else ["a", "b", "label"])
        for i in range(rows):
            a, b = rng.normal(size=2)
            label = int(a > 0) ^ int(rng.random() < 0.2)
            writer.writerow(([f"C{(i * 37) % rows:03d}"] if with_id else [])
                            + [f"{a:.4f}", f"{b:.4f}", label])
            if i == 50:
                file.write("\n")
    return path


def _model(tmp_path: Path, data: Path, features: list[str]) -> Path:
    api.train({"data": {"path": str(data), "feature_columns": features, "test_fraction": 0.3,
                        "normalize": "standardize"},
               "model": {"layers": [{"units": 8}, {"units": 2, "activation": "softmax"}]},
               "training": {"epochs": 5, "batch_size": 16,
                            "optimizer": {"name": "adam", "lr": 0.01}}},
              out=tmp_path / "m.h5")
    return tmp_path / "m.h5"


def _mistakes_table(page: str) -> tuple[str, list[str], list[list[str]]]:
    section = page[page.index('<section id="mistakes">'):]
    section = section[:section.index("</section>")]
    rows = re.findall(r"<tr>(.*?)</tr>", section)
    heads = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", rows[0])]
    cells = [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)] for row in rows[1:]]
    return section, heads, cells


def _lines(data: Path) -> list[list[str]]:
    """The file's rows by row number as a spreadsheet shows it (index 1 is the header)."""
    return [[], *csv.reader(data.read_text().splitlines())]


def test_only_wrong_rows_are_listed_most_confident_first_with_the_csvs_ids(
        tmp_path: Path) -> None:
    data = _customers(tmp_path / "customers.csv")
    model = api.load_model(_model(tmp_path, data, ["a", "b"]))
    section, heads, cells = _mistakes_table(report.build(model))
    assert heads[:6] == ["CSV row", "id", "true", "predicted", "p(predicted)", "p(true)"]
    assert 0 < len(cells) <= report.WORST_ROWS
    lines = _lines(data)
    for row, id_, true, predicted, p_predicted, p_true, a, b in cells:
        assert true != predicted
        assert float(p_predicted) >= 0.5 > float(p_true)
        in_file = lines[int(row)]  # the row the report points at holds this very example
        assert in_file[0] == id_ and in_file[3] == true
        assert [float(in_file[1]), float(in_file[2])] == pytest.approx([float(a), float(b)],
                                                                      abs=1e-3)
    confidence = [float(cell[4]) for cell in cells]
    assert confidence == sorted(confidence, reverse=True)
    assert "most confident first" in section and "the header is row 1" in section


def test_without_an_id_column_rows_are_named_by_their_csv_row(tmp_path: Path) -> None:
    data = _customers(tmp_path / "plain.csv", with_id=False)
    model = api.load_model(_model(tmp_path, data, ["a", "b"]))
    _, heads, cells = _mistakes_table(report.build(model))
    assert heads[:2] == ["CSV row", "true"]
    lines = _lines(data)
    assert all(lines[int(cell[0])][2] == cell[1] for cell in cells)


def test_a_split_without_wrong_predictions_says_so_instead_of_listing_right_ones() -> None:
    values = np.array([[0.9, 0.1], [0.4, 0.6], [0.55, 0.45]])
    labels = np.array([0, 1, 0])
    ev = report.Evaluated(classification_report(values, labels, 0.3, ["no", "yes"]),
                          np.zeros((3, 2)), labels, values, np.arange(3))
    model = SimpleNamespace(is_classifier=True, output_names=["no", "yes"], feature_names=None)
    assert report._worst_rows(model, ev) == "<p>No wrong predictions on these 3 rows.</p>"


def test_the_learning_curves_legend_lies_over_no_axes(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = []
    monkeypatch.setattr(figures, "_svg", lambda fig, name: drawn.append(fig) or "")
    epochs = 30
    history = {"train_loss": np.linspace(1, 0.1, epochs), "val_loss": np.linspace(1, 0.4, epochs),
               "train_accuracy": np.linspace(0.5, 1, epochs),
               "val_accuracy": np.linspace(0.5, 0.9, epochs), "lr": np.full(epochs, 0.01)}
    figures.learning_curves(history, 20, "best val loss")
    fig = drawn[0]
    renderer = fig.canvas.get_renderer()
    assert [ax.get_legend() for ax in fig.axes] == [None] * len(fig.axes)
    (legend,) = fig.legends
    texts = [text.get_text() for text in legend.get_texts()]
    assert texts == ["training", "validation", "best val loss (epoch 20)"]
    box = legend.get_window_extent(renderer)
    for ax in fig.axes:
        assert not box.overlaps(ax.get_tightbbox(renderer)), ax.get_title()
