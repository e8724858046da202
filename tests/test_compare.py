"""`fcnn compare`: several trained models' learning curves on one scale, a table of their
final numbers, and a self-contained page with the curves overlaid."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from fcnn_cli import api
from fcnn_cli.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The digits recipe trained for one epoch and for two."""
    folder = tmp_path_factory.mktemp("compare")
    paths = (folder / "one.h5", folder / "two.h5")
    for epochs, path in enumerate(paths, start=1):
        api.train("digits", out=path, training__epochs=epochs)
    return paths


def compare(*args: str) -> Any:
    return runner.invoke(app, ["compare", *args])


def fails(*args: str) -> str:
    result = compare(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_the_table_holds_each_models_final_numbers(two_models: tuple[Path, Path]) -> None:
    result = compare(*map(str, two_models))
    assert result.exit_code == 0, result.output
    for path in two_models:
        model = api.load_model(path)
        epochs = len(model.history["train_loss"])
        cells = next(line.replace("│", " ").split() for line in result.stdout.splitlines()
                     if line.replace("│", " ").split()[:1] == [path.stem])
        assert cells[0] == path.stem
        assert cells[2] == f"{model.history['val_loss'][-1]:.4g}"
        assert cells[4] == f"{model.history['val_accuracy'][-1]:.2%}"
        assert cells[6] == str(epochs)
        assert cells[8] == f"{sum(p.size for p in model.network.params()):,}"


def test_the_curves_share_one_scale_whose_range_is_stated(two_models: tuple[Path, Path]
                                                          ) -> None:
    result = compare(*map(str, two_models))
    losses = np.concatenate([api.load_model(p).history["val_loss"] for p in two_models])
    assert (f"validation loss: every model on one scale, {losses.min():.4g} (▁) … "
            f"{losses.max():.4g} (█)") in result.stdout


def test_a_nearly_flat_curve_looks_flat_beside_a_falling_one(two_models: tuple[Path, Path]
                                                            ) -> None:
    """The issue's case: 2.316 → 2.337 beside 2.3 → 0.1 must not look like wild swings."""
    flat, falling = (api.load_model(p) for p in two_models)
    flat.history = {"train_loss": np.array([2.32, 2.33]), "val_loss": np.array([2.316, 2.337])}
    falling.history = {"train_loss": np.array([2.3, 0.2]), "val_loss": np.array([2.3, 0.1])}
    from fcnn_cli.compare import shared_bars

    compared = api.compare([flat, falling]).models
    assert shared_bars(compared, "val_loss", 60) == ["██", "█▁"]


def test_models_without_history_are_compared_without_curves(two_models: tuple[Path, Path],
                                                             tmp_path: Path) -> None:
    paths = []
    for path in two_models:  # as an imported model: weights, no training history
        model = api.load_model(path)
        model.history = {}
        paths.append(tmp_path / path.name)
        model.save(paths[-1])
    result = compare(*map(str, paths), "--out", str(tmp_path / "page.html"))
    assert result.exit_code == 0, result.output
    assert "no model records a training history" in result.stdout
    assert "every model on one scale" not in result.stdout
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "<svg" not in page and "No model records a training history" in page


def test_the_page_draws_every_curve_in_one_figure(two_models: tuple[Path, Path],
                                                  tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    result = compare(*map(str, two_models), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"page written to {out}" in result.stdout
    page = out.read_text(encoding="utf-8")
    assert page.count("<svg") == 1 and "<script" not in page and "http://" not in \
        page.replace("http://www.w3.org", "")
    curves = re.findall(r'id="curve-(\d)-(train|val)-(loss|accuracy)"', page)
    assert len(curves) == 2 * 2 * 2  # models × (training, validation) × (loss, accuracy)
    assert {model for model, _, _ in curves} == {"0", "1"}


def test_an_output_folder_gets_compare_html(two_models: tuple[Path, Path],
                                            tmp_path: Path) -> None:
    result = compare(*map(str, two_models), "--out", f"{tmp_path}/")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "compare.html").is_file()


def test_fewer_than_two_models_is_one_line(two_models: tuple[Path, Path]) -> None:
    assert "compare needs at least two models, got 1" in fails(str(two_models[0]))
    assert "compare needs at least two models, got 0" in fails()


def test_an_unreadable_model_is_one_line(two_models: tuple[Path, Path], tmp_path: Path) -> None:
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not a model")
    assert "junk.h5 is not an HDF5 file" in fails(str(two_models[0]), str(junk))
    assert "'missing.h5' is neither a model file nor a built-in model" in fails(
        str(two_models[0]), "missing.h5")


def test_an_output_over_a_model_is_refused_and_the_model_kept(
        two_models: tuple[Path, Path], tmp_path: Path) -> None:
    copy = tmp_path / "copy.h5"
    shutil.copy(two_models[0], copy)
    before = copy.read_bytes()
    line = fails(str(copy), str(two_models[1]), "--out", str(copy))
    assert f"--out {copy} is the same file as a model" in line
    assert copy.read_bytes() == before


# --- the page in a browser -------------------------------------------------------------

def test_the_page_shows_the_curves_and_the_table_in_a_browser(
        two_models: tuple[Path, Path], tmp_path: Path, browser: Any) -> None:
    out = api.compare(list(two_models), out=tmp_path / "page.html").page
    assert out is not None
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(out.resolve().as_uri())
        assert page.locator("figure svg").count() == 1
        curves = page.locator('[id^="curve-"]')
        assert curves.count() == 8
        assert all(curves.nth(i).bounding_box() for i in range(8))  # drawn, not hidden
        assert page.locator("#final tr").count() == 3  # the header and one row per model
        assert page.locator("#final td").first.inner_text() == "one"
    finally:
        page.close()
