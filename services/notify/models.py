"""Notify's tables: the org feed, deliveries to channels, and the idempotency table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import ProcessedEventMixin, UTCDateTime


class Base(DeclarativeBase):
    pass


class FeedEntry(Base):
    """One feedback as the whole organisation sees it: praise, complaint or neutral, redacted."""

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
    team: Mapped[str | None] = mapped_column(String(100))
    ticket_id: Mapped[str | None] = mapped_column(String(36))
    ticket_status: Mapped[str | None] = mapped_column(String(20))
    owner_name: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


Index("ix_feed_kind_received", FeedEntry.kind, FeedEntry.received_at)
Index("ix_feed_ticket", FeedEntry.ticket_id)


class ProcessedEvent(ProcessedEventMixin, Base):
    pass
