"""Prometheus metrics shared by all services, and the ``/metrics`` endpoint.

Names carry their unit and counters end in ``_total`` so ``promtool check metrics`` accepts
them. When ``PROMETHEUS_MULTIPROC_DIR`` is set (gunicorn with several workers) the endpoint
aggregates every worker's samples.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, Response, current_app
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "closeloop_http_requests_total", "HTTP requests answered", ["service", "method", "endpoint", "status"]
)
HTTP_LATENCY = Histogram(
    "closeloop_http_request_duration_seconds", "HTTP request duration", ["service", "endpoint"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_MESSAGES = Counter(
    "closeloop_consumer_messages_total", "Kafka messages consumed, by outcome", ["group", "topic", "outcome"]
)
CONSUMER_ERRORS = Counter(
    "closeloop_consumer_batch_failures_total", "Consumer batches that failed and were retried", ["group"]
)
CONSUMER_BATCH_SECONDS = Histogram(
    "closeloop_consumer_batch_duration_seconds", "Time to process one polled batch", ["group"],
    buckets=LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "closeloop_consumer_lag_messages", "Messages behind the end of the partition", ["group", "topic", "partition"],
    multiprocess_mode="max",
)
DLQ_MESSAGES = Counter(
    "closeloop_dlq_messages_total", "Messages sent to a dead-letter topic", ["topic", "group"]
)
OUTBOX_PUBLISHED = Counter("closeloop_outbox_published_total", "Outbox events published", ["service"])
OUTBOX_PUBLISH_FAILURES = Counter(
    "closeloop_outbox_publish_failures_total", "Outbox publish attempts that failed", ["service"]
)
OUTBOX_PUBLISH_SECONDS = Histogram(
    "closeloop_outbox_publish_latency_seconds", "Time from outbox write to publish", ["service"],
    buckets=LATENCY_BUCKETS,
)
OUTBOX_DEPTH = Gauge(
    "closeloop_outbox_pending_events", "Outbox events not yet published", ["service"], multiprocess_mode="max"
)
OUTBOX_OLDEST_AGE = Gauge(
    "closeloop_outbox_oldest_pending_age_seconds", "Age of the oldest unpublished outbox event", ["service"],
    multiprocess_mode="max",
)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    """The ``method`` label of an HTTP request: the client may send any token, and unknown ones share ``OTHER``."""
    return method if method in _METHODS else "OTHER"


_CHILDREN: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once per label set (for the per-request hot paths).

    ``labels()`` checks its arguments and takes the metric's lock on every call. Label sets
    here come from code, routes and status codes, never from what a client sends, so this
    cache stays as small as the metrics' own.
    """
    key = (id(metric), labels)
    found = _CHILDREN.get(key)
    if found is None:
        found = _CHILDREN.setdefault(key, metric.labels(*labels))
    return found


metrics_blueprint = Blueprint("metrics", __name__)


@metrics_blueprint.get("/metrics")
def metrics_endpoint() -> Response:
    """Expose metrics in the Prometheus text format, plus the app's own collectors (read at scrape time)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = DEFAULT_REGISTRY
    body = generate_latest(registry)
    collectors = current_app.extensions.get("closeloop_collectors", ())
    if collectors:
        own = CollectorRegistry(auto_describe=False)
        for collector in collectors:
            own.register(collector)
        body += generate_latest(own)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)
