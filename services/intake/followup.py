"""The "did this fix it?" answer links of the resolution email (links made by notify).

``GET /follow-up?token=...`` only shows a page with the choice ("fixed" / "not fixed", and for
"not fixed" a box for why): a mail scanner or a link preview that fetches the link changes
nothing. Only the ``POST`` from that page (CSRF-protected) records the answer, as ``source:
follow_up`` feedback ``in_reply_to`` the ticket with ``metadata.answer`` and
``metadata.resolution_id``; the reason is its ``comment``. Triage reopens the ticket on
``not_fixed``.

A link belongs to one resolution (its nonce is the ``ticket.resolved`` event id): once the ticket
is reopened or resolved again, or after ``CLOSELOOP_LINK_MAX_AGE``, it gets a friendly 410 page.
A forged or damaged link gets a clear 400 page. Neither stores anything.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from services.intake import metrics as intake_metrics
from services.intake import status
from services.intake.forms import FollowUpAnswerForm
from services.intake.models import Feedback, TicketHistory
from services.intake.pages import speak_to
from services.intake.schemas import MAX_COMMENT
from shared import i18n
from shared.links import ANSWERS, BadLink, ExpiredLink, read_follow_up_token

bp = Blueprint("follow_up", __name__)
MAX_TOKEN = 2000
CURRENT, STALE, PENDING, UNKNOWN = "current", "stale", "pending", "unknown"


class _Gone(Exception):
    """The link is genuine but no longer answers anything (expired, or another resolution)."""


def _read(token: str) -> dict[str, str] | None:
    """The link's content; ``None`` if forged or damaged; raise :class:`_Gone` if expired."""
    if not token or len(token) > MAX_TOKEN:
        return None
    settings = current_app.extensions["closeloop_settings"]
    try:
        return read_follow_up_token(settings.common.link_secret, token, max_age=settings.link_max_age)
    except ExpiredLink as exc:
        raise _Gone from exc
    except BadLink:
        return None


def _state(session: Any, link: dict[str, str]) -> tuple[str, Feedback | None]:
    """Whether the link answers the ticket's current resolution, as far as intake knows."""
    original = session.get(Feedback, link["feedback_id"])
    if original is None or (original.ticket_id and original.ticket_id != link["ticket_id"]):
        return UNKNOWN, None
    if link["nonce"] and original.resolution_id == link["nonce"] and original.ticket_status == "resolved":
        return CURRENT, original
    seen = session.get(TicketHistory, link["nonce"]) if link["nonce"] else None
    if seen is not None:
        return STALE, original  # reopened or resolved again since this link was made
    return PENDING, original  # a resolution intake has not heard of yet (its consumer is behind)


def _bad_link() -> Any:
    intake_metrics.rejected("bad_link")
    return render_template("follow_up_bad.html"), 400


def _gone(status_url: str | None = None) -> Any:
    intake_metrics.rejected("old_link")
    return render_template("follow_up_gone.html", status_url=status_url), 410


def _status_url(original: Feedback | None) -> str | None:
    return url_for("pages.status", token=original.status_token) if original is not None else None


@bp.get("/follow-up")
def answer() -> Any:
    """Show the choice; record nothing."""
    token = request.args.get("token", "")
    try:
        link = _read(token)
    except _Gone:
        return _gone()
    if link is None:
        return _bad_link()
    with current_app.extensions["closeloop_sessions"]() as session:
        state, original = _state(session, link)
        status_url = _status_url(original)
        if original is not None:
            speak_to(original)
    if state == UNKNOWN:
        return _bad_link()
    if state == STALE:
        return _gone(status_url)
    form = FollowUpAnswerForm(token=token, answer=link["answer"])
    return render_template("follow_up.html", form=form, answer=link["answer"], error=None, status_url=status_url)


@bp.post("/follow-up")
def record() -> Any:
    """Record the answer the customer chose on the page (and why, for "not fixed")."""
    intake_metrics.RECEIVED.labels("follow_up").inc()
    form = FollowUpAnswerForm()
    token = form.token.data or ""
    try:
        link = _read(token)
    except _Gone:
        return _gone()
    if link is None:
        return _bad_link()
    chosen = form.answer.data if form.answer.data in ANSWERS else None
    text = (form.comment.data or "").replace("\r\n", "\n")
    with current_app.extensions["closeloop_sessions"]() as session:
        state, original = _state(session, link)
        status_url = _status_url(original)
        if original is not None:
            speak_to(original)
        if state == UNKNOWN:
            return _bad_link()
        if state == STALE:
            return _gone(status_url)
        error, code = None, 422
        if not form.validate_on_submit():  # only the CSRF token can fail here
            intake_metrics.rejected("csrf")
            error, code = _("This page was open too long. Nothing was saved: please choose again."), 400
        elif chosen is None:
            error = _("Choose one of the two answers.")
        elif len(text) > MAX_COMMENT:
            error = _("Please keep it under %(count)s characters.",
                      count=i18n.format_number(MAX_COMMENT, i18n.current_locale()))
        elif state == PENDING:
            error, code = _("We are still catching up with this ticket. Please try again in a minute."), 409
        if error is None:
            assert chosen is not None
            try:
                data = status.message_data(
                    ticket_id=link["ticket_id"], original=original, source="follow_up",
                    comment=text if text.strip() else None,
                    metadata={"answer": chosen, "resolution_id": link["nonce"], "feedback_id": link["feedback_id"]})
            except ValidationError:
                return _bad_link()
    if error is None:
        # a double click stores one answer
        key = "follow-up:" + hashlib.sha256("|".join((token, data["metadata"]["answer"], text)).encode()).hexdigest()
        accepted = status.store_of(current_app).store(data, idempotency_key=key, now=datetime.now(UTC))
        intake_metrics.stored(source="follow_up", duplicate_kind=accepted.duplicate_kind)
        return render_template("follow_up_done.html", answer=chosen, status_url=status_url)
    return render_template("follow_up.html", form=form, answer=chosen or link["answer"], error=error,
                           status_url=status_url), code
