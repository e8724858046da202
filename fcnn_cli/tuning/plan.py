"""What a search is: the base config, the space, the study and where it lives, the
metric; set up and checked before any trial runs."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fcnn_cli.config import raw_config, validate
from fcnn_cli.errors import FcnnError
from fcnn_cli.outputs import output_path
from fcnn_cli.tuning import study as optuna_side
from fcnn_cli.tuning.space import SearchSpace, load_space

if TYPE_CHECKING:
    from fcnn_cli.config import Config
    from fcnn_cli.data.sources import Dataset
    from fcnn_cli.tracking import Tracking


@dataclass(frozen=True)
class Plan:
    """Everything a worker process needs (it is pickled to start one)."""

    raw: dict[str, Any]      # the base config's mapping, overrides set in
    space: SearchSpace
    url: str
    study: str
    trials: int
    timeout: float | None
    jobs: int
    seed: int
    metric: str              # val_accuracy (maximised) or val_loss (minimised)
    prune: bool
    earlier: int = 0         # trials the study had finished before this run: it continues
    tracking: Tracking | None = None  # MLflow (a child run per trial), TensorBoard

    @property
    def maximize(self) -> bool:
        return self.metric == "val_accuracy"

    def identity(self) -> dict[str, Any]:
        return {"metric": self.metric, "space": self.space.to_json()}


def make_plan(config: str | Path | dict[str, Any] | Config, space: str | Path, trials: int,
              timeout: float | None, jobs: int, storage: str | None, study: str | None,
              out: str | Path | None, prune: bool, overrides: list[str] | None,
              changes: dict[str, Any]) -> tuple[Plan, Any, Dataset, Path]:
    """The plan, its study (opened or created), the data, and where the best config goes.
    Every mistake the user can make is found here, before any training."""
    optuna_side.require_optuna()
    for name, value in (("trials", trials), ("jobs", jobs)):
        if value < 1:
            raise FcnnError(f"--{name} must be at least 1, got {value}")
    if timeout is not None and not 0 < timeout < float("inf"):  # NaN fails this too
        raise FcnnError(f"--timeout must be a number of seconds above 0, got {timeout:g}")
    raw, where = raw_config(config, overrides, **changes)
    cfg = validate(raw, where)
    searched = load_space(space, raw)
    name = study or re.sub(r"[^A-Za-z0-9._-]+", "-", cfg.name)
    read = _inputs(config, space, cfg)
    best_path = output_path(out if out is not None else f"{name}.best.yaml", "--out",
                            read, name=f"{name}.best.yaml", example=f"{name}.best.yaml")
    url = optuna_side.storage_url(storage, name, best_path,
                                  [*read, ("the best config", best_path)])
    opened = optuna_side.open_storage(url)  # an unreachable database: said before the data
    dataset = cfg.data.load()
    if cfg.data.val_fraction == 0 and "data.val_fraction" not in [p.key for p in searched.params]:
        raise FcnnError(f"{where}: fcnn tune scores trials on the validation split, and "
                        "data.val_fraction is 0; set it above 0 (e.g. --set "
                        "data.val_fraction=0.1)")
    metric = "val_accuracy" if dataset.class_names is not None else "val_loss"
    plan = Plan(raw, searched, url, name, trials, timeout, jobs, cfg.seed, metric, prune)
    opened_study = optuna_side.open_study(opened, name, plan.maximize, cfg.seed, prune,
                                          plan.identity())
    plan = dataclasses.replace(plan, earlier=optuna_side.finished(opened_study))
    return plan, opened_study, dataset, best_path


def _inputs(config: str | Path | dict[str, Any] | Config, space: str | Path,
            cfg: Config) -> list[tuple[str, Path | None]]:
    """The files a search reads, which its outputs must never be."""
    from fcnn_cli.config import input_files
    from fcnn_cli.shipped import space_path

    return [*input_files(config, cfg), ("the search space", space_path(space))]
