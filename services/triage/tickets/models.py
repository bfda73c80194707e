"""Tickets' tables: feedback triage has seen, tickets and their timeline; a ticket's statuses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.triage.database import Base
from shared.db import UTCDateTime

OPEN, ACKNOWLEDGED, WAITING, RESOLVED = "open", "acknowledged", "waiting", "resolved"
ACTIVE = (OPEN, ACKNOWLEDGED, WAITING)


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
    customer_id: Mapped[str | None] = mapped_column(String(200))
    in_reply_to: Mapped[str | None] = mapped_column(String(64))
    sentiment: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(10))
    comment_score: Mapped[float | None] = mapped_column(Float)
    # the team its ticket belongs to, or the team routing names for praise (the dashboard's ?team=)
    team: Mapped[str | None] = mapped_column(String(100))


Index("ix_feedback_customer_id", Feedback.customer_id)
Index("ix_feedback_customer_email", Feedback.customer_email)


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


@dataclass(slots=True, kw_only=True)
class NewFeedback:
    """A feedback row a consumer batch will insert in bulk: plain values, one per column of ``feedback``."""

    id: str
    received_at: datetime
    source: str
    sentiment: str
    kind: str
    metric: str | None = None
    score: int | None = None
    rating: int | None = None
    comment: str | None = None
    touchpoint: str | None = None
    product: str | None = None
    locale: str | None = None
    customer_name: str | None = None
    customer_email: str | None = None
    customer_id: str | None = None
    in_reply_to: str | None = None
    comment_score: float | None = None
    team: str | None = None

    def row(self) -> dict[str, Any]:
        """Column -> value, for the bulk insert."""
        return {name: getattr(self, name) for name in FEEDBACK_COLUMNS}


@dataclass(slots=True, kw_only=True)
class NewTicket:
    """A ticket row a consumer batch will insert in bulk: plain values, one per column of ``tickets``.

    The ticket's first changes (its clock, its timeline entry) are applied to it as to a
    :class:`Ticket`; building hundreds of ORM instances per batch only to read their columns
    back was about a sixth of the consumer's time.
    """

    id: str
    feedback_id: str
    status: str
    priority: str
    team: str
    owner_id: str
    received_at: datetime
    created_at: datetime
    updated_at: datetime
    kind: str
    sla_state: str = "on_track"
    due_at: datetime | None = None
    warn_at: datetime | None = None
    next_check_at: datetime | None = None
    escalation_level: int = 0
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    touchpoint: str | None = None
    suggested_root_cause: str | None = None
    suggested_confidence: float | None = None
    root_cause: str | None = None
    resolution: str | None = None
    customer_message: str | None = None
    reopened_count: int = 0
    customer_answer: str | None = None
    customer_answered_at: datetime | None = None
    paused_at: datetime | None = None

    def row(self) -> dict[str, Any]:
        """Column -> value, for the bulk insert."""
        return {name: getattr(self, name) for name in TICKET_COLUMNS}


TICKET_COLUMNS = tuple(column.key for column in Ticket.__table__.columns)
FEEDBACK_COLUMNS = tuple(column.key for column in Feedback.__table__.columns)
# a ticket as the use cases that open it see it: stored, or about to be inserted in bulk
AnyTicket = Ticket | NewTicket
