"""/metrics: Prometheus text with the series a dashboard needs, counted per app."""

from __future__ import annotations

import pytest

pytest.importorskip("prometheus_client")

from fcnn_cli.serving.metrics import MAX_ROUTES, Metrics  # noqa: E402

INFER = "/v2/models/{name}/infer"


def text(metrics: Metrics) -> str:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return body.decode()


def test_observations_appear_as_prometheus_series():
    metrics = Metrics(max_batch_size=64)
    metrics.observe_request(INFER, 200, 0.003)
    metrics.observe_request(INFER, 200, 0.2)
    metrics.observe_request(INFER, 400, 0.001)
    metrics.observe_batch(5)
    metrics.observe_error("bad_request")
    metrics.track_queue(lambda: 7)
    out = text(metrics)
    assert f'fcnn_requests_total{{route="{INFER}",status="200"}} 2.0' in out
    assert f'fcnn_requests_total{{route="{INFER}",status="400"}} 1.0' in out
    assert f'fcnn_request_duration_seconds_bucket{{le="0.005",route="{INFER}"}} 2.0' in out
    assert f'fcnn_request_duration_seconds_count{{route="{INFER}"}} 3.0' in out
    assert 'fcnn_batch_rows_bucket{le="4.0"} 0.0' in out
    assert 'fcnn_batch_rows_bucket{le="8.0"} 1.0' in out
    assert 'fcnn_batch_rows_bucket{le="64.0"} 1.0' in out
    assert 'fcnn_errors_total{kind="bad_request"} 1.0' in out
    assert "fcnn_queue_rows 7.0" in out


def test_two_instances_do_not_share_counts():
    first, second = Metrics(), Metrics()
    first.observe_request("/ping", 200, 0.001)
    first.observe_error("busy")
    assert 'fcnn_requests_total{route="/ping",status="200"} 1.0' in text(first)
    assert "fcnn_requests_total{" not in text(second)
    assert "fcnn_errors_total{" not in text(second)


def test_routes_beyond_the_limit_count_as_other():
    metrics = Metrics()
    for i in range(MAX_ROUTES + 5):
        metrics.observe_request(f"/probe{i}", 404, 0.001)
    out = text(metrics)
    assert f'route="/probe{MAX_ROUTES - 1}"' in out
    assert f'route="/probe{MAX_ROUTES}"' not in out
    assert 'fcnn_requests_total{route="other",status="404"} 5.0' in out
