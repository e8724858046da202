"""`fcnn playground`'s HTTP API: sessions made from a URL query, driven by play, pause,
step and reset; their frames streamed as server-sent events (against a real uvicorn);
the inspector, the config and model downloads; CSV uploads. Every careless request is a
4xx with one JSON line, never a 500."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sse_starlette")

import httpx  # noqa: E402
import yaml  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from serve_process import in_thread  # noqa: E402

from fcnn_cli.api import load_model  # noqa: E402
from fcnn_cli.serving.playground.app import MAX_CSV_BYTES, create_app, dumps  # noqa: E402

QUERY = "dataset=xor&samples=100&layers=3&seed=3"
WAIT = 30.0  # seconds, for any one stream read


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


def new_session(client: TestClient, query: str = QUERY) -> dict[str, Any]:
    answer = client.post("/api/sessions", json={"query": query})
    assert answer.status_code == 201, answer.text
    return answer.json()


def refused(answer: httpx.Response, status: int, fragment: str) -> str:
    """The one-line error of a refusal, once its status and JSON shape are checked."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    message = answer.json()["error"]
    assert fragment in message and "\n" not in message and "Traceback" not in message
    return message


def csv_bytes(rows: int = 40, columns: tuple[str, ...] = ("x1", "x2"),
              classes: int = 2) -> bytes:
    lines = [",".join((*columns, "label"))]
    for i in range(rows):
        values = [f"{(i * 7 + k * 3) % 11 / 10:.2f}" for k in range(len(columns))]
        lines.append(",".join((*values, f"c{i % classes}")))
    return ("\n".join(lines) + "\n").encode()


# --- the page ------------------------------------------------------------------------------


