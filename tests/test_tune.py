"""`fcnn tune`: a search on Optuna that scores trials on validation data only, prunes,
continues where it stopped, and writes the best config ready for `fcnn train`."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fcnn_cli import api
from fcnn_cli.cli import app
from fcnn_cli.errors import FcnnError
from fcnn_cli.tuning.search import TrialRow

optuna = pytest.importorskip("optuna")

ROOT = Path(__file__).resolve().parents[1]
BASE: dict[str, Any] = {
    "name": "tiny", "seed": 3,
    "data": {"dataset": "digits", "val_fraction": 0.2, "test_fraction": 0.2},
    "model": {"layers": [{"units": 32}, {"units": 10, "activation": "softmax"}]},
    "training": {"epochs": 4, "batch_size": 32, "optimizer": {"lr": 0.1, "momentum": 0.9}},
}
SPACE = ("training.optimizer.lr: {low: 0.0005, high: 1.0, log: true}\n"
         "model.layers[0].units: {low: 8, high: 64, step: 8}\n"
         "model.layers[0].dropout: {low: 0.0, high: 0.5}\n")


@pytest.fixture
def space(tmp_path: Path) -> Path:
    path = tmp_path / "space.yaml"
    path.write_text(SPACE)
    return path


def _tune(tmp_path: Path, space: Path, config: Any = None, store: str = "study.db",
          **options: Any) -> Any:
    return api.tune(config or BASE, space, storage=str(tmp_path / store),
                    out=tmp_path / "best.yaml", **{"trials": 4, **options})


def _states(study_file: Path, name: str = "tiny") -> list[str]:
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{study_file}")
    return [t.state.name for t in study.trials]


def test_the_best_config_holds_the_best_values_and_trains(tmp_path: Path, space: Path) -> None:
    outcome = _tune(tmp_path, space, trials=6)
    done = [r for r in outcome.rows if r.state == "complete"]
    assert outcome.best.value == max(r.value for r in done)
    config = api.load_config(outcome.best_config)
    assert config.training.optimizer.lr == outcome.best.params["training.optimizer.lr"]
    assert config.model.layers[0].units == outcome.best.params["model.layers[0].units"]
    assert config.output == str(tmp_path / "best.h5")
    trained = api.train(outcome.best_config)
    assert trained.output.exists() and trained.test["accuracy"] > 0.5


def test_the_best_trial_is_scored_on_its_best_validation_epoch(tmp_path: Path,
                                                               space: Path) -> None:
    outcome = _tune(tmp_path, space, trials=3)
    study = optuna.load_study(study_name="tiny", storage=f"sqlite:///{tmp_path / 'study.db'}")
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):
        assert trial.value == max(trial.intermediate_values.values())
    assert outcome.plan.metric == "val_accuracy"


def test_the_test_split_is_never_scored(tmp_path: Path, space: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import fcnn_cli.training as training

    class Untouchable:
        """Has a length; anything else done with it fails the test."""

        def __init__(self, n: int) -> None:
            self.n = n

        def __len__(self) -> int:
            return self.n

        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"the search looked at the test split ({name})")

        def __getitem__(self, index: Any) -> Any:
            raise AssertionError("the search looked at the test split")

    real = training.make_splits

    def hidden_test(*args: Any, **kwargs: Any) -> Any:
        splits = real(*args, **kwargs)
        splits.x_test = Untouchable(len(splits.x_test))
        return splits

    monkeypatch.setattr(training, "make_splits", hidden_test)
    assert _tune(tmp_path, space, trials=2).best is not None


def test_the_same_seed_gives_the_same_search(tmp_path: Path, space: Path) -> None:
    first = _tune(tmp_path, space, store="one.db", trials=6)
    second = _tune(tmp_path, space, store="two.db", trials=6)
    assert [(r.params, r.value, r.state) for r in first.rows] == \
        [(r.params, r.value, r.state) for r in second.rows]


def test_running_again_tops_the_study_up_to_the_trials_asked(tmp_path: Path,
                                                             space: Path) -> None:
    first = _tune(tmp_path, space, trials=3)
    again = _tune(tmp_path, space, trials=5)
    assert len(again.rows) == 5
    assert [r.params for r in again.rows[:3]] == [r.params for r in first.rows]
    assert len(_tune(tmp_path, space, trials=5).rows) == 5  # full: nothing more runs


def test_a_study_refuses_a_different_space(tmp_path: Path, space: Path) -> None:
    _tune(tmp_path, space, trials=1)
    other = tmp_path / "other.yaml"
    other.write_text("training.batch_size: {choices: [16, 64]}\n")
    with pytest.raises(FcnnError, match="searches another space.*--study"):
        _tune(tmp_path, other, trials=2)


def test_regression_trials_minimise_the_validation_loss(tmp_path: Path, space: Path) -> None:
    config = {"name": "tiny", "seed": 1,
              "data": {"path": str(ROOT / "examples" / "data" / "diabetes.csv"),
                       "label_column": "progression", "test_fraction": 0.2,
                       "normalize": "standardize"},
              "model": {"layers": [{"units": 16, "activation": "tanh"},
                                   {"units": 1, "activation": "linear"}]},
              "cost": "quadratic", "training": {"epochs": 4, "batch_size": 32}}
    space.write_text("training.optimizer.lr: {low: 0.001, high: 0.1, log: true}\n")
    outcome = _tune(tmp_path, space, config, trials=3)
    assert outcome.plan.metric == "val_loss"
    assert outcome.best.value == min(r.value for r in outcome.rows if r.state == "complete")


def test_a_diverging_trial_is_pruned_and_says_why(tmp_path: Path, space: Path) -> None:
    space.write_text("training.optimizer.lr: {choices: [1000000.0]}\n")
    config = {**BASE, "cost": "quadratic", "training": {"epochs": 3},
              "model": {"layers": [{"units": 32}, {"units": 10, "activation": "linear"}]}}
    outcome = _tune(tmp_path, space, config, trials=1)
    (row,) = outcome.rows
    assert row.state == "pruned" and row.note.startswith("training diverged at epoch")
    assert outcome.best is None and outcome.best_config is None


def test_impossible_combinations_fail_and_three_in_a_row_stop_the_search(
        tmp_path: Path, space: Path) -> None:
    space.write_text("data.val_fraction: {choices: [0.7]}\ndata.test_fraction: "
                     "{choices: [0.4]}\n")  # each alone is fine, together they take it all
    with pytest.raises(FcnnError, match="3 trials in a row failed; the last: trial 2: data: "
                                        "val_fraction \\+ test_fraction"):
        _tune(tmp_path, space, trials=5)
    assert _states(tmp_path / "study.db") == ["FAIL"] * 3


def test_without_a_validation_split_nothing_can_be_scored(tmp_path: Path, space: Path) -> None:
    config = {**BASE, "data": {"dataset": "digits", "val_fraction": 0, "test_fraction": 0.2}}
    with pytest.raises(FcnnError, match="data.val_fraction is 0"):
        _tune(tmp_path, space, config)


def test_pruning_stops_poor_trials_after_their_warm_up(tmp_path: Path, space: Path) -> None:
    pruned = [r for r in _tune(tmp_path, space, trials=12).rows if r.state == "pruned"]
    assert pruned and all(2 <= r.epochs < r.planned and r.saved_seconds > 0 for r in pruned)
    unpruned = _tune(tmp_path, space, store="all.db", trials=12, prune=False)
    assert unpruned.count("pruned") == 0


def test_a_pruned_trial_counts_the_time_of_the_epochs_it_skipped() -> None:
    row = TrialRow(7, "pruned", {}, 0.5, epochs=2, planned=10, seconds=3.0, epoch_seconds=1.25)
    assert row.saved_seconds == pytest.approx(10.0)
    assert TrialRow(8, "complete", {}, 0.9, 10, 10, 15.0).saved_seconds == 0


def test_the_search_stops_starting_trials_at_the_timeout(tmp_path: Path, space: Path) -> None:
    started = time.monotonic()
    outcome = _tune(tmp_path, space, trials=50, timeout=2.0)  # 50 trials take far longer
    assert 0 < len(outcome.rows) < 50
    last = max(r.seconds for r in outcome.rows)
    assert time.monotonic() - started < 2.0 + last + 5  # the last trial started in time


def test_progress_gets_every_trial_from_the_storage(tmp_path: Path, space: Path) -> None:
    seen: list[list[TrialRow]] = []
    _tune(tmp_path, space, trials=3, progress=seen.append)
    assert seen[0] == [] and [r.number for r in seen[-1]] == [0, 1, 2]


runner = CliRunner()


def test_the_command_prints_a_line_per_trial_and_the_best(tmp_path: Path, space: Path) -> None:
    base = tmp_path / "base.yaml"
    import yaml

    base.write_text(yaml.safe_dump(BASE))
    result = runner.invoke(app, ["tune", str(base), "--space", str(space), "--trials", "3",
                                 "--out", str(tmp_path / "best.yaml"), "--train-best"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert sum(line.startswith("trial ") for line in lines) == 3
    assert "best: trial" in result.output and "importance" in result.output
    assert (tmp_path / "tiny.db").exists() and (tmp_path / "best.h5").exists()
    assert "model saved to" in result.output


def _fcnn(*args: str, cwd: Path, env: dict[str, str] | None = None
          ) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "fcnn_cli", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120, env={**os.environ, **(env or {})})


def test_a_database_that_cannot_be_reached_is_one_line_before_training(
        tmp_path: Path, space: Path) -> None:
    done = _fcnn("tune", "digits", "--space", str(space), "--storage",
                 "postgresql://nobody:secret@127.0.0.1:1/none", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: cannot open the study storage postgresql://nobody:***@")
    assert "secret" not in line


def test_a_storage_url_of_no_known_database_is_one_line(tmp_path: Path, space: Path) -> None:
    done = _fcnn("tune", "digits", "--space", str(space), "--storage", "nosuchdb://x/y",
                 cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert "cannot open the study storage nosuchdb://x/y" in done.stderr


def test_without_optuna_the_command_says_how_to_install_it(tmp_path: Path, space: Path) -> None:
    blocker = tmp_path / "no-optuna"
    blocker.mkdir()
    (blocker / "optuna.py").write_text("raise ImportError('No module named optuna')\n")
    done = _fcnn("tune", "digits", "--space", str(space), cwd=tmp_path,
                 env={"PYTHONPATH": str(blocker)})
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert 'pip install "fcnn[tune]"' in done.stderr


def test_the_live_table_shows_running_trials_with_their_epochs_so_far() -> None:
    from rich.console import Console

    from fcnn_cli.ui import TrialsDisplay

    display = TrialsDisplay(live=False)
    display.budget, display.metric = 5, "val_accuracy"
    rows = [TrialRow(0, "complete", {"training.optimizer.lr": 0.1}, 0.9, 10, 10, 3.0),
            TrialRow(1, "running", {"training.optimizer.lr": 0.01}, 0.5, 3, 10, 1.0)]
    console = Console(width=120, record=True)
    console.print(display.table(rows))
    text = console.export_text()
    assert "1 of 5 trials · best 90.00% (trial 0)" in text
    assert "running" in text and "3/10" in text and "0.01" in text
