"""Who owns a problem: the first routing rule that matches picks the team, load picks the person."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
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


def pick_owner(session: Session, team: str, now: datetime, *, exclude: str | None = None) -> Assignee:
    """The available member of ``team`` with the fewest open tickets; ties go round-robin."""
    query = (
        select(Assignee)
        .where(Assignee.team == team, Assignee.available.is_(True))
        .order_by(Assignee.open_tickets, Assignee.last_assigned_at.is_not(None), Assignee.last_assigned_at,
                  Assignee.user_id)
        .limit(2)
    )
    candidates = [a for a in session.scalars(query) if a.user_id != exclude]
    if not candidates:
        raise NoOwnerAvailable(team)
    chosen = candidates[0]
    add_load(session, chosen.user_id, 1, now=now)
    return chosen


def add_load(session: Session, user_id: str, delta: int, *, now: datetime | None = None) -> None:
    """Change a member's open-ticket count in SQL (no lost update when consumers run side by side)."""
    values: dict[str, Any] = {"open_tickets": Assignee.open_tickets + delta}
    if now is not None:
        values["last_assigned_at"] = now
    session.execute(update(Assignee).where(Assignee.user_id == user_id).values(**values))
