"""MLflow tracking: `fcnn train --track mlflow` and `fcnn tune --track mlflow` log to a real
MLflow server (started here) or a local store, read back with MlflowClient; a server that
is down or dies mid-run costs one warning, never the run, and never shows a password."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from fcnn_cli import api
from fcnn_cli.errors import FcnnError

pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

BASE: dict[str, Any] = {
    "name": "tracked", "seed": 3,
    "data": {"dataset": "digits", "val_fraction": 0.2, "test_fraction": 0.2},
    "model": {"layers": [{"units": 16}, {"units": 10, "activation": "softmax"}]},
    "training": {"epochs": 3, "batch_size": 64, "optimizer": {"lr": 0.1, "momentum": 0.9}},
}
SECRET = "hunter2-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow sqlite store with its tables made: a copy is a new store without the
    seconds of migrations that MLflow runs on a new file."""
    path = tmp_path_factory.mktemp("mlflow-store") / "empty.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


def _new_store(empty_store: Path, path: Path) -> str:
    shutil.copyfile(empty_store, path)
    return f"sqlite:///{path}"


def _start_server(folder: Path, empty_store: Path) -> tuple[subprocess.Popen[bytes], str]:
    folder.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
         _new_store(empty_store, folder / "mlflow.db"), "--artifacts-destination",
         str(folder / "art"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as answer:
                if answer.status == 200:
                    return process, url
        except OSError:
            time.sleep(0.3)
    _stop(process)
    pytest.fail("the MLflow server did not start")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # its group: uvicorn's worker too
        process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, empty_store: Path) -> Iterator[str]:
    process, url = _start_server(tmp_path_factory.mktemp("mlflow-server"), empty_store)
    yield url
    _stop(process)


class Cuttable:
    """A TCP relay to a server on 127.0.0.1: `cut()` closes its port and every connection
    through it, so to a client the server is gone, as if killed (it stays up for others)."""

    def __init__(self, url: str) -> None:
        self.upstream = ("127.0.0.1", int(url.rsplit(":", 1)[1]))
        self.listening = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listening.getsockname()[1]}"
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with suppress(OSError):  # until cut
            while True:
                client = self.listening.accept()[0]
                server = socket.create_connection(self.upstream)
                self.open += [client, server]
                for source, sink in ((client, server), (server, client)):
                    threading.Thread(target=_relay, args=(source, sink), daemon=True).start()

    def cut(self) -> None:
        for one in (self.listening, *self.open):  # (a shutdown wakes a thread in accept)
            with suppress(OSError):
                one.shutdown(socket.SHUT_RDWR)
            one.close()


