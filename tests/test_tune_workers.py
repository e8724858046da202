"""Many workers, one study: `fcnn tune` processes started together against one database
(an SQLite file, and a throwaway PostgreSQL server where its binaries are installed) share
the trials, none lost or run twice; `--jobs` does the same on one machine; Ctrl-C records
the running trial as failed and the same command continues the study."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

optuna = pytest.importorskip("optuna")

TRIALS = 8
CONFIG = {
    "name": "shared", "seed": 5,
    "data": {"dataset": "digits", "val_fraction": 0.2, "test_fraction": 0.2},
    "model": {"layers": [{"units": 32}, {"units": 10, "activation": "softmax"}]},
    # Long enough that a worker starting a second later still finds trials to run.
    "training": {"epochs": 30, "batch_size": 32, "optimizer": {"lr": 0.1, "momentum": 0.9}},
}
SPACE = ("training.optimizer.lr: {low: 0.005, high: 1.0, log: true}\n"
         "model.layers[0].units: {low: 8, high: 64, step: 8}\n")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (tmp_path / "space.yaml").write_text(SPACE)
    return tmp_path


def _start(folder: Path, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "fcnn_cli", "tune", "config.yaml", "--space", "space.yaml",
         "--trials", str(TRIALS), *options], cwd=folder, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


def _check_one_study(url: str, workers: int) -> None:
    """Every trial in the study once, finished, whole, from the expected workers."""
    trials = optuna.load_study(study_name="shared", storage=url).trials
    assert TRIALS <= len(trials) <= TRIALS + workers - 1  # workers finishing together
    assert [t.number for t in trials] == list(range(len(trials)))
    assert len({t._trial_id for t in trials}) == len(trials)
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    for t in trials:  # each epoch reported once, in order: no trial half-written
        assert sorted(t.intermediate_values) == list(range(1, len(t.intermediate_values) + 1))
    draws = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(draws)) == len(draws)  # workers draw apart, not the same values twice
    assert len({t.user_attrs["worker"] for t in trials}) == workers


def _two_processes_share(folder: Path, *options: str) -> None:
    first, second = _start(folder, *options), _start(folder, *options)
    for code, out, err in (_finish(first), _finish(second)):
        assert code == 0, err
        assert "best: trial" in out


def test_two_processes_share_one_sqlite_study(files: Path) -> None:
    _two_processes_share(files)
    _check_one_study(f"sqlite:///{files / 'shared.db'}", workers=2)


def test_jobs_runs_worker_processes_on_one_study(files: Path) -> None:
    code, out, err = _finish(_start(files, "--jobs", "2"))
    assert code == 0, err
    _check_one_study(f"sqlite:///{files / 'shared.db'}", workers=2)
    assert sum(line.startswith("trial ") for line in out.splitlines()) >= TRIALS


def _postgres_binaries() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))  # Debian's place
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[str]:
    """A PostgreSQL server of its own in a temporary folder, on a free port, for this
    module's tests; initdb refuses root, so as root it runs as the `postgres` user."""
    pytest.importorskip("psycopg")
    binaries = _postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    folder = Path(tempfile.mkdtemp(prefix="fcnn-postgres-"))
    run_as: list[str] = []
    if os.geteuid() == 0:
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(folder)
            pytest.skip("running as root and there is no postgres user to run the server")
        os.chown(folder, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    data = folder / "data"

    def pg(*args: str) -> None:
        subprocess.run([*run_as, *args], check=True, capture_output=True, timeout=120)

    try:
        pg(str(binaries / "initdb"), "-D", str(data), "-U", "fcnn", "--auth=trust", "-E", "UTF8")
        pg(str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
           f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    except subprocess.CalledProcessError as error:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"could not start PostgreSQL: {error.stderr!r}")
    try:
        yield f"postgresql://fcnn@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "stop"], capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def test_two_processes_share_one_postgresql_study(files: Path, postgres: str) -> None:
    _two_processes_share(files, "--storage", postgres)
    _check_one_study(postgres, workers=2)
    assert not (files / "shared.db").exists()


def test_ctrl_c_records_the_running_trial_as_failed_and_the_command_continues(
        files: Path) -> None:
    slow = ["--set", "training.epochs=400", "--no-prune"]
    process = _start(files, *slow)
    url = f"sqlite:///{files / 'shared.db'}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for the first trial's first epochs
        time.sleep(0.5)
        if not (files / "shared.db").exists():
            continue
        try:
            trials = optuna.load_study(study_name="shared", storage=url).trials
        except Exception:
            continue
        if trials and trials[0].intermediate_values:
            break
    process.send_signal(signal.SIGINT)
    code, out, err = _finish(process)
    assert code == 130, err
    assert len(err.splitlines()) == 2  # what happened, and the command to continue
    assert "SIGINT: stopped; the running trials are recorded as failed" in err
    assert "continue the study with: fcnn tune config.yaml --space space.yaml" in err
    assert [t.state.name for t in optuna.load_study(study_name="shared", storage=url).trials] \
        == ["FAIL"]
    code, out, err = _finish(_start(files, "--set", "training.epochs=3"))  # continue, faster
    assert code == 0, err
    states = [t.state.name for t in optuna.load_study(study_name="shared", storage=url).trials]
    assert states[0] == "FAIL" and len(states) == TRIALS + 1
    assert "continuing the study: 1 earlier trial" in out
