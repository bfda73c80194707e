"""The employee inbox: the caller's open tickets, soonest due first, acknowledged and resolved in place.

Pages use the session cookie from ``/login``; every form carries a CSRF token (Flask-WTF).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from services.triage.context import Context
from services.triage.errors import InvalidChange, NotAllowed, TicketConflict
from services.triage.tickets import queries
from services.triage.tickets import service as actions
from services.triage.tickets.models import Ticket
from services.triage.unit_of_work import UnitOfWork
from services.triage.web import now
from shared.auth import current_user, org, require
from shared.org import User

bp = Blueprint("pages", __name__, template_folder="templates")
SCOPES = ("mine", "team", "all")


class AcknowledgeForm(FlaskForm):
    scope = StringField(validators=[Optional()])


class ResolveForm(FlaskForm):
    scope = StringField(validators=[Optional()])
    root_cause = SelectField("Root cause", validators=[DataRequired(message="Choose a root cause.")])
    resolution = TextAreaField("What was done", validators=[DataRequired(message="Say what was done."),
                                                            Length(max=10_000)])
    customer_message = TextAreaField("Message to the customer", validators=[Optional(), Length(max=10_000)])


def _user() -> User:
    user = current_user()
    assert user is not None
    return user


def _default_scope(user: User) -> str:
    return "all" if user.is_leadership else ("team" if user.role == "lead" else "mine")


@bp.get("/inbox")
@require(page=True)
def inbox() -> Any:
    """The caller's tickets (or their team's, or all for leadership), soonest due first."""
    user = _user()
    scope = request.args.get("scope") or _default_scope(user)
    if scope not in SCOPES or (scope == "all" and not user.is_leadership):
        scope = _default_scope(user)
    with current_app.extensions["closeloop_sessions"]() as session:
        tickets = queries.inbox(session, org(), user, scope=scope)
    ctx: Context = current_app.extensions["closeloop_triage"].ctx
    for t in tickets:
        chain = ctx.chain_of(t["owner"]["id"], t["team"])[: t["escalation_level"]]
        t["escalated_to"] = [u.name for u in chain]
    counts = {state: sum(1 for t in tickets if t["sla_state"] == state) for state in ("at_risk", "breached")}
    causes = [(c.code, c.label) for c in org().root_causes.values()]
    return render_template("inbox.html", user=user, tickets=tickets, scope=scope, counts=counts, causes=causes,
                           csrf=generate_csrf(), team=org().teams.get(user.team or ""),
                           scopes=[s for s in SCOPES if s != "all" or user.is_leadership])


def _back(scope: str | None) -> Response:
    return redirect(url_for("pages.inbox", scope=scope if scope in SCOPES else None))


def _apply(ticket_id: str, action: Any, done: str, scope: str | None) -> Response:
    user = _user()
    ctx: Context = current_app.extensions["closeloop_triage"].ctx
    with current_app.extensions["closeloop_sessions"]() as session:
        try:
            with session.begin():
                ticket = session.get(Ticket, ticket_id, with_for_update=True)
                if ticket is None or not (user.is_leadership or user.team == ticket.team):
                    flash("That ticket does not exist or is not yours to see.", "bad")
                    return _back(scope)
                action(UnitOfWork(session), ticket, now(), ctx, user)
            flash(done, "good")
        except InvalidChange as exc:
            flash(" ".join(exc.errors.values()), "bad")
        except (NotAllowed, TicketConflict) as exc:
            flash(str(exc), "bad")
    return _back(scope)


def _form_errors(form: FlaskForm) -> str:
    if "csrf_token" in form.errors:
        return "The form expired; reload the page and try again."
    return " ".join(message for messages in form.errors.values() for message in messages)


@bp.post("/inbox/<ticket_id>/acknowledge")
@require(page=True)
def acknowledge(ticket_id: str) -> Response:
    """Acknowledge a ticket from the inbox."""
    form = AcknowledgeForm()
    if not form.validate_on_submit():
        flash(_form_errors(form), "bad")
        return _back(form.scope.data)
    return _apply(ticket_id, lambda s, t, now, ctx, u: actions.acknowledge(s, t, now, ctx=ctx, actor=u),
                  "Acknowledged. The clock keeps running until it is resolved.", form.scope.data)


@bp.post("/inbox/<ticket_id>/resolve")
@require(page=True)
def resolve(ticket_id: str) -> Response:
    """Resolve a ticket from the inbox with a root cause and what was done."""
    form = ResolveForm()
    form.root_cause.choices = [(c.code, c.label) for c in org().root_causes.values()]
    if not form.validate_on_submit():
        flash(_form_errors(form), "bad")
        return _back(form.scope.data)
    return _apply(ticket_id, lambda s, t, now, ctx, u: actions.resolve(
        s, t, now, ctx=ctx, actor=u, root_cause=form.root_cause.data, resolution=form.resolution.data,
        customer_message=form.customer_message.data or None), "Resolved. Thank you for closing the loop.",
        form.scope.data)
