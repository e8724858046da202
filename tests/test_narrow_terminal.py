"""At 80 columns, and without colour, every table and picture stays correct.

A terminal 80 columns wide must show the same numbers, with the same digits, as a wide one:
no number split across lines (3.442e-11 shown as "3.442e-1" over "1"), no line longer
than the terminal, pictures that fit, and pictures that show something without colour.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from fcnn_cli import ui
from fcnn_cli.cli import app

ROOT = Path(__file__).resolve().parents[1]
IMAGE = "mnist-test-0000-label-7.png"  # shipped with fcnn, found by name

# A number standing alone (in a table cell or between words), not a piece of a name such
# as python3.11 or mnist-test-0000: digits, a fraction and an exponent.
NUMBER = re.compile(r"(?<![\w./-])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w./-])")


def terminal(monkeypatch: pytest.MonkeyPatch, width: int, **options: object) -> io.StringIO:
    """Make fcnn print to a terminal `width` columns wide (no colour unless asked)."""
    screen = io.StringIO()
    kind = type(ui._out)
    settings = {"force_terminal": True, "color_system": None, "highlight": False,
                "emoji": False, **options}
    monkeypatch.setattr(ui, "_out", kind(file=screen, width=width, **settings))
    monkeypatch.setattr(ui, "_err", kind(file=screen, width=width, **settings))
    return screen


def shown(monkeypatch: pytest.MonkeyPatch, width: int, *args: str) -> str:
    """What `fcnn ARGS` shows on a terminal `width` columns wide."""
    screen = terminal(monkeypatch, width)
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return screen.getvalue()


def numbers(text: str) -> Counter[str]:
    return Counter(NUMBER.findall(text))


def too_long(text: str, width: int) -> list[str]:
    return [line for line in text.splitlines() if cell_len(line) > width]


def assert_same_numbers_at_80_columns(monkeypatch: pytest.MonkeyPatch, *args: str,
                                      repeated_labels: bool = False) -> str:
    """The output at 80 columns holds every number of the 200-column output, digit for
    digit, and no line longer than 80; returns the narrow output. With `repeated_labels`
    a table may have gone on below, repeating its row labels (n, j: small integers)."""
    narrow, wide = shown(monkeypatch, 80, *args), shown(monkeypatch, 200, *args)
    assert too_long(narrow, 80) == []
    assert_same_numbers(narrow, wide, repeated_labels)
    return narrow


def assert_same_numbers(narrow: str, wide: str, repeated_labels: bool = False) -> None:
    missing, extra = numbers(wide) - numbers(narrow), numbers(narrow) - numbers(wide)
    assert missing == Counter(), narrow
    if repeated_labels:  # one-digit row labels (n, j, a class, a trial) may come again
        extra = Counter({n: count for n, count in extra.items() if not re.fullmatch(r"\d", n)})
    assert extra == Counter(), narrow


# --- forward-trace -----------------------------------------------------------------------


def test_a_model_trace_keeps_every_number_whole_at_80_columns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    narrow = assert_same_numbers_at_80_columns(monkeypatch, "forward-trace", "--model",
                                               "mnist", "--input", IMAGE)
    # tiny softmax outputs such as 3.442e-11 are the numbers that used to be torn apart
    assert len(re.findall(r"\d\.\d+e-\d{2}\b", narrow)) >= 5


@pytest.mark.parametrize("example", ["mlp-2-3-1", "mini-batch", "cross-entropy-vs-quadratic",
                                     "softmax", "gate", "architecture"])
def test_every_built_in_example_keeps_its_numbers_at_80_columns(
        monkeypatch: pytest.MonkeyPatch, example: str) -> None:
    assert_same_numbers_at_80_columns(monkeypatch, "forward-trace", example)


def wide_trace(tmp_path: Path) -> Path:
    """Two examples through a 12-3-1 network: each example's ∂Cₙ/∂w¹ has 15 columns."""
    rng = np.random.default_rng(3)
    w1 = rng.normal(0, 0.3, (3, 12)).round(4).tolist()
    path = tmp_path / "wide.yaml"
    path.write_text(f"x: {rng.normal(0, 1, (2, 12)).round(3).tolist()}\ny: [[1.0], [0.0]]\n"
                    "activation: sigmoid\ncost: quadratic\nlr: 0.1\nlayers:\n"
                    f"  - {{w: {w1}, b: [0.1, -0.2, 0.3]}}\n"
                    "  - {w: [[0.5, -0.25, 0.125]], b: [0]}\n", encoding="utf-8")
    return path