def _relay(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A local store puts its files under ./mlruns: here, not in the checkout."""
    monkeypatch.chdir(tmp_path)


def _tracked(uri: str, experiment: str) -> list[str]:
    return [f"tracking.mlflow.tracking_uri={uri}", f"tracking.mlflow.experiment={experiment}"]


def _only_run(client: MlflowClient, experiment: str) -> Any:
    (run,) = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    return run


def _steps(client: MlflowClient, run_id: str, key: str) -> list[int]:
    return [m.step for m in client.get_metric_history(run_id, key)]


def test_a_run_logs_its_config_epochs_tags_and_files_to_a_server(
        server: str, tmp_path: Path) -> None:
    outcome = api.train(BASE, out=tmp_path / "m.h5", overrides=_tracked(server, "train"))
    client = MlflowClient(server)
    run = _only_run(client, "train")
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["seed"] == "3" and params["training.optimizer.lr"] == "0.1"
    assert params["model.layers.0.units"] == "16" and "tracking.mlflow.experiment" not in params
    assert run.data.tags["dataset"] == "digits" and run.data.tags["architecture"] == "64-16-10"
    assert run.data.tags["fcnn_version"]
    for key in ("train_loss", "val_loss", "val_accuracy", "lr", "seconds",
                "diagnostics/layer1/speed", "diagnostics/layer2/update_ratio"):
        assert _steps(client, run.info.run_id, key) == [1, 2, 3], key
    losses = [m.value for m in client.get_metric_history(run.info.run_id, "val_loss")]
    assert losses == pytest.approx(list(outcome.history["val_loss"]))
    assert run.data.metrics["test_accuracy"] == pytest.approx(outcome.test["accuracy"])
    files = {a.path for a in client.list_artifacts(run.info.run_id)}
    expected = {"m.config.yaml", "m.h5", "m.history.json"}
    expected |= {"m.report.html"} if _has("matplotlib") else set()
    assert files == expected
    config = Path(client.download_artifacts(run.info.run_id, "m.config.yaml", str(tmp_path)))
    assert "tracking" not in config.read_text()  # where it is logged is no part of the model


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def test_a_resumed_run_continues_the_same_mlflow_run(server: str, tmp_path: Path) -> None:
    def stop_after_epoch_2(row: Any) -> None:
        if row.epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C: checkpoint, then stop

    overrides = _tracked(server, "resume")
    with pytest.raises(FcnnError) as stopped:
        api.train(BASE, out=tmp_path / "m.h5", progress=stop_after_epoch_2, overrides=overrides)
    client = MlflowClient(server)
    assert _only_run(client, "resume").info.status == "KILLED"
    api.train(BASE, out=tmp_path / "m.h5", resume=stopped.value.checkpoint, overrides=overrides)
    run = _only_run(client, "resume")  # still one run
    assert run.info.status == "FINISHED"
    assert _steps(client, run.info.run_id, "val_loss") == [1, 2, 3]


def test_resuming_into_a_store_without_the_run_starts_a_new_one(tmp_path: Path,
                                                                empty_store: Path) -> None:
    def stop_after_epoch_1(row: Any) -> None:
        if row.epoch == 1:
            os.kill(os.getpid(), signal.SIGINT)

    first, other = (_new_store(empty_store, tmp_path / name) for name in ("first.db",
                                                                          "other.db"))
    with pytest.raises(FcnnError) as stopped:
        api.train(BASE, out=tmp_path / "m.h5", progress=stop_after_epoch_1,
                  overrides=_tracked(first, "moved"))
    outcome = api.train(BASE, out=tmp_path / "m.h5", resume=stopped.value.checkpoint,
                        overrides=_tracked(other, "moved"))
    assert not [w for w in outcome.warnings if "MLflow" in w]
    client = MlflowClient(other)
    run = _only_run(client, "moved")
    assert run.info.status == "FINISHED" and run.data.params["seed"] == "3"
    assert _steps(client, run.info.run_id, "val_loss") == [2, 3]  # what this run trained


def test_a_diverged_run_ends_failed(tmp_path: Path, empty_store: Path) -> None:
    uri = _new_store(empty_store, tmp_path / "local.db")
    config = {**BASE, "cost": "quadratic", "training": {"epochs": 2,
                                                        "optimizer": {"lr": 1e6}},
              "model": {"layers": [{"units": 16}, {"units": 10, "activation": "linear"}]}}
    with pytest.raises(FcnnError, match="training diverged"):
        api.train(config, out=tmp_path / "m.h5", overrides=_tracked(uri, "diverged"))
    assert _only_run(MlflowClient(uri), "diverged").info.status == "FAILED"


def test_a_study_is_a_parent_run_and_each_trial_a_child_run_pruned_ones_marked(
        server: str, tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("training.optimizer.lr: {choices: [0.3, 0.00001]}\n")
    # seed 1: the median pruner's five trials to start with hold good ones, a poor one follows
    config = {**BASE, "seed": 1, "training": {**BASE["training"], "epochs": 4}}
    outcome = api.tune(config, space, trials=6, storage=str(tmp_path / "s.db"),
                       out=tmp_path / "best.yaml", overrides=_tracked(server, "study"))
    client = MlflowClient(server)
    runs = client.search_runs([client.get_experiment_by_name("study").experiment_id])
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {int(r.data.tags["trial_number"]): r for r in runs if r is not parent}
    assert {r.data.tags["mlflow.parentRunId"] for r in children.values()} == {parent.info.run_id}
    assert sorted(children) == [row.number for row in outcome.rows]
    for row in outcome.rows:
        child = children[row.number]
        assert child.data.params == {"training.optimizer.lr": str(row.params[
            "training.optimizer.lr"])}
        assert len(_steps(client, child.info.run_id, "val_accuracy")) == row.epochs
        pruned = row.state == "pruned"
        assert (child.data.tags.get("trial_state") == "pruned") == pruned
        assert child.info.status == ("KILLED" if pruned else "FINISHED")
    assert outcome.count("pruned") >= 1
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["best_trial"] == str(outcome.best.number)
    assert children[outcome.best.number].data.tags["best_trial"] == "true"


def test_a_local_store_needs_no_server_and_the_environment_names_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = f"sqlite:///{tmp_path / 'local.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    api.train(BASE, out=tmp_path / "m.h5", track="mlflow",
              overrides=["tracking.mlflow.run_name=first try"])
    run = _only_run(MlflowClient(uri), "from-env")
    assert run.info.run_name == "first try" and run.info.status == "FINISHED"
    assert run.data.params["name"] == "tracked"


def test_a_server_that_is_down_costs_one_warning_with_the_password_masked(
        tmp_path: Path) -> None:
    uri = f"http://alice:{SECRET}@127.0.0.1:{_free_port()}/"
    done = subprocess.run(
        [sys.executable, "-m", "fcnn_cli", "train", "digits", "--set", "training.epochs=2",
         "--out", str(tmp_path / "m.h5"), "--track", "mlflow", "--quiet"],
        capture_output=True, text=True, env={**os.environ, "MLFLOW_TRACKING_URI": uri},
        timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "m.h5").is_file()
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning: MLflow")]
    assert len(warnings) == 2, done.stderr  # it failed; and what it could not send at the end
    assert "did not take the run (connection refused); training goes on" in warnings[0]
    assert "metric value(s)" in warnings[1] and "the model is saved" in warnings[1]
    assert "alice:***@" in warnings[0]
    assert SECRET not in done.stderr + done.stdout


def test_a_server_gone_mid_run_drops_the_rest_with_a_count(server: str, tmp_path: Path
                                                           ) -> None:
    relay = Cuttable(server)

    def cut_after_epoch_1(row: Any) -> None:
        if row.epoch == 1:
            relay.cut()

    try:
        outcome = api.train(BASE, out=tmp_path / "m.h5", progress=cut_after_epoch_1,
                            overrides=_tracked(relay.url, "gone"))
    finally:
        relay.cut()
    assert outcome.output.is_file() and len(outcome.history["val_loss"]) == 3
    said = [w for w in outcome.warnings if w.startswith("MLflow")]
    assert len(said) == 2
    assert "stopped taking metrics" in said[0]
    # (the files are not even made for a server that stopped answering: the report takes time)
    assert "metric value(s)" in said[1] and "the files (config, model, history, report) of " \
        "run" in said[1]


def test_unknown_tracking_keys_and_trackers_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(FcnnError, match=r"tracking\.mlflow\.uri: unknown key.*tracking_uri"):
        api.load_config(BASE, ["tracking.mlflow.uri=http://x"])
    with pytest.raises(FcnnError, match="--track 'wandb': the tracker is mlflow"):
        api.train(BASE, out=tmp_path / "m.h5", track="wandb")
    assert not (tmp_path / "m.h5").exists()


def test_a_tracking_uri_mlflow_cannot_use_is_an_error_before_training(tmp_path: Path) -> None:
    uri = f"bogus://carol:{SECRET}@host/x"
    with pytest.raises(FcnnError) as error:
        api.train(BASE, out=tmp_path / "m.h5", overrides=_tracked(uri, "x"))
    message = error.value.message
    assert message.startswith("MLflow cannot use the tracking URI bogus://carol:***@host/x: ")
    assert message.endswith("give sqlite:///mlflow.db for a local store or "
                            "http://host:5000 for a server")
    assert SECRET not in message and "\n" not in message and error.value.exit_code == 2
    assert not (tmp_path / "m.h5").exists() and not list(tmp_path.iterdir())


def test_mlflow_is_loaded_only_when_tracking() -> None:
    code = ("import sys\nfrom fcnn_cli.cli import main\nsys.argv = ['fcnn', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    loaded = set(done.stderr.splitlines()[-1].split())
    assert "fcnn_cli.cli" in loaded and not {"mlflow", "fcnn_cli.tracking"} & loaded
