"""The conversation's table: what the customer wrote, the owner's replies and internal notes, in order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.triage.database import Base
from shared.db import UTCDateTime

CUSTOMER, REPLY, NOTE = "customer", "reply", "note"
KINDS = (CUSTOMER, REPLY, NOTE)
MAX_BODY = 10_000


class Message(Base):
    """One message on a ticket: ``customer`` (their words), ``reply`` (to the customer) or ``note`` (internal)."""

    __tablename__ = "ticket_messages"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)  # the conversation's order
    id: Mapped[str] = mapped_column(String(36), unique=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    author_id: Mapped[str | None] = mapped_column(String(100))  # an employee's user id; None for the customer
    author: Mapped[str | None] = mapped_column(String(200))  # the name shown
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    feedback_id: Mapped[str | None] = mapped_column(String(36))  # the customer's message as feedback
