"""The SLA summary's grouped rows: from the aggregate tables for whole hours, from the tickets for the rest.

A window ``[start, end)`` is split into whole UTC hours, read from the tables that triggers keep
(``report_models``), and at most two partial hours at its edges, computed from ``tickets`` and
``feedback`` with the very expressions the triggers use. Both give rows of the same shape, so the
summary can add them up; ``exact=True`` computes the whole window from the base tables, which is
what the aggregates are tested against. ``compact`` folds the delta rows into one row per key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, and_, case, func, or_, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from services.triage.reports.models import FeedbackHourly, OpenTicketCount, ResolvedHourly, TimeHourly
from services.triage.tickets.models import ACTIVE, Feedback, Ticket

OPEN_KEYS = ("team", "owner_id", "touchpoint", "priority", "root_cause")
# upper edges in hours of the time-to-resolve distribution; the last bucket is open-ended (migration 0005)
RESOLVE_BUCKETS_HOURS = (1, 4, 8, 16, 24, 48, 72)
TABLES = (OpenTicketCount, ResolvedHourly, TimeHourly, FeedbackHourly)


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


class whole_minutes(FunctionElement[int]):
    """Seconds rounded to the whole second, then whole minutes (truncated), as the triggers store them."""

    type = Integer()
    name = "whole_minutes"
    inherit_cache = True


@compiles(whole_minutes, "sqlite")
def _minutes_sqlite(element: whole_minutes, compiler: Any, **kw: Any) -> str:
    return f"(CAST(round({compiler.process(element.clauses, **kw)}) AS INTEGER) / 60)"


@compiles(whole_minutes)
def _minutes_postgresql(element: whole_minutes, compiler: Any, **kw: Any) -> str:
    return f"(round({compiler.process(element.clauses, **kw)})::bigint / 60)"


@dataclass(frozen=True)
class Resolved:
    """Tickets resolved on one day with the same team, owner, touchpoint, priority, cause and bucket."""

    day: str
    team: str
    owner_id: str
    touchpoint: str | None
    priority: str
    root_cause: str | None
    bucket: int
    n: int
    within_sla: int
    seconds: float
    detractors: int
    detractors_answered: int
    detractors_fixed: int

    def key(self, dimension: str) -> Any:
        return getattr(self, "owner_id" if dimension == "owner" else dimension)


@dataclass(frozen=True)
class Window:
    """``[start, end)`` as whole hours read from the aggregates plus the partial edges read raw."""

    hours: tuple[datetime, datetime] | None
    edges: tuple[tuple[datetime, datetime], ...]


def split(start: datetime, end: datetime, *, exact: bool = False) -> Window:
    """Cut ``[start, end)`` into whole UTC hours ``[first, last)`` and the partial hours around them."""
    if exact or end <= start:
        return Window(None, ((start, end),) if end > start else ())
    last = end.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if first < start:
        first += timedelta(hours=1)
    if first >= last:
        return Window(None, ((start, end),))
    edges = tuple((a, b) for a, b in ((start, first), (last, end)) if a < b)
    return Window((first, last), edges)


def _in_edges(column: Any, window: Window) -> ColumnElement[bool]:
    return or_(*(and_(column >= a, column < b) for a, b in window.edges))


def open_rows(session: Session, team: str | None) -> list[tuple[Any, ...]]:
    """Open tickets now: ``(team, owner, touchpoint, priority, root_cause, sla_state, count)``."""
    keys = [getattr(OpenTicketCount, k) for k in OPEN_KEYS] + [OpenTicketCount.sla_state]
    query = select(*keys, func.sum(OpenTicketCount.n)).group_by(*keys).having(func.sum(OpenTicketCount.n) != 0)
    if team is not None:
        query = query.where(OpenTicketCount.team == team)
    return [tuple(row) for row in session.execute(query)]


def open_rows_exact(session: Session, team: str | None) -> list[tuple[Any, ...]]:
    """The same from the tickets themselves."""
    keys = [getattr(Ticket, k) for k in OPEN_KEYS] + [Ticket.sla_state]
    query = select(*keys, func.count()).where(Ticket.status.in_(ACTIVE)).group_by(*keys)
    if team is not None:
        query = query.where(Ticket.team == team)
    return [tuple(row) for row in session.execute(query)]


def resolved_rows(session: Session, window: Window, team: str | None) -> list[Resolved]:
    """Tickets resolved in the window, grouped by day, every dimension and time-to-resolve bucket."""
    rows: list[Resolved] = []
    if window.hours is not None:
        r = ResolvedHourly
        keys = [func.date(r.hour), r.team, r.owner_id, r.touchpoint, r.priority, r.root_cause, r.bucket]
        query = (select(*keys, *(func.sum(c) for c in (r.n, r.within_sla, r.seconds, r.detractors,
                                                       r.detractors_answered, r.detractors_fixed)))
                 .where(r.hour >= window.hours[0], r.hour < window.hours[1]).group_by(*keys)
                 .having(func.sum(r.n) != 0))
        if team is not None:
            query = query.where(r.team == team)
        rows += [_resolved(row) for row in session.execute(query)]
    if window.edges:
        t = Ticket
        secs = seconds_between(t.received_at, t.resolved_at)
        detractor = case((and_(Feedback.metric == "nps", Feedback.score <= 6), 1), else_=0)
        bucket = case(*[(secs < hours * 3600, i) for i, hours in enumerate(RESOLVE_BUCKETS_HOURS)],
                      else_=len(RESOLVE_BUCKETS_HOURS))
        keys = [func.date(t.resolved_at), t.team, t.owner_id, t.touchpoint, t.priority, t.root_cause, bucket]
        query = (select(*keys, func.count(), func.sum(case((t.resolved_at <= t.due_at, 1), else_=0)), func.sum(secs),
                        func.sum(detractor),
                        func.sum(detractor * case((t.customer_answer.isnot(None), 1), else_=0)),
                        func.sum(detractor * case((t.customer_answer == "fixed", 1), else_=0)))
                 .select_from(t).outerjoin(Feedback, Feedback.id == t.feedback_id)
                 .where(_in_edges(t.resolved_at, window)).group_by(*keys))
        if team is not None:
            query = query.where(t.team == team)
        rows += [_resolved(row) for row in session.execute(query)]
    return rows


def _resolved(row: Any) -> Resolved:
    day, team, owner, touchpoint, priority, cause, bucket, n, within, seconds, det, answered, fixed = row
    return Resolved(str(day), team, owner, touchpoint, priority, cause, int(bucket), int(n), int(within or 0),
                    float(seconds or 0), int(det or 0), int(answered or 0), int(fixed or 0))


def time_rows(session: Session, measure: str, window: Window, team: str | None) -> list[tuple[int, int, float]]:
    """``(whole minutes, count, summed seconds)`` of time to ``ack`` or ``resolve`` in the window."""
    rows: list[tuple[int, int, float]] = []
    if window.hours is not None:
        d = TimeHourly
        query = (select(d.minute, func.sum(d.n), func.sum(d.seconds))
                 .where(d.measure == measure, d.hour >= window.hours[0], d.hour < window.hours[1])
                 .group_by(d.minute).having(func.sum(d.n) != 0))
        if team is not None:
            query = query.where(d.team == team)
        rows += [(int(m), int(n), float(s or 0)) for m, n, s in session.execute(query)]
    if window.edges:
        column = Ticket.acknowledged_at if measure == "ack" else Ticket.resolved_at
        secs = seconds_between(Ticket.received_at, column)
        minute = whole_minutes(secs)
        query = (select(minute, func.count(), func.sum(secs))
                 .where(_in_edges(column, window), column.isnot(None)).group_by(minute))
        if team is not None:
            query = query.where(Ticket.team == team)
        rows += [(int(m), int(n), float(s or 0)) for m, n, s in session.execute(query)]
    return rows


def feedback_rows(session: Session, window: Window, team: str | None = None) -> list[tuple[Any, ...]]:
    """``(day, metric, score, rating, touchpoint, kind, count)`` of feedback received in the window
    (of ``team``: the team of its ticket, or the one routing named for praise)."""
    rows: list[tuple[Any, ...]] = []
    if window.hours is not None:
        f = FeedbackHourly
        keys = [func.date(f.hour), f.metric, f.score, f.rating, f.touchpoint, f.kind]
        query = (select(*keys, func.sum(f.n)).where(f.hour >= window.hours[0], f.hour < window.hours[1])
                 .group_by(*keys).having(func.sum(f.n) != 0))
        if team is not None:
            query = query.where(f.team == team)
        rows += [(str(day), *rest) for day, *rest in session.execute(query)]
    if window.edges:
        keys = [func.date(Feedback.received_at), Feedback.metric, Feedback.score, Feedback.rating,
                Feedback.touchpoint, Feedback.kind]
        query = (select(*keys, func.count())
                 .where(_in_edges(Feedback.received_at, window), Feedback.in_reply_to.is_(None)).group_by(*keys))
        if team is not None:
            query = query.where(Feedback.team == team)
        rows += [(str(day), *rest) for day, *rest in session.execute(query)]
    return rows


MEASURES = ("n", "within_sla", "seconds", "detractors", "detractors_answered", "detractors_fixed")


def compact(session: Session, since: dict[str, int] | None = None) -> tuple[int, dict[str, int]]:
    """Fold delta rows into one row per key; return how many rows went and each table's new mark.

    Only keys with a row above ``since[table]`` (an id mark from an earlier run) are folded, so
    a run costs what changed since then, not the whole history; no ``since`` folds everything.
    Runs in the caller's transaction. On PostgreSQL each table is folded by one statement, so
    rows other transactions commit meanwhile are either folded or left for a later run, never
    lost (a transaction still open when a mark is taken has its rows folded by a later run that
    is given an older mark, or by the next full run); on SQLite the transaction holds the only
    write lock.
    """
    since = since or {}
    folded, marks = 0, {}
    postgresql = session.get_bind().dialect.name == "postgresql"
    for table in TABLES:
        name = table.__tablename__
        columns = [c for c in table.__table__.columns if c.name != "id"]
        measures = [c.name for c in columns if c.name in MEASURES]
        keys = [c.name for c in columns if c.name not in MEASURES]
        nullable = {c.name for c in columns if c.nullable}
        key_list, sums = ", ".join(keys), ", ".join(f"sum({m})" for m in measures)
        cols = ", ".join(keys + measures)
        same = "IS NOT DISTINCT FROM" if postgresql else "IS"
        match = " AND ".join(f"t.{k} {same if k in nullable else '='} touched.{k}" for k in keys)
        params = {"since": since.get(name, 0)}
        if postgresql:
            gone, kept, top = session.execute(text(
                f"WITH touched AS (SELECT DISTINCT {key_list} FROM {name} WHERE id > :since), "
                f"gone AS (DELETE FROM {name} t USING touched WHERE {match} "
                f"RETURNING {', '.join('t.' + c for c in keys + measures)}), "
                f"kept AS (INSERT INTO {name} ({cols}) SELECT {key_list}, {sums} FROM gone GROUP BY {key_list} "
                f"HAVING sum(n) <> 0 RETURNING id) "
                f"SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM kept), "
                f"GREATEST((SELECT max(id) FROM kept), (SELECT max(id) FROM {name}))"),  # newest row seen or made
                params).one()
        else:
            top = session.scalar(select(func.max(table.id))) or 0
            params["top"] = top
            touched = (f"EXISTS (SELECT 1 FROM (SELECT DISTINCT {key_list} FROM {name} "
                       f"WHERE id > :since AND id <= :top) AS touched WHERE {match})")
            if "hour" in keys:  # let the hour index narrow the rows looked at
                touched += f" AND t.hour IN (SELECT hour FROM {name} WHERE id > :since AND id <= :top)"
            kept = session.execute(text(  # type: ignore[attr-defined]  # a CursorResult
                f"INSERT INTO {name} ({cols}) SELECT {key_list}, {sums} FROM {name} t "
                f"WHERE id <= :top AND {touched} GROUP BY {key_list} HAVING sum(n) <> 0"), params).rowcount
            gone = session.execute(  # type: ignore[attr-defined]  # a CursorResult
                text(f"DELETE FROM {name} AS t WHERE id <= :top AND {touched}"), params).rowcount
            top = session.scalar(select(func.max(table.id))) or 0
        folded += int(gone or 0) - int(kept or 0)
        marks[name] = int(top or 0)
    return folded, marks
