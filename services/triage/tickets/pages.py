"""The employee's pages: the inbox (searched, filtered, paged) and a ticket's own page, where it is worked.

Pages use the session cookie from ``/login``; every form carries a CSRF token (Flask-WTF). Each
action is shown only to those allowed to take it, and checked again when it is posted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from services.triage.context import Context
from services.triage.conversation import service as conversation
from services.triage.errors import InvalidChange, NotAllowed, TicketConflict
from services.triage.routing.models import Assignee
from services.triage.sla import service as sla
from services.triage.tickets import queries
from services.triage.tickets import service as actions
from services.triage.tickets.models import ACKNOWLEDGED, OPEN, RESOLVED, WAITING, Feedback, Ticket
from services.triage.unit_of_work import UnitOfWork
from services.triage.web import now
from shared.auth import current_user, org, require
from shared.org import User

bp = Blueprint("pages", __name__, template_folder="templates")
SCOPES = ("mine", "team", "all")
VIEWS = ("open", "resolved")
PER_PAGE = 25
MAX_PAGE = 10_000
PRIORITIES = ("P1", "P2", "P3")
SLA_STATES = ("on_track", "at_risk", "breached", "met", "missed")


class AcknowledgeForm(FlaskForm):
    scope = StringField(validators=[Optional()])


class ResolveForm(FlaskForm):
    scope = StringField(validators=[Optional()])
    root_cause = SelectField("Root cause", validators=[DataRequired(message="Choose a root cause.")])
    resolution = TextAreaField("What was done", validators=[DataRequired(message="Say what was done."),
                                                            Length(max=10_000)])
    customer_message = TextAreaField("Message to the customer", validators=[Optional(), Length(max=10_000)])
    our_fault = BooleanField("It was our fault")


class MessageForm(FlaskForm):
    body = TextAreaField("Message", validators=[DataRequired(message="Write a message."), Length(max=10_000)])


class AssignForm(FlaskForm):
    owner = StringField("New owner", validators=[DataRequired(message="Choose the new owner."), Length(max=100)])


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])


def _user() -> User:
    user = current_user()
    assert user is not None
    return user


def _ctx() -> Context:
    return current_app.extensions["closeloop_triage"].ctx


def _sessions() -> Any:
    return current_app.extensions["closeloop_sessions"]


def _default_scope(user: User) -> str:
    return "all" if user.is_leadership else ("team" if user.role == "lead" else "mine")


def _choice(value: str | None, allowed: tuple[str, ...] | list[str]) -> str | None:
    return value if value in allowed else None


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and len(raw) <= 6 and 1 <= int(raw) <= MAX_PAGE else 1


@bp.get("/inbox")
@require(page=True)
def inbox() -> Any:
    """The caller's tickets (or their team's, or all for leadership): open soonest due first, or resolved."""
    user = _user()
    args = request.args
    scope = args.get("scope") or _default_scope(user)
    if scope not in SCOPES or (scope == "all" and not user.is_leadership):
        scope = _default_scope(user)
    view = _choice(args.get("view"), VIEWS) or "open"
    causes = [(c.code, c.label) for c in org().root_causes.values()]
    touchpoints = sorted({t for r in org().routing for t in ([r.when.get("touchpoint")] if r.when else [])
                          if isinstance(t, str)})
    filters = {"priority": _choice(args.get("priority"), PRIORITIES),
               "sla_state": _choice(args.get("sla_state"), SLA_STATES),
               "touchpoint": (args.get("touchpoint") or "").strip()[:100] or None,
               "root_cause": _choice(args.get("root_cause"), [c for c, _ in causes])}
    text = (args.get("q") or "").strip()[:200] or None
    customer = (args.get("customer") or "").strip()[:320] or None
    page = _page_number(args.get("page"))
    with _sessions()() as session:
        found = queries.inbox(session, org(), user, scope=scope, view=view, text=text, customer=customer,
                              filters=filters, page=page, per_page=PER_PAGE)
    ctx = _ctx()
    tickets = found["items"]
    for t in tickets:
        chain = ctx.chain_of(t["owner"]["id"], t["team"])[: t["escalation_level"]]
        t["escalated_to"] = [u.name for u in chain]
    counts = {state: sum(1 for t in tickets if t["sla_state"] == state) for state in ("at_risk", "breached")}
    query = {"scope": scope, "view": view, "q": text, "customer": customer, **filters}
    pages = max(1, -(-found["total"] // PER_PAGE))
    return render_template("inbox.html", user=user, tickets=tickets, scope=scope, view=view, counts=counts,
                           causes=causes, csrf=generate_csrf(), team=org().teams.get(user.team or ""),
                           scopes=[s for s in SCOPES if s != "all" or user.is_leadership], total=found["total"],
                           page=page, pages=pages, query=query, text=text or "", customer=customer or "",
                           filters=filters, priorities=PRIORITIES, sla_states=SLA_STATES, touchpoints=touchpoints,
                           may_act={t["id"]: _may_act_summary(user, t) for t in tickets})


def _may_act_summary(user: User, t: dict[str, Any]) -> bool:
    if user.is_leadership:
        return True
    return user.team == t["team"] and (user.role == "lead" or user.id == t["owner"]["id"])


def _back(scope: str | None) -> Response:
    return redirect(url_for("pages.inbox", scope=scope if scope in SCOPES else None))


Action = Callable[[UnitOfWork, Ticket, datetime, Context, User], Any]


def _apply(ticket_id: str, action: Action, done: str) -> bool:
    """Run ``action`` on a ticket the caller may see, in one transaction; flash what happened."""
    user = _user()
    ctx = _ctx()
    with _sessions()() as session:
        try:
            with session.begin():
                ticket = session.get(Ticket, ticket_id, with_for_update=True)
                if ticket is None or not (user.is_leadership or user.team == ticket.team):
                    flash("That ticket does not exist or is not yours to see.", "bad")
                    return False
                action(UnitOfWork(session), ticket, now(), ctx, user)
            flash(done, "good")
        except InvalidChange as exc:
            flash(" ".join(exc.errors.values()), "bad")
        except (NotAllowed, TicketConflict) as exc:
            flash(str(exc), "bad")
    return True


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
    _apply(ticket_id, lambda s, t, now, ctx, u: actions.acknowledge(s, t, now, ctx=ctx, actor=u),
           "Acknowledged. The clock keeps running until it is resolved.")
    return _back(form.scope.data)


def _resolve_form() -> ResolveForm:
    form = ResolveForm()
    form.root_cause.choices = [(c.code, c.label) for c in org().root_causes.values()]
    return form


def _resolve_action(form: ResolveForm) -> Action:
    return lambda s, t, now, ctx, u: actions.resolve(
        s, t, now, ctx=ctx, actor=u, root_cause=form.root_cause.data, resolution=form.resolution.data,
        customer_message=form.customer_message.data or None, our_fault=bool(form.our_fault.data))


@bp.post("/inbox/<ticket_id>/resolve")
@require(page=True)
def resolve(ticket_id: str) -> Response:
    """Resolve a ticket from the inbox with a root cause and what was done."""
    form = _resolve_form()
    if not form.validate_on_submit():
        flash(_form_errors(form), "bad")
        return _back(form.scope.data)
    _apply(ticket_id, _resolve_action(form), "Resolved. Thank you for closing the loop.")
    return _back(form.scope.data)


# --- a ticket's own page ---------------------------------------------------------------------------

TIMELINE_WORDS = {
    "ticket.created": "Opened", "ticket.assigned": "Assigned", "ticket.acknowledged": "Acknowledged",
    "ticket.sla_warning": "At risk: the deadline is near", "ticket.sla_breached": "Deadline missed (breach)",
    "ticket.escalated": "Escalated", "ticket.replied": "Replied to the customer",
    conversation.NOTE_ADDED: "Internal note", "ticket.resolved": "Resolved",
    "ticket.customer_answered": "The customer answered", "ticket.reopened": "Reopened",
    "ticket.waiting": "Waiting on the customer (clock paused)", "ticket.resumed": "Clock resumed",
}


# what happens without an employee only when the customer writes
CUSTOMER_DOES = ("ticket.reopened", "ticket.customer_answered", "ticket.resumed")


def _name(user_id: str | None) -> str:
    if not user_id:
        return "Closeloop"
    user = org().users.get(user_id)
    return user.name if user else user_id


def _timeline(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    causes = org().root_causes
    shown = []
    for entry in entries:
        detail = entry["detail"] or {}
        words: list[str] = []
        kind = entry["type"]
        if kind == "ticket.created":
            words.append(f"owner {_name(detail.get('owner'))}, priority {detail.get('priority')}")
        elif kind == "ticket.assigned":
            words.append(f"{_name(detail.get('from'))} → {_name(detail.get('to'))}")
            if detail.get("reason"):
                words.append(f"({detail['reason']})")
        elif kind == "ticket.escalated":
            words.append(f"to {_name(detail.get('to'))} (level {detail.get('level')})")
        elif kind == "ticket.resolved":
            code = detail.get("root_cause")
            words.append(f"cause: {causes[code].label if code in causes else code};")
            if detail.get("resolution"):
                words.append(f"what was done: {detail['resolution']};")
            if detail.get("customer_message"):
                words.append(f"to the customer: {detail['customer_message']};")
            if detail.get("our_fault"):
                words.append("our fault")
        elif kind in ("ticket.reopened", "ticket.resumed") and detail.get("reason"):
            words.append(detail["reason"])
        elif kind == "ticket.customer_answered" and detail.get("answer"):
            words.append({"fixed": "fixed", "not_fixed": "not fixed"}.get(detail["answer"], ""))
        who = _name(entry["actor"]) if entry["actor"] else ("the customer" if kind in CUSTOMER_DOES else None)
        shown.append({"at": entry["at"], "what": TIMELINE_WORDS.get(kind, kind), "type": kind, "who": who,
                      "words": " ".join(words).rstrip(";")})
    return shown


def _owners(session: Any, user: User, ticket: Ticket) -> list[tuple[str, str]]:
    """Whom the caller may hand the ticket to: teammates; for leads and leadership, anyone available."""
    query = select(Assignee).where(Assignee.available.is_(True), Assignee.user_id != ticket.owner_id)
    if user.role == "employee":
        query = query.where(Assignee.team == ticket.team)
    teams = org().teams
    found = []
    for assignee in session.scalars(query.order_by(Assignee.team, Assignee.user_id)):
        team = teams.get(assignee.team)
        found.append((assignee.user_id, f"{_name(assignee.user_id)} ({team.name if team else assignee.team})"))
    return found


@bp.get("/tickets/<ticket_id>")
@require(page=True)
def ticket_page(ticket_id: str) -> Any:
    """One ticket: the customer and their history, owner and clock, timeline, conversation and actions."""
    user = _user()
    ctx = _ctx()
    with _sessions()() as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or not (user.is_leadership or user.team == ticket.team):
            return render_template("ticket_missing.html", user=user), 404
        detail = queries.ticket_detail(session, ticket, org())
        feedback = session.get(Feedback, ticket.feedback_id)
        history = queries.customer_history(session, feedback) if feedback is not None else []
        allowed = actions.may_act(user, ticket)
        owners = _owners(session, user, ticket) if allowed and ticket.status != RESOLVED else []
        can = {
            "acknowledge": allowed and ticket.status != RESOLVED and ticket.acknowledged_at is None,
            "assign": allowed and ticket.status != RESOLVED and bool(owners),
            "reply": allowed and ticket.status != RESOLVED,
            "note": allowed,
            "wait": allowed and ctx.waiting_pauses_clock and ticket.status in (OPEN, ACKNOWLEDGED)
            and ticket.sla_state != sla.BREACHED,
            "resume": allowed and ticket.status == WAITING,
            "resolve": allowed and ticket.status != RESOLVED,
            "reopen": allowed and ticket.status == RESOLVED,
        }
    chain = ctx.chain_of(ticket.owner_id, ticket.team)[: ticket.escalation_level]
    causes = [(c.code, c.label) for c in org().root_causes.values()]
    return render_template("ticket.html", user=user, t=detail, timeline=_timeline(detail["timeline"]),
                           thread=detail["conversation"], history=history, can=can, owners=owners,
                           causes=causes, csrf=generate_csrf(), escalated_to=[u.name for u in chain],
                           score=queries.score_of(feedback) if feedback is not None else None)


def _to_ticket(ticket_id: str) -> Response:
    return redirect(url_for("pages.ticket_page", ticket_id=ticket_id))


def _post(ticket_id: str, form: FlaskForm, action: Action, done: str) -> Response:
    if not form.validate_on_submit():
        flash(_form_errors(form), "bad")
        return _to_ticket(ticket_id)
    if not _apply(ticket_id, action, done):
        return redirect(url_for("pages.inbox"))
    return _to_ticket(ticket_id)


@bp.post("/tickets/<ticket_id>/acknowledge")
@require(page=True)
def ticket_acknowledge(ticket_id: str) -> Response:
    """Acknowledge from the ticket page."""
    return _post(ticket_id, AcknowledgeForm(), lambda s, t, now, ctx, u: actions.acknowledge(
        s, t, now, ctx=ctx, actor=u), "Acknowledged. The clock keeps running until it is resolved.")


@bp.post("/tickets/<ticket_id>/assign")
@require(page=True)
def ticket_assign(ticket_id: str) -> Response:
    """Hand the ticket to someone else."""
    form = AssignForm()
    return _post(ticket_id, form, lambda s, t, now, ctx, u: actions.assign(
        s, t, form.owner.data or "", now, ctx=ctx, actor=u), "Reassigned.")


@bp.post("/tickets/<ticket_id>/reply")
@require(page=True)
def ticket_reply(ticket_id: str) -> Response:
    """Write to the customer (emailed, and shown on their status page)."""
    form = MessageForm()
    return _post(ticket_id, form, lambda s, t, now, ctx, u: conversation.add_reply(
        s, t, form.body.data, now, ctx=ctx, actor=u), "Sent to the customer.")


@bp.post("/tickets/<ticket_id>/note")
@require(page=True)
def ticket_note(ticket_id: str) -> Response:
    """Leave an internal note (never shown to the customer)."""
    form = MessageForm()
    return _post(ticket_id, form, lambda s, t, now, ctx, u: conversation.add_note(
        s, t, form.body.data, now, ctx=ctx, actor=u), "Note added (internal).")


@bp.post("/tickets/<ticket_id>/wait")
@require(page=True)
def ticket_wait(ticket_id: str) -> Response:
    """Pause the clock until the customer answers."""
    return _post(ticket_id, AcknowledgeForm(), lambda s, t, now, ctx, u: actions.wait_on_customer(
        s, t, now, ctx=ctx, actor=u), "Waiting on the customer; the clock is paused.")


@bp.post("/tickets/<ticket_id>/resume")
@require(page=True)
def ticket_resume(ticket_id: str) -> Response:
    """Restart a paused clock with the time that was left."""
    return _post(ticket_id, AcknowledgeForm(), lambda s, t, now, ctx, u: actions.resume(
        s, t, now, ctx=ctx, actor=u, reason="resumed"), "The clock runs again.")


@bp.post("/tickets/<ticket_id>/resolve")
@require(page=True)
def ticket_resolve(ticket_id: str) -> Response:
    """Resolve from the ticket page."""
    form = _resolve_form()
    return _post(ticket_id, form, _resolve_action(form), "Resolved. Thank you for closing the loop.")


@bp.post("/tickets/<ticket_id>/reopen")
@require(page=True)
def ticket_reopen(ticket_id: str) -> Response:
    """Open a resolved ticket again with a fresh clock."""
    form = ReasonForm()
    return _post(ticket_id, form, lambda s, t, now, ctx, u: actions.reopen(
        s, t, now, ctx=ctx, actor=u, reason=(form.reason.data or "").strip() or "reopened"),
        "Reopened with a fresh clock.")
