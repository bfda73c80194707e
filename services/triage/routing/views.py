"""Routing's JSON API: who can own tickets, and marking members (un)available."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from services.triage.routing import service
from services.triage.routing.schemas import AvailabilityIn, MemberOut
from services.triage.tickets.models import Ticket
from services.triage.unit_of_work import UnitOfWork
from services.triage.web import caller, context, now, sessions, translated
from shared.auth import org, require
from shared.problems import Problem

blp = Blueprint("members", __name__, url_prefix="/api/v1", description="Who can own tickets")


@blp.get("/members")
@blp.response(200, MemberOut(many=True))
@require()
def members() -> list[dict[str, Any]]:
    """Who can own tickets (the caller's team; leadership sees all), with availability and load."""
    with sessions()() as session:
        return service.members(session, org(), caller())


@blp.put("/members/<user_id>/availability")
@blp.arguments(AvailabilityIn())
@blp.response(200, MemberOut)
@require()
def set_availability(body: dict[str, Any], user_id: str) -> dict[str, Any]:
    """Mark a member (un)available; an unavailable member's open tickets are reassigned at once."""
    user = caller()
    with sessions()() as session:
        def run() -> list[Ticket]:
            with session.begin():
                return service.set_availability(UnitOfWork(session), user_id, body["available"], now(),
                                                ctx=context(), actor=user)
        try:
            moved = translated(run)
        except LookupError:
            raise Problem(404, "Not Found", f"No member with id {user_id} owns tickets.") from None
        member = service.member(session, org(), user_id)
        member["reassigned"] = [t.id for t in moved]
        return member
