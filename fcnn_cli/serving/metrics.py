"""What `GET /metrics` reports, in Prometheus's text format (prometheus_client).

Each app has its own registry, so two apps in one process (tests, or a user mounting two
models) never add to each other's counts. Series:

    fcnn_requests_total{route, status}      requests answered
    fcnn_request_duration_seconds{route}    latency histogram, from request to response
    fcnn_batch_rows                         rows per forward pass (histogram)
    fcnn_errors_total{kind}                 errors answered, by kind (bad_request, busy, …)
    fcnn_queue_rows                         rows accepted and not yet answered (gauge)

`route` is the route's template ("/v2/models/{name}/infer"), never the raw path: a
client probing random URLs must not grow the registry, so past MAX_ROUTES distinct
routes the rest count under "other".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

MAX_ROUTES = 64
# A request takes from well under a millisecond (health) to seconds (a big upload).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                   1.0, 2.5, 5.0, 10.0)


def _row_buckets(max_batch_size: int) -> tuple[float, ...]:
    """Powers of two up to the largest batch, and the largest batch itself."""
    edges = [1 << i for i in range(max_batch_size.bit_length()) if 1 << i < max_batch_size]
    return tuple(float(e) for e in edges + [max_batch_size])


class Metrics:
    """The counters of one app, rendered for Prometheus."""

    def __init__(self, max_batch_size: int = 64) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._routes: set[str] = set()
        # the labelled children, looked up once: labels() validates its arguments each time
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}
        self._requests = Counter("fcnn_requests", "Requests answered, by route and status",
                                 ["route", "status"], registry=self.registry)
        self._latency = Histogram("fcnn_request_duration_seconds",
                                  "Time from request to response, by route", ["route"],
                                  buckets=LATENCY_BUCKETS, registry=self.registry)
        self._batches = Histogram("fcnn_batch_rows", "Rows per forward pass",
                                  buckets=_row_buckets(max_batch_size),
                                  registry=self.registry)
        self._errors = Counter("fcnn_errors", "Errors answered, by kind", ["kind"],
                               registry=self.registry)
        self._queue = Gauge("fcnn_queue_rows", "Rows accepted and not yet answered",
                            registry=self.registry)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        children = self._children.get((route, status))
        if children is None:
            label = self._route(route)
            children = (self._requests.labels(route=label, status=str(status)),
                        self._latency.labels(route=label))
            if label == route:  # "other" stands for many routes: not worth remembering each
                self._children[(route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_batch(self, rows: int) -> None:
        """One forward pass of `rows` real rows (safe to call from the batcher's thread)."""
        self._batches.observe(rows)

    def observe_error(self, kind: str) -> None:
        self._errors.labels(kind=kind).inc()

    def track_queue(self, depth: Callable[[], float]) -> None:
        """Read the queue depth from `depth()` at each scrape (the batcher's queued_rows)."""
        self._queue.set_function(depth)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _route(self, route: str) -> str:
        if route in self._routes:
            return route
        if len(self._routes) >= MAX_ROUTES:
            return "other"
        self._routes.add(route)
        return route
