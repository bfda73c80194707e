"""Reads for triage's API and pages (kept apart from the writes in handlers)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.triage.conversation import service as conversation
from services.triage.tickets.events import person
from services.triage.tickets.models import ACTIVE, RESOLVED, Feedback, Ticket, TimelineEntry
from shared.org import Org, User

FILTERS = ("status", "owner", "team", "sla_state", "feedback_id", "root_cause", "priority", "touchpoint")


def visible_to(query: Any, user: User) -> Any:
    """Employees and leads see their team's tickets; leadership sees all."""
    if user.is_leadership:
        return query
    return query.where(Ticket.team == user.team)


def list_tickets(session: Session, org: Org, user: User, filters: dict[str, Any], *, page: int,
                 per_page: int) -> dict[str, Any]:
    """A page of tickets matching ``filters``, soonest due first."""
    query = visible_to(select(Ticket), user)
    columns = {"status": Ticket.status, "owner": Ticket.owner_id, "team": Ticket.team,
               "sla_state": Ticket.sla_state, "feedback_id": Ticket.feedback_id, "root_cause": Ticket.root_cause,
               "priority": Ticket.priority, "touchpoint": Ticket.touchpoint}
    for name, value in filters.items():
        if value is not None and name in columns:
            query = query.where(columns[name] == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Ticket.due_at, Ticket.id).offset((page - 1) * per_page).limit(per_page))
    return {"items": [ticket_summary(t, org) for t in rows], "page": page, "per_page": per_page, "total": total}


def ticket_summary(ticket: Ticket, org: Org) -> dict[str, Any]:
    """A ticket as lists show it."""
    team = org.teams.get(ticket.team)
    return {
        "id": ticket.id, "feedback_id": ticket.feedback_id, "status": ticket.status,
        "priority": ticket.priority, "team": ticket.team, "team_name": team.name if team else ticket.team,
        "owner": person(org, ticket.owner_id), "sla_state": ticket.sla_state,
        "received_at": ticket.received_at, "due_at": ticket.due_at, "acknowledged_at": ticket.acknowledged_at,
        "resolved_at": ticket.resolved_at, "touchpoint": ticket.touchpoint, "kind": ticket.kind,
        "escalation_level": ticket.escalation_level,
        "suggested_root_cause": ({"code": ticket.suggested_root_cause, "confidence": ticket.suggested_confidence}
                                 if ticket.suggested_root_cause else None),
        "root_cause": ticket.root_cause,
        "root_cause_label": org.root_causes[ticket.root_cause].label if ticket.root_cause in org.root_causes else None,
        "resolution": ticket.resolution, "reopened_count": ticket.reopened_count,
        "customer_answer": ticket.customer_answer,
    }


def ticket_detail(session: Session, ticket: Ticket, org: Org) -> dict[str, Any]:
    """A ticket with its feedback, full timeline and conversation (oldest first)."""
    feedback = session.get(Feedback, ticket.feedback_id)
    timeline = session.scalars(
        select(TimelineEntry).where(TimelineEntry.ticket_id == ticket.id).order_by(TimelineEntry.id)
    )
    detail = ticket_summary(ticket, org)
    detail["customer_message"] = ticket.customer_message
    detail["feedback"] = None if feedback is None else {
        "id": feedback.id, "received_at": feedback.received_at, "source": feedback.source,
        "survey": {"metric": feedback.metric, "score": feedback.score} if feedback.metric else None,
        "rating": feedback.rating, "comment": feedback.comment, "touchpoint": feedback.touchpoint,
        "product": feedback.product, "locale": feedback.locale, "customer_name": feedback.customer_name,
        "customer_email": feedback.customer_email, "customer_id": feedback.customer_id,
        "sentiment": feedback.sentiment, "kind": feedback.kind,
    }
    detail["timeline"] = [{"at": e.at, "type": e.type, "actor": e.actor, "detail": e.detail} for e in timeline]
    detail["conversation"] = conversation.conversation(session, ticket, feedback)
    return detail


def customer_history(session: Session, feedback: Feedback, *, limit: int = 100) -> list[dict[str, Any]]:
    """Every other feedback of the same customer (by customer id, else email), newest first, with its ticket."""
    if feedback.customer_id:
        same = Feedback.customer_id == feedback.customer_id
    elif feedback.customer_email:
        same = func.lower(Feedback.customer_email) == feedback.customer_email.lower()
    else:
        return []
    rows = session.execute(select(Feedback, Ticket.id).outerjoin(Ticket, Ticket.feedback_id == Feedback.id)
                           .where(same, Feedback.id != feedback.id)
                           .order_by(Feedback.received_at.desc()).limit(limit)).all()
    return [{"id": f.id, "received_at": f.received_at, "source": f.source, "score": score_of(f),
             "comment": f.comment, "touchpoint": f.touchpoint, "kind": f.kind, "in_reply_to": f.in_reply_to,
             "ticket_id": ticket_id} for f, ticket_id in rows]


def score_of(feedback: Feedback) -> str | None:
    """A feedback's score as people say it: "NPS 3", "2★"."""
    if feedback.metric:
        return f"{feedback.metric.upper()} {feedback.score}"
    return f"{feedback.rating}★" if feedback.rating is not None else None


INBOX_FILTERS = ("priority", "sla_state", "touchpoint", "root_cause")


def inbox(session: Session, org: Org, user: User, *, scope: str, view: str = "open", text: str | None = None,
          customer: str | None = None, filters: dict[str, str | None] | None = None, page: int = 1,
          per_page: int = 25) -> dict[str, Any]:
    """A page of the inbox: ``mine``, the ``team``'s or ``all`` (leadership); ``open`` tickets soonest due
    first or ``resolved`` ones latest first; searched by text and customer, filtered."""
    query = select(Ticket, Feedback).join(Feedback, Feedback.id == Ticket.feedback_id)
    if view == "resolved":
        query = query.where(Ticket.status == RESOLVED)
    else:
        query = query.where(Ticket.status.in_(ACTIVE))
    if scope == "mine":
        query = query.where(Ticket.owner_id == user.id)
    elif scope == "team" or not user.is_leadership:
        query = query.where(Ticket.team == user.team)
    if text:
        query = query.where(func.lower(Feedback.comment).contains(text.lower(), autoescape=True))
    if customer:
        needle = customer.lower()
        query = query.where(or_(func.lower(Feedback.customer_name).contains(needle, autoescape=True),
                                func.lower(Feedback.customer_email).contains(needle, autoescape=True),
                                Feedback.customer_id == customer))
    for name, value in (filters or {}).items():
        if not value:
            continue
        if name == "root_cause":
            query = query.where(func.coalesce(Ticket.root_cause, Ticket.suggested_root_cause) == value)
        elif name in INBOX_FILTERS:
            query = query.where(getattr(Ticket, name) == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = (Ticket.resolved_at.desc(), Ticket.id) if view == "resolved" else (Ticket.due_at, Ticket.id)
    rows = session.execute(query.order_by(*order).offset((page - 1) * per_page).limit(per_page)).all()
    items = []
    for ticket, feedback in rows:
        item = ticket_summary(ticket, org)
        item["comment"] = feedback.comment
        item["score"] = score_of(feedback)
        item["customer_name"] = feedback.customer_name
        items.append(item)
    return {"items": items, "total": total, "page": page, "per_page": per_page}
