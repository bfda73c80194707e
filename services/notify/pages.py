"""Notify's pages: the org feed wall, a live view of praise and complaints for a big screen."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request

from services.notify import queries
from services.notify.schemas import KINDS
from shared.auth import current_user, org, require
from shared.problems import Problem

bp = Blueprint("pages", __name__, template_folder="templates")
REFRESH_SECONDS = 5


@bp.get("/feed")
@require(page=True)
def feed() -> Any:
    """The org's live wall of feedback, filterable by kind, team and touchpoint."""
    kind = request.args.get("kind") or None
    team = request.args.get("team") or None
    touchpoint = request.args.get("touchpoint") or None
    teams = org().teams
    if kind is not None and kind not in KINDS:
        raise Problem(400, "Bad Request", "Unknown kind.", errors={"kind": [f"Must be one of: {', '.join(KINDS)}."]})
    if team is not None and team not in teams:
        raise Problem(400, "Bad Request", "Unknown team.", errors={"team": ["Not a team in the org file."]})
    with current_app.extensions["closeloop_sessions"]() as session:
        items = queries.feed(session, kind=kind, team=team, touchpoint=touchpoint, limit=60)
        known_touchpoints = queries.touchpoints(session)
    if touchpoint and touchpoint not in known_touchpoints:
        known_touchpoints.append(touchpoint)
    triage = str(current_app.extensions["closeloop_triage_url"]).rstrip("/")
    for item in items:
        item["received_at"] = item["received_at"].isoformat()
    return render_template(
        "feed.html", user=current_user(), items=items, kinds=KINDS, teams=teams, touchpoints=known_touchpoints,
        filters={"kind": kind or "", "team": team or "", "touchpoint": touchpoint or ""},
        team_names={t.id: t.name for t in teams.values()}, refresh_seconds=REFRESH_SECONDS, triage_url=triage,
    )
