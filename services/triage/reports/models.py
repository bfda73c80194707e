"""Storage behind leadership's summary: indexes on the tickets, and aggregate tables kept by triggers.

They live apart from ``models.py`` but on the same ``Base`` metadata; importing this module
attaches them, and triage's Alembic ``env.py`` imports it so migrations and models agree.

The aggregate tables hold *signed delta rows*: database triggers (migration 0005) add ``+1`` rows
for what a ticket or feedback row contributes when it is written and ``-1`` rows for what it
contributed before a change, so every writer (the consumer's bulk inserts, the sweeper, the API)
keeps them exact without knowing they exist, and concurrent writers only ever INSERT (no hot row
to lock, no deadlock). ``aggregates.compact`` folds the deltas into one row per key every minute.
A figure is the ``SUM`` over its key, so it is right before and after compaction.

- ``sla_open_counts``: open tickets (open, acknowledged or waiting) per team, owner, touchpoint, priority,
  root cause and SLA state.
- ``sla_resolved_hourly``: resolved tickets per UTC hour of ``resolved_at`` and the same keys
  plus the time-to-resolve bucket, with within-SLA counts, summed seconds and detractor recovery.
- ``sla_time_hourly``: time to acknowledge / resolve per UTC hour, team and whole minute (p90).
- ``feedback_hourly``: feedback per UTC hour of ``received_at`` and metric, score, rating,
  touchpoint, kind and team (follow-up answers left out).

Hours rather than days: a window's partial hours at each end are read from the tickets, and an
hour of tickets is cheap to read where a day of them (with their feedback) is not.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from services.triage.database import Base
from services.triage.tickets.models import Ticket, TimelineEntry
from shared.db import UTCDateTime

RESOLVED_AT = Index("ix_tickets_resolved_at", Ticket.resolved_at)
ACKNOWLEDGED_AT = Index("ix_tickets_acknowledged_at", Ticket.acknowledged_at)
TIMELINE_TYPE = Index("ix_ticket_timeline_type", TimelineEntry.type)
# the dashboard's "needs attention" list: the few at-risk and breached tickets among many on track
SLA_STATE_DUE = Index("ix_tickets_sla_state_due", Ticket.sla_state, Ticket.due_at)
# the consumer's spike check: recent tickets of one touchpoint with one cause (confirmed, else suggested)
SPIKE_COUNT = Index("ix_tickets_touchpoint_cause_created", Ticket.touchpoint,
                    func.coalesce(Ticket.root_cause, Ticket.suggested_root_cause), Ticket.created_at)

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets 64 bits (deltas add up)
DELTA_ID = BigInteger().with_variant(Integer(), "sqlite")


class OpenTicketCount(Base):
    __tablename__ = "sla_open_counts"
    id: Mapped[int] = mapped_column(DELTA_ID, primary_key=True, autoincrement=True)
    team: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[str] = mapped_column(String(100))
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(2))
    root_cause: Mapped[str | None] = mapped_column(String(50))
    sla_state: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column(Integer)


class ResolvedHourly(Base):
    __tablename__ = "sla_resolved_hourly"
    id: Mapped[int] = mapped_column(DELTA_ID, primary_key=True, autoincrement=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    team: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[str] = mapped_column(String(100))
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    priority: Mapped[str] = mapped_column(String(2))
    root_cause: Mapped[str | None] = mapped_column(String(50))
    bucket: Mapped[int] = mapped_column(SmallInteger)
    n: Mapped[int] = mapped_column(Integer)
    within_sla: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    detractors: Mapped[int] = mapped_column(Integer)
    detractors_answered: Mapped[int] = mapped_column(Integer)
    detractors_fixed: Mapped[int] = mapped_column(Integer)


class TimeHourly(Base):
    __tablename__ = "sla_time_hourly"
    id: Mapped[int] = mapped_column(DELTA_ID, primary_key=True, autoincrement=True)
    measure: Mapped[str] = mapped_column(String(8))  # "ack" or "resolve"
    hour: Mapped[datetime] = mapped_column(UTCDateTime())
    team: Mapped[str] = mapped_column(String(100))
    minute: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)


Index("ix_sla_time_hourly_measure_hour", TimeHourly.measure, TimeHourly.hour)


class FeedbackHourly(Base):
    __tablename__ = "feedback_hourly"
    id: Mapped[int] = mapped_column(DELTA_ID, primary_key=True, autoincrement=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    metric: Mapped[str | None] = mapped_column(String(10))
    score: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[int | None] = mapped_column(Integer)
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    team: Mapped[str | None] = mapped_column(String(100))  # the feedback's team (migration 0008)
    n: Mapped[int] = mapped_column(Integer)