def test_a_trace_table_too_wide_goes_on_below_repeating_the_example_and_unit(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    narrow = assert_same_numbers_at_80_columns(monkeypatch, "forward-trace",
                                               str(wide_trace(tmp_path)), repeated_labels=True)
    # the per-example table's 15 columns went on in several tables, each headed n and j
    headers = [line.split() for line in narrow.splitlines() if "k=" in line]
    assert sum(1 for h in headers if h[1:3] == ["n", "j"]) >= 2
    assert all(f"k={k}" in narrow for k in range(1, 13))


def test_a_long_heading_is_printed_whole_rather_than_cut_in_the_rule(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = shown(monkeypatch, 50, "forward-trace", "mlp-2-3-1")
    assert "η = 0.01" in text and "…" not in text


# --- eval, predict, info, tune -------------------------------------------------------------


def test_eval_tables_keep_every_number_at_80_columns(monkeypatch: pytest.MonkeyPatch,
                                                     digits_model: Path) -> None:
    narrow = assert_same_numbers_at_80_columns(monkeypatch, "eval", str(digits_model))
    assert "confusion matrix" in narrow


def test_a_name_wider_than_the_terminal_folds_and_leaves_the_numbers_whole(
        monkeypatch: pytest.MonkeyPatch) -> None:
    screen = terminal(monkeypatch, 30)
    name = "a-class-name-longer-than-the-terminal-is-wide"
    ui._print_tables(None, ["class", "precision", "support"],
                     [[name, "0.9876", "1,234"], ["b", "3.442e-11", "5"]],
                     justify=["left", "right", "right"])
    text = screen.getvalue()
    assert too_long(text, 30) == []
    assert {"precision", "support", "0.9876", "1,234", "3.442e-11"} <= set(text.split())
    assert name[:10] in text and name[-6:] in text  # the name folded, not cut off


def test_a_confusion_matrix_too_wide_goes_on_below_by_true_class(
        monkeypatch: pytest.MonkeyPatch, digits_model: Path) -> None:
    narrow = shown(monkeypatch, 34, "eval", str(digits_model))
    wide = shown(monkeypatch, 200, "eval", str(digits_model))
    assert too_long(narrow, 34) == []
    assert_same_numbers(narrow, wide, repeated_labels=True)
    # each part keeps the true-class column (its heading may wrap between its words)
    assert sum(line.startswith("true \\") for line in narrow.splitlines()) >= 2


def test_predict_keeps_each_class_with_its_probability_at_80_columns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = shown(monkeypatch, 80, "predict", "mnist", IMAGE, "--top-k", "5")
    assert too_long(text, 80) == []
    assert len(re.findall(r"(?<!\S)\d (?:0|1)\.\d{3}(?!\S)", text)) == 5  # "7 1.000", whole


def test_info_draws_its_learning_curves_inside_80_columns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = shown(monkeypatch, 80, "info", "mnist")
    assert too_long(text, 80) == []
    assert "↑" in text and "best, epoch" in text


def test_the_tune_table_repeats_the_trial_number_when_it_goes_on_below(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from fcnn_cli.tuning.search import TrialRow

    params = {f"model.layers.{i}.units": 100 + i for i in range(6)}
    params |= {"training.optimizer.lr": 0.012345, "training.l2": 0.000123}
    rows = [TrialRow(n, "complete", params, 0.91 + n / 100, 10, 10, 12.5) for n in range(3)]
    display = ui.TrialsDisplay(live=False)
    display.budget, display.metric = 5, "val_accuracy"
    texts = {}
    for width in (80, 200):
        screen = terminal(monkeypatch, width)
        ui._out.print(display.table(rows))
        texts[width] = screen.getvalue()
    assert too_long(texts[80], 80) == []
    assert_same_numbers(texts[80], texts[200], repeated_labels=True)
    assert texts[80].count("trial") > texts[200].count("trial")


def test_epoch_rows_fit_an_80_column_terminal(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    from fcnn_cli.config import load_config
    from fcnn_cli.training import Trainer

    screen = terminal(monkeypatch, 80)
    config = load_config(ROOT / "configs" / "digits.yaml", ["training.epochs=2"])
    Trainer(config, "", tmp_path / "m.h5", ui.make_reporter(quiet=False)).run()
    lines = re.split(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n", screen.getvalue())
    rows = [line for line in lines if re.match(r"\s+[12]/2\s", line)]
    assert len(rows) == 2 and all(cell_len(row) <= 80 for row in rows)
    assert all(len(row.split()) >= 7 for row in rows)  # epoch, losses, accuracies, lr, s


# --- pictures ------------------------------------------------------------------------------


def drawing(text: str) -> list[str]:
    """The picture's lines: those after the title line."""
    return text.split("):\n", 1)[1].splitlines()


def test_show_augment_draws_its_pictures_inside_80_columns(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 256, (4, 4, 28, 28)).astype(np.uint8)  # 118 columns at full size
    screen = terminal(monkeypatch, 80)
    ui.show_augmented(pictures)
    lines = drawing(screen.getvalue())
    assert lines and max(cell_len(line) for line in lines) <= 80
    assert max(cell_len(line) for line in lines) >= 60  # smaller, not tiny


def test_a_very_narrow_terminal_gets_fewer_pictures_to_a_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pictures = np.full((2, 4, 28, 28), 200, np.uint8)
    screen = terminal(monkeypatch, 60)
    ui.show_augmented(pictures)
    lines = drawing(screen.getvalue())
    assert max(cell_len(line) for line in lines) <= 60
    assert len(lines) > 2 * 14  # two pictures' rows of 14 lines no longer hold 4 copies


def test_without_colour_a_picture_is_drawn_in_shades(digits_model: Path) -> None:
    image = ROOT / "examples" / "images" / "user-7-dark-on-white.png"
    result = CliRunner().invoke(app, ["predict", str(digits_model), str(image), "--show"])
    assert result.exit_code == 0, result.output  # (the test runner's output has no colour)
    picture = result.output.split("what the network sees (8×8):\n")[1].splitlines()[:4]
    assert "▀" not in "".join(picture)
    assert len(set("".join(picture))) > 2 and all(len(line) == 8 for line in picture)


def test_no_color_draws_shades_even_in_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    screen = terminal(monkeypatch, 80, color_system="truecolor")
    digit = np.zeros((8, 8))
    digit[2:6, 3:5] = 255.0  # a bar of ink, two characters wide and two lines high
    ui.show_image("one.png", digit)
    lines = drawing(screen.getvalue())
    assert "▀" not in "".join(lines) and "\x1b[" not in screen.getvalue()
    assert lines == [" " * 8, "   @@   ", "   @@   ", " " * 8]


def test_in_colour_pictures_keep_their_half_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    screen = terminal(monkeypatch, 80, color_system="truecolor")
    ui.show_image("one.png", np.eye(4) * 255)
    assert screen.getvalue().count("▀") == 4 * 2


def test_a_picture_wider_than_the_terminal_is_drawn_smaller(
        monkeypatch: pytest.MonkeyPatch) -> None:
    screen = terminal(monkeypatch, 80)
    ui.show_image("wide.png", np.tile(np.linspace(0, 255, 200), (50, 1)))
    lines = drawing(screen.getvalue())
    assert max(cell_len(line) for line in lines) == 80 and len(lines) == 10
