"""Tickets' JSON API: list, read and change tickets (acknowledge, assign, resolve, reopen, wait, resume)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from services.triage.conversation import service as conversation
from services.triage.tickets import queries, service
from services.triage.tickets.models import Ticket
from services.triage.tickets.schemas import (
    AssignIn,
    MessageIn,
    ReasonIn,
    ResolveIn,
    TicketDetailOut,
    TicketPageOut,
    TicketQuery,
)
from services.triage.unit_of_work import UnitOfWork
from services.triage.web import caller, context, now, sessions, translated
from shared.auth import current_user, org, require
from shared.org import User
from shared.problems import Problem

blp = Blueprint("tickets", __name__, url_prefix="/api/v1", description="Tickets, owners and SLA")


def load_visible(session: Session, ticket_id: str, *, lock: bool = False) -> Ticket:
    """The ticket, if it exists and the caller may see it (404 otherwise, not to reveal it)."""
    ticket = session.get(Ticket, ticket_id, with_for_update=lock or None)
    user = current_user()
    if ticket is None or user is None or not (user.is_leadership or user.team == ticket.team):
        raise Problem(404, "Not Found", f"No ticket with id {ticket_id}.")
    return ticket


def change_ticket(ticket_id: str, action: Callable[[UnitOfWork, Ticket, datetime, User], Any]) -> dict[str, Any]:
    """Apply ``action`` to a visible ticket in one transaction and answer with the ticket after it."""
    user = caller()
    with sessions()() as session:
        def run() -> Ticket:
            with session.begin():
                ticket = load_visible(session, ticket_id, lock=True)
                action(UnitOfWork(session), ticket, now(), user)
                return ticket

        ticket = translated(run)
        return queries.ticket_detail(session, ticket, org())


@blp.route("/tickets")
class Tickets(MethodView):
    @blp.arguments(TicketQuery(), location="query")
    @blp.response(200, TicketPageOut)
    @require()
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Tickets the caller may see, soonest due first, filtered and paginated."""
        page, per_page = args.pop("page"), args.pop("per_page")
        with sessions()() as session:
            return queries.list_tickets(session, org(), caller(), args, page=page, per_page=per_page)


@blp.route("/tickets/<ticket_id>")
class TicketItem(MethodView):
    @blp.response(200, TicketDetailOut)
    @require()
    def get(self, ticket_id: str) -> dict[str, Any]:
        """One ticket with its feedback, owner, due time, SLA state, suggestion and timeline."""
        with sessions()() as session:
            return queries.ticket_detail(session, load_visible(session, ticket_id), org())


@blp.post("/tickets/<ticket_id>/acknowledge")
@blp.response(200, TicketDetailOut)
@require()
def acknowledge(ticket_id: str) -> dict[str, Any]:
    """The owner (or the team lead, or leadership) says the ticket is being worked on."""
    return change_ticket(ticket_id, lambda s, t, now, u: service.acknowledge(s, t, now, ctx=context(), actor=u))


@blp.post("/tickets/<ticket_id>/assign")
@blp.arguments(AssignIn())
@blp.response(200, TicketDetailOut)
@require("employee", "lead", "leader", "admin")
def assign(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """Hand the ticket to another owner (employees: their own tickets, within the team)."""
    return change_ticket(ticket_id, lambda s, t, now, u: service.assign(
        s, t, body["owner"], now, ctx=context(), actor=u, reason=body.get("reason")))


@blp.post("/tickets/<ticket_id>/resolve")
@blp.arguments(ResolveIn())
@blp.response(200, TicketDetailOut)
@require()
def resolve(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """Resolve with a root-cause code and what was done (both required), and optionally a customer message."""
    return change_ticket(ticket_id, lambda s, t, now, u: service.resolve(
        s, t, now, ctx=context(), actor=u, root_cause=body.get("root_cause"), resolution=body.get("resolution"),
        customer_message=body.get("customer_message"), our_fault=body["our_fault"]))


@blp.post("/tickets/<ticket_id>/notes")
@blp.arguments(MessageIn())
@blp.response(200, TicketDetailOut)
@require()
def add_note(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """An internal note on the ticket: never in an email, a customer page or an event."""
    return change_ticket(ticket_id, lambda s, t, now, u: conversation.add_note(
        s, t, body["body"], now, ctx=context(), actor=u))


@blp.post("/tickets/<ticket_id>/replies")
@blp.arguments(MessageIn())
@blp.response(200, TicketDetailOut)
@require()
def add_reply(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """A message to the customer: emailed to them and shown on their status page (``ticket.replied``)."""
    return change_ticket(ticket_id, lambda s, t, now, u: conversation.add_reply(
        s, t, body["body"], now, ctx=context(), actor=u))


@blp.post("/tickets/<ticket_id>/reopen")
@blp.arguments(ReasonIn())
@blp.response(200, TicketDetailOut)
@require()
def reopen(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """Open a resolved ticket again, with a fresh SLA clock."""
    return change_ticket(ticket_id, lambda s, t, now, u: service.reopen(
        s, t, now, ctx=context(), actor=u, reason=body.get("reason") or "reopened"))


@blp.post("/tickets/<ticket_id>/wait")
@blp.response(200, TicketDetailOut)
@require()
def wait(ticket_id: str) -> dict[str, Any]:
    """Pause the clock until the customer answers (when TRIAGE_WAITING_PAUSES_CLOCK is on)."""
    return change_ticket(ticket_id, lambda s, t, now, u: service.wait_on_customer(s, t, now, ctx=context(),
                                                                                  actor=u))


@blp.post("/tickets/<ticket_id>/resume")
@blp.arguments(ReasonIn())
@blp.response(200, TicketDetailOut)
@require()
def resume(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """Restart a paused clock with the time that was left."""
    return change_ticket(ticket_id, lambda s, t, now, u: service.resume(
        s, t, now, ctx=context(), actor=u, reason=body.get("reason") or "resumed"))
