"""The customer-facing forms (Flask-WTF, for CSRF protection) and how their input becomes feedback.

The fields carry no validators of their own: the submitted values are checked by the same
marshmallow schema as the API (``FeedbackIn``), so the form and the API can never disagree on
what is valid. ``website`` is a honeypot: hidden from people, filled in by bots.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField

TOUCHPOINTS = (
    ("", "Choose one (optional)"),
    ("checkout", "Buying / checkout"),
    ("delivery", "Delivery"),
    ("installation", "Installation / setup"),
    ("billing", "Billing and payment"),
    ("support", "Customer support"),
    ("website", "Website or app"),
    ("other", "Something else"),
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
    return data


def form_errors(form: FeedbackForm, messages: dict[str, Any]) -> dict[str, str]:
    """Schema errors as one sentence per form field, plus a topic that is not one of ours."""
    errors: dict[str, str] = {}
    if (form.touchpoint.data or "") not in dict(TOUCHPOINTS):
        errors["touchpoint"] = "Choose one of the listed topics."
    for key, value in messages.items():
        field = FIELD_OF.get(key, "form")
        errors.setdefault(field, _sentence(key, value))
    return errors


def _sentence(key: str, value: Any) -> str:
    if key == "survey":
        return "Pick a score from 0 to 10."
    if key == "customer":
        return "That does not look like an email address."
    if key == "_schema":
        return "Pick a score or write a few words, so we know what to look at."
    if key == "comment":
        return "Please keep it under 10,000 characters."
    while isinstance(value, dict):
        value = next(iter(value.values()), "")
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value).capitalize() or "Please check this field."
