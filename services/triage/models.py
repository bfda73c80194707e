"""Triage's tables: feedback it has seen, tickets, their timeline, assignees, outbox, idempotency."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import ProcessedEventMixin, UTCDateTime
from shared.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class Feedback(Base):
    """Every feedback triage consumed, ticket or not (the dashboard's NPS/CSAT/CES come from here)."""

    __tablename__ = "feedback"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    source: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str | None] = mapped_column(String(10))
    score: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    product: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(35))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    in_reply_to: Mapped[str | None] = mapped_column(String(64))
    sentiment: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    comment_score: Mapped[float | None] = mapped_column(Float)


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    feedback_id: Mapped[str] = mapped_column(ForeignKey("feedback.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(2))
    team: Mapped[str] = mapped_column(String(100))
    owner_id: Mapped[str] = mapped_column(String(100))
    sla_state: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    suggested_root_cause: Mapped[str | None] = mapped_column(String(50))
    suggested_confidence: Mapped[float | None] = mapped_column(Float)
    root_cause: Mapped[str | None] = mapped_column(String(50))
    resolution: Mapped[str | None] = mapped_column(Text)
    customer_message: Mapped[str | None] = mapped_column(Text)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    # the customer's answer to the closed-loop message: "fixed" or "not_fixed"
    customer_answer: Mapped[str | None] = mapped_column(String(10))
    customer_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # set while the ticket waits on the customer and the clock is paused
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


Index("ix_tickets_next_check_at", Ticket.next_check_at)
Index("ix_tickets_owner_status", Ticket.owner_id, Ticket.status)
Index("ix_tickets_team_status_due", Ticket.team, Ticket.status, Ticket.due_at)
Index("ix_tickets_status_due", Ticket.status, Ticket.due_at)
Index("ix_tickets_touchpoint_created", Ticket.touchpoint, Ticket.created_at)


class TimelineEntry(Base):
    """One thing that happened to a ticket, in order."""

    __tablename__ = "ticket_timeline"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Assignee(Base):
    """Who can own tickets: availability and current load, kept in step with the tickets."""

    __tablename__ = "assignees"
    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    team: Mapped[str] = mapped_column(String(100), index=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    open_tickets: Mapped[int] = mapped_column(Integer, default=0)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RootCauseExample(Base):
    """A complaint and the root cause an employee confirmed for it: what the classifier learns from."""

    __tablename__ = "root_cause_examples"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(36), unique=True)
    text: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Spike(Base):
    """Many tickets with one root cause on one touchpoint in a short window: a flag for leadership."""

    __tablename__ = "spikes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    root_cause: Mapped[str] = mapped_column(String(50))
    touchpoint: Mapped[str] = mapped_column(String(100))
    ticket_count: Mapped[int] = mapped_column(Integer)
    window_seconds: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())


Index("ix_spikes_cause_touchpoint", Spike.root_cause, Spike.touchpoint, Spike.last_at)


class Outbox(OutboxMixin, Base):
    __table_args__ = (OutboxMixin.pending_index(),)


class ProcessedEvent(ProcessedEventMixin, Base):
    pass
