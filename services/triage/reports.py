"""Leadership's numbers: is the 24-hour promise kept, and where do customers suffer.

``summary`` answers ``GET /api/v1/sla/summary`` and feeds the dashboard; ``make bench`` calls it
on a large history. Two kinds of figures, both filtered by team when one is given:

- *now*: tickets still open (any age), and how many of those are at risk or breached;
- *in the window* ``[start, end)``: tickets resolved (by ``resolved_at``), within SLA or not, time
  to acknowledge (by ``acknowledged_at``) and to resolve, per day, by root cause; and the
  feedback received (NPS, CSAT, CES, praise vs complaints). Feedback has no team (praise opens
  no ticket), so scores are organisation-wide.

Every query is a grouped aggregate over an indexed range (``ix_tickets_resolved_at``,
``ix_tickets_acknowledged_at``, the status index, ``feedback.received_at``), so the cost grows
with the window, not with the history. Times are seconds from ``received_at`` (when the SLA
clock starts). p90 is the nearest-rank percentile: the smallest value with at least 90% of the
values at or below it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Float, and_, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from services.triage import queries, report_models  # noqa: F401  (attaches the indexes)
from services.triage.models import Feedback, Ticket
from services.triage.report_scores import feedback_scores
from shared.org import Org

ACTIVE = ("open", "acknowledged")
DIMENSIONS = {"team": Ticket.team, "owner": Ticket.owner_id, "touchpoint": Ticket.touchpoint,
              "priority": Ticket.priority, "root_cause": Ticket.root_cause}
# upper edges in hours of the time-to-resolve distribution; the last bucket is open-ended
RESOLVE_BUCKETS_HOURS = (1, 4, 8, 16, 24, 48, 72)


class seconds_between(FunctionElement[float]):
    """``end - start`` in seconds, in SQL, on SQLite and PostgreSQL."""

    type = Float()
    name = "seconds_between"
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between)
def _seconds_postgresql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({end} - {start}))"


def summary(session: Session, *, now: datetime, start: datetime, end: datetime, team: str | None = None,
            org: Org | None = None) -> dict[str, Any]:
    """Everything leadership sees for the window ``[start, end)``, optionally for one team."""
    snapshot = _snapshot(session, team)
    flow = _resolved_flow(session, start, end, team)
    resolve_seconds = seconds_between(Ticket.received_at, Ticket.resolved_at)
    ack_seconds = seconds_between(Ticket.received_at, Ticket.acknowledged_at)
    in_window = _window(Ticket.resolved_at, start, end, team)
    acked = _window(Ticket.acknowledged_at, start, end, team)
    totals = _rollup(snapshot, flow, ())[0]
    return {
        "window": {"from": start.isoformat(), "to": end.isoformat()}, "team": team,
        "generated_at": now.isoformat(),
        "open": totals["open"], "at_risk": totals["at_risk"], "breached_open": totals["breached_open"],
        "resolved": totals["resolved"], "resolved_within_sla": totals["resolved_within_sla"],
        "resolved_within_sla_percent": totals["resolved_within_sla_percent"],
        "time_to_acknowledge_seconds": _stats(session, ack_seconds, acked),
        "time_to_resolve_seconds": _stats(session, resolve_seconds, in_window),
        "breakdowns": {name: _labelled(name, _rollup(snapshot, flow, (name,)), org) for name in DIMENSIONS},
        "compliance_by_day": _by_day(session, in_window),
        "time_to_resolve_distribution": _distribution(session, resolve_seconds, in_window),
        "detractor_recovery": _detractor_recovery(session, in_window),
        **feedback_scores(session, start=start, end=end),
        "spikes": active_spikes(session, now, org),
    }


def active_spikes(session: Session, now: datetime, org: Org | None) -> list[dict[str, Any]]:
    """Root causes repeating on one touchpoint right now; organisation-wide, as a touchpoint is."""
    return queries.active_spikes(session, now, org)


def attention_tickets(session: Session, *, team: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Open tickets that are breached or at risk, most overdue first (the dashboard's action list)."""
    query = select(Ticket).where(Ticket.status.in_(ACTIVE), Ticket.sla_state.in_(("breached", "at_risk")))
    if team is not None:
        query = query.where(Ticket.team == team)
    rows = session.scalars(query.order_by(Ticket.due_at, Ticket.id).limit(limit))
    return [{"id": t.id, "priority": t.priority, "sla_state": t.sla_state, "status": t.status, "team": t.team,
             "owner": t.owner_id, "touchpoint": t.touchpoint, "received_at": t.received_at.isoformat(),
             "due_at": t.due_at.isoformat(), "escalation_level": t.escalation_level} for t in rows]


def _window(column: Any, start: datetime, end: datetime, team: str | None) -> list[ColumnElement[bool]]:
    where = [column >= start, column < end]
    if team is not None:
        where.append(Ticket.team == team)
    return where


def _snapshot(session: Session, team: str | None) -> list[Any]:
    """Open tickets now, grouped by every dimension and SLA state (one pass over the open set)."""
    keys = list(DIMENSIONS.values())
    query = select(*keys, Ticket.sla_state, func.count()).where(Ticket.status.in_(ACTIVE))
    if team is not None:
        query = query.where(Ticket.team == team)
    return list(session.execute(query.group_by(*keys, Ticket.sla_state)))


