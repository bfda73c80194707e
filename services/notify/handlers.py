"""Notify's use cases: every feedback becomes a feed entry; ticket events update it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify.models import FeedEntry
from services.notify.redaction import redact
from shared.events import Event
from shared.sentiment import classify_feedback


def on_feedback_received(session: Session, event: Event, now: datetime) -> FeedEntry | None:
    """Add the feedback to the org feed, personal data redacted."""
    data = event.data
    if session.scalar(select(FeedEntry.id).where(FeedEntry.feedback_id == data["id"])) is not None:
        return None
    sentiment = classify_feedback(data)
    survey = data.get("survey") or {}
    customer = data.get("customer") or {}
    entry = FeedEntry(
        feedback_id=data["id"], received_at=data["received_at"], kind=sentiment.kind, source=data["source"],
        metric=survey.get("metric"), score=survey.get("score"), rating=data.get("rating"),
        comment=redact(data.get("comment")), touchpoint=data.get("touchpoint"), product=data.get("product"),
        comment_score=sentiment.comment_score, customer_email=customer.get("email"),
        customer_name=customer.get("name"), updated_at=now,
    )
    session.add(entry)
    return entry


def on_ticket_event(session: Session, event: Event, now: datetime) -> None:
    """Show on the feed entry which team owns the problem and where it stands."""
    data = event.data
    entry = session.scalar(select(FeedEntry).where(FeedEntry.feedback_id == data["feedback_id"]))
    if entry is None:
        return
    entry.team = data["team"]
    entry.ticket_id = data["ticket_id"]
    entry.ticket_status = data["status"]
    entry.owner_name = (data.get("owner") or {}).get("name")
    entry.updated_at = now
