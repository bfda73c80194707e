"""Notify's JSON API: the org feed and the record of deliveries."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.notify import queries
from services.notify.schemas import DeliveriesOut, DeliveryQuery, FeedOut, FeedQuery
from shared.auth import require

blp = Blueprint("feed", __name__, url_prefix="/api/v1", description="The org feed and deliveries to channels")
DELIVERY_ROLES = ("lead", "leader", "admin")


@blp.route("/feed")
class Feed(MethodView):
    @blp.arguments(FeedQuery(), location="query")
    @blp.response(200, FeedOut)
    @require()
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every feedback, praise and complaints alike, newest first, personal data redacted."""
        with current_app.extensions["closeloop_sessions"]() as session:
            return {"items": queries.feed(session, **args)}


@blp.route("/deliveries")
class Deliveries(MethodView):
    @blp.arguments(DeliveryQuery(), location="query")
    @blp.response(200, DeliveriesOut)
    @require(*DELIVERY_ROLES)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Every message sent or being sent: channel, event, attempts, status and last error, newest first."""
        with current_app.extensions["closeloop_sessions"]() as session:
            return {"items": queries.deliveries(session, **args)}
