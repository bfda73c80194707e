"""Triage's JSON API: tickets and the root-cause taxonomy."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.triage import queries
from services.triage.models import Ticket
from services.triage.schemas import RootCauseOut, TicketDetailOut, TicketPageOut, TicketQuery
from shared.auth import current_user, org, require
from shared.problems import Problem

blp = Blueprint("tickets", __name__, url_prefix="/api/v1", description="Tickets, owners and SLA")


def sessions() -> Any:
    """The app's session factory."""
    return current_app.extensions["closeloop_sessions"]


def load_visible(session: Any, ticket_id: str) -> Ticket:
    """The ticket, if it exists and the caller may see it (404 otherwise, not to reveal it)."""
    ticket = session.get(Ticket, ticket_id)
    user = current_user()
    if ticket is None or user is None or not (user.is_leadership or user.team == ticket.team):
        raise Problem(404, "Not Found", f"No ticket with id {ticket_id}.")
    return ticket


@blp.route("/tickets")
class Tickets(MethodView):
    @blp.arguments(TicketQuery, location="query")
    @blp.response(200, TicketPageOut)
    @require()
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Tickets the caller may see, soonest due first, filtered and paginated."""
        page, per_page = args.pop("page"), args.pop("per_page")
        user = current_user()
        assert user is not None
        with sessions()() as session:
            return queries.list_tickets(session, org(), user, args, page=page, per_page=per_page)


@blp.route("/tickets/<ticket_id>")
class TicketItem(MethodView):
    @blp.response(200, TicketDetailOut)
    @require()
    def get(self, ticket_id: str) -> dict[str, Any]:
        """One ticket with its feedback, owner, due time, SLA state, suggestion and timeline."""
        with sessions()() as session:
            return queries.ticket_detail(session, load_visible(session, ticket_id), org())


@blp.route("/root-causes")
class RootCauses(MethodView):
    @blp.response(200, RootCauseOut(many=True))
    @require()
    def get(self) -> list[dict[str, Any]]:
        """The root-cause taxonomy a resolution must choose from."""
        return [{"code": c.code, "label": c.label, "plain": c.plain} for c in org().root_causes.values()]
