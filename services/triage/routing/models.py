"""Routing's table: who can own tickets, their availability and load."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.triage.database import Base
from shared.db import UTCDateTime


class Assignee(Base):
    """Who can own tickets: availability and current load, kept in step with the tickets."""

    __tablename__ = "assignees"
    user_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    team: Mapped[str] = mapped_column(String(100), index=True)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    open_tickets: Mapped[int] = mapped_column(Integer, default=0)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
