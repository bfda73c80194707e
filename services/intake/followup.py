"""One-click "did this fix it?" answers from the closed-loop email (links made by notify).

``GET /follow-up?token=...`` checks the signed token (``shared.links``), stores the answer as
``source: follow_up`` feedback ``in_reply_to`` the ticket (once per link, however often it is
clicked), thanks the customer and offers an optional comment. Triage reopens the ticket on
``not_fixed``. A forged or damaged link gets a clear 400 page and stores nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from marshmallow import ValidationError

from services.intake import handlers
from services.intake import metrics as intake_metrics
from services.intake.forms import FollowUpCommentForm
from services.intake.models import Feedback
from services.intake.schemas import MAX_COMMENT
from shared.links import BadLink, read_follow_up_token

bp = Blueprint("follow_up", __name__)
MAX_TOKEN = 2000


def _read(token: str) -> dict[str, str] | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    try:
        return read_follow_up_token(current_app.extensions["closeloop_settings"].common.link_secret, token)
    except BadLink:
        return None


def _bad_link() -> Any:
    intake_metrics.rejected("bad_link")
    return render_template("follow_up_bad.html"), 400


def _status_url(feedback_id: str) -> str | None:
    with current_app.extensions["closeloop_sessions"]() as session:
        original = session.get(Feedback, feedback_id)
        if original is None:
            return None
        return url_for("pages.status", token=original.status_token)


def _store(link: dict[str, str], token: str, comment: str | None) -> handlers.Accepted:
    with current_app.extensions["closeloop_sessions"]() as session, session.begin():
        accepted = handlers.accept_follow_up(session, link=link, token=token, comment=comment, now=datetime.now(UTC))
    intake_metrics.stored(source="follow_up", duplicate_kind=accepted.duplicate_kind)
    return accepted


@bp.get("/follow-up")
def answer() -> Any:
    """Record the customer's answer and thank them; offer a comment box."""
    intake_metrics.RECEIVED.labels("follow_up").inc()
    token = request.args.get("token", "")
    link = _read(token)
    if link is None:
        return _bad_link()
    try:
        _store(link, token, None)
    except ValidationError:
        return _bad_link()
    form = FollowUpCommentForm(token=token)
    return render_template("follow_up.html", answer=link["answer"], form=form, error=None,
                           status_url=_status_url(link["feedback_id"]))


@bp.post("/follow-up")
def comment() -> Any:
    """Add the customer's optional comment to their answer."""
    intake_metrics.RECEIVED.labels("follow_up").inc()
    form = FollowUpCommentForm()
    token = form.token.data or ""
    link = _read(token)
    if link is None:
        return _bad_link()
    status_url = _status_url(link["feedback_id"])
    text = (form.comment.data or "").replace("\r\n", "\n")
    error = None
    if not form.validate_on_submit():
        error = "This page was open too long. Please send your comment again."
        intake_metrics.rejected("csrf")
    elif not text.strip():
        error = "Write a few words, or simply close this page: your answer is already saved."
    elif len(text) > MAX_COMMENT:
        error = "Please keep it under 10,000 characters."
    if error is None:
        try:
            _store(link, token, text)
        except handlers.IdempotencyConflict:
            error = "We already have a comment for this answer. Thank you!"
        except ValidationError:
            return _bad_link()
    if error is not None:
        return render_template("follow_up.html", answer=link["answer"], form=form, error=error,
                               status_url=status_url), 422
    return render_template("follow_up_done.html", status_url=status_url)

