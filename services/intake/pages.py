"""Intake's pages for customers: the feedback form, the thank-you page and the status page (the
customer's side of the ticket's thread, where they can write back)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from services.intake import handlers, queries, status
from services.intake import metrics as intake_metrics
from services.intake.forms import TOUCHPOINTS, FeedbackForm, StatusMessageForm, feedback_from_form, form_errors
from services.intake.schemas import MAX_COMMENT, FeedbackIn

bp = Blueprint("pages", __name__)
LOCALE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")


def _sessions() -> Any:
    return current_app.extensions["closeloop_sessions"]


def _render_form(form: FeedbackForm, errors: dict[str, str], status: int = 200) -> Any:
    return render_template("form.html", form=form, errors=errors, touchpoints=TOUCHPOINTS), status


@bp.route("/", methods=["GET", "POST"])
def form() -> Any:
    """The public feedback form; a valid submission is stored and leads to the thank-you page."""
    form = FeedbackForm()
    if request.method == "GET":
        return _render_form(form, {})
    intake_metrics.RECEIVED.labels("form").inc()
    if not form.validate_on_submit():  # only the CSRF token can fail here
        intake_metrics.rejected("csrf")
        return _render_form(form, {"form": "This form was open too long or came from somewhere else. "
                                           "Nothing was lost: please send it again."}, 400)
    if form.website.data:
        # a bot filled the hidden field: look like success, store nothing
        intake_metrics.rejected("honeypot")
        return render_template("thanks.html", feedback=None)
    best = request.accept_languages.best
    data = feedback_from_form(form, locale=best if best and LOCALE.match(best) else None)
    try:
        valid = FeedbackIn().load(data)
        messages: Any = {}
    except ValidationError as exc:
        messages = exc.normalized_messages()
    errors = form_errors(form, messages if isinstance(messages, dict) else {"_schema": messages})
    if errors:
        intake_metrics.rejected("invalid")
        return _render_form(form, errors, 422)
    # a double-click sends the same form twice: same page (CSRF token) + same answers = one feedback
    seed = str(form.csrf_token.data) + handlers.request_fingerprint(valid)
    key = "form:" + hashlib.sha256(seed.encode()).hexdigest()
    accepted = status.store_of(current_app).store(valid, idempotency_key=key, now=datetime.now(UTC))
    intake_metrics.stored(source="form", duplicate_kind=accepted.duplicate_kind)
    return redirect(url_for("pages.thanks", token=accepted.feedback.status_token), 303)


@bp.get("/thanks/<token>")
def thanks(token: str) -> Any:
    """Thank the customer and give them their status link."""
    with _sessions()() as session:
        feedback = queries.by_status_token(session, token) if len(token) <= 64 else None
    if feedback is None:
        return render_template("status_missing.html"), 404
    return render_template("thanks.html", feedback=feedback,
                           status_url=url_for("pages.status", token=feedback.status_token, _external=True))


MESSAGE_ERRORS = {
    "csrf": "This page was open too long or came from somewhere else. Nothing was lost: please send it again.",
    "empty": "Write a few words first.",
    "long": "Please keep it under 10,000 characters.",
    "no_ticket": "You can write here as soon as someone owns your feedback (usually within a minute).",
    "invalid": "We could not take this message. Please check it and send it again.",
}


def _status_page(session: Any, feedback: Any, form: StatusMessageForm, *, error: str | None = None,
                 sent: bool = False) -> str:
    info = queries.feedback_status(session, feedback)
    return render_template("status.html", info=info, thread=status.thread(session, feedback),
                           owner=feedback.owner_name, form=form, error=error, sent=sent, now=datetime.now(UTC))


@bp.get("/status/<token>", endpoint="status")
def status_page(token: str) -> Any:
    """The customer's side of the thread, without logging in: what they sent, who owns it, the
    owner's replies, what was done, reopenings, a missed deadline; and a box to write back."""
    with _sessions()() as session:
        feedback = queries.by_status_token(session, token) if len(token) <= 64 else None
        if feedback is None:
            return render_template("status_missing.html"), 404
        return _status_page(session, feedback, StatusMessageForm(), sent=request.args.get("sent") == "1")


@bp.post("/status/<token>")
def write_back(token: str) -> Any:
    """The customer writes back: stored as ``form`` feedback ``in_reply_to`` the ticket, which
    joins the ticket's conversation in triage."""
    intake_metrics.RECEIVED.labels("form").inc()
    form = StatusMessageForm()
    text = (form.message.data or "").replace("\r\n", "\n")
    problem, code, data = None, 422, None
    with _sessions()() as session:
        feedback = queries.by_status_token(session, token) if len(token) <= 64 else None
        if feedback is None:
            return render_template("status_missing.html"), 404
        if not form.validate_on_submit():  # only the CSRF token can fail here
            problem, code = "csrf", 400
        elif form.website.data:
            # a bot filled the hidden field: look like success, store nothing
            intake_metrics.rejected("honeypot")
            return redirect(url_for("pages.status", token=token, sent="1"), 303)
        elif not feedback.ticket_id:
            problem, code = "no_ticket", 409
        elif not text.strip():
            problem = "empty"
        elif len(text) > MAX_COMMENT:
            problem = "long"
        else:
            try:
                data = status.message_data(ticket_id=str(feedback.ticket_id), original=feedback, source="form",
                                           comment=text)
            except ValidationError:
                problem = "invalid"
    if data is not None:
        # a double click sends the same page (CSRF token) and words twice: one message
        seed = f"{form.csrf_token.data}|{data['in_reply_to']}|{text}"
        key = "status:" + hashlib.sha256(seed.encode()).hexdigest()
        accepted = status.store_of(current_app).store(data, idempotency_key=key, now=datetime.now(UTC))
        intake_metrics.stored(source="form", duplicate_kind=accepted.duplicate_kind)
        return redirect(url_for("pages.status", token=token, sent="1"), 303)
    intake_metrics.rejected("csrf" if problem == "csrf" else "invalid")
    with _sessions()() as session:
        feedback = queries.by_status_token(session, token)
        return _status_page(session, feedback, form, error=MESSAGE_ERRORS[problem or "invalid"]), code
