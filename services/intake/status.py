"""The customer's side of a ticket: intake learns ticket state from ``ticket.events`` for the status page.

Intake's consumer keeps, per feedback, the latest state of the ticket opened for it (owner team,
SLA, status). Nothing internal is kept: the ``resolution`` note of a ``ticket.resolved`` event is
for employees only and is never stored here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from services.intake.models import Feedback
from shared import events
from shared.events import Event


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
