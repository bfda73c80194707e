"""Triage's scheduled work: one APScheduler job sweeps the SLA clock every TRIAGE_SWEEP_SECONDS.

One interval job for all tickets (never one job per ticket); each run works through the due
tickets in bounded transactions until none are left. A second job folds the summary's
aggregate delta rows once a minute (``aggregates.compact``), so the summary reads about one
row per key however many tickets changed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session, sessionmaker

from services.triage.context import Context
from services.triage.reports import aggregates
from services.triage.sla.sweeper import sweep

log = structlog.get_logger(__name__)

SLA_STEPS = Counter("closeloop_triage_sla_steps_total", "SLA warnings, breaches and escalations applied", ["step"])
COMPACT_SECONDS = 60
FOLDED = Counter("closeloop_triage_aggregate_rows_folded_total", "Aggregate delta rows folded by compaction")
BREACH_LAG = Histogram("closeloop_triage_breach_detection_lag_seconds", "Time from due_at to breach detection",
                       buckets=(0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60, 300))


class Sweeper:
    """Runs the SLA sweep on a schedule; ``sweep_once`` is also callable directly (tests, tools)."""

    def __init__(self, *, session_factory: sessionmaker[Session], ctx: Context, interval: float, batch: int = 500,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.session_factory, self.ctx, self.interval, self.batch, self.clock = (
            session_factory, ctx, interval, batch, clock)
        self._marks: list[dict[str, int]] = []

    def sweep_once(self) -> int:
        """Sweep until no due ticket is left; return how many steps were applied."""
        applied = 0
        while True:
            with self.session_factory() as session, session.begin():
                result = sweep(session, self.clock(), ctx=self.ctx, limit=self.batch)
            for _, kind, _ in result.steps:
                SLA_STEPS.labels(kind).inc()
            for lag in result.breach_lags:
                BREACH_LAG.observe(lag)
            applied += len(result.steps)
            if result.tickets < self.batch:
                return applied

    def compact_once(self) -> int:
        """Fold the aggregate tables' delta rows written since two runs ago; return how many rows went.

        The first run folds everything. Later runs start from the mark of the run before last,
        so rows of a transaction that was still open when the last mark was taken are folded too.
        """
        since = self._marks[0] if len(self._marks) == 2 else None
        with self.session_factory() as session, session.begin():
            folded, marks = aggregates.compact(session, since)
        self._marks = [*self._marks, marks][-2:]
        FOLDED.inc(folded)
        if folded:
            log.info("aggregates_compacted", rows_folded=folded)
        return folded

    def run(self, stop: threading.Event) -> None:
        """Sweep every ``interval`` seconds and compact every minute until ``stop`` is set."""
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(self.sweep_once, "interval", seconds=self.interval, id="sla-sweep", max_instances=1,
                          coalesce=True, next_run_time=datetime.now(UTC), misfire_grace_time=None)
        scheduler.add_job(self.compact_once, "interval", seconds=COMPACT_SECONDS, id="aggregate-compact",
                          max_instances=1, coalesce=True, misfire_grace_time=None)
        scheduler.start()
        log.info("sla_sweeper_started", every_seconds=self.interval)
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=True)
            log.info("sla_sweeper_stopped")
