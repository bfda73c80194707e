"""Triage's SLA metrics, read from the database when Prometheus scrapes ``/metrics``.

The database is the truth of the SLA clock, so the numbers come from it rather than from
counters kept in one process: every replica reports the same values, a restart loses nothing,
and no handler needs to know about metrics. Results are cached for ``ttl_seconds`` so frequent
scrapes of several replicas cost one set of indexed queries per interval.

- ``closeloop_triage_open_tickets{sla_state}``: open tickets now, by SLA state (gauge)
- ``closeloop_triage_sla_breaches_total``: tickets that breached their SLA, ever (counter)
- ``closeloop_triage_escalations_total``: escalations up the owner's chain, ever (counter)
- ``closeloop_triage_time_to_resolve_seconds``: feedback received → ticket resolved (histogram;
  each time is placed by its whole minutes, so one within a minute above an edge counts at it)

Open tickets and times come from the summary's aggregate tables (``report_models``), so a
scrape costs the same with a million tickets as with a hundred.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from services.triage.reports.models import OpenTicketCount, TimeHourly
from services.triage.tickets.models import TimelineEntry

log = structlog.get_logger(__name__)
OPEN_STATES = ("on_track", "at_risk", "breached")
RESOLVE_BUCKETS_SECONDS = (3600, 4 * 3600, 8 * 3600, 16 * 3600, 24 * 3600, 48 * 3600, 72 * 3600, 7 * 86400)


def read_figures(session: Any) -> dict[str, Any]:
    """The raw numbers behind the metrics, from the database."""
    open_by_state = dict.fromkeys(OPEN_STATES, 0)
    for state, count in session.execute(select(OpenTicketCount.sla_state, func.sum(OpenTicketCount.n))
                                        .group_by(OpenTicketCount.sla_state)):
        open_by_state[state] = open_by_state.get(state, 0) + int(count)
    events = dict(session.execute(select(TimelineEntry.type, func.count())
                                  .where(TimelineEntry.type.in_(("ticket.sla_breached", "ticket.escalated")))
                                  .group_by(TimelineEntry.type)).all())
    buckets = [0] * (len(RESOLVE_BUCKETS_SECONDS) + 1)
    total = 0.0
    for minute, count, subtotal in session.execute(
            select(TimeHourly.minute, func.sum(TimeHourly.n), func.sum(TimeHourly.seconds))
            .where(TimeHourly.measure == "resolve").group_by(TimeHourly.minute).having(func.sum(TimeHourly.n) != 0)):
        index = next((i for i, edge in enumerate(RESOLVE_BUCKETS_SECONDS) if minute * 60 <= edge),
                     len(RESOLVE_BUCKETS_SECONDS))
        buckets[index] += int(count)
        total += float(subtotal or 0)
    return {"open": open_by_state, "breaches": events.get("ticket.sla_breached", 0),
            "escalations": events.get("ticket.escalated", 0), "resolve_buckets": buckets,
            "resolve_sum": round(total, 3)}


class SlaCollector:
    """A Prometheus collector that reads triage's SLA figures from the database at scrape time."""

    def __init__(self, sessions: Callable[[], Any], *, ttl_seconds: float = 15.0):
        self.sessions, self.ttl = sessions, ttl_seconds
        self._lock = threading.Lock()
        self._cached: tuple[float, dict[str, Any]] | None = None

    def figures(self) -> dict[str, Any] | None:
        """Fresh-enough figures, or ``None`` if the database cannot answer."""
        with self._lock:
            if self._cached is not None and time.monotonic() - self._cached[0] < self.ttl:
                return self._cached[1]
            try:
                with self.sessions() as session:
                    figures = read_figures(session)
            except SQLAlchemyError as exc:  # a scrape must still answer; the readiness probe reports the DB
                log.warning("sla_metrics_unavailable", error=repr(exc))
                return None
            self._cached = (time.monotonic(), figures)
            return figures

    def collect(self) -> Iterator[Metric]:
        figures = self.figures()
        if figures is None:
            return
        open_tickets = GaugeMetricFamily("closeloop_triage_open_tickets", "Open tickets now, by SLA state",
                                         labels=["sla_state"])
        for state, count in sorted(figures["open"].items()):
            open_tickets.add_metric([state], count)
        yield open_tickets
        yield CounterMetricFamily("closeloop_triage_sla_breaches", "Tickets that breached their SLA",
                                  value=figures["breaches"])
        yield CounterMetricFamily("closeloop_triage_escalations", "Escalations up the owner's chain",
                                  value=figures["escalations"])
        cumulative, running = [], 0
        for edge, count in zip((*map(str, RESOLVE_BUCKETS_SECONDS), "+Inf"), figures["resolve_buckets"],
                               strict=True):
            running += count
            cumulative.append((edge, running))
        histogram = HistogramMetricFamily("closeloop_triage_time_to_resolve_seconds",
                                          "Time from feedback received to ticket resolved")
        histogram.add_metric([], buckets=cumulative, sum_value=figures["resolve_sum"])
        yield histogram


def install(state: Any) -> None:
    """Blueprint hook: add the SLA collector to the app's ``/metrics`` (see ``shared.metrics``)."""
    app = state.app
    collector = SlaCollector(lambda: app.extensions["closeloop_sessions"]())
    app.extensions.setdefault("closeloop_collectors", []).append(collector)
