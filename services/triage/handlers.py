"""Triage's use cases: turn feedback into owned, time-boxed tickets.

Handlers receive the caller's session and never commit. Time is passed in.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from services.triage import rootcause, routing, sla
from services.triage.models import Feedback, Ticket
from services.triage.tickets import OPEN, Context, record
from shared import events
from shared.events import Event
from shared.sentiment import NEGATIVE, POSITIVE, classify_feedback

URGENT_WORDS = re.compile(
    r"\b(unsafe|danger\w*|injur\w*|fire|smoke|burn\w*|electric shock|fraud\w*|scam|stolen|unauthori[sz]ed|"
    r"lawyer|legal|lawsuit|sue|court|gdpr|data (loss|leak|breach)|lost (all )?(my )?data|deleted my)\b",
    re.IGNORECASE,
)
WORST = {"nps": 2, "csat": 1, "ces": 1, "rating": 1}


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


def on_feedback_received(session: Session, event: Event, now: datetime, *, ctx: Context) -> Ticket | None:
    """Record the feedback; open a ticket with one owner for anything not clearly positive."""
    data = event.data
    if session.get(Feedback, data["id"]) is not None:
        return None
    sentiment = classify_feedback(data)
    survey = data.get("survey") or {}
    customer = data.get("customer") or {}
    feedback = Feedback(
        id=data["id"], received_at=data["received_at"], source=data["source"], metric=survey.get("metric"),
        score=survey.get("score"), rating=data.get("rating"), comment=data.get("comment"),
        touchpoint=data.get("touchpoint"), product=data.get("product"), locale=data.get("locale"),
        customer_name=customer.get("name"), customer_email=customer.get("email"),
        in_reply_to=data.get("in_reply_to"), sentiment=sentiment.label, kind=sentiment.kind,
        comment_score=sentiment.comment_score,
    )
    session.add(feedback)
    if sentiment.label == POSITIVE:
        return None
    return open_ticket(session, feedback, data, sentiment.label, now, ctx=ctx)


def open_ticket(session: Session, feedback: Feedback, data: dict, label: str, now: datetime, *,
                ctx: Context) -> Ticket:
    """Create the ticket for a problem, owned from its first moment, and emit ``ticket.created``."""
    suggestion = rootcause.suggest(feedback.comment, ctx.keywords)
    priority = priority_of(data, label)
    facts = {"touchpoint": feedback.touchpoint, "source": feedback.source, "product": feedback.product,
             "root_cause": suggestion.code, "text": feedback.comment, "kind": feedback.kind}
    team = routing.choose_team(ctx.org.routing, facts, routing.default_team(ctx.org))
    try:
        owner = routing.pick_owner(session, team, now)
    except routing.NoOwnerAvailable:
        team = routing.default_team(ctx.org)
        owner = routing.pick_owner(session, team, now)
    due = sla.due_at(feedback.received_at, ctx.seconds_for(priority))
    warn = sla.warn_at(feedback.received_at, due, ctx.warning_ratio)
    state = sla.state_at(now, warn=warn, due=due)
    ticket = Ticket(
        id=str(uuid.uuid4()), feedback_id=feedback.id, status=OPEN, priority=priority, team=team,
        owner_id=owner.user_id, sla_state=state, received_at=feedback.received_at, created_at=now, due_at=due,
        warn_at=warn, next_check_at=warn if state == sla.ON_TRACK else (due if state == sla.AT_RISK else now),
        escalation_level=0, touchpoint=feedback.touchpoint, kind=feedback.kind,
        suggested_root_cause=suggestion.code, suggested_confidence=suggestion.confidence, reopened_count=0,
        updated_at=now,
    )
    session.add(ticket)
    record(session, ticket, events.TICKET_CREATED, ctx.org, now,
           detail={"owner": owner.user_id, "team": team, "priority": priority})
    return ticket
