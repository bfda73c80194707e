"""Triage's use cases for incoming feedback: open owned, time-boxed tickets; hear follow-up answers.

Handlers receive the caller's session and never commit. Time is passed in.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from functools import partial

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.triage import actions, routing, spikes
from services.triage.models import Feedback, RootCauseExample, Ticket
from services.triage.rootcause import service as rootcause
from services.triage.tickets import (
    OPEN,
    RESOLVED,
    WAITING,
    Context,
    PendingRows,
    draft,
    instance,
    record,
    start_clock,
)
from shared import events
from shared.db import among
from shared.events import Event
from shared.sentiment import NEGATIVE, POSITIVE, classify_feedback

log = structlog.get_logger(__name__)

URGENT_WORDS = re.compile(
    r"\b(unsafe|danger\w*|injur\w*|fire|smoke|burn\w*|electric shock|fraud\w*|scam|stolen|unauthori[sz]ed|"
    r"lawyer|legal|lawsuit|sue|court|gdpr|data (loss|leak|breach)|lost (all )?(my )?data|deleted my)\b",
    re.IGNORECASE,
)
WORST = {"nps": 2, "csat": 1, "ces": 1, "rating": 1}
FIXED, NOT_FIXED = "fixed", "not_fixed"


def priority_of(data: dict, sentiment_label: str) -> str:
    """P1 for the worst scores and for safety, fraud, legal or data-loss words; P2 other problems; P3."""
    survey = data.get("survey") or {}
    if URGENT_WORDS.search(data.get("comment") or ""):
        return "P1"
    if survey.get("metric") is not None and survey.get("score") is not None:
        if survey["score"] <= WORST[survey["metric"]]:
            return "P1"
    elif data.get("rating") is not None and data["rating"] <= WORST["rating"]:
        return "P1"
    return "P2" if sentiment_label == NEGATIVE else "P3"


@contextlib.contextmanager
def feedback_batch(session: Session, batch: list[Event], *, ctx: Context) -> Iterator[None]:
    """Around a consumer batch: find the feedback already seen in one query; write the new rows in bulk.

    The rows go in when the block ends, with members' load; if it ends with an error, they are
    dropped, and so is what the transaction had counted of load and spikes, which is read again
    from the database when next needed.
    """
    ids = [event.data["id"] for event in batch if event.type == events.FEEDBACK_RECEIVED]
    seen = set(session.scalars(select(Feedback.id).where(among(session, Feedback.id, ids)))) if ids else set()
    pending = PendingRows(seen=seen)
    pending.open(session)
    routing.defer_load(session)
    try:
        yield
    except BaseException:
        routing.discard_load(session)
        spikes.forget_counts(session)
        raise
    else:
        pending.write(session)
        routing.write_load(session)
    finally:
        pending.close(session)


def on_feedback_received(session: Session, event: Event, now: datetime, *, ctx: Context) -> Ticket | None:
    """Record the feedback; open a ticket with one owner for anything not clearly positive."""
    pending = PendingRows.of(session)
    if pending is None:  # called on its own, not inside a consumer batch
        with feedback_batch(session, [event], ctx=ctx):
            return on_feedback_received(session, event, now, ctx=ctx)
    with session.no_autoflush:  # rows are written in bulk when the batch ends
        return _on_feedback_received(session, pending, event.data, now, ctx=ctx)


def _on_feedback_received(session: Session, pending: PendingRows, data: dict, now: datetime, *,
                          ctx: Context) -> Ticket | None:
    if data["id"] in pending.seen:
        return None
    pending.seen.add(data["id"])
    sentiment = classify_feedback(data)
    survey = data.get("survey") or {}
    customer = data.get("customer") or {}
    feedback = draft(
        Feedback, id=data["id"], received_at=data["received_at"], source=data["source"], metric=survey.get("metric"),
        score=survey.get("score"), rating=data.get("rating"), comment=data.get("comment"),
        touchpoint=data.get("touchpoint"), product=data.get("product"), locale=data.get("locale"),
        customer_name=customer.get("name"), customer_email=customer.get("email"),
        in_reply_to=data.get("in_reply_to"), sentiment=sentiment.label, kind=sentiment.kind,
        comment_score=sentiment.comment_score,
    )
    if data["source"] == "follow_up":
        # rare: written at once, as before batches, so that it sees the tickets and load of the batch so far
        pending.write(session)
        routing.write_load(session)
        pending.close(session)
        try:
            feedback = instance(feedback)
            session.add(feedback)
            on_follow_up(session, feedback, data, now, ctx=ctx)
            session.flush()
        finally:
            pending.open(session)
            routing.defer_load(session)
        return None
    pending.add_feedback(feedback)
    if sentiment.label == POSITIVE:
        return None
    return open_ticket(session, feedback, data, sentiment.label, now, ctx=ctx)


def on_follow_up(session: Session, feedback: Feedback, data: dict, now: datetime, *, ctx: Context) -> None:
    """A customer answering a ticket: "not fixed" reopens it, "fixed" is noted; it never opens a ticket."""
    ticket = session.get(Ticket, feedback.in_reply_to, with_for_update=True) if feedback.in_reply_to else None
    if ticket is None:
        log.info("follow_up_for_unknown_ticket", feedback_id=feedback.id, in_reply_to=feedback.in_reply_to)
        return
    answer = str((data.get("metadata") or {}).get("answer") or "") or None
    if answer in (FIXED, NOT_FIXED):
        ticket.customer_answer, ticket.customer_answered_at = answer, now
    if answer == NOT_FIXED and ticket.status == RESOLVED:
        actions.reopen(session, ticket, now, ctx=ctx, actor=None, reason="the customer says it is not fixed")
        return
    if ticket.status == WAITING:
        actions.resume(session, ticket, now, ctx=ctx, actor=None, reason="the customer replied")
    record(session, ticket, events.TICKET_CUSTOMER_ANSWERED, ctx.org, now,
           detail={"answer": answer, "feedback_id": feedback.id}, customer_answer=answer)


def refresh_classifier(session: Session, ctx: Context) -> None:
    """Teach the classifier the causes employees confirmed since it last looked (once a transaction)."""
    model = ctx.classifier
    if model is None or session.info.get("closeloop.triage.classifier_fresh"):
        return
    session.info["closeloop.triage.classifier_fresh"] = True
    last = model.last_example_id
    rows = session.execute(select(RootCauseExample.id, RootCauseExample.text, RootCauseExample.code)
                           .where(RootCauseExample.id > last).order_by(RootCauseExample.id)).all()
    for row_id, text, code in rows:
        if code in ctx.keywords:
            model.learn(text, code)
        last = row_id
    model.last_example_id = last


def open_ticket(session: Session, feedback: Feedback, data: dict, label: str, now: datetime, *,
                ctx: Context) -> Ticket:
    """Create the ticket for a problem, owned from its first moment, and emit ``ticket.created``."""
    refresh_classifier(session, ctx)
    suggestion = rootcause.suggest(feedback.comment, ctx.keywords, ctx.classifier)
    priority = priority_of(data, label)
    facts = {"touchpoint": feedback.touchpoint, "source": feedback.source, "product": feedback.product,
             "root_cause": suggestion.code, "text": feedback.comment, "kind": feedback.kind}
    team = routing.choose_team(ctx.org.routing, facts, routing.default_team(ctx.org))
    try:
        owner = routing.pick_owner(session, team, now)
    except routing.NoOwnerAvailable:
        team = routing.default_team(ctx.org)
        owner = routing.pick_owner(session, team, now)
    pending = PendingRows.of(session)
    ticket = (Ticket if pending is None else partial(draft, Ticket))(
        id=str(uuid.uuid4()), feedback_id=feedback.id, status=OPEN, priority=priority, team=team,
        owner_id=owner.user_id, received_at=feedback.received_at, created_at=now, touchpoint=feedback.touchpoint,
        kind=feedback.kind, suggested_root_cause=suggestion.code, suggested_confidence=suggestion.confidence,
        reopened_count=0, updated_at=now,
    )
    start_clock(ticket, feedback.received_at, ctx)
    if pending is None:
        session.add(ticket)
    record(session, ticket, events.TICKET_CREATED, ctx.org, now,
           detail={"owner": owner.user_id, "team": team, "priority": priority,
                   "suggested_root_cause": suggestion.code, "confidence": suggestion.confidence},
           comment=feedback.comment)
    if pending is not None:
        pending.add_ticket(ticket)
    spikes.check_spike(session, code=suggestion.code, touchpoint=feedback.touchpoint, now=now, org=ctx.org,
                       threshold=ctx.spike_threshold, window_seconds=ctx.spike_window_seconds,
                       unwritten=pending is not None)
    return ticket
