"""Intake's use cases: accept feedback, describe where it is, learn ticket state from events.

Handlers take a session the caller owns and never commit; they raise domain errors that the
HTTP edge translates.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake.models import Feedback, Outbox
from shared import events, topics
from shared.events import Event
from shared.outbox import add_event


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different body."""


@dataclass(frozen=True)
class Accepted:
    feedback: Feedback
    duplicate: bool


def request_fingerprint(data: dict[str, Any]) -> str:
    """A stable hash of the validated body, to compare repeats of an Idempotency-Key."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_duplicate(session: Session, data: dict[str, Any], idempotency_key: str | None) -> Accepted | None:
    """The earlier feedback this request repeats, or ``None``; raise on a reused key with a new body."""
    if idempotency_key:
        earlier = session.scalar(select(Feedback).where(Feedback.idempotency_key == idempotency_key))
        if earlier is not None:
            if earlier.request_hash != request_fingerprint(data):
                raise IdempotencyConflict(idempotency_key)
            return Accepted(earlier, duplicate=True)
    if data.get("external_id"):
        earlier = session.scalar(
            select(Feedback).where(Feedback.source == data["source"], Feedback.external_id == data["external_id"])
        )
        if earlier is not None:
            return Accepted(earlier, duplicate=True)
    return None


def accept_feedback(session: Session, data: dict[str, Any], *, idempotency_key: str | None,
                    now: datetime) -> Accepted:
    """Store validated feedback and queue ``feedback.received`` in the same transaction."""
    duplicate = find_duplicate(session, data, idempotency_key)
    if duplicate is not None:
        return duplicate
    survey = data.get("survey") or {}
    customer = data.get("customer") or {}
    feedback = Feedback(
        id=str(uuid.uuid4()),
        status_token=secrets.token_urlsafe(24),
        received_at=now,
        source=data["source"],
        metric=survey.get("metric"),
        score=survey.get("score"),
        rating=data.get("rating"),
        comment=data.get("comment"),
        customer_id=customer.get("id"),
        customer_email=customer.get("email"),
        customer_name=customer.get("name"),
        touchpoint=data.get("touchpoint"),
        product=data.get("product"),
        locale=data.get("locale"),
        external_id=data.get("external_id"),
        submitted_at=data.get("submitted_at"),
        extra=data.get("metadata"),
        in_reply_to=data.get("in_reply_to"),
        idempotency_key=idempotency_key,
        request_hash=request_fingerprint(data) if idempotency_key else None,
        event_id="",
    )
    event = events.make_event(type=events.FEEDBACK_RECEIVED, source="/intake", subject=feedback.id,
                              data=event_data(feedback), now=now)
    feedback.event_id = event["id"]
    session.add(feedback)
    add_event(session, Outbox, topic=topics.FEEDBACK_RECEIVED, event=event, now=now)
    return Accepted(feedback, duplicate=False)


def event_data(feedback: Feedback) -> dict[str, Any]:
    """The ``feedback.received`` data for a stored feedback."""
    customer = {k: v for k, v in (("id", feedback.customer_id), ("email", feedback.customer_email),
                                  ("name", feedback.customer_name)) if v is not None}
    return {
        "id": feedback.id,
        "received_at": feedback.received_at,
        "source": feedback.source,
        "survey": {"metric": feedback.metric, "score": feedback.score} if feedback.metric else None,
        "rating": feedback.rating,
        "comment": feedback.comment,
        "customer": customer or None,
        "touchpoint": feedback.touchpoint,
        "product": feedback.product,
        "locale": feedback.locale,
        "external_id": feedback.external_id,
        "submitted_at": feedback.submitted_at,
        "metadata": feedback.extra,
        "in_reply_to": feedback.in_reply_to,
    }


def on_ticket_event(session: Session, event: Event, now: datetime) -> None:
    """Remember the latest state of the ticket opened for a feedback (for the status page/API)."""
    data = event.data
    feedback = session.get(Feedback, data["feedback_id"])
    if feedback is None:
        return
    if feedback.ticket_updated_at is not None and feedback.ticket_updated_at > event.time:
        return
    feedback.ticket_id = data["ticket_id"]
    feedback.ticket_status = data["status"]
    feedback.sla_state = data["sla_state"]
    feedback.team_name = data.get("team_name") or data["team"]
    feedback.due_at = data["due_at"]
    if event.type == events.TICKET_RESOLVED:
        feedback.resolution = data.get("customer_message") or data.get("resolution")
        feedback.root_cause_label = data.get("root_cause_label") or data.get("root_cause")
    elif event.type == events.TICKET_REOPENED:
        feedback.resolution = None
        feedback.root_cause_label = None
    feedback.ticket_updated_at = event.time.astimezone(UTC)
