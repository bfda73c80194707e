"""The customer-facing forms (Flask-WTF, for CSRF protection) and how their input becomes feedback.

The fields carry no validators of their own: the submitted values are checked by the same
marshmallow schema as the API (``FeedbackIn``), so the form and the API can never disagree on
what is valid. ``website`` is a honeypot: hidden from people, filled in by bots.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField

from services.intake.schemas import MAX_COMMENT
from shared import i18n

TOUCHPOINTS = (
    ("", lazy_gettext("Choose one (optional)")),
    ("checkout", lazy_gettext("Buying / checkout")),
    ("delivery", lazy_gettext("Delivery")),
    ("installation", lazy_gettext("Installation / setup")),
    ("billing", lazy_gettext("Billing and payment")),
    ("support", lazy_gettext("Customer support")),
    ("website", lazy_gettext("Website or app")),
    ("other", lazy_gettext("Something else")),
)

# schema error keys → the form field that shows them
FIELD_OF = {"survey": "score", "customer": "email", "comment": "comment", "touchpoint": "touchpoint",
            "_schema": "form"}


class FeedbackForm(FlaskForm):
    """The public feedback form at ``/``."""

    score = StringField()
    comment = TextAreaField()
    email = StringField()
    touchpoint = StringField()
    timezone = HiddenField()  # the browser's IANA timezone, filled in by the page's script
    website = StringField()  # honeypot


class FollowUpAnswerForm(FlaskForm):
    """The page an answer link opens: "fixed" or "not fixed", and for "not fixed" why.

    Only posting it records the answer, so a mail scanner or a link preview that fetches the
    link changes nothing.
    """

    token = HiddenField()
    answer = StringField()
    comment = TextAreaField()


class StatusMessageForm(FlaskForm):
    """The customer writing back on their status page."""

    message = TextAreaField()
    website = StringField()  # honeypot


def feedback_from_form(form: FeedbackForm, *, locale: str | None) -> dict[str, Any]:
    """The API-shaped body of a form submission (validated by the caller with ``FeedbackIn``)."""
    data: dict[str, Any] = {"source": "form"}
    score = (form.score.data or "").strip()
    if score:
        data["survey"] = {"metric": "nps", "score": int(score) if score.isdigit() and len(score) < 4 else score}
    comment = (form.comment.data or "").replace("\r\n", "\n")
    if comment.strip():
        data["comment"] = comment
    email = (form.email.data or "").strip()
    if email:
        data["customer"] = {"email": email}
    touchpoint = (form.touchpoint.data or "").strip()
    if touchpoint:
        data["touchpoint"] = touchpoint
    if locale:
        data["locale"] = locale
    timezone = (form.timezone.data or "").strip()
    if i18n.zone(timezone) is not None:
        # the customer's dates are written in it (status page, mails); a wrong value is ignored
        data["metadata"] = {"timezone": timezone}
    return data


def form_errors(form: FeedbackForm, messages: dict[str, Any]) -> dict[str, str]:
    """Schema errors as one sentence per form field, plus a topic that is not one of ours."""
    errors: dict[str, str] = {}
    if (form.touchpoint.data or "") not in dict(TOUCHPOINTS):
        errors["touchpoint"] = _("Choose one of the listed topics.")
    for key, value in messages.items():
        field = FIELD_OF.get(key, "form")
        errors.setdefault(field, _sentence(key, value))
    return errors


def _sentence(key: str, value: Any) -> str:
    if key == "survey":
        return _("Pick a score from 0 to 10.")
    if key == "customer":
        return _("That does not look like an email address.")
    if key == "_schema":
        return _("Pick a score or write a few words, so we know what to look at.")
    if key == "comment":
        return _("Please keep it under %(count)s characters.",
                 count=i18n.format_number(MAX_COMMENT, i18n.current_locale()))
    return _("Please check this field.")
