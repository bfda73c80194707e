"""Ticket changes as events: every change is a timeline entry plus an event on ``ticket.events``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.triage.tickets.models import AnyTicket, TimelineEntry
from services.triage.unit_of_work import UnitOfWork
from shared import events
from shared.org import Org


def person(org: Org, user_id: str | None) -> dict[str, Any] | None:
    """A user as events carry them."""
    if user_id is None:
        return None
    user = org.users.get(user_id)
    if user is None:
        return {"id": user_id, "name": user_id, "email": None}
    return {"id": user.id, "name": user.name, "email": user.email}


def ticket_data(ticket: AnyTicket, org: Org, **change: Any) -> dict[str, Any]:
    """The ``data`` of a ticket event: the ticket after the change, plus the change itself."""
    team = org.teams.get(ticket.team)
    cause = org.root_causes.get(ticket.root_cause) if ticket.root_cause else None
    data: dict[str, Any] = {
        "ticket_id": ticket.id,
        "feedback_id": ticket.feedback_id,
        "status": ticket.status,
        "sla_state": ticket.sla_state,
        "priority": ticket.priority,
        "team": ticket.team,
        "team_name": team.name if team else ticket.team,
        "owner": person(org, ticket.owner_id),
        "received_at": ticket.received_at,
        "due_at": ticket.due_at,
        "touchpoint": ticket.touchpoint,
        "kind": ticket.kind,
        "suggested_root_cause": (
            {"code": ticket.suggested_root_cause, "confidence": ticket.suggested_confidence}
            if ticket.suggested_root_cause else None
        ),
        "root_cause": ticket.root_cause,
        "root_cause_label": cause.label if cause else None,
        "resolution": ticket.resolution,
        "customer_message": ticket.customer_message,
    }
    data.update(change)
    return data


def record(uow: UnitOfWork, ticket: AnyTicket, event_type: str, org: Org, now: datetime, *,
           actor: str | None = None, detail: dict[str, Any] | None = None, **change: Any) -> None:
    """Write the timeline entry and queue the event for a change already applied to ``ticket``."""
    ticket.updated_at = now
    uow.add(TimelineEntry, {"ticket_id": ticket.id, "at": now, "type": event_type, "actor": actor,
                            "detail": detail or None})
    event = events.make_event(type=event_type, source="/triage", subject=ticket.id,
                              data=ticket_data(ticket, org, actor=actor, **change), now=now)
    uow.add_event(event, now)
