"""Who owns a problem: the first routing rule that matches picks the team, load picks the person."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from services.triage.models import Assignee
from shared.org import Org, RoutingRule


class NoOwnerAvailable(Exception):
    """Nobody in the team (or the default team) can take a ticket."""


def rule_matches(rule: RoutingRule, facts: dict[str, Any]) -> bool:
    """Whether every condition of ``rule`` holds for ``facts``."""
    for key, expected in rule.when.items():
        if key == "keywords":
            text = (facts.get("text") or "").lower()
            if not any(word.lower() in text for word in expected):
                return False
        elif facts.get(key) != expected:
            return False
    return True


def choose_team(rules: Sequence[RoutingRule], facts: dict[str, Any], default_team: str) -> str:
    """The team of the first matching rule, else ``default_team``."""
    for rule in rules:
        if rule_matches(rule, facts):
            return rule.team
    return default_team


def default_team(org: Org) -> str:
    """The team of the catch-all rule, else the first team in the org file."""
    for rule in org.routing:
        if not rule.when:
            return rule.team
    return next(iter(org.teams))


OWNER_ROLES = ("employee", "lead")


def sync_assignees(session: Session, org: Org) -> None:
    """Make sure every employee and lead has an assignee row (availability kept); leadership owns none."""
    existing = {a.user_id: a for a in session.scalars(select(Assignee))}
    for user in org.users.values():
        if user.team is None or user.role not in OWNER_ROLES:
            continue
        row = existing.get(user.id)
        if row is None:
            session.add(Assignee(user_id=user.id, team=user.team, available=user.available, open_tickets=0))
        elif row.team != user.team:
            row.team = user.team


@dataclass
class Candidate:
    """A member who can own tickets, with the load this transaction knows of."""

    user_id: str
    team: str
    open_tickets: int
    last_assigned_at: datetime | None


_LOAD = "closeloop.triage.team_load"


def _team_load(session: Session, team: str) -> list[Candidate]:
    # Loaded once per transaction and kept in step by add_load(): a consumer batch of hundreds of
    # tickets then picks owners without one query (and one flush) per ticket. Counts in the
    # database are still changed atomically in SQL, so replicas running side by side stay exact.
    cache: dict[str, list[Candidate]] = session.info.setdefault(_LOAD, {})
    if team not in cache:
        rows = session.execute(select(Assignee.user_id, Assignee.team, Assignee.open_tickets,
                                      Assignee.last_assigned_at)
                               .where(Assignee.team == team, Assignee.available.is_(True)))
        cache[team] = [Candidate(*row) for row in rows]
    return cache[team]


def forget_load(session: Session) -> None:
    """Drop the transaction's view of members' load (after availability changes)."""
    session.info.pop(_LOAD, None)


def pick_owner(session: Session, team: str, now: datetime, *, exclude: str | None = None) -> Candidate:
    """The available member of ``team`` with the fewest open tickets; ties go round-robin."""
    candidates = [c for c in _team_load(session, team) if c.user_id != exclude]
    if not candidates:
        raise NoOwnerAvailable(team)
    chosen = min(candidates, key=lambda c: (c.open_tickets, c.last_assigned_at is not None,
                                            c.last_assigned_at or now, c.user_id))
    add_load(session, chosen.user_id, 1, now=now)
    return chosen


_DEFERRED = "closeloop.triage.deferred_load"


def defer_load(session: Session) -> None:
    """Keep members' load changes in memory until :func:`write_load` (a consumer batch's bulk write)."""
    session.info.setdefault(_DEFERRED, {})


def write_load(session: Session) -> None:
    """Apply the deferred load changes: one atomic UPDATE per member, in a fixed order."""
    deferred: dict[str, list[Any]] = session.info.pop(_DEFERRED, {})
    for user_id in sorted(deferred):
        delta, now = deferred[user_id]
        _update_load(session, user_id, delta, now)


def discard_load(session: Session) -> None:
    """Forget the deferred changes and the transaction's view of load (their messages were rolled back)."""
    session.info.pop(_DEFERRED, None)
    forget_load(session)


def add_load(session: Session, user_id: str, delta: int, *, now: datetime | None = None) -> None:
    """Change a member's open-ticket count in SQL (no lost update when consumers run side by side)."""
    deferred: dict[str, list[Any]] | None = session.info.get(_DEFERRED)
    if deferred is None:
        _update_load(session, user_id, delta, now)
    else:
        change = deferred.setdefault(user_id, [0, None])
        change[0] += delta
        if now is not None:
            change[1] = now
    for candidates in session.info.get(_LOAD, {}).values():
        for candidate in candidates:
            if candidate.user_id == user_id:
                candidate.open_tickets += delta
                if now is not None:
                    candidate.last_assigned_at = now


def _update_load(session: Session, user_id: str, delta: int, now: datetime | None) -> None:
    table = cast(Table, Assignee.__table__)
    values: dict[str, Any] = {"open_tickets": table.c.open_tickets + delta}
    if now is not None:
        values["last_assigned_at"] = now
    # a Core statement on the session's connection: no ORM bookkeeping, no flush of pending rows
    session.connection().execute(update(table).where(table.c.user_id == user_id).values(**values))
    for row in session.identity_map.values():
        if isinstance(row, Assignee) and row.user_id == user_id:
            session.expire(row, ["open_tickets", "last_assigned_at"])
