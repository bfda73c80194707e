"""Intake's pages for customers: the feedback form, the thank-you page and the status page (the
customer's side of the ticket's thread, where they can write back)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from marshmallow import ValidationError

from services.intake import api, handlers, queries, status
from services.intake import metrics as intake_metrics
from services.intake.forms import TOUCHPOINTS, FeedbackForm, StatusMessageForm, feedback_from_form, form_errors
from services.intake.schemas import MAX_COMMENT, FeedbackIn
from shared import i18n

bp = Blueprint("pages", __name__)
TRANSLATIONS = Path(__file__).parent / "translations"
"""The customer pages' catalogs (``<language>/LC_MESSAGES/messages.po``); the shared ones
(root causes' wording) come first."""
LOCALE = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
DEFAULT_PROMISE_SECONDS = 24 * 3600
"""What the customer is promised when the org file's ``sla`` gives no ``default_seconds``
(triage's own default)."""


def _sessions() -> Any:
    return current_app.extensions["closeloop_sessions"]


def promise_seconds() -> int:
    """How long an owner has to sort a problem out, as the org file's clock says (``sla.default_seconds``)."""
    org = current_app.extensions["closeloop_org"]
    return int(org.sla_default_seconds or DEFAULT_PROMISE_SECONDS)


@bp.app_context_processor
def _customer_page() -> dict[str, Any]:
    return {"promise_seconds": promise_seconds()}


def install_languages(app: Any, org: Any) -> None:
    """The customer pages speak the feedback's language, else ``?lang=``, else the browser's, else the org's."""
    i18n.install(app, [i18n.SHARED_TRANSLATIONS, TRANSLATIONS], default=org.language)


@bp.app_template_filter("cause")
def cause_words(label: str | None) -> str:
    """A root cause's label in the page's language: the org file's wording for it, else the
    catalogs' (the default causes), else as the ticket gave it."""
    if not label:
        return ""
    language = i18n.current_language()
    for cause in current_app.extensions["closeloop_org"].root_causes.values():
        if label in (cause.label, cause.code):
            own = cause.label_in(language)
            return own if own != cause.label else _(cause.label)
    return label


def speak_to(feedback: Any) -> None:
    """Write the page in the feedback's language (its ``locale``, when there is a catalog for it)
    and its times in the customer's timezone (``metadata.timezone``, when the form learned it)."""
    extra = feedback.extra if isinstance(feedback.extra, dict) else {}
    timezone = extra.get("timezone")
    i18n.use(feedback.locale, timezone if isinstance(timezone, str) else None)


def _chosen_language() -> str | None:
    """``?lang=`` when it names a language the page is shown in (the language switch's choice)."""
    chosen = request.args.get("lang") or ""
    if len(chosen) > 35 or not LOCALE.match(chosen):
        return None
    return chosen if chosen.replace("_", "-").split("-")[0].lower() == i18n.current_language() else None


def stored_locale() -> str:
    """The form's feedback ``locale``: the language the customer chose on the switch (with the region
    their browser gives, ``bn-BD``), else their browser's first language, else the page's language."""
    best = request.accept_languages.best
    best = best if best and len(best) <= 35 and LOCALE.match(best) else None
    shown = i18n.current_language()
    chosen = _chosen_language()
    if chosen:
        if best is not None and best.replace("_", "-").split("-")[0].lower() == shown and chosen.isalpha():
            return best
        return chosen
    return best or i18n.language_tag(i18n.current_locale())


def _render_form(form: FeedbackForm, errors: dict[str, str], status: int = 200) -> Any:
    available = current_app.extensions.get("closeloop_languages", ())
    return render_template("form.html", form=form, errors=errors, touchpoints=TOUCHPOINTS,
                           languages=[(code, i18n.display_name(code)) for code in available],
                           chosen_language=_chosen_language()), status


@bp.route("/", methods=["GET", "POST"])
def form() -> Any:
    """The public feedback form; a valid submission is stored and leads to the thank-you page."""
    form = FeedbackForm()
    if request.method == "GET":
        return _render_form(form, {})
    intake_metrics.RECEIVED.labels("form").inc()
    if not form.validate_on_submit():  # only the CSRF token can fail here
        intake_metrics.rejected("csrf")
        return _render_form(form, {"form": _("This form was open too long or came from somewhere else. "
                                             "Nothing was lost: please send it again.")}, 400)
    if form.website.data:
        # a bot filled the hidden field: look like success, store nothing
        intake_metrics.rejected("honeypot")
        return render_template("thanks.html", feedback=None)
    data = feedback_from_form(form, locale=stored_locale())
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
    speak_to(feedback)
    return render_template("thanks.html", feedback=feedback,
                           status_url=api.base_url() + url_for("pages.status", token=feedback.status_token))


MESSAGE_ERRORS = {
    "csrf": lazy_gettext("This page was open too long or came from somewhere else. "
                         "Nothing was lost: please send it again."),
    "empty": lazy_gettext("Write a few words first."),
    "no_ticket": lazy_gettext("You can write here as soon as someone owns your feedback (usually within a minute)."),
    "invalid": lazy_gettext("We could not take this message. Please check it and send it again."),
}


def _status_page(session: Any, feedback: Any, form: StatusMessageForm, *, error: str | None = None,
                 sent: bool = False) -> str:
    info = queries.feedback_status(session, feedback)
    speak_to(feedback)
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
        return _status_page(session, feedback, form, error=_error(problem or "invalid")), code


def _error(problem: str) -> str:
    if problem == "long":
        return _("Please keep it under %(count)s characters.",
                 count=i18n.format_number(MAX_COMMENT, i18n.current_locale()))
    return str(MESSAGE_ERRORS[problem])
