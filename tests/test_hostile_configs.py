"""Hostile configs, search spaces and trace files: each is refused in one line, exit 2, in
well under a second and a few megabytes, before any data is read or anything is written.

Each test builds its hostile file itself. The limits: YAML files up to 1 MiB, at most
100,000 values with aliases expanded, nesting 64 deep, whole numbers below 2⁶³; every
number finite; the network's weights and a batch's activations within the memory budget.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fcnn_cli.config
import fcnn_cli.trace
import fcnn_cli.tuning.space  # noqa: F401  (imported now, so no test times the imports)
from fcnn_cli.cli import app

runner = CliRunner()

CONFIG = """\
data: {dataset: digits}
model:
  layers:
    - {units: 16}
    - {units: 10, activation: softmax}
training: {epochs: 1}
"""

TRACE = """\
x: [[1.0, 2.0]]
y: [[1.0]]
lr: 0.01
layers:
  - {w: [[1, 2], [3, 4], [5, 6]], b: [0, 0, 0]}
  - {w: [[7, 8, 9]], b: [0]}
"""

# Nine lists of nine aliases of the one before: 9⁹ (387 million) strings once expanded.
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))


def refused(tmp_path: Path, *args: str, seconds: float = 1.0) -> str:
    """Run fcnn; assert exit 2 within `seconds`, one `error:` line and nothing else, and no
    file added to or changed in tmp_path; return the line."""
    before = {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")}
    start = time.perf_counter()
    result = runner.invoke(app, list(args))
    elapsed = time.perf_counter() - start
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert len(lines[0]) < 400 + len(str(tmp_path))  # never echoes a huge value
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    assert {path: path.stat().st_mtime_ns for path in tmp_path.rglob("*")} == before
    return lines[0]


def train(tmp_path: Path, text: str, *overrides: str) -> str:
    """`fcnn train` on a config of `text`; it must be refused (see `refused`)."""
    config = tmp_path / "config.yaml"
    config.write_text(text)
    sets = [arg for item in overrides for arg in ("--set", item)]
    line = refused(tmp_path, "train", str(config), "--out", str(tmp_path / "model.h5"), *sets)
    assert not (tmp_path / "model.h5").exists()
    return line


def peak_bytes(job) -> int:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        job()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- the YAML reader: size, aliases, key counts, nesting, numbers Python cannot print ---

def test_a_config_over_1_mib_is_refused_by_its_size_before_it_is_read(tmp_path: Path) -> None:
    keys = "".join(f"k{i}: {i}\n" for i in range(120_000))  # 1.4 MB of keys
    line = train(tmp_path, CONFIG + keys)
    assert f"is {len(CONFIG) + len(keys):,} bytes, over the 1,048,576 bytes (1 MiB)" in line


def test_a_billion_laughs_config_is_refused_fast_and_small(tmp_path: Path) -> None:
    peak = peak_bytes(lambda: train(tmp_path, CONFIG + LAUGHS))
    assert peak < 20 * 2**20


def test_a_billion_laughs_config_names_the_aliases(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG + LAUGHS)
    assert "config.yaml: its aliases (*name) expand it past 100,000 values" in line


def test_a_billion_laughs_in_a_set_value_is_refused(tmp_path: Path) -> None:
    laughs = "{" + ", ".join(line.replace("\n", "") for line in LAUGHS.splitlines()) + "}"
    line = train(tmp_path, CONFIG, f"name={laughs}")
    assert "--set name: its aliases (*name) expand it past 100,000 values" in line


def test_a_config_of_a_hundred_thousand_keys_under_1_mib_is_refused_fast(tmp_path: Path) -> None:
    keys = "{" + ", ".join(["a: "] * 110_000) + "}\n"  # 550 kB
    line = train(tmp_path, CONFIG + f"data: {keys}")
    assert "config.yaml holds more than 100,000 values" in line


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG + "name: &n [*n]\n")
    assert "alias *n is inside &n itself; fcnn's files cannot be recursive" in line


def test_values_nested_deeper_than_64_levels_are_refused(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG + "name: " + "[" * 100 + "]" * 100 + "\n")
    assert "values nested more than 64 deep at line 7" in line


def test_a_whole_number_python_cannot_print_is_refused_where_it_stands(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG + "seed: " + "9" * 5000 + "\n")
    assert "line 7: a whole number of 5,000 characters; fcnn takes whole numbers below 2⁶³" in line


def test_a_device_without_end_is_read_no_further_than_the_cap(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    line = refused(tmp_path, "train", "/dev/zero", "--out", str(tmp_path / "model.h5"))
    assert "/dev/zero holds more, over the 1,048,576 bytes (1 MiB)" in line


def test_a_huge_wrong_value_is_shown_cut_short(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG + "cost: " + "x" * 1_000_000 + "\n")
    assert "cost: 'xxxxxxxxxxxxxxxxx...xxxxxxxxxxxxxxxxxx' is not one of quadratic" in line


def test_a_huge_unknown_key_is_shown_cut_short(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG + "? " + "k" * 500_000 + "\n: 1\n")  # an explicit key
    assert "config.yaml: 'kkkkkkkkkkkkkkkkk...kkkkkkkkkkkkkkkkkk': unknown key; allowed " \
           "here: name, seed, data" in line


# --- declared sizes against the memory budget, before any data is read ------------------

def test_a_layer_of_a_billion_units_is_refused_before_loading_data(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG.replace("units: 16", "units: 1000000000"))
    assert ("model.layers: the network's 75,000,000,010 weights and biases take 279.4 GiB, over "
            "fcnn's memory budget of 4.0 GiB (layers[0] alone: 1,000,000,000 units × 64 "
            "inputs); use fewer units") in line


def test_units_of_1e9_from_the_command_line_are_refused_the_same_way(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG, "model.layers[0].units=1000000000")
    assert "model.layers: the network's 75,000,000,010 weights and biases take 279.4 GiB" in line


def test_two_wide_layers_that_fit_alone_are_refused_together(tmp_path: Path) -> None:
    text = CONFIG.replace("- {units: 16}", "- {units: 40000}\n    - {units: 40000}")
    line = train(tmp_path, text)
    assert "(layers[1] alone: 40,000 units × 40,000 inputs)" in line


def test_a_huge_batch_size_is_refused_for_its_activations(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG, "training.batch_size=100000000")
    assert ("training.batch_size: the activations of a batch of 100,000,000 examples take "
            "52.9 GiB, over fcnn's memory budget of 4.0 GiB; use a smaller batch_size") in line


def test_a_huge_image_size_is_refused_for_one_picture(tmp_path: Path) -> None:
    text = CONFIG.replace("{dataset: digits}", "{path: pictures, image: {size: [100000, 100000]}}")
    line = train(tmp_path, text)
    assert ("data.image: size [100000, 100000]: one picture takes 37.3 GiB, over fcnn's memory "
            "budget of 4.0 GiB") in line


def test_the_budget_follows_fcnn_memory_budget(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FCNN_MEMORY_BUDGET", "4KB")
    line = train(tmp_path, CONFIG)
    assert "1,210 weights and biases take 4.7 KiB, over fcnn's memory budget of 4.0 KiB" in line


def test_wide_data_are_checked_once_the_data_tell_the_inputs(tmp_path: Path,
                                                             monkeypatch) -> None:
    # 200 columns: the config alone (1 input as far as it can tell) fits 1 MB; the data not.
    header = ",".join(f"f{j}" for j in range(200)) + ",label\n"
    rows = "".join(",".join(["1"] * 200) + f",{i % 2}\n" for i in range(20))
    (tmp_path / "wide.csv").write_text(header + rows)
    monkeypatch.setenv("FCNN_MEMORY_BUDGET", "1MB")
    text = (f"data: {{path: {tmp_path / 'wide.csv'}}}\nmodel: {{layers: [{{units: 2000}}, "
            "{units: 2, activation: softmax}]}\ntraining: {epochs: 1, batch_size: 4}\n")
    line = train(tmp_path, text)
    assert "the network's 406,002 weights and biases take 1.5 MiB, over fcnn's memory " \
           "budget of 1.0 MiB (layers[0] alone: 2,000 units × 200 inputs)" in line


# --- numbers: negative seed, NaN and infinity ------------------------------------------

def test_a_negative_seed_is_refused_by_the_schema(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG + "seed: -1\n")
    assert "seed: input should be greater than or equal to 0, got -1" in line


def test_a_negative_seed_from_the_command_line_is_refused(tmp_path: Path) -> None:
    line = train(tmp_path, CONFIG, "seed=-7")
    assert "seed: input should be greater than or equal to 0, got -7" in line


@pytest.mark.parametrize("key,value,expected", [
    ("training.optimizer.lr", ".nan", "training.optimizer.lr: input should be a finite number"),
    ("training.optimizer.lr", ".inf", "training.optimizer.lr: input should be a finite number"),
    ("training.optimizer.momentum", ".nan", "training.optimizer.momentum: input should be a "
                                            "finite number"),
    ("training.l2", ".inf", "training.l2: input should be a finite number"),
    ("training.lr_schedule.min_lr", ".inf", "training.lr_schedule.min_lr: input should be a "
                                            "finite number"),
    ("model.layers[0].dropout", ".nan", "model.layers[0].dropout: input should be a finite"),
    ("data.val_fraction", ".nan", "data.val_fraction: input should be a finite number"),
    ("data.augment", "{rotate: .inf}", "data.augment.rotate.max: input should be a finite"),
    ("data.augment", "{hflip: .nan}", "data.augment.hflip"),
])
def test_non_finite_numbers_are_refused_by_the_schema(tmp_path: Path, key: str, value: str,
                                                      expected: str) -> None:
    assert expected in train(tmp_path, CONFIG, f"{key}={value}")


def test_forward_trace_refuses_a_nan_learning_rate(tmp_path: Path) -> None:
    for value in ("nan", "inf"):
        line = refused(tmp_path, "forward-trace", "--model", "mnist", "--input",
                       str(tmp_path / "x.npy"), f"--lr={value}")
        assert f"--lr {value}: give a finite learning rate ≥ 0" in line


# --- search spaces ------------------------------------------------------------------

def tune(tmp_path: Path, space: str) -> str:
    """`fcnn tune` with a good config and a space of `space`; it must be refused."""
    pytest.importorskip("optuna")
    (tmp_path / "config.yaml").write_text(CONFIG)
    (tmp_path / "space.yaml").write_text(space)
    return refused(tmp_path, "tune", str(tmp_path / "config.yaml"), "--space",
                   str(tmp_path / "space.yaml"), "--storage",
                   f"sqlite:///{tmp_path / 'study.db'}", "--out", str(tmp_path / "best.yaml"))


def test_a_space_whose_units_reach_1e9_is_refused_before_any_trial(tmp_path: Path) -> None:
    line = tune(tmp_path, "model.layers[0].units: {low: 16, high: 1e9}\n")
    assert ("space.yaml: model.layers[0].units = 1000000000.0 makes no valid config: "
            "model.layers: the network's 75,000,000,010 weights") in line


def test_a_space_choice_of_a_billion_units_is_refused(tmp_path: Path) -> None:
    line = tune(tmp_path, "model.layers[0].units: {choices: [16, 1000000000]}\n")
    assert "model.layers[0].units = 1000000000 makes no valid config" in line


def test_space_values_that_fit_alone_are_refused_together(tmp_path: Path) -> None:
    # 100,000 units with a batch of 64, or 16 units with a batch of 10,000, fit 4 GiB;
    # 100,000 units with a batch of 10,000 would take 11 GiB of activations.
    line = tune(tmp_path, "training.optimizer.lr: {low: 0.01, high: 0.5}\n"  # not named
                          "model.layers[0].units: {low: 16, high: 100000}\n"
                          "training.batch_size: {choices: [64, 10000]}\n")
    assert ("space.yaml: the largest values together (model.layers[0].units = 100000, "
            "training.batch_size = 10000) make no valid config: training.batch_size: the "
            "activations of a batch of 10,000 examples take 11.2 GiB") in line


@pytest.mark.parametrize("space,expected", [
    ("training.optimizer.lr: {low: 0.01, high: .nan}", "high must be finite, not nan"),
    ("training.optimizer.lr: {low: -.inf, high: 1.0}", "low must be finite, not -inf"),
    ("training.optimizer.lr: {choices: [0.1, .nan]}",
     "training.optimizer.lr = .nan makes no valid config: training.optimizer.lr: input should "
     "be a finite number"),
    ("training.l2: {choices: [.inf]}", "training.l2: input should be a finite number"),
    ("seed: {choices: [1, -5]}", "seed = -5 makes no valid config: seed: input should be "
                                 "greater than or equal to 0"),
])
def test_a_space_with_invalid_numbers_is_refused(tmp_path: Path, space: str,
                                                 expected: str) -> None:
    assert expected in tune(tmp_path, space + "\n")


def test_a_billion_laughs_space_is_refused(tmp_path: Path) -> None:
    line = tune(tmp_path, "name: {choices: [x]}\n" + LAUGHS)
    assert "space.yaml: its aliases (*name) expand it past 100,000 values" in line


def test_a_space_over_1_mib_is_refused_by_its_size(tmp_path: Path) -> None:
    text = "name: {choices: [" + "x, " * 400_000 + "]}\n"
    line = tune(tmp_path, text)
    assert f"space.yaml is {len(text):,} bytes, over the 1,048,576 bytes (1 MiB)" in line


# --- trace files ------------------------------------------------------------------------

def forward_trace(tmp_path: Path, text: str) -> str:
    (tmp_path / "trace.yaml").write_text(text)
    return refused(tmp_path, "forward-trace", str(tmp_path / "trace.yaml"))


def test_a_billion_laughs_trace_file_is_refused(tmp_path: Path) -> None:
    line = forward_trace(tmp_path, TRACE + "notes: *i\n" + LAUGHS.replace("a: &a", "z: &a"))
    assert "trace.yaml: its aliases (*name) expand it past 100,000 values" in line


def test_a_trace_file_over_1_mib_is_refused_by_its_size(tmp_path: Path) -> None:
    line = forward_trace(tmp_path, TRACE + "notes: " + "x" * 1_100_000 + "\n")
    assert "trace.yaml is 1,100," in line and "over the 1,048,576 bytes (1 MiB)" in line


@pytest.mark.parametrize("old,new,expected", [
    ("lr: 0.01", "lr: .nan", "lr: nan is not a finite number"),
    ("x: [[1.0, 2.0]]", "x: [[.inf, 2.0]]", "x row 1 column 1: inf is not a finite number"),
    ("y: [[1.0]]", "y: [[-.inf]]", "y row 1 column 1: -inf is not a finite number"),
    ("[[7, 8, 9]]", "[[7, .nan, 9]]", "w² row 1 column 2: nan is not a finite number"),
    ("b: [0]", "b: [.inf]", "b² entry 1: inf is not a finite number"),
])
def test_a_trace_file_with_a_non_finite_number_is_refused(tmp_path: Path, old: str, new: str,
                                                          expected: str) -> None:
    assert expected in forward_trace(tmp_path, TRACE.replace(old, new))


def test_a_softmax_example_whose_e_to_the_x_overflows_is_refused(tmp_path: Path) -> None:
    line = forward_trace(tmp_path, "kind: softmax\nx: [1000, 1]\n")
    assert "x entry 1: e^1000 is past the largest number (e^x overflows above x = 709.78)" in line


def test_a_gate_example_that_overflows_is_refused(tmp_path: Path) -> None:
    line = forward_trace(tmp_path, "kind: gate\nx: 1.0e+300\ny: 1.0e+300\nz: 1.0e+300\n")
    assert "(x + y)·z overflows with these inputs" in line
