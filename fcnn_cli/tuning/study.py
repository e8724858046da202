"""Optuna's side of `fcnn tune`: the storage, the study, its sampler and pruner.

The only module of fcnn that imports Optuna. A study lives in an RDB storage: an SQLite
file by default, or any database URL Optuna's RDBStorage takes (PostgreSQL for many
machines). Every process of a search, on one machine or many, opens the same study by
name and asks it for trials; the database is the only thing they share.
"""

from __future__ import annotations

import json
import os
import random
import time
import warnings
from pathlib import Path
from typing import Any

try:
    import optuna
except ImportError as missing:  # turned into one line by `require_optuna`
    optuna = None
    _missing = missing

from fcnn_cli.errors import FcnnError
from fcnn_cli.outputs import Inputs, make_parents, output_path
from fcnn_cli.sanitize import mask_url, mask_urls, url_secrets

INSTALL = 'fcnn tune needs Optuna: pip install "fcnn[tune]"'
# A process that dies mid-trial stops beating; after the grace period the next trial any
# worker starts marks that trial failed, so it no longer holds a place in the budget.
HEARTBEAT_S, GRACE_S = 10, 40


def require_optuna() -> None:
    if optuna is None:
        raise FcnnError(f"{INSTALL} ({_missing})")
    optuna.logging.set_verbosity(optuna.logging.CRITICAL)  # fcnn says what happens, once
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def storage_url(storage: str | None, study: str, beside: Path,
                inputs: Inputs | None = None) -> str:
    """`--storage` as a URL: a database URL as given, a file path as SQLite, nothing as
    `<study>.db` beside `beside` (the best config). An SQLite file is checked as every
    output is (fcnn_cli/outputs.py): never one of `inputs`, a folder holds `<study>.db`."""
    label = "--storage" if storage is not None else "the study file"
    if storage is None:
        storage = str(beside.parent / f"{study}.db")
    if "://" not in storage:  # as typed: a trailing `/` says "a folder"
        path = output_path(os.path.expanduser(storage), label, inputs, name=f"{study}.db")
        return f"sqlite:///{path.resolve()}"
    file, query = _sqlite_file(storage)
    if file is None:
        return storage
    path = output_path(file, "--storage", inputs, name=f"{study}.db")
    return f"sqlite:///{path}{query}"


def _sqlite_file(url: str) -> tuple[str | None, str]:
    """The file of an `sqlite:///FILE[?query]` URL, as written, and its query; None for
    other URLs and an in-memory database."""
    if not url.startswith("sqlite:///"):
        return None, ""
    file, mark, query = url.removeprefix("sqlite:///").partition("?")
    return (file if file and file != ":memory:" else None), mark + query


def shown_url(url: str) -> str:
    """The URL for messages, progress lines and files: its password and secret query
    values hidden, whether or not it parses (fcnn_cli/sanitize.py)."""
    return mask_url(url)


def open_storage(url: str, heartbeat: bool = True) -> Any:
    """An RDBStorage on `url`, its tables created on first use; one line when the database
    cannot be reached. Several processes starting at once may race to create the tables:
    the loser retries."""
    require_optuna()
    if url.startswith("sqlite:"):
        file, _ = _sqlite_file(url)
        if file is not None:
            make_parents(Path(file), "--storage")  # missing folders are made, as for every output
        engine = {"connect_args": {"timeout": 60}}  # wait for another writer, don't fail
    else:
        engine = {"pool_pre_ping": True, "connect_args": _connect_timeout(url)}
    beat = {"heartbeat_interval": HEARTBEAT_S, "grace_period": GRACE_S} if heartbeat else {}
    for attempt in range(5):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine, **beat)
        except ModuleNotFoundError as error:
            raise FcnnError(f"cannot open the study storage {shown_url(url)}: its database "
                            f"driver is missing ({error.name}); for PostgreSQL: "
                            'pip install "fcnn[tune]"') from None
        except Exception as error:
            if attempt == 4 or not _is_race(error):
                # the driver's words may quote the URL or its password: never shown
                said = mask_urls(_first_line(error), url_secrets(url))
                raise FcnnError(f"cannot open the study storage {shown_url(url)}: "
                                f"{said}; check the URL and that the "
                                "database server is running") from None
            time.sleep(0.2 + random.random())
    raise AssertionError("unreachable")


def _connect_timeout(url: str) -> dict[str, Any]:
    return {"connect_timeout": 10} if url.startswith("postgresql") else {}


