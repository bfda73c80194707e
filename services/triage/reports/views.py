"""Leadership's view: ``GET /api/v1/sla/summary``, the ``/dashboard`` page and its CSV exports.

The ``leader`` and ``admin`` roles see every team; a ``lead`` sees the teams they lead (their own
by default; another team is a 403). Dates are ISO 8601 (``2024-06-01`` or a full
timestamp; naive means UTC); a date-only ``to`` includes that whole day. Without dates the
window is the last ``period`` days (30 by default) up to now.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Blueprint as PageBlueprint
from flask import Response, current_app, render_template, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from services.triage.reports import charts, metrics
from services.triage.reports import service as reports
from shared.auth import current_user, org, require
from shared.org import LEADERSHIP_ROLES, User
from shared.problems import Problem

blp = Blueprint("sla", __name__, description="Leadership's SLA summary")
pages = PageBlueprint("dashboard", __name__, template_folder="templates")
PERIODS = (7, 30, 90, 365)
FIRST_YEAR, LAST_YEAR = 1970, 2100  # the years feedback can carry (intake's submitted_at range)
BREAKDOWN_COLUMNS = ("key", "label", "open", "at_risk", "breached_open", "resolved", "resolved_within_sla",
                     "resolved_within_sla_percent", "promise_kept_percent", "mean_time_to_resolve_seconds")
# each CSV's columns, written as its header even when the table has no rows
EXPORTS: dict[str, tuple[str, ...]] = {
    "attention": ("id", "priority", "sla_state", "status", "team", "owner", "touchpoint", "received_at", "due_at",
                  "escalation_level"),
    **dict.fromkeys(("team", "owner", "touchpoint", "priority", "root_cause"), BREAKDOWN_COLUMNS),
    "days": ("day", "resolved", "resolved_within_sla", "resolved_within_sla_percent"),
    "nps_by_touchpoint": ("touchpoint", "responses", "promoters", "passives", "detractors", "nps"),
}


class SummaryQuery(Schema):
    from_ = fields.String(data_key="from", metadata={"description": "start, ISO 8601 (default: 30 days ago)"})
    to = fields.String(metadata={"description": "end, ISO 8601; a date includes that day (default: now)"})
    team = fields.String(metadata={"description": "a team id from the org file"})


def parse_filters(args: dict[str, Any], now: datetime) -> tuple[datetime, datetime, str | None]:
    """The window and team asked for; a 422 naming each bad field otherwise."""
    errors: dict[str, list[str]] = {}
    period = args.get("period") or "30"
    if not period.isdigit() or int(period) not in PERIODS:
        errors["period"] = [f"Must be one of {', '.join(map(str, PERIODS))} (days)."]
        period = "30"
    end = _moment(args.get("to"), "to", errors, end_of_day=True) or now
    start = _moment(args.get("from"), "from", errors, end_of_day=False) or end - timedelta(days=int(period))
    if not errors and start >= end:
        errors["from"] = ["Must be before 'to'."]
    team = args.get("team") or None
    if team is not None and team not in org().teams:
        errors["team"] = [f"Unknown team; one of: {', '.join(sorted(org().teams))}."]
    if errors:
        raise Problem(422, "Unprocessable Content", "The request has invalid fields; see errors.", errors=errors)
    return start, end, team


def _moment(raw: str | None, name: str, errors: dict[str, list[str]], *, end_of_day: bool) -> datetime | None:
    if not raw:
        return None
    try:
        if len(raw) == 10:
            value = datetime.combine(date.fromisoformat(raw), time())
        else:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        errors[name] = ["Not a date: use ISO 8601, e.g. 2024-06-01 or 2024-06-01T09:30:00Z."]
        return None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:  # also keeps the window's arithmetic inside the calendar
        errors[name] = [f"Must be a date from {FIRST_YEAR} to {LAST_YEAR}."]
        return None
    if len(raw) == 10:
        return value.replace(tzinfo=UTC) + timedelta(days=1 if end_of_day else 0)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


VIEWERS = ("lead", *LEADERSHIP_ROLES)


def lead_teams(user: User) -> list[str]:
    """The teams a lead sees on the dashboard: their own and any the org file names them lead of."""
    teams = [user.team] if user.team else []
    return teams + [t.id for t in org().teams.values() if t.lead == user.id and t.id not in teams]


def _team_for(user: User, team: str | None) -> str | None:
    """Leadership: the team asked for (or all); a lead: their team, never another (403)."""
    if user.is_leadership:
        return team
    allowed = lead_teams(user)
    if team is None:
        if not allowed:
            raise Problem(403, "Forbidden", "Your user has no team in the org file, so no dashboard.")
        return allowed[0]
    if team not in allowed:
        raise Problem(403, "Forbidden", f"Leads see their own team's figures: {', '.join(allowed)}.")
    return team


def _summary(args: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    start, end, team = parse_filters(args, now)
    user = current_user()
    assert user is not None
    team = _team_for(user, team)
    with current_app.extensions["closeloop_sessions"]() as session:
        result = reports.summary(session, now=now, start=start, end=end, team=team, org=org())
        result["attention"] = reports.attention_tickets(session, team=team)
    return result


@blp.route("/api/v1/sla/summary")
class SlaSummary(MethodView):
    @blp.arguments(SummaryQuery(), location="query")
    @blp.response(200)
    @require(*VIEWERS)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Open, at-risk and breached tickets now; resolution, SLA compliance and scores in the window
        (leads: their team's)."""
        result = _summary({"from": args.get("from_"), "to": args.get("to"), "team": args.get("team")})
        result.pop("attention")
        return result


