"""MLflow tracking (the `track` extra): one MLflow run per training run, one child run per
`fcnn tune` trial under a parent run for the study. The only module that imports mlflow.

Runs are addressed by id through `MlflowClient`, never through the fluent API's global
active run, so trials in threads or processes never log into each other's runs.

A tracking server that is down, slow or refusing never costs the run: the first failure
is one warning, what could not be sent is kept and sent once more when the run ends, and
what still cannot be sent then is dropped with a count. Requests time out after a few
seconds and are not retried (unless the user set MLflow's own HTTP variables), so a dead
server costs seconds, not minutes.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import mlflow
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from fcnn_cli.errors import FcnnError
from fcnn_cli.sanitize import mask_urls, url_secrets, visible
from fcnn_cli.tracking import EpochEnd, RunEnd, RunStart, Warn

# MLflow's own settings for its HTTP client; a value the user set wins.
HTTP_SETTINGS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "3", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "0",
                 "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}  # nothing below the CLI prints
REMOTE_SCHEMES = ("http", "https", "postgresql", "mysql", "mssql", "databricks",
                  "databricks-uc", "uc")
STATUS = {"finished": "FINISHED", "interrupted": "KILLED", "pruned": "KILLED",
          "diverged": "FAILED", "failed": "FAILED"}
MAX_VALUE = 6000        # MLflow's longest param value (MAX_PARAM_VAL_LENGTH)
PARAMS_PER_BATCH = 100  # and its batch limits
METRICS_PER_BATCH = 1000
DIAGNOSTICS = ("speed", "saturated", "dead", "update_ratio")


def settle_client() -> None:
    """Short HTTP timeouts, no retries; and quiet: MLflow's, urllib3's and SQLAlchemy's own
    log lines would repeat each failure with the full URL (its password too), and the
    tracker's one warning says it instead."""
    for key, value in HTTP_SETTINGS.items():
        os.environ.setdefault(key, value)
    for name in ("mlflow", "urllib3", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:  # a database store that is down: MLflow retries it for 100 s (a fixed constant)
        from mlflow.store.db import utils as db_utils

        db_utils.MAX_RETRY_COUNT = min(db_utils.MAX_RETRY_COUNT, 1)
    except ImportError:  # (mlflow-skinny without SQLAlchemy: no database stores)
        pass


def check_uri(tracking_uri: str | None) -> None:
    """Fail before training when MLflow cannot use the tracking URI at all (an unknown
    scheme, the file store MLflow 3 refuses): a bad setting, not a server that is down."""
    settle_client()
    uri = tracking_uri or mlflow.get_tracking_uri()
    scheme = urlparse(uri).scheme.split("+")[0]
    if scheme in REMOTE_SCHEMES:  # reached when the run starts: down is a warning then
        return
    try:  # a local store, opened now (it fails fast); or an unknown scheme, said now
        MlflowClient(tracking_uri=uri)._tracking_client.store  # noqa: B018
    except Exception as error:  # MLflow's errors for a URI it cannot use are of many kinds
        shown = visible(mask_urls(uri, url_secrets(uri)))
        text = " ".join(str(error).split()).split(". ")[0]
        text = visible(mask_urls(text, url_secrets(uri)))[:200]
        raise FcnnError(f"MLflow cannot use the tracking URI {shown}: {text}; give "
                        "sqlite:///mlflow.db for a local store or http://host:5000 for a "
                        "server") from None


class MlflowTracker:
    """A `Tracker` that logs one run to MLflow.

    `tracking_uri`: the store or server (default: MLFLOW_TRACKING_URI, else MLflow's
    default, ./mlflow.db); `experiment`: its name (default: MLFLOW_EXPERIMENT_NAME, else
    the config's name); `run_name`: default MLflow's generated one; `parent_run_id`: makes
    this a child run (a tune trial); `files`: whether the run gets files at its end (a
    training run's; a study's or a trial's gets none).
    """

    def __init__(self, warn: Warn, tracking_uri: str | None = None,
                 experiment: str | None = None, run_name: str | None = None,
                 parent_run_id: str | None = None, files: bool = True) -> None:
        settle_client()
        self.warn = warn
        self.uri = tracking_uri or mlflow.get_tracking_uri()
        self.experiment = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or None
        self.run_name = run_name
        self.parent_run_id = parent_run_id
        self.files = files
        self.client: Any = None  # made on first use: a database store connects at once
        self.run_id: str | None = None
        self.online = True
        self.params: list[Param] = []
        self.all_params: list[Param] = []  # the run's, for a run begun again
        self.tags: list[RunTag] = []
        self.metrics: list[Metric] = []
        self.resumed = False

    # -- the Tracker protocol ------------------------------------------------------------

    def start(self, run: RunStart) -> None:
        self.experiment = self.experiment or run.name
        self.run_id = run.state.get("run_id") if isinstance(run.state.get("run_id"), str) \
            else None
        self.resumed = self.run_id is not None
        tags = dict(run.tags)
        if self.parent_run_id:
            tags["mlflow.parentRunId"] = self.parent_run_id
        self.tags += [RunTag(_key(k), _value(v)) for k, v in tags.items()]
        self.all_params = [Param(_key(k), _value(v)) for k, v in run.params.items()]
        if not self.resumed:  # a run's params cannot change
            self.params += self.all_params
        self._try(self._flush, "did not take the run")

    def epoch_end(self, epoch: EpochEnd) -> None:
        step, now = epoch.epoch, _now()
        values = dict(epoch.metrics)
        for layer in epoch.diagnostics:
            for key in DIAGNOSTICS:
                series = layer.get(key)
                if series and len(series) >= step:
                    values[f"diagnostics/layer{layer['layer']}/{key}"] = series[step - 1]
        self.metric(values, step, now)
        if self.online:
            self._try(self._flush, "stopped taking metrics")

    def end(self, run: RunEnd) -> None:
        self.metric({f"test_{k}": v for k, v in run.test.items()}, None, _now())
        if run.status == "pruned":
            self.tag({"trial_state": "pruned"})
        # (files are not made for a server that stopped answering: say they are missing)
        files_skipped = self.files and not self.online and not run.artifacts
        if not self.online:  # one more try, now that training is over
            self.online = True
        sent = self._try(self._flush, "did not take the run's end")
        artifacts = {name: path for name, path in run.artifacts.items() if path.is_file()}
        if sent and self._try(lambda: self._upload(artifacts), "did not take the files"):
            artifacts = {}
        if sent and self._try(lambda: self.client.set_terminated(
                self.run_id, STATUS.get(run.status, "FAILED")), "did not close the run"):
            if not artifacts and not files_skipped:
                return
        self._dropped(len(artifacts), files_skipped)

    def state(self) -> dict[str, Any]:
        return {"run_id": self.run_id} if self.run_id else {}

    # -- for tune's parent run -----------------------------------------------------------

    def tag(self, tags: dict[str, Any]) -> None:
        """Queue tags; sent with the next epoch or at the end."""
        self.tags += [RunTag(_key(k), _value(v)) for k, v in tags.items()]

    def metric(self, values: dict[str, Any], step: int | None, timestamp: int) -> None:
        """Queue metrics (NaN ones, unmeasured, left out)."""
        for key, value in values.items():
            number = _number(value)
            if number is not None:
                self.metrics.append(Metric(_key(key), number, timestamp, step or 0))

    # -- sending -------------------------------------------------------------------------

    def _flush(self) -> None:
        if self.client is None:
            self.client = MlflowClient(tracking_uri=self.uri)
        if self.run_id is None:
            self.run_id = self._create_run()
        elif self.resumed:
            self._reopen()
        while self.params or self.tags:
            params, tags = self.params[:PARAMS_PER_BATCH], self.tags[:PARAMS_PER_BATCH]
            self.client.log_batch(self.run_id, params=params, tags=tags)
            del self.params[:len(params)], self.tags[:len(tags)]
        while self.metrics:
            batch = self.metrics[:METRICS_PER_BATCH]
            self.client.log_batch(self.run_id, metrics=batch)
            del self.metrics[:len(batch)]

    def _reopen(self) -> None:
        """Continue the checkpoint's run; one this store does not hold (another server, a
        deleted run) gives way to a new run."""
        try:
            self.client.update_run(self.run_id, status="RUNNING")
        except mlflow.exceptions.MlflowException as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            self.run_id = self._create_run()
            self.params = self.all_params + self.params
        self.resumed = False

    def _create_run(self) -> str:
        name = self.experiment or "Default"
        found = self.client.get_experiment_by_name(name)
        if found is None:
            try:
                experiment_id = self.client.create_experiment(name)
            except mlflow.exceptions.MlflowException:  # another process made it first
                found = self.client.get_experiment_by_name(name)
                if found is None:
                    raise
                experiment_id = found.experiment_id
        else:
            if found.lifecycle_stage == "deleted":
                self.client.restore_experiment(found.experiment_id)
            experiment_id = found.experiment_id
        tags = {"mlflow.parentRunId": self.parent_run_id} if self.parent_run_id else None
        run = self.client.create_run(experiment_id, run_name=self.run_name, tags=tags)
        return run.info.run_id

    def _upload(self, artifacts: dict[str, Path]) -> None:
        for name in list(artifacts):
            self.client.log_artifact(self.run_id, str(artifacts[name]))
            del artifacts[name]

    def _try(self, action: Any, what: str) -> bool:
        """Run `action`; on failure say so once (the URI's credentials masked) and go
        offline: what is queued waits for the end of the run."""
        if not self.online:
            return False
        try:
            action()
            return True
        except Exception as error:  # any failure of the tracker: the run goes on
            self.online = False
            self.last_error = self.reason(error)
            if not getattr(self, "_warned", False):
                self._warned = True
                self.warn(f"MLflow at {self.shown_uri} {what} ({self.reason(error)}); "
                          "training goes on, and what was not sent is kept for one more "
                          "try at the end")
            return False

    def _dropped(self, files: int, files_skipped: bool = False) -> None:
        lost = [f"{len(self.metrics)} metric value(s)" if self.metrics else "",
                f"{len(self.params)} param(s)" if self.params else "",
                f"{files} file(s)" if files else "",
                "the files (config, model, history, report)" if files_skipped else ""]
        lost = [item for item in lost if item]
        where = f"run {self.run_id}" if self.run_id else "the run"
        self.warn(f"MLflow at {self.shown_uri}: {', '.join(lost) or 'the status'} of {where} "
                  f"not logged ({getattr(self, 'last_error', 'no answer')}); the model is "
                  "saved")

    @property
    def shown_uri(self) -> str:
        return visible(mask_urls(self.uri, url_secrets(self.uri)))

    def reason(self, error: BaseException) -> str:
        """The error in one short line, without URLs' credentials or the env's secrets."""
        secrets = url_secrets(self.uri) + [
            value for key in ("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")
            if len(value := os.environ.get(key, "")) >= 3]
        text = " ".join(str(error).split()) or type(error).__name__
        for cause, said in (("Connection refused", "connection refused"),
                            ("timed out", "no answer in time"),
                            ("Max retries exceeded", "no server answers")):
            if cause in text:
                return said
        text = visible(mask_urls(text, secrets))
        return text if len(text) <= 200 else text[:199] + "…"


def _now() -> int:
    return int(time.time() * 1000)


def _key(name: str) -> str:
    """A name MLflow takes: `model.layers[0].units` → `model.layers.0.units`; other
    characters it refuses become `_`."""
    return re.sub(r"[^\w.\- :/]", "_", re.sub(r"\[(\d+)\]", r".\1", name))


def _value(value: Any) -> str:
    text = "null" if value is None else str(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    # NaN: not measured; ±inf (a diverged cost) no tracking store takes
    return number if math.isfinite(number) else None