def _is_race(error: Exception) -> bool:
    text = str(error).lower()
    return any(word in text for word in ("already exists", "locked", "duplicate key",
                                         "unique constraint"))


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return (text.splitlines() or [type(error).__name__])[0].rstrip(".")


class SeededSampler(optuna.samplers.BaseSampler if optuna else object):  # type: ignore[misc]
    """TPE whose draws for trial n are seeded from (seed, n): a search on one worker is
    the same every time, and workers on many machines, all given the same seed, still draw
    different values instead of repeating each other's first random trials."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.tpe = optuna.samplers.TPESampler(seed=seed)

    def before_trial(self, study: Any, trial: Any) -> None:
        self.tpe = optuna.samplers.TPESampler(seed=(self.seed * 1_000_003 + trial.number)
                                              % 2**32)
        self.tpe.before_trial(study, trial)

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, Any]:
        return self.tpe.infer_relative_search_space(study, trial)

    def sample_relative(self, study: Any, trial: Any, space: dict[str, Any]) -> dict[str, Any]:
        return self.tpe.sample_relative(study, trial, space)

    def sample_independent(self, study: Any, trial: Any, name: str, distribution: Any) -> Any:
        return self.tpe.sample_independent(study, trial, name, distribution)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self.tpe.after_trial(study, trial, state, values)


def pruner(enabled: bool) -> Any:
    """The median rule: from the sixth trial on, stop a trial after its second epoch or
    later when its best validation value so far is worse than the median of finished
    trials at the same epoch."""
    if not enabled:
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)


def open_study(storage: Any, name: str, maximize: bool, seed: int, prune: bool,
               identity: dict[str, Any]) -> Any:
    """The study `name` in `storage`, created when new. `identity` (the metric, the space)
    is written into a new study and must match an existing one: trials drawn from another
    space or scored on another metric cannot be compared."""
    study = optuna.create_study(
        storage=storage, study_name=name, load_if_exists=True,
        direction="maximize" if maximize else "minimize",
        sampler=SeededSampler(seed), pruner=pruner(prune))
    attrs = study.user_attrs
    if "fcnn" not in attrs:
        study.set_user_attr("fcnn", identity)
        return study
    theirs = attrs["fcnn"]
    for part, what in (("metric", "scores trials on"), ("space", "searches")):
        if json.dumps(theirs.get(part), sort_keys=True) != \
                json.dumps(identity[part], sort_keys=True):
            raise FcnnError(f"study {name!r} in this storage {what} another "
                            f"{part} ({_short(theirs.get(part))}); give a new --study name, "
                            "or the same config and space file to continue it")
    return study


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else ", ".join(p["key"] for p in value or [])
    return text if len(text) < 80 else text[:77] + "..."


def importances(study: Any) -> dict[str, float]:
    """How much each key mattered to the value (Optuna's fANOVA), or {} when it cannot
    tell (fewer than two finished trials, or nothing varied)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            found = dict(optuna.importance.get_param_importances(study))
        except Exception:
            return {}
    return {} if caught else found  # warned: too few trials to tell, all would be equal


def load_study(storage: Any, name: str) -> Any:
    return optuna.load_study(study_name=name, storage=storage)


def taken(study: Any) -> int:
    """Trials that count against the budget: finished (complete or pruned) or running.
    A trial whose worker died stops counting once its heartbeat is stale."""
    optuna.storages.fail_stale_trials(study)
    states = optuna.trial.TrialState
    return len(study.get_trials(deepcopy=False, states=(
        states.COMPLETE, states.PRUNED, states.RUNNING, states.WAITING)))


def finished(study: Any) -> int:
    """Trials that ended (complete, pruned or failed): those of earlier runs, at the start."""
    states = optuna.trial.TrialState
    return len(study.get_trials(deepcopy=False, states=(
        states.COMPLETE, states.PRUNED, states.FAIL)))


def suggest(trial: Any, param: Any) -> Any:
    """The trial's value for one `space.Param`, drawn by the study's sampler."""
    if param.choices:
        return trial.suggest_categorical(param.key, param.labels)
    if param.integer:
        return trial.suggest_int(param.key, int(param.low), int(param.high),
                                 step=int(param.step or 1), log=param.log)
    return trial.suggest_float(param.key, param.low, param.high, step=param.step, log=param.log)


def pruned() -> Exception:
    return optuna.TrialPruned()
