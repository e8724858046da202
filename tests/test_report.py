"""`fcnn report`: one self-contained HTML page per model, its numbers equal to `fcnn eval`'s."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from fcnn_cli import api

ROOT = Path(__file__).resolve().parents[1]


def _section_ids(page: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', page)


@pytest.fixture(scope="module")
def digits_page(digits_model: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "digits.html"
    assert api.report(digits_model, out=out) == out
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def diabetes_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny regression model on the example CSV, trained for three epochs."""
    out = tmp_path_factory.mktemp("diabetes") / "diabetes.h5"
    config = {"data": {"path": str(ROOT / "examples" / "data" / "diabetes.csv"),
                       "label_column": "progression", "test_fraction": 0.1,
                       "normalize": "standardize"},
              "model": {"layers": [{"units": 8, "activation": "tanh"},
                                   {"units": 1, "activation": "linear"}]},
              "cost": "quadratic",
              "training": {"epochs": 3, "batch_size": 32,
                           "optimizer": {"name": "adam", "lr": 0.01}}}
    api.train(config, out=out)
    return out


def test_classification_report_has_every_section_and_evals_accuracy(
        digits_page: str, digits_model: Path) -> None:
    assert _section_ids(digits_page) == ["card", "curves", "diagnostics", "evaluation",
                                         "mistakes", "weights"]
    accuracy = api.load_model(digits_model).evaluate().accuracy  # what `fcnn eval` prints
    assert f"accuracy <b>{accuracy:.2%}</b>" in digits_page
    # curves, the three diagnostics panels (relu units can die), confusion, mistakes, weights
    assert digits_page.count("<svg") == 7
    assert "true class" in digits_page and "digits-mlp" in digits_page


def test_regression_report_has_predicted_vs_true_and_no_confusion(
        diabetes_model: Path, tmp_path: Path) -> None:
    page = api.report(diabetes_model, out=tmp_path / "r.html").read_text(encoding="utf-8")
    assert _section_ids(page) == ["card", "curves", "diagnostics", "evaluation", "mistakes"]
    assert "Predicted against true" in page and "y = x" in page
    assert "<th>R²</th>" in page and "progression" in page
    assert "Confusion" not in page and "true class" not in page


def test_missing_data_keeps_card_and_curves_and_names_left_out_sections(
        digits_model: Path, tmp_path: Path) -> None:
    """The model's own data are gone (its config names a folder that is not there)."""
    model = api.load_model(digits_model)
    model.config_text = model.config_text.replace(
        "dataset: digits\n  path: null", f"dataset: null\n  path: {tmp_path / 'gone'}")
    model.save(tmp_path / "moved.h5")
    warnings: list[str] = []
    out = api.report(tmp_path / "moved.h5", out=tmp_path / "r.html", warn=warnings.append)
    page = out.read_text(encoding="utf-8")
    # diagnostics and weights need no data
    assert _section_ids(page) == ["card", "curves", "diagnostics", "weights"]
    notices = [line for line in page.splitlines() if "Left out:" in line]
    assert len(notices) == 1
    assert "evaluation, mistakes" in notices[0] and "gone" in notices[0]
    assert len(warnings) == 1 and "gone" in warnings[0]


def test_data_given_that_cannot_be_read_is_an_error(digits_model: Path,
                                                    tmp_path: Path) -> None:
    with pytest.raises(api.FcnnError, match="no/such/folder"):
        api.report(digits_model, data="no/such/folder", out=tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_model_without_history_gets_no_curves_section(digits_model: Path,
                                                      tmp_path: Path) -> None:
    model = api.load_model(digits_model)
    model.history = {}
    model.save(tmp_path / "bare.h5")
    page = api.report(tmp_path / "bare.h5").read_text(encoding="utf-8")
    assert "curves" not in _section_ids(page)
    assert "evaluation" in _section_ids(page)


def test_default_output_is_beside_the_model(digits_model: Path, tmp_path: Path) -> None:
    model = tmp_path / "beside.h5"
    model.write_bytes(digits_model.read_bytes())
    assert api.report(model) == tmp_path / "beside.report.html"
    assert (tmp_path / "beside.report.html").is_file()


def test_report_fetches_nothing(digits_page: str) -> None:
    external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z]+:)?//""", digits_page, re.I)
    assert external == []
    assert "<script" not in digits_page.lower() and "<link" not in digits_page.lower()
    assert re.findall(r"url\(\s*['\"]?(?!#)", digits_page) == []  # only url(#clip) inside
    assert "@import" not in digits_page


def test_importing_report_does_not_import_matplotlib() -> None:
    code = ("import sys, fcnn_cli.cli, fcnn_cli.report; "
            "print('matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip() == "False"


def test_missing_matplotlib_gives_install_hint(digits_model: Path, tmp_path: Path) -> None:
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from fcnn_cli import api\n"
            "try:\n"
            f"    api.report({str(digits_model)!r}, out={str(tmp_path / 'r.html')!r})\n"
            "except api.FcnnError as error:\n"
            "    print(error.exit_code, error.message)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip() == ("2 fcnn report draws with matplotlib, which is not "
                                     "installed; pip install 'fcnn[report]'")
    assert not (tmp_path / "r.html").exists()


def test_an_unknown_split_is_an_error(digits_model: Path, tmp_path: Path) -> None:
    with pytest.raises(api.FcnnError, match="--split 'dev'"):
        api.report(digits_model, split="dev", out=tmp_path / "r.html")
