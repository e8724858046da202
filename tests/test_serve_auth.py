"""The API key (Bearer, every route but health and the page; never logged or echoed) and
CORS (off unless origins are given; a preflight works without the key)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from fcnn_cli import api  # noqa: E402
from fcnn_cli.model import Model  # noqa: E402
from fcnn_cli.serving.app import create_app  # noqa: E402
from fcnn_cli.serving.options import ServeOptions  # noqa: E402

KEY = "s3cret-Key-0123456789-abcdefgh"
INFER = "/v2/models/mnist/infer"
BODY = {"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32",
                    "data": [0.0] * 784}]}
OPEN = ["/v2/health/live", "/v2/health/ready", "/ping", "/health", "/", "/docs",
        "/openapi.json"]
PROTECTED_GETS = ["/v2", "/v2/models/mnist", "/v2/models/mnist/ready", "/version", "/info",
                  "/metrics"]
SITE = "https://app.example.com"


@pytest.fixture(scope="module")
def model() -> Model:
    return api.load_model("mnist")


@pytest.fixture(scope="module")
def locked(model: Model) -> Iterator[TestClient]:
    with TestClient(create_app(model, ServeOptions(api_key=KEY))) as client:
        yield client


def _bearer(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("path", PROTECTED_GETS)
def test_every_other_route_needs_the_key(locked: TestClient, path: str) -> None:
    response = locked.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "send the header 'Authorization: Bearer <key>'" in response.json()["error"]
    assert locked.get(path, headers=_bearer()).status_code == 200


@pytest.mark.parametrize("path", [INFER, "/invocations", "/predict"])
def test_prediction_routes_need_the_key_before_reading_the_body(locked: TestClient,
                                                                path: str) -> None:
    response = locked.post(path, json=BODY)
    assert response.status_code == 401
    assert locked.post(INFER, json=BODY, headers=_bearer()).status_code == 200


@pytest.mark.parametrize("path", OPEN)
def test_health_routes_the_page_and_the_docs_need_no_key(locked: TestClient, path: str) -> None:
    assert locked.get(path).status_code == 200


def test_an_unknown_route_answers_401_not_404_without_the_key(locked: TestClient) -> None:
    assert locked.get("/admin").status_code == 401  # routes are not probed without a key


@pytest.mark.parametrize("header", [f"Bearer {KEY}x", f"Bearer {KEY[:-1]}", f"Basic {KEY}",
                                    KEY, "Bearer", "Bearer "])
def test_a_wrong_key_or_scheme_is_refused_without_echoing_it(locked: TestClient,
                                                             header: str) -> None:
    response = locked.post(INFER, json=BODY, headers={"Authorization": header})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert "does not hold this server's key" in response.json()["error"]
    assert KEY[:8] not in response.text


def test_the_scheme_is_case_insensitive(locked: TestClient) -> None:
    response = locked.post(INFER, json=BODY, headers={"Authorization": f"bearer {KEY}"})
    assert response.status_code == 200


def test_the_key_appears_in_no_log_line_or_response(model: Model,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    options = ServeOptions(api_key=KEY, cors_origins=(SITE,))
    with TestClient(create_app(model, options)) as client:
        texts = [client.post(INFER, json=BODY, headers=_bearer()).text,
                 client.post(INFER, json=BODY, headers=_bearer("wrong")).text,
                 client.post(INFER, content=b"{", headers=_bearer()).text,
                 client.get("/info", headers=_bearer()).text,
                 client.get("/metrics", headers=_bearer()).text,
                 client.get("/openapi.json", headers=_bearer()).text]
    assert KEY not in "".join(texts) and KEY not in caplog.text
    assert KEY not in repr(options) and KEY not in str(options)


def test_the_openapi_document_declares_the_bearer_scheme(locked: TestClient) -> None:
    spec = locked.get("/openapi.json", headers=_bearer()).json()
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http",
                                                               "scheme": "bearer"}
    assert spec["security"] == [{"bearer": []}]


def test_without_a_key_every_route_is_open(model: Model) -> None:
    with TestClient(create_app(model)) as client:
        assert client.post(INFER, json=BODY).status_code == 200
        assert client.get("/info").status_code == 200
        spec = client.get("/openapi.json").json()
    assert "security" not in spec


# --- CORS --------------------------------------------------------------------------------

def _preflight(client: TestClient, origin: str = SITE):  # type: ignore[no-untyped-def]
    return client.options(INFER, headers={"Origin": origin,
                                          "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers":
                                              "authorization, content-type"})


def test_cors_is_off_by_default(model: Model) -> None:
    with TestClient(create_app(model)) as client:
        response = client.post(INFER, json=BODY, headers={"Origin": SITE})
        assert response.status_code == 200
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-origin" not in _preflight(client).headers


def test_a_preflight_with_the_authorization_header_needs_no_key(model: Model) -> None:
    options = ServeOptions(api_key=KEY, cors_origins=(SITE,))
    with TestClient(create_app(model, options)) as client:
        response = _preflight(client)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == SITE
        assert "authorization" in response.headers["access-control-allow-headers"].lower()
        answer = client.post(INFER, json=BODY, headers={"Origin": SITE, **_bearer()})
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == SITE


def test_a_401_carries_the_cors_headers_so_the_page_can_ask_for_the_key(model: Model) -> None:
    options = ServeOptions(api_key=KEY, cors_origins=(SITE,))
    with TestClient(create_app(model, options)) as client:
        response = client.post(INFER, json=BODY, headers={"Origin": SITE})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == SITE


def test_an_origin_not_listed_gets_no_cors_headers(model: Model) -> None:
    with TestClient(create_app(model, ServeOptions(cors_origins=(SITE,)))) as client:
        assert _preflight(client, "https://evil.example").status_code == 400
        response = client.post(INFER, json=BODY, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_a_wildcard_origin_allows_any_site(model: Model) -> None:
    with TestClient(create_app(model, ServeOptions(cors_origins=("*",)))) as client:
        response = _preflight(client, "https://anywhere.example")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://anywhere.example")
