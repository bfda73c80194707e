"""Reads for notify's feed API and page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify.models import FeedEntry


def feed(session: Session, *, kind: str | None = None, team: str | None = None, touchpoint: str | None = None,
         before: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest feed entries first, filtered; ``before`` pages back by entry id."""
    query = select(FeedEntry)
    if kind:
        query = query.where(FeedEntry.kind == kind)
    if team:
        query = query.where(FeedEntry.team == team)
    if touchpoint:
        query = query.where(FeedEntry.touchpoint == touchpoint)
    if before:
        query = query.where(FeedEntry.id < before)
    rows = session.scalars(query.order_by(FeedEntry.id.desc()).limit(limit))
    return [entry_view(e) for e in rows]


def entry_view(entry: FeedEntry) -> dict[str, Any]:
    """A feed entry as the organisation sees it (no customer contact details)."""
    return {
        "id": entry.id, "feedback_id": entry.feedback_id, "received_at": entry.received_at, "kind": entry.kind,
        "source": entry.source,
        "survey": {"metric": entry.metric, "score": entry.score} if entry.metric else None,
        "rating": entry.rating, "comment": entry.comment, "touchpoint": entry.touchpoint,
        "product": entry.product, "team": entry.team, "ticket_id": entry.ticket_id,
        "ticket_status": entry.ticket_status, "owner_name": entry.owner_name,
    }
