"""Notify's tables: the org feed, deliveries to channels, and the idempotency table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import ProcessedEventMixin, UTCDateTime


class Base(DeclarativeBase):
    pass


class FeedEntry(Base):
    """One feedback as the whole organisation sees it: praise, complaint or neutral, redacted.

    The customer's contact details are kept only to close the loop with them; they are never shown.
    """

    __tablename__ = "feed_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feedback_id: Mapped[str] = mapped_column(String(36), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str | None] = mapped_column(String(10))
    score: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    touchpoint: Mapped[str | None] = mapped_column(String(100))
    product: Mapped[str | None] = mapped_column(String(200))
    comment_score: Mapped[float | None] = mapped_column(Float)
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    status_token: Mapped[str | None] = mapped_column(String(64))  # the customer's status page at intake
    locale: Mapped[str | None] = mapped_column(String(35))  # the language the customer's mails speak
    timezone: Mapped[str | None] = mapped_column(String(64))  # the customer's IANA timezone, when known
    in_reply_to: Mapped[str | None] = mapped_column(String(36))  # the ticket a customer's answer is about
    answer: Mapped[str | None] = mapped_column(String(20))  # a follow-up's "fixed" / "not_fixed"
    team: Mapped[str | None] = mapped_column(String(100))
    ticket_id: Mapped[str | None] = mapped_column(String(36))
    ticket_status: Mapped[str | None] = mapped_column(String(20))
    owner_name: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sla_state: Mapped[str | None] = mapped_column(String(20))
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    root_cause: Mapped[str | None] = mapped_column(String(50))


Index("ix_feed_kind_received", FeedEntry.kind, FeedEntry.received_at)
Index("ix_feed_ticket", FeedEntry.ticket_id)

PENDING, SENT, FAILED = "pending", "sent", "failed"


class Delivery(Base):
    """One message for one channel (or one person) about one event, and how sending it went.

    Rows are written by the consumer in its transaction and sent later by the delivery worker,
    which claims due rows with a lease so that two workers (or a restarted one) never send a row
    twice once it is marked sent.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("event_id", "channel", "address", name="uq_delivery_event_channel"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(100))
    channel_type: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(320), default="")
    recipient: Mapped[str | None] = mapped_column(String(200))
    event_id: Mapped[str] = mapped_column(String(100))
    event_type: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_deliveries_due", Delivery.status, Delivery.next_attempt_at)


class EarlyTicketEvent(Base):
    """A ticket event handled before its feedback reached the feed: replayed onto the entry when it does.

    Kafka orders records only within a partition, and a consumer behind on ``feedback.received``
    (restarted, or one of its partitions slower) can read a ticket's events first. Channels and
    people are told at once; what needs the feed entry (its ticket state, and the customer's
    closed-loop letter, whose address only the feedback carries) waits here.
    """

    __tablename__ = "early_ticket_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    feedback_id: Mapped[str] = mapped_column(String(36), index=True)
    event_id: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)  # the CloudEvents envelope, as on the wire
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ProcessedEvent(ProcessedEventMixin, Base):
    pass
