"""The customer's side of a ticket: intake learns it from ``ticket.events`` and shows it on the status page.

Intake's consumer keeps, per feedback, the latest state of the ticket opened for it (owner's
first name and team, SLA, status, the current resolution's id), and per ticket a public history
(:class:`TicketHistory`): who owns it, the owner's replies, what was done, reopenings and a
missed deadline. Nothing internal is kept: the ``resolution`` note of a ``ticket.resolved`` event
is for employees only and is never stored here, and notes are never in an event.

The customer's own messages on a ticket (status page, email, answer links, integrations) are
feedback rows ``in_reply_to`` the ticket; :func:`store_customer_message` stores one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import handlers
from services.intake.models import Feedback, TicketHistory
from services.intake.schemas import FeedbackIn
from shared import events
from shared.events import Event

OWNED, REASSIGNED, REPLY, RESOLVED, REOPENED, BREACHED, CUSTOMER, SENT = (
    "owned", "reassigned", "reply", "resolved", "reopened", "breached", "customer", "sent")
_HISTORY_KIND = {events.TICKET_CREATED: OWNED, events.TICKET_ASSIGNED: REASSIGNED, events.TICKET_REPLIED: REPLY,
                 events.TICKET_RESOLVED: RESOLVED, events.TICKET_REOPENED: REOPENED,
                 events.TICKET_SLA_BREACHED: BREACHED}
TICKET_EVENT_TYPES = (*events.TICKET_TYPES, events.TICKET_WAITING, events.TICKET_RESUMED)
"""The ``ticket.events`` types intake's consumer handles."""


def first_name(name: str | None) -> str | None:
    """``"Tom"`` of ``"Tom Baker"``: what a customer is told of an employee."""
    parts = (name or "").split()
    return parts[0][:200] if parts else None


def on_ticket_event(session: Session, event: Event, now: datetime) -> None:
    """Add the event to the ticket's public history and remember the ticket's latest state."""
    data = event.data
    feedback = session.get(Feedback, data["feedback_id"])
    if feedback is None:
        return
    _add_history(session, event)
    if feedback.ticket_updated_at is not None and feedback.ticket_updated_at > event.time:
        return  # an older event arriving late: its history is kept, the state is newer already
    feedback.ticket_id = data["ticket_id"]
    feedback.ticket_status = data["status"]
    feedback.sla_state = data["sla_state"]
    feedback.team_name = data.get("team_name") or data["team"]
    feedback.due_at = data["due_at"]
    owner = data.get("owner") or {}
    feedback.owner_name = first_name(owner.get("name")) or feedback.owner_name
    if event.type == events.TICKET_RESOLVED:
        feedback.resolution = data.get("customer_message") or None  # never the internal ``resolution``
        feedback.root_cause_label = data.get("root_cause_label") or data.get("root_cause")
        feedback.resolution_id = event.id
    elif event.type == events.TICKET_REOPENED:
        feedback.resolution = None
        feedback.root_cause_label = None
        feedback.resolution_id = None
    feedback.ticket_updated_at = event.time.astimezone(UTC)


def _add_history(session: Session, event: Event) -> None:
    kind = _HISTORY_KIND.get(event.type)
    if kind is None or session.get(TicketHistory, event.id) is not None:
        return
    data = event.data
    row = TicketHistory(id=event.id, ticket_id=data["ticket_id"], kind=kind, at=event.time.astimezone(UTC),
                        author=first_name((data.get("owner") or {}).get("name")),
                        team_name=data.get("team_name") or data.get("team"))
    if kind == REPLY:
        message = data.get("message") or {}
        row.author = first_name(message.get("author")) or row.author
        row.body = message.get("body")
        at = message.get("at")
        if isinstance(at, datetime):
            row.at = at.astimezone(UTC)
    elif kind == RESOLVED:
        row.body = data.get("customer_message") or None
        row.root_cause_label = data.get("root_cause_label") or data.get("root_cause")
    session.add(row)


@dataclass(frozen=True)
class Entry:
    """One line of the customer's thread, oldest first."""

    kind: str
    at: datetime
    author: str | None = None
    team: str | None = None
    body: str | None = None
    root_cause: str | None = None
    answer: str | None = None  # a customer's "fixed" / "not_fixed"


def thread(session: Session, feedback: Feedback) -> list[Entry]:
    """What the customer sent, the ticket's public history and the customer's later messages."""
    entries = [Entry(SENT, feedback.received_at, body=feedback.comment)]
    if not feedback.ticket_id:
        return entries
    for row in session.scalars(select(TicketHistory).where(TicketHistory.ticket_id == feedback.ticket_id)):
        entries.append(Entry(row.kind, row.at, author=row.author, team=row.team_name, body=row.body,
                             root_cause=row.root_cause_label))
    kinds = {e.kind for e in entries}
    if not kinds & {OWNED, REASSIGNED}:  # a ticket learned before intake kept its history
        entries.append(Entry(OWNED, feedback.received_at, author=feedback.owner_name, team=feedback.team_name))
    if feedback.ticket_status == "resolved" and RESOLVED not in kinds:
        entries.append(Entry(RESOLVED, feedback.ticket_updated_at or feedback.received_at, body=feedback.resolution,
                             root_cause=feedback.root_cause_label))
    messages = select(Feedback).where(Feedback.in_reply_to == feedback.ticket_id, Feedback.id != feedback.id)
    for message in session.scalars(messages):
        answer = (message.extra or {}).get("answer") if message.source == "follow_up" else None
        if message.comment or answer:
            entries.append(Entry(CUSTOMER, message.received_at, body=message.comment,
                                 answer=answer if answer in ("fixed", "not_fixed") else None))
    first, rest = entries[0], sorted(entries[1:], key=lambda e: e.at)
    return [first, *rest]  # what the customer sent comes first, whatever the clocks say


def by_ticket(session: Session, ticket_id: str) -> Feedback | None:
    """The feedback a ticket was opened for (intake learned the pair from ``ticket.events``)."""
    return session.scalars(select(Feedback).where(Feedback.ticket_id == ticket_id)
                           .order_by(Feedback.received_at).limit(1)).first()


def message_data(*, ticket_id: str, original: Feedback | None, source: str, comment: str | None,
                 metadata: dict[str, Any] | None = None, email: str | None = None) -> dict[str, Any]:
    """A customer's message on a ticket as validated feedback ``in_reply_to`` it, with the original
    feedback's customer and touchpoint (``email`` replaces the customer's email: a mail's sender).

    Raises ``marshmallow.ValidationError`` when it cannot make valid feedback.
    """
    data: dict[str, Any] = {"source": source, "in_reply_to": ticket_id}
    customer: dict[str, str] = {}
    if original is not None:
        for field in ("touchpoint", "product", "locale"):
            if getattr(original, field):
                data[field] = getattr(original, field)
        customer = {k: v for k, v in (("id", original.customer_id), ("email", original.customer_email),
                                      ("name", original.customer_name)) if v}
    if email:
        customer["email"] = email
    if customer:
        data["customer"] = customer
    if comment is not None:
        data["comment"] = comment
    if metadata:
        data["metadata"] = metadata
    return FeedbackIn().load(data)


class Store(Protocol):
    """Where a customer's message is stored: intake's one storage path for feedback."""

    def store(self, data: dict[str, Any], *, idempotency_key: str | None, now: datetime) -> handlers.Accepted: ...


def store_of(app: Any) -> Store:
    """The app's feedback store (:class:`services.intake.handlers.FeedbackStore`)."""
    store: Store = app.extensions["closeloop_store"]
    return store
