"""Intake's JSON API: accept feedback, report where it is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from services.intake import handlers, queries
from services.intake.models import Feedback
from services.intake.schemas import AcceptedOut, FeedbackIn, FeedbackOut
from shared.auth import require
from shared.problems import Problem

blp = Blueprint("feedback", __name__, url_prefix="/api/v1", description="Customer feedback")


def _session() -> Any:
    return current_app.extensions["closeloop_sessions"]()


def _links(feedback: Feedback) -> dict[str, str]:
    base = current_app.config.get("PUBLIC_URL")
    self_path = url_for("feedback.FeedbackItem", feedback_id=feedback.id)
    status_path = url_for("pages.status", token=feedback.status_token)
    if base:
        return {"self": base + self_path, "status_page": base + status_path}
    return {"self": url_for("feedback.FeedbackItem", feedback_id=feedback.id, _external=True),
            "status_page": url_for("pages.status", token=feedback.status_token, _external=True)}


def submit(data: dict[str, Any], idempotency_key: str | None) -> tuple[handlers.Accepted, dict[str, Any]]:
    """Store one feedback (or find the one it repeats) and build the client's answer."""
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise Problem(400, "Bad Request", "Idempotency-Key must be 1 to 200 characters.",
                      errors={"Idempotency-Key": ["must be 1 to 200 characters"]})
    now = datetime.now(UTC)
    try:
        with _session() as session, session.begin():
            accepted = handlers.accept_feedback(session, data, idempotency_key=idempotency_key, now=now)
    except IntegrityError:
        # A concurrent request with the same key or external id won the race: answer as a repeat.
        with _session() as session, session.begin():
            accepted = handlers.find_duplicate(session, data, idempotency_key)  # type: ignore[assignment]
        if accepted is None:
            raise
    except handlers.IdempotencyConflict as exc:
        raise Problem(409, "Conflict", "This Idempotency-Key was already used with a different body.",
                      errors={"Idempotency-Key": [f"{exc} was used with a different body"]}) from exc
    status = "duplicate" if accepted.duplicate else "received"
    return accepted, {"id": accepted.feedback.id, "status": status, "links": _links(accepted.feedback)}


@blp.route("/feedback")
class FeedbackCollection(MethodView):
    @blp.arguments(FeedbackIn, location="json")
    @blp.response(202, AcceptedOut)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Give feedback.

        Answers 202 once the feedback is stored; it is published to the organisation right
        after. A repeated ``Idempotency-Key`` with the same body, or a repeated
        ``(source, external_id)``, returns the first answer and stores nothing new.
        """
        from flask import request

        _, body = submit(data, request.headers.get("Idempotency-Key"))
        return body


@blp.route("/feedback/<feedback_id>")
class FeedbackItem(MethodView):
    @blp.response(200, FeedbackOut)
    @require()
    def get(self, feedback_id: str) -> dict[str, Any]:
        """Where a feedback is: received, published, then its ticket and the ticket's state."""
        with _session() as session:
            feedback = session.get(Feedback, feedback_id)
            if feedback is None:
                raise Problem(404, "Not Found", f"No feedback with id {feedback_id}.")
            return queries.feedback_status(session, feedback)
