"""Notify's JSON API: the org feed."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.notify import queries
from services.notify.schemas import FeedOut, FeedQuery
from shared.auth import require

blp = Blueprint("feed", __name__, url_prefix="/api/v1", description="The org feed of praise and complaints")


@blp.route("/feed")
class Feed(MethodView):
    @blp.arguments(FeedQuery, location="query")
    @blp.response(200, FeedOut)
    @require()
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every feedback, praise and complaints alike, newest first, personal data redacted."""
        with current_app.extensions["closeloop_sessions"]() as session:
            return {"items": queries.feed(session, **args)}
