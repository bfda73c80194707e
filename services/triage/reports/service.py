"""Leadership's numbers: is the 24-hour promise kept, and where do customers suffer.

``summary`` answers ``GET /api/v1/sla/summary`` and feeds the dashboard; ``make bench`` calls it
on a large history. Two kinds of figures, both filtered by team when one is given:

- *now*: tickets still open (any age), and how many of those are at risk or breached;
- *in the window* ``[start, end)``: tickets resolved (by ``resolved_at``), within SLA or not, time
  to acknowledge (by ``acknowledged_at``) and to resolve, per day, by root cause; and the
  feedback received (NPS, CSAT, CES, praise vs complaints), of a team when its ticket is the
  team's, or (praise) when routing names the team.

The grouped rows come from ``aggregates``: tables kept by database triggers for whole UTC days
and the open set, plus the partial days at the window's edges from the tickets themselves, so
the cost grows with the number of days and keys, not with the number of tickets. Times are
seconds from ``received_at`` (when the SLA clock starts). p90 is the nearest-rank percentile
(the smallest value with at least 90% of the values at or below it), given to the whole minute
below it; means are exact.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.triage.reports import aggregates
from services.triage.reports.aggregates import RESOLVE_BUCKETS_HOURS, Resolved
from services.triage.reports.scores import feedback_scores
from services.triage.rootcause import spikes
from services.triage.routing.models import Assignee
from services.triage.tickets.models import ACTIVE, Ticket
from shared.org import Org

DIMENSIONS = ("team", "owner", "touchpoint", "priority", "root_cause")


def summary(session: Session, *, now: datetime, start: datetime, end: datetime, team: str | None = None,
            org: Org | None = None, exact: bool = False) -> dict[str, Any]:
    """Everything leadership sees for the window ``[start, end)``, optionally for one team.

    ``exact=True`` reads every figure from the tickets and feedback themselves instead of the
    aggregate tables: slower, and what the aggregates are checked against.
    """
    window = aggregates.split(start, end, exact=exact)
    snapshot = (aggregates.open_rows_exact if exact else aggregates.open_rows)(session, team)
    resolved = aggregates.resolved_rows(session, window, team)
    totals = _rollup(snapshot, resolved, None)[0]
    return {
        "window": {"from": start.isoformat(), "to": end.isoformat()}, "team": team,
        "generated_at": now.isoformat(),
        "open": totals["open"], "at_risk": totals["at_risk"], "breached_open": totals["breached_open"],
        "resolved": totals["resolved"], "resolved_within_sla": totals["resolved_within_sla"],
        "resolved_within_sla_percent": totals["resolved_within_sla_percent"],
        "promise_kept_percent": totals["promise_kept_percent"],
        "headline": headline(totals),
        "time_to_acknowledge_seconds": _stats(aggregates.time_rows(session, "ack", window, team)),
        "time_to_resolve_seconds": _stats(aggregates.time_rows(session, "resolve", window, team)),
        "breakdowns": {name: _labelled(name, _rollup(snapshot, resolved, name), org) for name in DIMENSIONS},
        "compliance_by_day": _by_day(resolved),
        "time_to_resolve_distribution": _distribution(resolved),
        "detractor_recovery": _detractor_recovery(resolved),
        **feedback_scores(aggregates.feedback_rows(session, window, team)),
        "spikes": active_spikes(session, now, org, team),
        "over_capacity": over_capacity(session, org, team),
    }


def headline(totals: dict[str, Any]) -> dict[str, Any]:
    """One line answering "is the promise holding?" from both sides of it: the tickets resolved in the
    window (within their SLA or not) and the breached tickets still open now."""
    kept, breached = totals["resolved_within_sla"], totals["breached_open"]
    decided = totals["resolved"] + breached
    percent = totals["promise_kept_percent"]
    if not decided:
        return {"state": "none", "text": "No ticket has come due yet: nothing to say about the promise."}
    still_open = (f"{breached} breached ticket{'s' if breached != 1 else ''} still open" if breached
                  else "none breached and still open")
    figures = f"{percent:g}% of tickets kept it ({kept} of {decided}), {still_open}"
    if percent >= 95 and not breached:
        return {"state": "holding", "text": f"The promise is holding: {figures}."}
    if percent >= 80:
        return {"state": "slipping", "text": f"The promise is slipping: {figures}."}
    return {"state": "broken", "text": f"The promise is not holding: {figures}."}


def over_capacity(session: Session, org: Org | None, team: str | None) -> list[dict[str, Any]]:
    """Members holding more open tickets than their ``max_open`` (everyone was full), most over first."""
    if org is None:
        return []
    query = select(Assignee)
    if team is not None:
        query = query.where(Assignee.team == team)
    rows = []
    for member in session.scalars(query):
        user = org.users.get(member.user_id)
        if user is not None and user.max_open is not None and member.open_tickets > user.max_open:
            rows.append({"id": user.id, "name": user.name, "team": member.team, "open_tickets": member.open_tickets,
                         "max_open": user.max_open, "over": member.open_tickets - user.max_open})
    return sorted(rows, key=lambda r: (-r["over"], r["name"]))


def active_spikes(session: Session, now: datetime, org: Org | None, team: str | None = None) -> list[dict[str, Any]]:
    """Root causes repeating on one touchpoint right now (of ``team``: spikes with tickets of the team)."""
    return spikes.active_spikes(session, now, org, team=team)


def attention_tickets(session: Session, *, team: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Open tickets that are breached or at risk, most overdue first (the dashboard's action list)."""
    query = select(Ticket).where(Ticket.status.in_(ACTIVE), Ticket.sla_state.in_(("breached", "at_risk")))
    if team is not None:
        query = query.where(Ticket.team == team)
    rows = session.scalars(query.order_by(Ticket.due_at, Ticket.id).limit(limit))
    return [{"id": t.id, "priority": t.priority, "sla_state": t.sla_state, "status": t.status, "team": t.team,
             "owner": t.owner_id, "touchpoint": t.touchpoint, "received_at": t.received_at.isoformat(),
             "due_at": t.due_at.isoformat(), "escalation_level": t.escalation_level} for t in rows]


