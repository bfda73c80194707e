"""Root cause's tables: confirmed examples the classifier learns from, and spikes of one cause."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.triage.database import Base
from shared.db import UTCDateTime


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
