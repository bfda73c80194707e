"""Intake's pages for customers: the feedback form, the thank-you page and the status page."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from services.intake import handlers, queries
from services.intake import metrics as intake_metrics
from services.intake.forms import TOUCHPOINTS, FeedbackForm, feedback_from_form, form_errors
from services.intake.schemas import FeedbackIn

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
    with _sessions()() as session, session.begin():
        accepted = handlers.store_feedback(session, valid, idempotency_key=key, now=datetime.now(UTC))
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


@bp.get("/status/<token>")
def status(token: str) -> Any:
    """What happened to a feedback, without logging in: received, which team owns it, what was done."""
    with _sessions()() as session:
        feedback = queries.by_status_token(session, token) if len(token) <= 64 else None
        if feedback is None:
            return render_template("status_missing.html"), 404
        info = queries.feedback_status(session, feedback)
    return render_template("status.html", info=info, now=datetime.now(UTC))
