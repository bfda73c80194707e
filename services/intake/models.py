"""Intake's tables: the feedback as received, its outbox, and what it learned about its ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import ProcessedEventMixin, UTCDateTime
from shared.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("source", "external_id", name="uq_feedback_source_external_id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status_token: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    source: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str | None] = mapped_column(String(10))
    score: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(String(200))
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    product: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(35))
    # the language of ``comment`` as read (ISO 639-1, ``bn``), whatever ``locale`` the sender gave
    language: Mapped[str | None] = mapped_column(String(8))
    external_id: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    extra: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON)
    in_reply_to: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[str | None] = mapped_column(String(64))
    ticket_status: Mapped[str | None] = mapped_column(String(20))
    sla_state: Mapped[str | None] = mapped_column(String(20))
    team_name: Mapped[str | None] = mapped_column(String(200))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # what was done, in the words meant for the customer (``customer_message``); never the internal note
    resolution: Mapped[str | None] = mapped_column(Text)
    root_cause_label: Mapped[str | None] = mapped_column(String(200))
    ticket_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    owner_name: Mapped[str | None] = mapped_column(String(200))  # the owner's first name
    # the id of the ``ticket.resolved`` event of the ticket's current resolution (None while open):
    # the nonce its answer links must carry
    resolution_id: Mapped[str | None] = mapped_column(String(64))


Index("ix_feedback_ticket_id", Feedback.ticket_id)
Index("ix_feedback_in_reply_to", Feedback.in_reply_to)


class TicketHistory(Base):
    """What the customer may see of a ticket's life, one row per public ``ticket.events`` event.

    Kinds: ``owned`` (an owner took it), ``reassigned``, ``reply`` (the owner wrote to the customer), ``resolved``
    (what was done: the customer message or the cause's label), ``reopened``, ``breached`` (the
    promise was missed). Internal notes and the internal resolution note never come here. The
    customer's own messages are the feedback rows ``in_reply_to`` the ticket.
    """

    __tablename__ = "ticket_history"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the event's id
    ticket_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    author: Mapped[str | None] = mapped_column(String(200))  # a first name
    team_name: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    root_cause_label: Mapped[str | None] = mapped_column(String(200))


Index("ix_ticket_history_ticket_at", TicketHistory.ticket_id, TicketHistory.at)


class Outbox(OutboxMixin, Base):
    __table_args__ = (OutboxMixin.pending_index(),)


class ProcessedEvent(ProcessedEventMixin, Base):
    pass