def test_the_page_is_served_without_anything_from_elsewhere(client: TestClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "<html" in answer.text.lower() and "playground" in answer.text.lower()
    assert 'src="http' not in answer.text and 'href="http' not in answer.text


def test_only_the_pages_own_assets_are_served(client: TestClient) -> None:
    refused(client.get("/assets/app.py"), 404, "no asset 'app.py'")
    refused(client.get("/assets/..%2Fapp.py"), 404, "app.py")
    refused(client.get("/assets/missing.js"), 404, "no asset 'missing.js'")
    folder = Path(__file__).resolve().parents[1] / "fcnn_cli" / "serving" / "playground"
    for shipped in sorted(folder.glob("*.js")) + sorted(folder.glob("*.css")):
        answer = client.get(f"/assets/{shipped.name}")
        assert answer.status_code == 200 and answer.content == shipped.read_bytes()


# --- sessions ------------------------------------------------------------------------------


def test_a_new_session_answers_its_network_and_points(client: TestClient) -> None:
    info = new_session(client)
    assert info["architecture"] == [2, 3, 1] and info["state"]["dataset"] == "xor"
    assert "seed=3" in info["query"] and len(info["session"]) >= 8
    assert len(info["points"]["train"]) + len(info["points"]["test"]) == 100


def test_step_trains_exactly_one_epoch_and_stays_paused(client: TestClient) -> None:
    sid = new_session(client)["session"]
    assert client.get(f"/api/sessions/{sid}/frame").json()["epoch"] == 0
    first = client.post(f"/api/sessions/{sid}/step").json()
    second = client.post(f"/api/sessions/{sid}/step").json()
    assert (first["epoch"], second["epoch"]) == (1, 2) and not second["playing"]
    history = client.get(f"/api/sessions/{sid}/history").json()
    assert history["epoch"] == [1, 2] and len(history["test_loss"]) == 2


def test_step_on_a_stopped_run_answers_at_once_with_its_last_frame(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from fcnn_cli.serving.playground.session import Session

    monkeypatch.setattr(Session, "MAX_EPOCHS", 1)
    sid = new_session(client)["session"]
    assert client.post(f"/api/sessions/{sid}/step").json()["stopped"]  # (the cap: 1 epoch)
    waits = []
    monkeypatch.setattr(Session, "wait", lambda self, *args: waits.append(args))
    answer = client.post(f"/api/sessions/{sid}/step").json()
    assert (answer["epoch"], waits) == (1, [])  # no frame is coming: nothing to wait for


def test_a_session_that_ends_leaves_the_others_on_one_blas_thread(client: TestClient) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core: BLAS has one thread whatever is set")
    first, second = (new_session(client)["session"] for _ in range(2))
    for sid in (first, second):  # (each session's Trainer inside its own limit)
        assert client.post(f"/api/sessions/{sid}/step").json()["epoch"] == 1
    assert client.delete(f"/api/sessions/{first}").status_code == 204
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert blas and {i["num_threads"] for i in blas} == {1}  # (the limit is the process's)


def test_play_trains_until_pause_and_reset_goes_back_to_epoch_0(client: TestClient) -> None:
    sid = new_session(client)["session"]
    assert client.post(f"/api/sessions/{sid}/play").json()["playing"] is True
    deadline = time.monotonic() + WAIT
    while client.get(f"/api/sessions/{sid}/frame").json()["epoch"] < 3:
        assert time.monotonic() < deadline, "no epochs while playing"
        time.sleep(0.05)
    paused = client.post(f"/api/sessions/{sid}/pause").json()
    assert paused["playing"] is False
    time.sleep(0.3)
    settled = client.get(f"/api/sessions/{sid}/frame").json()["epoch"]
    time.sleep(0.3)
    assert client.get(f"/api/sessions/{sid}/frame").json()["epoch"] == settled >= 3
    assert client.post(f"/api/sessions/{sid}/reset").json()["epoch"] == 0


def test_a_deleted_session_is_gone(client: TestClient) -> None:
    sid = new_session(client)["session"]
    folder = client.app.state.sessions.get(sid).folder  # type: ignore[attr-defined]
    assert folder.is_dir()
    assert client.delete(f"/api/sessions/{sid}").status_code == 204
    refused(client.get(f"/api/sessions/{sid}/frame"), 404, "reload the page")
    assert not folder.exists()  # its work files went with it


def test_creating_one_session_beyond_the_limit_closes_the_least_recently_used() -> None:
    with TestClient(create_app(max_sessions=2)) as client:
        first, second = new_session(client)["session"], new_session(client)["session"]
        assert client.get(f"/api/sessions/{first}/frame").status_code == 200  # used last
        third = new_session(client)["session"]
        refused(client.get(f"/api/sessions/{second}/frame"), 404, "reload the page")
        for sid in (first, third):
            assert client.get(f"/api/sessions/{sid}/frame").status_code == 200


def test_a_session_unused_for_the_idle_time_closes() -> None:
    app = create_app(idle_seconds=60)
    now = [1000.0]
    app.state.sessions.clock = lambda: now[0]
    with TestClient(app) as client:
        idle, used = new_session(client)["session"], new_session(client)["session"]
        now[0] += 45
        assert client.get(f"/api/sessions/{used}/frame").status_code == 200
        now[0] += 45
        assert app.state.sessions.sweep() == 1
        refused(client.get(f"/api/sessions/{idle}/frame"), 404, "reload the page")
        assert client.get(f"/api/sessions/{used}/frame").status_code == 200


def test_stopping_the_app_closes_every_session_and_removes_its_files() -> None:
    app = create_app()
    with TestClient(app) as client:
        new_session(client)
        client.post(f"/api/sessions/{new_session(client)['session']}/play")
        entries = list(app.state.sessions._entries.values())
        folder = app.state.sessions.folder
        assert folder.is_dir()
    assert all(entry.closed for entry in entries) and len(app.state.sessions) == 0
    assert not folder.exists() and not folder.parent.exists()


# --- the stream (a real server) ----------------------------------------------------------------


def events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, data) of a server-sent event stream, as they arrive; pings skipped."""
    name, data = "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


@pytest.fixture(scope="module")
def server_app() -> Any:
    return create_app()


@pytest.fixture(scope="module")
def server(server_app: Any) -> Iterator[str]:
    with in_thread(server_app) as url:
        yield url


def test_the_stream_says_hello_then_sends_frames_whose_epoch_grows_while_playing(
        server: str) -> None:
    with httpx.Client(base_url=server, timeout=WAIT) as http:
        sid = http.post("/api/sessions", json={"query": QUERY}).json()["session"]
        with http.stream("GET", f"/api/sessions/{sid}/events") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            received = events(stream)
            name, hello = next(received)
            assert name == "hello" and hello["session"] == sid and hello["architecture"]
            name, frame = next(received)
            assert name == "frame" and frame["epoch"] == 0
            http.post(f"/api/sessions/{sid}/play")
            epochs = []
            for name, frame in received:
                assert name == "frame"
                epochs.append(frame["epoch"])
                if len(epochs) == 5:
                    break
        http.post(f"/api/sessions/{sid}/pause")
    assert epochs == sorted(epochs) and epochs[-1] > epochs[0] >= 0
    assert "test" in frame and "boundary" in frame and "neurons" in frame


def test_a_reader_that_comes_late_gets_only_the_latest_frame(server: str) -> None:
    with httpx.Client(base_url=server, timeout=WAIT) as http:
        sid = http.post("/api/sessions", json={"query": QUERY}).json()["session"]
        for _ in range(3):
            http.post(f"/api/sessions/{sid}/step")
        with http.stream("GET", f"/api/sessions/{sid}/events") as stream:
            received = events(stream)
            assert next(received)[0] == "hello"
            assert next(received) == ("frame", http.get(f"/api/sessions/{sid}/frame").json())
            assert http.post(f"/api/sessions/{sid}/step").json()["epoch"] == 4
            name, frame = next(received)
            assert (name, frame["epoch"]) == ("frame", 4)


def test_the_stream_ends_with_closed_when_its_session_closes(server: str) -> None:
    with httpx.Client(base_url=server, timeout=WAIT) as http:
        sid = http.post("/api/sessions", json={"query": QUERY}).json()["session"]
        seen: list[str] = []

        def read() -> None:
            with http.stream("GET", f"/api/sessions/{sid}/events") as stream:
                seen.extend(name for name, _ in events(stream))

        reader = threading.Thread(target=read)
        reader.start()
        deadline = time.monotonic() + WAIT
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert http.delete(f"/api/sessions/{sid}").status_code == 204
        reader.join(timeout=WAIT)
    assert not reader.is_alive() and seen == ["hello", "frame", "closed"]


def test_the_stream_ends_when_its_reader_goes_away(server: str, server_app: Any) -> None:
    with httpx.Client(base_url=server, timeout=WAIT) as http:
        sid = http.post("/api/sessions", json={"query": QUERY}).json()["session"]
        http.post(f"/api/sessions/{sid}/play")
        entry = server_app.state.sessions.get(sid)
        with http.stream("GET", f"/api/sessions/{sid}/events") as stream:
            received = events(stream)  # (held: a dropped reader closes the connection)
            assert next(received)[0] == "hello" and entry.streams == 1
        deadline = time.monotonic() + WAIT
        while entry.streams and time.monotonic() < deadline:
            time.sleep(0.02)
        assert entry.streams == 0 and not entry.wakers  # the generator has ended
        http.post(f"/api/sessions/{sid}/pause")


def test_the_stream_of_an_unknown_session_is_a_404(server: str) -> None:
    refused(httpx.get(f"{server}/api/sessions/nope/events", timeout=WAIT), 404,
            "no session 'nope' here")


def test_frames_are_json_with_nan_and_infinities_as_null() -> None:
    import numpy as np

    frame = {"loss": float("nan"), "speed": np.float32(0.5), "w": np.array([[np.inf, -1.0]])}
    assert json.loads(dumps(frame)) == {"loss": None, "speed": 0.5, "w": [[None, -1.0]]}


def test_a_bug_is_still_one_json_line(client: TestClient,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from fcnn_cli.serving.playground.session import Session

    def broken(self: Session) -> dict[str, Any]:
        raise ZeroDivisionError("division by zero")

    sid = new_session(client)["session"]
    monkeypatch.setattr(Session, "history", broken)
    quiet = TestClient(client.app, raise_server_exceptions=False)  # (no second lifespan)
    refused(quiet.get(f"/api/sessions/{sid}/history"), 500,
            "internal error (ZeroDivisionError: division by zero); please report it")


# --- the inspector and the downloads ---------------------------------------------------------


def test_the_inspector_shows_a_neurons_numbers_with_the_lectures_equations(
        client: TestClient) -> None:
    sid = new_session(client)["session"]
    client.post(f"/api/sessions/{sid}/step")
    answer = client.get(f"/api/sessions/{sid}/inspect",
                        params={"layer": 1, "unit": 2, "point": "train:5"})
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert (shown["layer"], shown["unit"], shown["epoch"]) == (1, 2, 1)
    assert shown["point"]["split"] == "train" and shown["point"]["index"] == 5
    assert len(shown["incoming"]) == 2 and {"z", "a", "delta", "dC_db"} <= shown.keys()
    assert any(equation["name"] == "z" for equation in shown["equations"])
    point = client.get(f"/api/sessions/{sid}/inspect", params={"layer": 2, "unit": 1}
                       ).json()["point"]
    assert (point["split"], point["index"]) == ("test", 0)  # the first test point


@pytest.mark.parametrize(("params", "fragment"), [
    ({"unit": "1"}, "give ?layer= (layers from 1, the first hidden one, to L, the output"),
    ({"layer": "1"}, "give ?unit="),
    ({"layer": "one", "unit": "1"}, "layer=one is not a whole number"),
    ({"layer": "1", "unit": "1.5"}, "unit=1.5 is not a whole number"),
    ({"layer": "7", "unit": "1"}, "layer 7 is not in this network"),
    ({"layer": "1", "unit": "9"}, "unit 9 is not in layer 1"),
    ({"layer": "1", "unit": "1", "point": "test:100000"}, "point test:100000 is not there"),
    ({"layer": "1", "unit": "1", "point": "somewhere"}, "point is 'somewhere'; give test:N"),
])
def test_bad_inspector_arguments_are_a_400_naming_them(client: TestClient,
                                                       params: dict[str, str],
                                                       fragment: str) -> None:
    sid = new_session(client)["session"]
    refused(client.get(f"/api/sessions/{sid}/inspect", params=params), 400, fragment)


def test_the_config_download_is_the_yaml_of_the_epochs_played(client: TestClient) -> None:
    sid = new_session(client)["session"]
    client.post(f"/api/sessions/{sid}/step")
    client.post(f"/api/sessions/{sid}/step")
    answer = client.get(f"/api/sessions/{sid}/config.yaml")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/yaml")
    assert answer.headers["content-disposition"] == 'attachment; filename="playground-xor.yaml"'
    config = yaml.safe_load(answer.text)
    assert config["training"]["epochs"] == 2 and config["seed"] == 3
    assert "http://testserver/?dataset=xor" in answer.text  # the link back to this state


def test_the_model_download_is_an_h5_file_fcnn_loads(client: TestClient,
                                                     tmp_path: Path) -> None:
    sid = new_session(client)["session"]
    client.post(f"/api/sessions/{sid}/step")
    answer = client.get(f"/api/sessions/{sid}/model.h5")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="playground-xor.h5"'
    path = tmp_path / "model.h5"
    path.write_bytes(answer.content)
    model = load_model(path)
    assert model.network.sizes == [2, 3, 1]


# --- CSV uploads ---------------------------------------------------------------------------


def upload(client: TestClient, name: str, data: bytes,
           media: str = "text/csv") -> httpx.Response:
    return client.post("/api/csv", files={"file": (name, data, media)})


def test_an_uploaded_csv_becomes_a_dataset_by_its_name(client: TestClient) -> None:
    answer = upload(client, "My Points.csv", csv_bytes(classes=3))
    assert answer.status_code == 201, answer.text
    assert answer.json() == {"csv": "My-Points", "query": "dataset=csv&csv=My-Points"}
    assert upload(client, "My Points.csv", csv_bytes()).json()["csv"] == "My-Points-2"
    info = new_session(client, "dataset=csv&csv=My-Points&layers=4")
    assert info["classes"] == ["c0", "c1", "c2"] and info["architecture"][-1] == 3
    config = client.get(f"/api/sessions/{info['session']}/config.yaml").text
    assert yaml.safe_load(config)["data"]["path"] == "My Points.csv"  # the user's file


@pytest.mark.parametrize(("name", "data", "status", "fragment"), [
    ("digit.png", b"\x89PNG\r\n\x1a\n" + bytes(64), 415, "'digit.png' is not a .csv file"),
    ("points.csv", csv_bytes(columns=("x1", "x2", "x3")), 400, "3 feature column"),
    ("points.csv", csv_bytes(classes=1), 400, "1 class"),
    ("points.csv", csv_bytes(classes=12, rows=60), 400, "12 class"),
    ("points.csv", b"", 400, "points.csv"),
    ("points.csv", csv_bytes().replace(b",label", b",class"), 400,
     "no label column 'label'; columns are x1, x2, class; the playground takes two numeric "
     "feature columns and a column named label"),
    ("points.csv", b"x1,x2,label\n1,a,0\n2,3,1\n", 400,
     "points.csv: row 2, column 'x2': 'a' is not a number; features must be numeric; the "
     "playground takes two numeric feature columns and a column named label"),
])
def test_a_file_the_playground_cannot_train_on_is_refused_in_one_line(
        client: TestClient, name: str, data: bytes, status: int, fragment: str) -> None:
    message = refused(upload(client, name, data), status, fragment)
    assert "/uploads/" not in message and "fcnn-playground-" not in message
    refused(client.post("/api/sessions", json={"query": "dataset=csv&csv=points"}), 400,
            "not a CSV this playground knows")


def test_an_upload_over_the_size_limit_is_a_413(client: TestClient) -> None:
    huge = csv_bytes() + b"0.1,0.2,c0\n" * (MAX_CSV_BYTES // 5)  # refused by its length
    just_over = csv_bytes() + b"0.1,0.2,c0\n" * (MAX_CSV_BYTES // 11 + 10)  # by its part's
    assert len(just_over) < MAX_CSV_BYTES + 1000
    for name, data in (("huge.csv", huge), ("big.csv", just_over)):
        refused(upload(client, name, data), 413,
                "over the playground's limit of 5 MB per CSV (5,242,880 bytes)")
    refused(client.post("/api/sessions", json={"query": "dataset=csv&csv=big"}), 400,
            "not a CSV this playground knows")


def test_an_upload_without_a_file_part_or_not_multipart_is_refused(client: TestClient) -> None:
    refused(client.post("/api/csv", data={"other": "x"},
                        files={"notfile": ("a.csv", b"x", "text/csv")}), 400,
            "no file part `file`")
    refused(client.post("/api/csv", content=csv_bytes(), headers={"content-type": "text/csv"}),
            415, "multipart/form-data")


# --- careless requests ------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "frame"), ("GET", "history"), ("GET", "inspect?layer=1&unit=1"),
    ("GET", "config.yaml"), ("GET", "model.h5"), ("POST", "play"), ("POST", "step"),
    ("DELETE", ""),
])
def test_an_unknown_session_is_a_404_asking_to_reload(client: TestClient, method: str,
                                                      path: str) -> None:
    url = f"/api/sessions/gone123/{path}".rstrip("/")
    refused(client.request(method, url), 404, "no session 'gone123' here")


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"query": "lr=fast"}, 400, "lr is 'fast'"),
    ({"query": "lrr=0.1"}, 400, "did you mean 'lr'"),
    ({"query": "layers=4,99"}, 400, "layers is '4,99'"),
    ({"query": "dataset=moon"}, 400, "dataset is 'moon' (did you mean 'moons'?)"),
    ({"query": "seed=1&seed=2"}, 400, "given twice"),
    ({"query": 5}, 400, 'the body must be {"query"'),
    (["dataset=xor"], 400, 'the body must be {"query"'),
])
def test_a_bad_query_is_a_400_naming_what_is_wrong(client: TestClient, body: Any, status: int,
                                                   fragment: str) -> None:
    refused(client.post("/api/sessions", json=body), status, fragment)


def test_a_body_that_is_not_json_is_refused(client: TestClient) -> None:
    refused(client.post("/api/sessions", content=b"{query",
                        headers={"content-type": "application/json"}), 400, "not JSON")
    refused(client.post("/api/sessions", content=b"dataset=xor",
                        headers={"content-type": "text/plain"}), 415, "application/json")
    refused(client.post("/api/sessions", content=b"{" + b" " * 70_000 + b"}",
                        headers={"content-type": "application/json"}), 413, "over the limit")


def test_an_unknown_action_or_route_or_method_is_a_json_4xx(client: TestClient) -> None:
    sid = new_session(client)["session"]
    refused(client.post(f"/api/sessions/{sid}/jump"), 404, "no action 'jump'")
    refused(client.get(f"/api/sessions/{sid}/play"), 405, "GET is not allowed")
    refused(client.get("/api/nothing"), 404, "no route GET /api/nothing")


def test_another_sites_page_cannot_drive_the_playground(client: TestClient) -> None:
    refused(client.post("/api/sessions", json={"query": QUERY},
                        headers={"origin": "https://evil.example"}), 403, "another site")
    assert client.post("/api/sessions", json={"query": QUERY},
                       headers={"origin": "http://testserver"}).status_code == 201
