"""Reads for intake's status API and status page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.models import Feedback, Outbox


def published_at(session: Session, feedback: Feedback) -> Any:
    """When the feedback's event reached Kafka, or ``None`` while it waits in the outbox."""
    return session.scalar(select(Outbox.published_at).where(Outbox.event_id == feedback.event_id))


def feedback_status(session: Session, feedback: Feedback) -> dict[str, Any]:
    """The feedback as stored and where it is: received, published, then its ticket's state."""
    published = published_at(session, feedback)
    status = "received"
    if published is not None or feedback.ticket_id:
        status = "published"
    ticket = None
    if feedback.ticket_id:
        status = f"ticket_{feedback.ticket_status}"
        ticket = {"id": feedback.ticket_id, "status": feedback.ticket_status, "sla_state": feedback.sla_state,
                  "team": feedback.team_name, "due_at": feedback.due_at, "resolution": feedback.resolution,
                  "root_cause": feedback.root_cause_label}
    customer = {k: v for k, v in (("id", feedback.customer_id), ("email", feedback.customer_email),
                                  ("name", feedback.customer_name)) if v is not None}
    return {
        "id": feedback.id,
        "status": status,
        "received_at": feedback.received_at,
        "published_at": published,
        "source": feedback.source,
        "survey": {"metric": feedback.metric, "score": feedback.score} if feedback.metric else None,
        "rating": feedback.rating,
        "comment": feedback.comment,
        "customer": customer or None,
        "touchpoint": feedback.touchpoint,
        "product": feedback.product,
        "locale": feedback.locale,
        "external_id": feedback.external_id,
        "metadata": feedback.extra,
        "in_reply_to": feedback.in_reply_to,
        "ticket": ticket,
    }


def by_status_token(session: Session, token: str) -> Feedback | None:
    """The feedback a status link points at."""
    return session.scalar(select(Feedback).where(Feedback.status_token == token))
