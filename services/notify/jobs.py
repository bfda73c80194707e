"""Notify's scheduled jobs (APScheduler, in the ``schedule`` role): the daily and weekly digests,
and dropping ticket events whose feedback never came.

The digest job only queues the digest's deliveries; the delivery worker sends them. A second
replica or a rerun for the same window queues nothing (the window's key is already recorded).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.notify import handlers
from services.notify.batch import unit_of_work
from services.notify.models import EarlyTicketEvent

log = structlog.get_logger(__name__)


def send_digest(sessions: sessionmaker[Session], ctx: handlers.Context, period: str,
                now: datetime | None = None) -> int:
    """Queue the ``period`` digest due at ``now``; return how many deliveries were queued."""
    moment = now or datetime.now(UTC)
    with unit_of_work(sessions) as batch:
        count = handlers.record_digest(batch, ctx=ctx, period=period, now=moment)
    log.info("digest_queued", period=period, deliveries=count)
    return count


EARLY_EVENTS_KEPT = timedelta(days=7)


def forget_stale_early_events(sessions: sessionmaker[Session], now: datetime | None = None) -> int:
    """Drop ticket events kept for a feedback that has not reached the feed in a week; return how many.

    Their feedback should follow within seconds (:class:`EarlyTicketEvent`); one that never
    came was lost upstream or dead-lettered, and the warning names it.
    """
    moment = now or datetime.now(UTC)
    with sessions() as session, session.begin():
        stale = list(session.scalars(select(EarlyTicketEvent)
                                     .where(EarlyTicketEvent.created_at < moment - EARLY_EVENTS_KEPT)))
        for row in stale:
            session.delete(row)
    if stale:
        log.warning("early_ticket_events_dropped", count=len(stale),
                    feedback_ids=sorted({row.feedback_id for row in stale})[:20])
    return len(stale)


def digest_triggers(digest: dict[str, str]) -> dict[str, CronTrigger]:
    """Cron triggers for the daily and weekly digest from the org file's ``digest`` section."""
    hour, minute = (int(p) for p in digest.get("daily_at", "08:00").split(":"))
    zone = digest.get("timezone") or "UTC"
    return {
        "daily": CronTrigger(hour=hour, minute=minute, timezone=zone),
        "weekly": CronTrigger(day_of_week=digest.get("weekly_day", "mon"), hour=hour, minute=minute, timezone=zone),
    }


def scheduler_loop(sessions: sessionmaker[Session], ctx: handlers.Context) -> Callable[[threading.Event], None]:
    """A background loop for the runner: schedule both digests and run until stopped."""

    def run(stop: threading.Event) -> None:
        scheduler = BackgroundScheduler(timezone=ctx.org.digest.get("timezone") or "UTC")
        for period, trigger in digest_triggers(ctx.org.digest).items():
            # coalesce + a grace period: a digest missed by a short restart is still sent once
            scheduler.add_job(send_digest, trigger, args=(sessions, ctx, period), id=f"digest-{period}",
                              coalesce=True, misfire_grace_time=3600, max_instances=1)
        scheduler.add_job(forget_stale_early_events, CronTrigger(hour=3, minute=17, timezone="UTC"), args=(sessions,),
                          id="early-ticket-events", coalesce=True, misfire_grace_time=3600, max_instances=1)
        scheduler.start()
        log.info("digests_scheduled", daily_at=ctx.org.digest.get("daily_at"),
                 weekly_day=ctx.org.digest.get("weekly_day"))
        try:
            stop.wait()
        finally:
            scheduler.shutdown(wait=False)

    return run
