"""Intake's pages for customers: the status page behind the link they get after giving feedback."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from services.intake import queries

bp = Blueprint("pages", __name__)


@bp.get("/status/<token>")
def status(token: str) -> Any:
    """What happened to a feedback, without logging in: received, which team owns it, what was done."""
    with current_app.extensions["closeloop_sessions"]() as session:
        feedback = queries.by_status_token(session, token) if len(token) <= 64 else None
        if feedback is None:
            return render_template("status_missing.html"), 404
        info = queries.feedback_status(session, feedback)
    return render_template("status.html", info=info)
