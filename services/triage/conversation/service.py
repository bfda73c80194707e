"""The conversation on a ticket: the owner replies to the customer or leaves an internal note, and the
customer's messages (any feedback answering the ticket) join the thread.

Replies go out as ``ticket.replied`` through the outbox (notify emails them, intake's status page
shows them). Internal notes never leave triage: they are in no event, only in its database.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.triage.context import Context
from services.triage.conversation.models import CUSTOMER, MAX_BODY, NOTE, REPLY, Message
from services.triage.errors import InvalidChange, TicketConflict
from services.triage.tickets import service as tickets
from services.triage.tickets.events import record
from services.triage.tickets.models import RESOLVED, WAITING, Feedback, Ticket, TimelineEntry
from services.triage.unit_of_work import UnitOfWork
from shared import events
from shared.org import Org, User
from shared.sentiment import NEGATIVE, POSITIVE

log = structlog.get_logger(__name__)

FIXED, NOT_FIXED = "fixed", "not_fixed"
NOTE_ADDED = "ticket.note_added"  # a timeline entry only: notes are never events


def checked_body(body: str | None) -> str:
    """The message text, or a refusal naming ``body``."""
    text = (body or "").strip()
    if not text:
        raise InvalidChange({"body": "Write a message (it is empty)."})
    if len(text) > MAX_BODY:
        raise InvalidChange({"body": f"At most {MAX_BODY} characters."})
    return text


def first_name(org: Org, user_id: str) -> str:
    """How a reply is signed to the customer: the employee's first name."""
    user = org.users.get(user_id)
    return (user.name.split() or [user.name])[0] if user else user_id


def _message(uow: UnitOfWork, ticket: Ticket, kind: str, body: str, now: datetime, *, author_id: str | None,
             author: str | None, feedback_id: str | None = None) -> dict[str, Any]:
    row = {"id": str(uuid.uuid4()), "ticket_id": ticket.id, "kind": kind, "author_id": author_id,
           "author": author, "body": body, "at": now, "feedback_id": feedback_id}
    uow.session.add(Message(**row))
    return row


def add_note(uow: UnitOfWork, ticket: Ticket, body: str | None, now: datetime, *, ctx: Context,
             actor: User) -> dict[str, Any]:
    """An internal note: stays in triage (timeline and conversation), never in an event."""
    tickets.check_may_act(actor, ticket)
    row = _message(uow, ticket, NOTE, checked_body(body), now, author_id=actor.id, author=actor.name)
    ticket.updated_at = now
    uow.add(TimelineEntry, {"ticket_id": ticket.id, "at": now, "type": NOTE_ADDED, "actor": actor.id,
                            "detail": {"message_id": row["id"]}})
    return row


def add_reply(uow: UnitOfWork, ticket: Ticket, body: str | None, now: datetime, *, ctx: Context,
              actor: User) -> dict[str, Any]:
    """A message to the customer: emailed by notify and shown on their status page (``ticket.replied``)."""
    tickets.check_may_act(actor, ticket)
    text = checked_body(body)
    if ticket.status == RESOLVED:
        raise TicketConflict("The ticket is resolved; reopen it to write to the customer.")
    author = first_name(ctx.org, actor.id)
    row = _message(uow, ticket, REPLY, text, now, author_id=actor.id, author=author)
    record(uow, ticket, events.TICKET_REPLIED, ctx.org, now, actor=actor.id, detail={"message_id": row["id"]},
           message={"id": row["id"], "author": author, "body": text, "at": now})
    return row


def verdict(feedback: Feedback, metadata: dict[str, Any]) -> str | None:
    """``fixed``, ``not_fixed`` or ``None``: the customer's explicit answer; for a follow-up from an
    integration without one, a detractor score or negative comment is "not fixed", a positive one "fixed"."""
    answer = str(metadata.get("answer") or "") or None
    if answer in (FIXED, NOT_FIXED):
        return answer
    if feedback.source == "follow_up":
        if feedback.sentiment == NEGATIVE:
            return NOT_FIXED
        if feedback.sentiment == POSITIVE:
            return FIXED
    return None


def on_customer_message(uow: UnitOfWork, ticket: Ticket, feedback: Feedback, data: dict[str, Any], now: datetime, *,
                        ctx: Context) -> None:
    """The customer wrote on ``ticket`` (an answer link, their status page, an email, a survey tool).

    Their words join the conversation; "not fixed" reopens a resolved ticket with a fresh clock
    (their words are the reason); a ticket waiting on them resumes; an answer is recorded.
    """
    comment = (feedback.comment or "").strip()
    if comment:
        _message(uow, ticket, CUSTOMER, comment, now, author_id=None, author=feedback.customer_name,
                 feedback_id=feedback.id)
    answer = verdict(feedback, data.get("metadata") or {})
    if answer is not None:
        ticket.customer_answer, ticket.customer_answered_at = answer, now
    if answer == NOT_FIXED and ticket.status == RESOLVED:
        tickets.reopen(uow, ticket, now, ctx=ctx, actor=None,
                       reason=comment or "the customer says it is not fixed")
        return
    if ticket.status == WAITING:
        tickets.resume(uow, ticket, now, ctx=ctx, actor=None, reason="the customer replied")
    record(uow, ticket, events.TICKET_CUSTOMER_ANSWERED, ctx.org, now,
           detail={"answer": answer, "feedback_id": feedback.id}, customer_answer=answer)


def conversation(session: Session, ticket: Ticket, feedback: Feedback | None) -> list[dict[str, Any]]:
    """The thread, oldest first: the customer's original words, then every message."""
    thread: list[dict[str, Any]] = []
    if feedback is not None and (feedback.comment or "").strip():
        thread.append({"kind": CUSTOMER, "author": feedback.customer_name, "body": feedback.comment,
                       "at": feedback.received_at})
    for message in session.scalars(select(Message).where(Message.ticket_id == ticket.id).order_by(Message.seq)):
        thread.append({"kind": message.kind, "author": message.author, "body": message.body, "at": message.at})
    return thread
