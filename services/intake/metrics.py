"""Intake's own Prometheus counters: what arrived, what was stored, what was turned away and why.

Outbox depth, age and publish latency are shared by every service and live in ``shared.metrics``.
All counters are labelled (no unlabelled series), so they also work in multiprocess mode,
where a labelled child is created, after the mode is chosen, on first use.
"""

from __future__ import annotations

from prometheus_client import Counter

from shared.metrics import child

RECEIVED = Counter(
    "closeloop_intake_feedback_received_total",
    "Feedback submissions that reached intake (batch items counted one by one), by channel",
    ["channel"],
)
ACCEPTED = Counter(
    "closeloop_intake_feedback_accepted_total", "Feedback stored (new, not a duplicate), by source", ["source"]
)
REJECTED = Counter(
    "closeloop_intake_feedback_rejected_total", "Feedback submissions turned away, by reason", ["reason"]
)
DUPLICATES = Counter(
    "closeloop_intake_feedback_duplicates_total",
    "Submissions recognised as repeats (Idempotency-Key or source + external_id), by kind",
    ["kind"],
)

# HTTP status of a refused submission → the reason label
REASONS = {400: "malformed", 409: "idempotency_conflict", 413: "too_large", 415: "unsupported_media_type",
           422: "invalid", 429: "rate_limited"}


def rejected(reason: str, count: int = 1) -> None:
    """Count ``count`` refused submissions for ``reason``."""
    if count:
        REJECTED.labels(reason).inc(count)


def stored(*, source: str, duplicate_kind: str | None) -> None:
    """Count one stored feedback, or one recognised repeat."""
    if duplicate_kind is None:
        child(ACCEPTED, source).inc()
    else:
        child(DUPLICATES, duplicate_kind).inc()