@pages.get("/dashboard")
@require(*VIEWERS, page=True)
def dashboard() -> Any:
    """The dashboard page: every team for leadership, their own team's for a lead."""
    args = {k: request.args.get(k) for k in ("period", "from", "to", "team")}
    user = current_user()
    assert user is not None
    try:
        summary = _summary(args)
    except Problem as problem:
        return render_template("dashboard_error.html", user=user, errors=problem.errors or {},
                               message=problem.detail if problem.status == 403 else None,
                               args=args), problem.status
    visible = org().teams.values() if user.is_leadership else [org().teams[t] for t in lead_teams(user)]
    return render_template("dashboard.html", user=user, s=summary, args=args, periods=PERIODS,
                           teams=sorted(visible, key=lambda t: t.name), chart=_charts(summary),
                           query=request.query_string.decode(), root_causes=org().root_causes,
                           people=org().users)


@pages.get("/dashboard/export.csv")
@require(*VIEWERS, page=True)
def export() -> Response:
    """One of the dashboard's tables as CSV."""
    table = request.args.get("table", "")
    if table not in EXPORTS:
        raise Problem(422, "Unprocessable Content", "Unknown table.",
                      errors={"table": [f"One of: {', '.join(EXPORTS)}."]})
    summary = _summary({k: request.args.get(k) for k in ("period", "from", "to", "team")})
    rows = _table(summary, table)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORTS[table], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows({k: _cell(r.get(k)) for k in EXPORTS[table]} for r in rows)
    stamp = summary["window"]["from"][:10] + "_" + summary["window"]["to"][:10]
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="closeloop-{table}-{stamp}.csv"'})


def _table(summary: dict[str, Any], table: str) -> list[dict[str, Any]]:
    if table == "attention":
        return summary["attention"]
    if table == "days":
        return summary["compliance_by_day"]
    if table == "nps_by_touchpoint":
        return summary["nps_by_touchpoint"]
    return summary["breakdowns"][table]


def _cell(value: Any) -> Any:
    """Keep spreadsheet programs from running a cell that starts like a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _charts(s: dict[str, Any]) -> dict[str, Any]:
    causes = sorted((r for r in s["breakdowns"]["root_cause"] if r["key"] is not None and r["resolved"]),
                    key=lambda r: -r["resolved"])
    dist = s["time_to_resolve_distribution"]
    over = next((i for i, b in enumerate(dist) if b["bucket"].startswith("24")), None)
    return {
        "compliance": charts.compliance_line("SLA compliance per day", [
            (d["day"], d["resolved_within_sla_percent"], d["resolved"]) for d in s["compliance_by_day"]]),
        "distribution": charts.bars("Time to resolve", [(b["bucket"], b["count"]) for b in dist],
                                    highlight_from=over),
        "pareto": charts.bars("Root causes of resolved tickets", [(r["label"], r["resolved"]) for r in causes],
                              cumulative=True),
        "nps_trend": charts.trend("NPS over time", [(d["day"], d["nps"], d["responses"]) for d in s["nps_by_day"]]),
        "nps": charts.diverging("NPS by touchpoint", [(r["touchpoint"], r["nps"], r["responses"])
                                                      for r in s["nps_by_touchpoint"]]),
        "kinds": charts.split("Praise and complaints", [
            ("Praise", s["feedback"]["praise"], charts.GOOD), ("Neutral", s["feedback"]["neutral"], charts.MUTED),
            ("Complaints", s["feedback"]["complaint"], charts.BAD)]),
    }


# Flask's own nesting: the pages ride on the API blueprint (one registration) but stay out of OpenAPI.
PageBlueprint.register_blueprint(blp, pages)
blp.record_once(metrics.install)  # the SLA gauges and counters on /metrics
