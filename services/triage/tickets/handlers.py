"""Triage's use cases for incoming feedback: open owned, time-boxed tickets; hear the customer on theirs.

The consumer's batch is a :class:`~services.triage.unit_of_work.Batch` passed to the use cases;
they never commit. Time is passed in.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.triage.context import Context
from services.triage.conversation import service as conversation
from services.triage.rootcause import service as rootcause
from services.triage.rootcause import spikes
from services.triage.rootcause.models import RootCauseExample
from services.triage.routing import service as routing
from services.triage.sla import service as sla
from services.triage.tickets.events import record
from services.triage.tickets.models import OPEN, AnyTicket, Feedback, NewFeedback, NewTicket, Ticket
from services.triage.unit_of_work import Batch, UnitOfWork
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


class FeedbackConsumer:
    """The ``feedback.received`` handler and the batch hook of triage's consumer loop.

    The loop opens :meth:`batch` around the messages it handles in one transaction and calls
    :meth:`handle` for each; the batch's unit of work goes to :func:`on_feedback_received`.
    """

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self._batch: Batch | None = None

    @contextlib.contextmanager
    def batch(self, session: Session, batch: list[Event]) -> Iterator[Batch]:
        """Around a consumer batch: find the feedback already seen in one query; write the new rows in bulk.

        The rows go in when the block ends, with members' load; if it ends with an error, the
        batch is dropped with all it counted, and the next one reads load and counts again.
        """
        ids = [event.data["id"] for event in batch if event.type == events.FEEDBACK_RECEIVED]
        seen = set(session.scalars(select(Feedback.id).where(among(session, Feedback.id, ids)))) if ids else set()
        work = Batch(session, seen=seen)
        self._batch = work
        try:
            yield work
            work.write()
        finally:
            self._batch = None

    def handle(self, session: Session, event: Event, now: datetime) -> AnyTicket | None:
        """One ``feedback.received`` (in the loop's batch, or in a batch of its own)."""
        work = self._batch
        if work is None or work.session is not session:
            with self.batch(session, [event]) as work:
                return on_feedback_received(work, event.data, now, ctx=self.ctx)
        return on_feedback_received(work, event.data, now, ctx=self.ctx)


def on_feedback_received(batch: Batch, data: dict, now: datetime, *, ctx: Context) -> AnyTicket | None:
    """Record the feedback; open a ticket with one owner for anything not clearly positive."""
    if data["id"] in batch.seen:
        return None
    batch.seen.add(data["id"])
    sentiment = classify_feedback(data)
    survey = data.get("survey") or {}
    customer = data.get("customer") or {}
    feedback = NewFeedback(
        id=data["id"], received_at=data["received_at"], source=data["source"], metric=survey.get("metric"),
        score=survey.get("score"), rating=data.get("rating"), comment=data.get("comment"),
        touchpoint=data.get("touchpoint"), product=data.get("product"), locale=data.get("locale"),
        customer_name=customer.get("name"), customer_email=customer.get("email"), customer_id=customer.get("id"),
        in_reply_to=data.get("in_reply_to"), sentiment=sentiment.label, kind=sentiment.kind,
        comment_score=sentiment.comment_score,
    )
    session = batch.session
    if feedback.in_reply_to or feedback.source == "follow_up":
        # rare: what the batch queued so far is written first, so that it sees the tickets of the batch
        batch.write()
        ticket = session.get(Ticket, feedback.in_reply_to, with_for_update=True) if feedback.in_reply_to else None
        if ticket is not None or feedback.source == "follow_up":
            with session.no_autoflush:
                feedback.team = ticket.team if ticket is not None else None
                stored = Feedback(**feedback.row())
                session.add(stored)
                if ticket is None:
                    log.info("follow_up_for_unknown_ticket", feedback_id=feedback.id,
                             in_reply_to=feedback.in_reply_to)
                else:  # the customer answering their ticket: it never opens another one
                    conversation.on_customer_message(batch, ticket, stored, data, now, ctx=ctx)
            session.flush()
            return None
    if sentiment.label == POSITIVE:  # no ticket: its team is the one routing names (the dashboard's ?team=)
        feedback.team = routing.choose_team(ctx.org.routing, _facts(feedback, None), routing.default_team(ctx.org))
        batch.add(Feedback, feedback.row())
        return None
    with session.no_autoflush:  # rows are written in bulk when the batch ends (parents first)
        opened = open_ticket(batch, feedback, data, sentiment.label, now, ctx=ctx)
        feedback.team = opened.team
        batch.add(Feedback, feedback.row())
        return opened


def _facts(feedback: NewFeedback, root_cause: str | None) -> dict[str, Any]:
    """What routing rules look at."""
    return {"touchpoint": feedback.touchpoint, "source": feedback.source, "product": feedback.product,
            "root_cause": root_cause, "text": feedback.comment, "kind": feedback.kind}


def refresh_classifier(uow: UnitOfWork, ctx: Context) -> None:
    """Teach the classifier the causes employees confirmed since it last looked (once a unit of work)."""
    model = ctx.classifier
    if model is None or uow.classifier_fresh:
        return
    uow.classifier_fresh = True
    last = model.last_example_id
    rows = uow.session.execute(select(RootCauseExample.id, RootCauseExample.text, RootCauseExample.code)
                           .where(RootCauseExample.id > last).order_by(RootCauseExample.id)).all()
    for row_id, text, code in rows:
        if code in ctx.keywords:
            model.learn(text, code)
        last = row_id
    model.last_example_id = last


def open_ticket(batch: Batch, feedback: NewFeedback, data: dict, label: str, now: datetime, *,
                ctx: Context) -> NewTicket:
    """Create the ticket for a problem, owned from its first moment, and emit ``ticket.created``."""
    refresh_classifier(batch, ctx)
    suggestion = rootcause.suggest(feedback.comment, ctx.keywords, ctx.classifier)
    priority = priority_of(data, label)
    team = routing.choose_team(ctx.org.routing, _facts(feedback, suggestion.code), routing.default_team(ctx.org))
    # never the person the complaint is about; the owner's team is the ticket's (a fallback may cross teams)
    owner = routing.owner_for(batch, team, now, org=ctx.org, named=ctx.names.named(feedback.comment))
    team = owner.team
    ticket = NewTicket(
        id=str(uuid.uuid4()), feedback_id=feedback.id, status=OPEN, priority=priority, team=team,
        owner_id=owner.user_id, received_at=feedback.received_at, created_at=now, touchpoint=feedback.touchpoint,
        kind=feedback.kind, suggested_root_cause=suggestion.code, suggested_confidence=suggestion.confidence,
        reopened_count=0, updated_at=now,
    )
    sla.start_clock(ticket, feedback.received_at, ctx)
    record(batch, ticket, events.TICKET_CREATED, ctx.org, now,
           detail={"owner": owner.user_id, "team": team, "priority": priority,
                   "suggested_root_cause": suggestion.code, "confidence": suggestion.confidence},
           comment=feedback.comment)
    batch.add(Ticket, ticket.row())
    spikes.check_spike(batch, code=suggestion.code, touchpoint=feedback.touchpoint, now=now, org=ctx.org,
                       threshold=ctx.spike_threshold, window_seconds=ctx.spike_window_seconds)
    return ticket