def _resolved_flow(session: Session, start: datetime, end: datetime, team: str | None) -> list[Any]:
    """Tickets resolved in the window, grouped by every dimension (one pass over the window)."""
    keys = list(DIMENSIONS.values())
    within = func.sum(case((Ticket.resolved_at <= Ticket.due_at, 1), else_=0))
    resolve = func.sum(seconds_between(Ticket.received_at, Ticket.resolved_at))
    query = (select(*keys, func.count(), within, resolve)
             .where(*_window(Ticket.resolved_at, start, end, team)).group_by(*keys))
    return list(session.execute(query))


def _rollup(snapshot: Sequence[Any], flow: Sequence[Any], by: tuple[str, ...]) -> list[dict[str, Any]]:
    """Sum the grouped rows up to the ``by`` dimensions (``()`` for the totals)."""
    index = [list(DIMENSIONS).index(name) for name in by]
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}

    def row(source: Any) -> dict[str, Any]:
        key = tuple(source[i] for i in index)
        return rows.setdefault(key, {"key": key[0] if by else None, "open": 0, "at_risk": 0, "breached_open": 0,
                                     "resolved": 0, "resolved_within_sla": 0, "_resolve_total": 0.0})

    for source in snapshot:
        target, state, count = row(source), source[-2], source[-1]
        target["open"] += count
        target["at_risk"] += count if state == "at_risk" else 0
        target["breached_open"] += count if state == "breached" else 0
    for source in flow:
        target = row(source)
        target["resolved"] += source[-3]
        target["resolved_within_sla"] += int(source[-2] or 0)
        target["_resolve_total"] += float(source[-1] or 0)
    if not rows:
        row([None] * len(DIMENSIONS))
    result = []
    for item in rows.values():
        total = item.pop("_resolve_total")
        item["resolved_within_sla_percent"] = _percent(item["resolved_within_sla"], item["resolved"])
        item["mean_time_to_resolve_seconds"] = round(total / item["resolved"], 1) if item["resolved"] else None
        result.append(item)
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


def _stats(session: Session, seconds: Any, where: list[ColumnElement[bool]]) -> dict[str, Any]:
    """Count, mean and nearest-rank p90 of ``seconds`` over the rows matching ``where``."""
    where = [*where, seconds.isnot(None)]
    if session.get_bind().dialect.name == "postgresql":  # one pass; percentile_disc is the nearest rank
        count, mean, p90 = session.execute(select(func.count(seconds), func.avg(seconds),
                                                  func.percentile_disc(0.9).within_group(seconds)).where(*where)).one()
        return {"count": count, "mean": None if mean is None else round(float(mean), 1),
                "p90": None if p90 is None else round(float(p90), 1)}
    count, mean = session.execute(select(func.count(seconds), func.avg(seconds)).where(*where)).one()
    p90 = None
    if count:
        rank = math.ceil(0.9 * count)
        p90 = session.scalar(select(seconds).where(*where).order_by(seconds)
                             .offset(rank - 1).limit(1))
    return {"count": count, "mean": None if mean is None else round(float(mean), 1),
            "p90": None if p90 is None else round(float(p90), 1)}


def _by_day(session: Session, where: list[ColumnElement[bool]]) -> list[dict[str, Any]]:
    """Per UTC day of resolution: resolved, within SLA, and the percentage."""
    day = func.date(Ticket.resolved_at)
    within = func.sum(case((Ticket.resolved_at <= Ticket.due_at, 1), else_=0))
    rows = session.execute(select(day, func.count(), within).where(*where).group_by(day).order_by(day))
    return [{"day": str(d), "resolved": n, "resolved_within_sla": int(w or 0),
             "resolved_within_sla_percent": _percent(int(w or 0), n)} for d, n, w in rows]


def _distribution(session: Session, seconds: Any, where: list[ColumnElement[bool]]) -> list[dict[str, Any]]:
    """How many resolved tickets took how long, in buckets of hours."""
    edges = RESOLVE_BUCKETS_HOURS
    bucket = case(*[(seconds < hours * 3600, i) for i, hours in enumerate(edges)], else_=len(edges))
    rows = session.execute(select(bucket, func.count()).where(*where).group_by(bucket))
    counts: dict[int, int] = {b: n for b, n in rows}
    labels = [f"< {edges[0]} h"] + [f"{a}-{b} h" for a, b in zip(edges, edges[1:], strict=False)]
    labels.append(f"> {edges[-1]} h")
    return [{"bucket": label, "count": counts.get(i, 0)} for i, label in enumerate(labels)]


def _detractor_recovery(session: Session, where: list[ColumnElement[bool]]) -> dict[str, Any]:
    """Of the resolved tickets from NPS detractors (0-6), how many customers answered "fixed"."""
    detractor = and_(Feedback.metric == "nps", Feedback.score <= 6)
    fixed = func.sum(case((Ticket.customer_answer == "fixed", 1), else_=0))
    answered = func.count(Ticket.customer_answer)
    resolved, n_answered, n_fixed = session.execute(
        select(func.count(), answered, fixed).select_from(Ticket).join(Feedback, Feedback.id == Ticket.feedback_id)
        .where(*where, detractor)).one()
    n_fixed = int(n_fixed or 0)
    return {"resolved_detractors": resolved, "answered": n_answered, "fixed": n_fixed,
            "recovered_percent": _percent(n_fixed, resolved)}
