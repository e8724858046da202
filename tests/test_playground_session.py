"""The playground's engine: a session is `fcnn train` held at a gate, so what it shows
is what `fcnn train` computes with the exported config, and its controls, frames,
inspector and clean-up do what the page relies on."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fcnn_cli import api
from fcnn_cli.cli import app
from fcnn_cli.errors import FcnnError
from fcnn_cli.serving.playground import frames
from fcnn_cli.serving.playground.session import Session
from fcnn_cli.serving.playground.state import CsvFile, PlaygroundState
from fcnn_cli.store import load_model

runner = CliRunner()
SMALL = {"samples": "200"}
DROPOUT_ADAM = {"samples": "200", "layers": "8,8", "activation": "relu,tanh",
                "dropout": "0.2,0.1", "optimizer": "adam", "lr": "0.01", "batch": "7",
                "train": "60", "seed": "5"}


def start(tmp_path: Path, query: dict[str, str] | None = None, csv: dict | None = None,
          max_rate: float = 0.0) -> Session:
    state = PlaygroundState.from_query(query or SMALL, csv or {})
    return Session(state, csv or {}, tmp_path / "work", max_rate=max_rate)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    s = start(tmp_path)
    yield s
    s.close()


def steps(session: Session, n: int) -> None:
    """n single steps, each awaited: exactly n more epochs."""
    for _ in range(n):
        before = session.version
        session.step()
        assert session.wait(before, 30) > before


def session_threads(session: Session) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"fcnn-playground-{session.id}"]


# --- the same numbers as fcnn train ---------------------------------------------------

@pytest.mark.parametrize("query", [SMALL, DROPOUT_ADAM], ids=["circle", "dropout-adam"])
def test_exported_config_trains_the_played_numbers_bit_for_bit(tmp_path: Path,
                                                                query: dict[str, str]) -> None:
    s = start(tmp_path, query)
    try:
        steps(s, 15)
        played, text = s.history(), s.config_text()
    finally:
        s.close()
    config = tmp_path / "exported.yaml"
    config.write_text(text)
    outcome = api.train(str(config), out=tmp_path / "trained.h5")
    assert list(outcome.history["train_loss"]) == played["train_loss"]
    assert list(outcome.history["train_accuracy"]) == played["train_accuracy"]
    assert played["epoch"] == list(range(1, 16))
    assert outcome.test is not None
    assert (outcome.test["loss"], outcome.test["accuracy"]) == \
        (played["test_loss"][-1], played["test_accuracy"][-1])


def test_the_cli_trains_the_exported_config_to_the_model_the_session_downloads(
        tmp_path: Path) -> None:
    s = start(tmp_path, {"dataset": "moons", "samples": "120", "noise": "0.2", "layers": "5"})
    try:
        steps(s, 4)
        played, text, model_file = s.history(), s.config_text(), s.model_bytes()
    finally:
        s.close()
    (tmp_path / "exported.yaml").write_text(text)
    result = runner.invoke(app, ["train", str(tmp_path / "exported.yaml"), "--out",
                                 str(tmp_path / "cli.h5"), "--quiet"])
    assert result.exit_code == 0, result.output
    (tmp_path / "downloaded.h5").write_bytes(model_file)
    trained, downloaded = load_model(tmp_path / "cli.h5"), load_model(tmp_path / "downloaded.h5")
    assert trained.history["train_loss"].tolist() == played["train_loss"]
    assert downloaded.history["train_loss"].tolist() == played["train_loss"]
    assert [layer["speed"] for layer in downloaded.diagnostics] == \
        [layer["speed"] for layer in trained.diagnostics]
    for ours, theirs in zip(downloaded.network.params(), trained.network.params()):
        assert np.array_equal(ours, theirs)
    report = trained.evaluate()
    assert (report.loss, report.accuracy) == (played["test_loss"][-1],
                                              played["test_accuracy"][-1])


# --- the controls ------------------------------------------------------------------

def test_a_new_session_is_paused_at_epoch_zero_with_the_initial_weights(
        session: Session) -> None:
    frame = session.frame()
    assert (frame["epoch"], frame["playing"], frame["stopped"]) == (0, False, None)
    assert frame["train"] == {"loss": None, "accuracy": None}
    assert 0 <= frame["test"]["accuracy"] <= 1 and frame["diagnostics"] is None
    assert session.history()["epoch"] == []
    assert session.wait(session.version, 0.3) == session.version  # nothing runs unasked


def test_step_runs_exactly_one_epoch_then_waits(session: Session) -> None:
    steps(session, 2)
    assert session.frame()["epoch"] == 2 and session.frame()["playing"] is False
    version = session.version
    assert session.wait(version, 0.3) == version
    assert session.history()["epoch"] == [1, 2]


def test_play_runs_epochs_until_pause(session: Session) -> None:
    session.play()
    assert session.frame()["playing"] is True
    while session.frame()["epoch"] < 5:
        session.wait(session.version, 10)
    assert session.frame()["updates_per_s"] > 0
    session.pause()
    assert session.frame()["updates_per_s"] == 0
    settled = session.frame()["epoch"]
    session.wait(session.version, 0.5)  # the epoch under way, if any, may still publish
    assert session.frame()["epoch"] <= settled + 1
    assert session.frame()["playing"] is False
    assert session.history()["epoch"] == list(range(1, session.frame()["epoch"] + 1))


def epochs_played_in_one_second(folder: Path, max_rate: float) -> int:
    s = start(folder, max_rate=max_rate)
    try:
        s.play()
        threading.Event().wait(1.0)
        s.pause()
        s.wait(s.version, 0.5)  # the epoch under way when pause came (ms long) still counts
        return s.epochs
    finally:
        s.close()


def test_play_runs_at_most_max_rate_epochs_a_second(tmp_path: Path) -> None:
    capped = epochs_played_in_one_second(tmp_path / "capped", max_rate=4)
    free = epochs_played_in_one_second(tmp_path / "free", max_rate=0)
    assert 2 <= capped <= 5    # the first at once, then one every 0.25 s
    assert free > 4 * capped   # the cap held it back, not the machine


def test_reset_starts_again_from_the_same_initial_weights(session: Session) -> None:
    first = session.frame()["weights"]
    steps(session, 3)
    session.play()
    before = session.version
    session.reset()
    frame = session.frame()
    assert session.version > before
    assert (frame["epoch"], frame["playing"], frame["weights"]) == (0, False, first)
    assert session.history()["epoch"] == []
    steps(session, 1)
    assert session.frame()["epoch"] == 1
    assert len(session_threads(session)) == 1


def test_close_ends_the_thread_and_leaves_no_file(tmp_path: Path) -> None:
    s = start(tmp_path)
    steps(s, 2)
    s.model_bytes()
    s.play()
    s.close()
    s.close()  # idempotent
    assert session_threads(s) == []
    assert not (tmp_path / "work").exists()   # made by the session, removed empty
    s.play()
    s.step()
    assert s.frame()["playing"] is False


def test_a_closed_session_gives_no_model_file(session: Session) -> None:
    session.close()
    with pytest.raises(FcnnError, match="this playground session is closed; reload the page"):
        session.model_bytes()


def test_the_epoch_cap_stops_playing_without_saving_a_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Session, "MAX_EPOCHS", 3)
    work = tmp_path / "work"
    work.mkdir()
    s = start(tmp_path)
    try:
        s.play()
        while s.frame()["stopped"] is None:
            assert s.wait(s.version, 20) > 0
        assert s.frame()["stopped"] == ("stopped at the playground's cap of 3 epochs; reset to "
                                        "start again")
        assert (s.frame()["epoch"], s.frame()["playing"], s.epochs) == (3, False, 3)
    finally:
        s.close()
    assert list(work.iterdir()) == [] and session_threads(s) == []


def test_close_never_removes_a_work_folder_it_did_not_make(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "theirs.txt").write_text("kept")
    s = start(tmp_path)
    steps(s, 1)
    s.model_bytes()
    s.close()
    assert sorted(p.name for p in work.iterdir()) == ["theirs.txt"]


def test_listeners_hear_every_publish_until_they_stop(session: Session) -> None:
    heard: list[int] = []
    stop = session.listen(lambda: heard.append(session.version))
    steps(session, 2)
    stop()
    steps(session, 1)
    assert heard == [2, 3]


def test_every_frame_carries_its_version_so_a_page_keeps_the_newest(
        session: Session) -> None:
    steps(session, 1)
    stepped = session.frame()
    session.play()
    assert session.frame()["version"] == stepped["version"] + 1 == session.version
    session.pause()
    assert session.frame()["version"] > stepped["version"] + 1


def test_a_listener_that_fails_does_not_stop_training(session: Session) -> None:
    session.listen(lambda: 1 / 0)
    steps(session, 2)
    assert session.frame()["epoch"] == 2


def test_divergence_stops_playing_and_says_so_in_one_line(tmp_path: Path) -> None:
    s = start(tmp_path, {"samples": "100", "layers": "16,16", "activation": "relu",
                         "output": "linear", "cost": "quadratic", "lr": "10", "batch": "1"})
    try:
        s.play()
        while s.frame()["stopped"] is None:
            assert s.wait(s.version, 20) > 0
        frame = s.frame()
        assert "training diverged at epoch 1" in frame["stopped"]
        assert frame["stopped"].endswith("lower η and press reset")
        assert "\n" not in frame["stopped"] and frame["playing"] is False
        s.play()
        assert s.frame()["playing"] is False
        s.reset()
        assert (s.frame()["stopped"], s.frame()["epoch"]) == (None, 0)
    finally:
        s.close()


def test_a_bad_csv_fails_in_the_constructor_leaving_nothing(tmp_path: Path) -> None:
    data = tmp_path / "three.csv"
    data.write_text("a,b,c,label\n" + "".join(f"{i},{i},{i},{i % 2}\n" for i in range(30)))
    csv = {"three": CsvFile(data)}
    state = PlaygroundState.from_query({"dataset": "csv", "csv": "three"}, csv)
    before = threading.active_count()
    with pytest.raises(FcnnError, match="three.csv has 3 feature column"):
        Session(state, csv, tmp_path / "work")
    assert threading.active_count() == before
    assert not (tmp_path / "work").exists()


def test_a_csv_session_trains_on_its_classes(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 2))
    data = tmp_path / "three.csv"
    data.write_text("u,v,kind\n" + "".join(f"{a},{b},{'abc'[int(a > 0) + int(b > 0)]}\n"
                                           for a, b in x))
    csv = {"mine": CsvFile(data, "kind")}
    s = start(tmp_path, {"dataset": "csv", "csv": "mine", "output": "softmax",
                         "cost": "log-likelihood"}, csv)
    try:
        steps(s, 1)
        assert s.info["classes"] == ["a", "b", "c"] and s.info["features"] == ["u", "v"]
        assert s.info["architecture"] == [2, 4, 2, 3]
        assert s.frame()["boundary"]["kind"] == "classes"
        assert len(s.info["points"]["train"]) + len(s.info["points"]["test"]) == 90
    finally:
        s.close()


def test_a_csv_session_still_exports_once_its_file_is_gone(tmp_path: Path) -> None:
    data = tmp_path / "points.csv"
    data.write_text("u,v,kind\n" + "".join(f"{i % 7},{i % 5},{'ab'[i % 2]}\n"
                                           for i in range(60)))
    csv = {"mine": CsvFile(data, "kind")}
    s = start(tmp_path, {"dataset": "csv", "csv": "mine"}, csv)
    try:
        steps(s, 1)
        data.unlink()  # (an upload pushed out by later ones, or a file moved away)
        text, model_file = s.config_text(), s.model_bytes()
    finally:
        s.close()
    assert "points.csv" in text and "epochs: 1" in text
    (tmp_path / "downloaded.h5").write_bytes(model_file)
    assert load_model(tmp_path / "downloaded.h5").class_names == ["a", "b"]


# --- frames ------------------------------------------------------------------------

def picture(text: str, side: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), np.uint8).reshape(side, side)


def test_a_frame_holds_every_picture_weight_and_diagnostic(session: Session) -> None:
    steps(session, 1)
    frame, info = session.frame(), session.info
    json.dumps(frame, allow_nan=False)
    assert info["architecture"] == [2, 4, 2, 1]
    assert [(n["layer"], n["unit"]) for n in frame["neurons"]] == \
        [(0, 1), (0, 2), (1, 1), (1, 2), (1, 3), (1, 4), (2, 1), (2, 2), (3, 1)]
    for neuron in frame["neurons"]:
        picture(neuron["image"], Session.GRID)
    assert frame["boundary"]["kind"] == "probability"
    picture(frame["boundary"]["values"], Session.BOUNDARY_GRID)
    assert [np.shape(w["w"]) for w in frame["weights"]] == [(4, 2), (2, 4), (1, 2)]
    assert [d["layer"] for d in frame["diagnostics"]] == [1, 2, 3]
    assert frame["diagnostics"][0]["dead"] is None  # tanh cannot die


def test_pictures_have_row_zero_at_the_top_and_column_zero_at_the_left(
        session: Session) -> None:
    x1, x2 = (picture(n["image"], Session.GRID).astype(int) for n in session.frame()["neurons"][:2])
    assert (np.diff(x1, axis=1) >= 0).all() and x1[0, -1] > x1[0, 0]   # x1 grows rightwards
    assert (np.diff(x2, axis=0) <= 0).all() and x2[0, 0] > x2[-1, 0]   # x2 grows upwards


def test_points_are_the_trainers_split_in_raw_units(session: Session) -> None:
    points = session.info["points"]
    assert (len(points["train"]), len(points["test"])) == (100, 100)
    extent = session.info["extent"]
    for x1, x2, k in points["train"] + points["test"]:
        assert extent["x1"][0] < x1 < extent["x1"][1] and extent["x2"][0] < x2 < extent["x2"][1]
        assert k in (0, 1)


def test_history_in_a_frame_is_thinned_to_500_epochs_keeping_the_last() -> None:
    history = {"epoch": list(range(1, 1201)),
               "train_loss": [0.123456789] * 1199 + [float("nan")]}
    thin = frames.thinned(history)
    assert len(thin["epoch"]) <= 500 and thin["epoch"][0] == 1 and thin["epoch"][-1] == 1200
    assert thin["train_loss"][0] == 0.12346 and thin["train_loss"][-1] is None
    assert frames.thinned({"epoch": [1, 2], "x": [1.0, 2.0]}) == {"epoch": [1, 2],
                                                                  "x": [1.0, 2.0]}


# --- the inspector -----------------------------------------------------------------

def test_the_inspector_shows_forward_traces_numbers(tmp_path: Path) -> None:
    s = start(tmp_path, DROPOUT_ADAM)
    try:
        steps(s, 3)
        shown = s.inspect(2, 3, "test:4")
        (tmp_path / "model.h5").write_bytes(s.model_bytes())
    finally:
        s.close()
    np.save(tmp_path / "x.npy", np.array([shown["point"]["x"]], np.float32))
    result = runner.invoke(app, ["forward-trace", "--model", str(tmp_path / "model.h5"),
                                 "--input", str(tmp_path / "x.npy"), "--target",
                                 shown["point"]["label"], "--format", "json"])
    assert result.exit_code == 0, result.output
    layer = json.loads(result.output)["layers"][1]
    j = 2
    for key in ("z", "a", "delta", "f_prime", "wT_delta"):
        assert shown[key] == layer[key][0][j], key
    assert (shown["dC_db"], shown["b"], shown["b_new"]) == \
        (layer["dC_db"][j], layer["b"][j], layer["b_new"][j])
    assert [(w["w"], w["dC_dw"], w["w_new"]) for w in shown["incoming"]] == \
        list(zip(layer["w"][j], layer["dC_dw"][j], layer["w_new"][j]))
    assert shown["delta_rule"] == "wT_delta * f_prime"
    assert shown["delta"] == pytest.approx(shown["wT_delta"] * shown["f_prime"], rel=1e-12)
    assert shown["epoch"] == 3 and shown["eta"] == 0.01 and shown["activation"] == "tanh"
    assert "Adam" in shown["note"] and "dropout" in shown["note"]


def test_the_inspector_writes_the_lectures_equations_with_the_numbers(
        session: Session) -> None:
    steps(session, 1)
    shown = session.inspect(3, 1, "train:0")
    names = [e["name"] for e in shown["equations"]]
    assert names == ["z", "a", "delta", "dC_db", "dC_dw", "update"]
    delta = next(e for e in shown["equations"] if e["name"] == "delta")
    assert shown["delta_rule"] == "a - y"   # sigmoid with cross-entropy
    assert delta["numbers"].startswith("δ^3_1 = ")
    assert shown["point"]["label"] in ("0", "1") and shown["y"] == [float(shown["point"]["label"])]
    assert shown["delta"] == pytest.approx(shown["a"] - shown["y"][0], rel=1e-12)
    hidden = session.inspect(1, 2, "train:0")
    assert [e["name"] for e in hidden["equations"]][2:4] == ["wT_delta", "delta"]


def test_the_inspectors_lines_speak_of_the_page_not_the_command_line(session: Session) -> None:
    header = session.inspect(1, 1, "test:0")["header"]
    assert header[0].startswith("prediction: ")
    assert any("η = 0.03 (the playground's η)" in line for line in header)
    assert not any("--" in line or line.startswith("model ") for line in header)


@pytest.mark.parametrize(("layer", "unit", "point", "message"), [
    (0, 1, "test:0", "layer 0 is not in this network: give 1 to 3; layer 0 is the inputs"),
    (4, 1, "test:0", "layer 4 is not in this network: give 1 to 3"),
    (1, 5, "test:0", "unit 5 is not in layer 1: it has units 1 to 4"),
    (1, 1, "tests:0", "point is 'tests:0'; give test:N or train:N"),
    (1, 1, "test:100", "point test:100 is not there: the test split has 100 points (0 to 99)"),
])
def test_the_inspector_refuses_what_is_not_there_in_one_line(
        session: Session, layer: int, unit: int, point: str, message: str) -> None:
    with pytest.raises(FcnnError) as error:
        session.inspect(layer, unit, point)
    assert error.value.message.startswith(message) and "\n" not in error.value.message


def test_the_benchmark_prints_a_row_per_network() -> None:
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "playground.py"
    done = subprocess.run([sys.executable, str(script), "--seconds", "0.2", "--repeats", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line.split("|")[1].strip() for line in done.stdout.splitlines()
            if line.startswith("| 2-")]
    assert rows == ["2-8-8-1", "2-16-16-16-1"]
