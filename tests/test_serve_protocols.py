"""The protocols on table models: a CSV model's columns by name in every MLflow form and
in a CSV body (any order, other columns ignored, as `fcnn predict` reads a CSV), the V2
output of a regression (`outputs`, in the targets' units), and /info for tables."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from fcnn_cli import api  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402
from fcnn_cli.serving import protocols  # noqa: E402
from fcnn_cli.serving.app import create_app  # noqa: E402
from fcnn_cli.serving.errors import RequestError  # noqa: E402

FEATURES = ["size", "texture", "age"]


def _write(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _table(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.normal(12, 3, n), rng.normal(20, 4, n),
                            rng.integers(20, 90, n)]).round(2)


def _train(folder: Path, name: str, labels: list[str], header: list[str],
           rows: list[list[object]], last: dict, cost: str) -> Model:
    data = _write(folder / f"{name}.csv", header, rows)
    config = {"data": {"path": str(data), "label_column": labels if len(labels) > 1
                       else labels[0], "feature_columns": FEATURES, "test_fraction": 0.2,
                       "normalize": "standardize"},
              "model": {"layers": [{"units": 8}, last]}, "cost": cost,
              "training": {"epochs": 1, "batch_size": 8}}
    api.train(config, out=folder / f"{name}.h5")
    return api.load_model(folder / f"{name}.h5")  # named for its file, as `fcnn serve` loads


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Model:
    x = _table(40)
    label = np.where(x[:, 0] + 0.5 * x[:, 1] > 22, "malignant", "benign")
    rows = [[f"p{i}", *x[i], label[i]] for i in range(len(x))]
    return _train(tmp_path_factory.mktemp("cancer"), "cancer", ["diagnosis"],
                  ["id", *FEATURES, "diagnosis"], rows,
                  {"units": 2, "activation": "softmax"}, "log-likelihood")


@pytest.fixture(scope="module")
def regressor(tmp_path_factory: pytest.TempPathFactory) -> Model:
    x = _table(40, seed=1)
    rows = [[*x[i], 1000 * x[i, 0], x[i, 2] / 10] for i in range(len(x))]
    return _train(tmp_path_factory.mktemp("price"), "price", ["price", "score"],
                  [*FEATURES, "price", "score"], rows,
                  {"units": 2, "activation": "linear"}, "quadratic")


@pytest.fixture(scope="module")
def tables(classifier: Model) -> Iterator[TestClient]:
    with TestClient(create_app(classifier)) as client:
        yield client


@pytest.fixture(scope="module")
def regression(regressor: Model) -> Iterator[TestClient]:
    with TestClient(create_app(regressor)) as client:
        yield client


X = _table(5, seed=7)


def _labels(model: Model) -> list[str]:
    return list(model.predict(X))


def test_dataframe_split_takes_columns_by_name_in_any_order(tables: TestClient,
                                                            classifier: Model) -> None:
    order = [2, 0, 1]
    body = {"dataframe_split": {"columns": ["notes", *(FEATURES[i] for i in order)],
                                "data": [["seen today", *row] for row in X[:, order].tolist()]}}
    response = tables.post("/invocations", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": _labels(classifier)}


def test_dataframe_records_and_instances_as_records(tables: TestClient,
                                                    classifier: Model) -> None:
    records = [{"age": r[2], "texture": r[1], "size": r[0], "id": "p"} for r in X.tolist()]
    expected = {"predictions": _labels(classifier)}
    assert tables.post("/invocations", json={"dataframe_records": records}).json() == expected
    assert tables.post("/invocations", json={"instances": records}).json() == expected


def test_inputs_as_named_columns(tables: TestClient, classifier: Model) -> None:
    columns = {name: X[:, i].tolist() for i, name in enumerate(FEATURES)}
    response = tables.post("/invocations", json={"inputs": dict(reversed(columns.items()))})
    assert response.json() == {"predictions": _labels(classifier)}


def test_csv_body_is_read_as_fcnn_predict_reads_the_file(tables: TestClient,
                                                         classifier: Model,
                                                         tmp_path: Path) -> None:
    rows = [["p", r[2], "seen", r[1], r[0]] for r in X.tolist()]
    path = _write(tmp_path / "new.csv", ["id", "age", "notes", "texture", "size"], rows)
    response = tables.post("/invocations", content=path.read_bytes(),
                           headers={"Content-Type": "text/csv; charset=utf-8"})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": list(classifier.predict(path))}


def test_probabilities_of_a_table_classifier(tables: TestClient, classifier: Model) -> None:
    body = {"inputs": X.tolist(), "params": {"probabilities": True}}
    got = np.array(tables.post("/invocations", json=body).json()["predictions"])
    np.testing.assert_allclose(got, classifier.predict_proba(X), rtol=1e-5, atol=1e-7)


def test_a_missing_column_is_named_with_the_columns_the_model_takes(tables: TestClient) -> None:
    body = {"dataframe_split": {"columns": ["size", "textur", "age"], "data": X.tolist()}}
    response = tables.post("/invocations", json=body)
    assert response.status_code == 400
    error = response.json()
    assert "no column 'texture' (did you mean 'textur'?)" in error["error"]
    assert "size, texture, age" in error["error"] and error["error_code"] == "BAD_REQUEST"


def test_a_csv_body_missing_a_column_is_a_400(tables: TestClient) -> None:
    text = "size,age\n1,2\n3,4\n"
    response = tables.post("/invocations", content=text, headers={"Content-Type": "text/csv"})
    assert response.status_code == 400
    assert "the CSV body: no feature column 'texture'" in response.json()["error"]


def test_a_record_missing_a_column_is_named(tables: TestClient) -> None:
    records = [{"size": 1, "texture": 2, "age": 3}, {"size": 1, "age": 3}]
    response = tables.post("/invocations", json={"dataframe_records": records})
    assert response.status_code == 400
    assert "dataframe_records[1] has no 'texture'" in response.json()["error"]


def test_v2_infer_on_a_table_model_takes_the_features_in_model_order(
        tables: TestClient, classifier: Model) -> None:
    body = {"inputs": [{"name": "input", "shape": [5, 3], "datatype": "FP64",
                        "data": X.tolist()}]}
    (output,) = tables.post("/v2/models/cancer/infer", json=body).json()["outputs"]
    assert output["name"] == "probabilities" and output["shape"] == [5, 2]
    np.testing.assert_allclose(np.reshape(output["data"], (5, 2)), classifier.predict_proba(X),
                               rtol=1e-5, atol=1e-7)


def test_v2_regression_answers_outputs_in_target_units(regression: TestClient,
                                                       regressor: Model) -> None:
    meta = regression.get("/v2/models/price").json()
    assert meta["outputs"] == [{"name": "outputs", "datatype": "FP32", "shape": [-1, 2]}]
    body = {"inputs": [{"name": "input", "shape": [5, 3], "datatype": "FP32",
                        "data": X.ravel().tolist()}], "outputs": [{"name": "outputs"}]}
    (output,) = regression.post("/v2/models/price/infer", json=body).json()["outputs"]
    np.testing.assert_allclose(np.reshape(output["data"], (5, 2)), regressor.predict(X),
                               rtol=1e-5)


def test_mlflow_regression_answers_one_list_per_row(regression: TestClient,
                                                    regressor: Model) -> None:
    got = regression.post("/invocations", json={"inputs": X.tolist()}).json()["predictions"]
    np.testing.assert_allclose(np.array(got), regressor.predict(X), rtol=1e-5)


def test_predict_upload_of_a_csv_for_a_table_model(tables: TestClient, classifier: Model,
                                                   tmp_path: Path) -> None:
    path = _write(tmp_path / "batch.csv", FEATURES, X.tolist())
    response = tables.post("/predict", files=[("file", ("batch.csv", path.read_bytes(),
                                                         "text/csv"))])
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert [a["input"] for a in answers] == [f"batch.csv[{i}]" for i in range(5)]
    assert [a["label"] for a in answers] == _labels(classifier)
    assert set(answers[0]["probabilities"]) == {"benign", "malignant"}


def test_predict_upload_for_a_regression_answers_outputs_by_name(regression: TestClient,
                                                                 regressor: Model,
                                                                 tmp_path: Path) -> None:
    path = _write(tmp_path / "batch.csv", FEATURES, X[:1].tolist())
    (answer,) = regression.post("/predict", files=[("file", ("b.csv", path.read_bytes()))]
                                ).json()["predictions"]
    assert list(answer["outputs"]) == ["price", "score"] and "label" not in answer
    np.testing.assert_allclose(list(answer["outputs"].values()), regressor.predict(X[:1])[0],
                               rtol=1e-5)


def test_info_of_table_models(tables: TestClient, regression: TestClient) -> None:
    info = tables.get("/info").json()
    assert (info["inputs"], info["features"], info["image"]) == ("table", FEATURES, None)
    assert info["classes"] == ["benign", "malignant"]
    info = regression.get("/info").json()
    assert (info["task"], info["classes"], info["outputs"]) == \
        ("regression", None, ["price", "score"])


# --- the parsing functions themselves ----------------------------------------------------


@pytest.mark.parametrize(("values", "fragment"), [
    ([1, "2"], "x[1] is the string '2'; send numbers only"),
    ([[1, 2], [3, None]], "x[1][1] is null"),
    ([True, False], "x[0] is true"),
    ([[1, 2], [3]], "x is ragged"),
    ([1, {"a": 1}], "x[1] is an object"),
    ([1, 10**30], "x[1] is a whole number too large"),
    ([1.0, 1e300], "x[1] is 1e+300, not a finite float32 number"),
])
def test_numbers_names_the_first_value_that_is_not_one(values: object, fragment: str) -> None:
    with pytest.raises(RequestError, match=None) as caught:
        protocols.numbers(values, "x")
    assert caught.value.status == 400 and fragment in caught.value.message


def test_numbers_converts_json_numbers_to_float32() -> None:
    x = protocols.numbers([[1, 2.5], [255, -0.125]], "x")
    assert x.dtype == np.float32 and x.tolist() == [[1, 2.5], [255, -0.125]]


@pytest.mark.parametrize(("given", "expected"), [(True, True), ("1", True), ("false", False),
                                                 ("0", False), ("yes", True)])
def test_truthy_reads_json_and_query_booleans(given: object, expected: bool) -> None:
    assert protocols.truthy(given, "explain") is expected


def test_truthy_refuses_other_words() -> None:
    with pytest.raises(RequestError, match="explain is 'maybe'; give true or false"):
        protocols.truthy("maybe", "explain")


@pytest.mark.parametrize(("body", "fragment"), [
    (b'{"inputs": [NaN]}', "NaN, which is not a JSON number"),
    (b"{", "the body is not valid JSON (Expecting property name"),
    (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
])
def test_bodies_that_do_not_parse_are_explained_whichever_parser_runs(
        monkeypatch: pytest.MonkeyPatch, body: bytes, fragment: str) -> None:
    for fast in (protocols.orjson, None):
        monkeypatch.setattr(protocols, "orjson", fast)
        with pytest.raises(RequestError) as caught:
            protocols.load_json(body, "rows")
        assert fragment in caught.value.message


def test_the_standard_parser_gives_the_same_rows(monkeypatch: pytest.MonkeyPatch,
                                                 classifier: Model) -> None:
    body = b'{"inputs": [[1, 2.5, 1e-3], [4, 5, 6]]}'
    fast = protocols.parse_invocations(body, classifier)
    monkeypatch.setattr(protocols, "orjson", None)
    np.testing.assert_array_equal(protocols.parse_invocations(body, classifier)[0], fast[0])
    assert protocols.dumps({"a": [0.1, 1e-05]}) == b'{"a":[0.1,1e-05]}'


def test_a_byte_order_mark_before_the_json_is_ignored(classifier: Model) -> None:
    rows, _ = protocols.parse_invocations(b'\xef\xbb\xbf{"inputs": [[1, 2, 3]]}', classifier)
    assert rows.tolist() == [[1, 2, 3]]