def _rollup(snapshot: Sequence[Any], resolved: Sequence[Resolved], by: str | None) -> list[dict[str, Any]]:
    """Sum the grouped rows up to the ``by`` dimension (``None`` for the totals)."""
    index = DIMENSIONS.index(by) if by else None
    rows: dict[Any, dict[str, Any]] = {}

    def row(key: Any) -> dict[str, Any]:
        return rows.setdefault(key, {"key": key, "open": 0, "at_risk": 0, "breached_open": 0,
                                     "resolved": 0, "resolved_within_sla": 0, "_resolve_total": 0.0})

    for source in snapshot:
        target, state, count = row(None if index is None else source[index]), source[-2], int(source[-1])
        target["open"] += count
        target["at_risk"] += count if state == "at_risk" else 0
        target["breached_open"] += count if state == "breached" else 0
    for item in resolved:
        target = row(None if by is None else item.key(by))
        target["resolved"] += item.n
        target["resolved_within_sla"] += item.within_sla
        target["_resolve_total"] += item.seconds
    if not rows and by is None:  # the totals are zeros; a breakdown of nothing has no rows
        row(None)
    result = []
    for entry in rows.values():
        total = entry.pop("_resolve_total")
        entry["resolved_within_sla_percent"] = _percent(entry["resolved_within_sla"], entry["resolved"])
        # the promise on both sides: kept = resolved within SLA; broken = resolved late or breached and still open
        decided = entry["resolved"] + entry["breached_open"]
        entry["promise_kept_percent"] = _percent(entry["resolved_within_sla"], decided)
        entry["mean_time_to_resolve_seconds"] = round(total / entry["resolved"], 1) if entry["resolved"] else None
        result.append(entry)
    return sorted(result, key=lambda r: (-r["open"] - r["resolved"], str(r["key"])))


def _labelled(name: str, rows: list[dict[str, Any]], org: Org | None) -> list[dict[str, Any]]:
    for item in rows:
        item["label"] = _label(name, item["key"], org)
    return rows


def _label(name: str, key: str | None, org: Org | None) -> str:
    if key is None:
        return "not yet known" if name == "root_cause" else "none"
    if org is not None:
        if name == "team" and key in org.teams:
            return org.teams[key].name
        if name == "owner" and key in org.users:
            return org.users[key].name
        if name == "root_cause" and key in org.root_causes:
            return org.root_causes[key].label
    return key


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _stats(rows: Iterable[tuple[int, int, float]]) -> dict[str, Any]:
    """Count, mean and nearest-rank p90 (to the whole minute) of ``(minute, count, seconds)`` rows."""
    minutes: dict[int, int] = defaultdict(int)
    total = 0.0
    for minute, count, seconds in rows:
        minutes[minute] += count
        total += seconds
    count = sum(minutes.values())
    if not count:
        return {"count": 0, "mean": None, "p90": None}
    rank, seen, p90 = math.ceil(0.9 * count), 0, None
    for minute in sorted(minutes):
        seen += minutes[minute]
        if seen >= rank:
            p90 = float(minute * 60)
            break
    return {"count": count, "mean": round(total / count, 1), "p90": p90}


def _by_day(resolved: Iterable[Resolved]) -> list[dict[str, Any]]:
    """Per UTC day of resolution: resolved, within SLA, and the percentage."""
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in resolved:
        days[item.day][0] += item.n
        days[item.day][1] += item.within_sla
    return [{"day": day, "resolved": n, "resolved_within_sla": within,
             "resolved_within_sla_percent": _percent(within, n)}
            for day, (n, within) in sorted(days.items()) if n]


def _distribution(resolved: Iterable[Resolved]) -> list[dict[str, Any]]:
    """How many resolved tickets took how long, in buckets of hours."""
    edges = RESOLVE_BUCKETS_HOURS
    counts: dict[int, int] = defaultdict(int)
    for item in resolved:
        counts[item.bucket] += item.n
    labels = [f"< {edges[0]} h"] + [f"{a}-{b} h" for a, b in zip(edges, edges[1:], strict=False)]
    labels.append(f"> {edges[-1]} h")
    return [{"bucket": label, "count": counts.get(i, 0)} for i, label in enumerate(labels)]


def _detractor_recovery(resolved: Iterable[Resolved]) -> dict[str, Any]:
    """Of the resolved tickets from NPS detractors (0-6), how many customers answered "fixed"."""
    items = list(resolved)
    count = sum(i.detractors for i in items)
    answered = sum(i.detractors_answered for i in items)
    fixed = sum(i.detractors_fixed for i in items)
    return {"resolved_detractors": count, "answered": answered, "fixed": fixed,
            "recovered_percent": _percent(fixed, count)}
