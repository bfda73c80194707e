"""Triage's JSON API: tickets and their lifecycle, members' availability, the root-cause taxonomy."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from services.triage import actions, queries
from services.triage.models import Ticket
from services.triage.schemas import (
    AssignIn,
    AvailabilityIn,
    MemberOut,
    ReasonIn,
    ResolveIn,
    RootCauseOut,
    SpikeOut,
    TicketDetailOut,
    TicketPageOut,
    TicketQuery,
)
from services.triage.tickets import Context, InvalidChange, NotAllowed, TicketConflict
from shared.auth import current_user, org, require
from shared.org import User
from shared.problems import Problem

blp = Blueprint("tickets", __name__, url_prefix="/api/v1", description="Tickets, owners and SLA")
members_blp = Blueprint("members", __name__, url_prefix="/api/v1", description="Who can own tickets")


def sessions() -> Any:
    """The app's session factory."""
    return current_app.extensions["closeloop_sessions"]


def context() -> Context:
    """The triage handler context (org, SLA settings, classifier)."""
    return current_app.extensions["closeloop_triage"].ctx


def now() -> datetime:
    """The service's clock."""
    return current_app.extensions["closeloop_triage"].clock()


def caller() -> User:
    """The authenticated user (``require`` has run)."""
    user = current_user()
    assert user is not None
    return user


def load_visible(session: Session, ticket_id: str, *, lock: bool = False) -> Ticket:
    """The ticket, if it exists and the caller may see it (404 otherwise, not to reveal it)."""
    ticket = session.get(Ticket, ticket_id, with_for_update=lock or None)
    user = current_user()
    if ticket is None or user is None or not (user.is_leadership or user.team == ticket.team):
        raise Problem(404, "Not Found", f"No ticket with id {ticket_id}.")
    return ticket


def translated(fn: Callable[[], Any]) -> Any:
    """Run a change, turning domain refusals into problem+json answers."""
    try:
        return fn()
    except InvalidChange as exc:
        raise Problem(422, "Unprocessable Entity", "The request has invalid fields; see errors.",
                      errors=exc.errors) from exc
    except NotAllowed as exc:
        raise Problem(403, "Forbidden", str(exc)) from exc
    except TicketConflict as exc:
        raise Problem(409, "Conflict", str(exc)) from exc


def change_ticket(ticket_id: str, action: Callable[[Session, Ticket, datetime, User], None]) -> dict[str, Any]:
    """Apply ``action`` to a visible ticket in one transaction and answer with the ticket after it."""
    user = caller()
    with sessions()() as session:
        def run() -> Ticket:
            with session.begin():
                ticket = load_visible(session, ticket_id, lock=True)
                action(session, ticket, now(), user)
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
    return change_ticket(ticket_id, lambda s, t, now, u: actions.acknowledge(s, t, now, ctx=context(), actor=u))


@blp.post("/tickets/<ticket_id>/assign")
@blp.arguments(AssignIn())
@blp.response(200, TicketDetailOut)
@require("employee", "lead", "leader", "admin")
def assign(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """Hand the ticket to another owner (employees: their own tickets, within the team)."""
    return change_ticket(ticket_id, lambda s, t, now, u: actions.assign(
        s, t, body["owner"], now, ctx=context(), actor=u, reason=body.get("reason")))


@blp.post("/tickets/<ticket_id>/resolve")
@blp.arguments(ResolveIn())
@blp.response(200, TicketDetailOut)
@require()
def resolve(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """Resolve with a root-cause code and what was done (both required), and optionally a customer message."""
    return change_ticket(ticket_id, lambda s, t, now, u: actions.resolve(
        s, t, now, ctx=context(), actor=u, root_cause=body.get("root_cause"), resolution=body.get("resolution"),
        customer_message=body.get("customer_message")))


@blp.post("/tickets/<ticket_id>/reopen")
@blp.arguments(ReasonIn())
@blp.response(200, TicketDetailOut)
@require()
def reopen(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """Open a resolved ticket again, with a fresh SLA clock."""
    return change_ticket(ticket_id, lambda s, t, now, u: actions.reopen(
        s, t, now, ctx=context(), actor=u, reason=body.get("reason") or "reopened"))


@blp.post("/tickets/<ticket_id>/wait")
@blp.response(200, TicketDetailOut)
@require()
def wait(ticket_id: str) -> dict[str, Any]:
    """Pause the clock until the customer answers (when TRIAGE_WAITING_PAUSES_CLOCK is on)."""
    return change_ticket(ticket_id, lambda s, t, now, u: actions.wait_on_customer(s, t, now, ctx=context(),
                                                                                  actor=u))


@blp.post("/tickets/<ticket_id>/resume")
@blp.arguments(ReasonIn())
@blp.response(200, TicketDetailOut)
@require()
def resume(body: dict[str, Any], ticket_id: str) -> dict[str, Any]:
    """Restart a paused clock with the time that was left."""
    return change_ticket(ticket_id, lambda s, t, now, u: actions.resume(
        s, t, now, ctx=context(), actor=u, reason=body.get("reason") or "resumed"))


@blp.route("/root-causes")
class RootCauses(MethodView):
    @blp.response(200, RootCauseOut(many=True))
    @require()
    def get(self) -> list[dict[str, Any]]:
        """The root-cause taxonomy a resolution must choose from."""
        return [{"code": c.code, "label": c.label, "plain": c.plain} for c in org().root_causes.values()]


@blp.get("/spikes")
@blp.response(200, SpikeOut(many=True))
@require("lead", "leader", "admin")
def active_spikes() -> list[dict[str, Any]]:
    """Root causes repeating on one touchpoint right now (leads and leadership)."""
    with sessions()() as session:
        return queries.active_spikes(session, now(), org())


@members_blp.get("/members")
@members_blp.response(200, MemberOut(many=True))
@require()
def members() -> list[dict[str, Any]]:
    """Who can own tickets (the caller's team; leadership sees all), with availability and load."""
    with sessions()() as session:
        return queries.members(session, org(), caller())


@members_blp.put("/members/<user_id>/availability")
@members_blp.arguments(AvailabilityIn())
@members_blp.response(200, MemberOut)
@require()
def set_availability(body: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Mark a member (un)available; an unavailable member's open tickets are reassigned at once."""
    user = caller()
    with sessions()() as session:
        def run() -> list[Ticket]:
            with session.begin():
                return actions.set_availability(session, user_id, body["available"], now(),
                                                ctx=context(), actor=user)
        try:
            moved = translated(run)
        except LookupError:
            raise Problem(404, "Not Found", f"No member with id {user_id} owns tickets.") from None
        member = queries.member(session, org(), user_id)
        member["reassigned"] = [t.id for t in moved]
        return member
