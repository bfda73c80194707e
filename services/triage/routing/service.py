"""Who owns a problem: the first routing rule that matches picks the team, load picks the person.

Also members' availability: an unavailable member's open tickets go to teammates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.triage.context import Context
from services.triage.errors import NotAllowed, TicketConflict
from services.triage.routing.models import Assignee
from services.triage.sla import service as sla
from services.triage.tickets.events import record
from services.triage.tickets.models import ACTIVE, Ticket
from services.triage.unit_of_work import Candidate, UnitOfWork
from shared import events
from shared.org import Org, RoutingRule, User


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


def team_load(uow: UnitOfWork, team: str) -> list[Candidate]:
    """The team's available members with their load, read once per unit of work and kept in step by it.

    A consumer batch of hundreds of tickets then picks owners without one query (and one flush)
    per ticket. Counts in the database are still changed atomically in SQL, so replicas running
    side by side stay exact.
    """
    if team not in uow.team_load:
        rows = uow.session.execute(select(Assignee.user_id, Assignee.team, Assignee.open_tickets,
                                          Assignee.last_assigned_at)
                                   .where(Assignee.team == team, Assignee.available.is_(True)))
        uow.team_load[team] = [Candidate(*row) for row in rows]
    return uow.team_load[team]


def pick_owner(uow: UnitOfWork, team: str, now: datetime, *, exclude: str | None = None) -> Candidate:
    """The available member of ``team`` with the fewest open tickets; ties go round-robin."""
    candidates = [c for c in team_load(uow, team) if c.user_id != exclude]
    if not candidates:
        raise NoOwnerAvailable(team)
    chosen = min(candidates, key=lambda c: (c.open_tickets, c.last_assigned_at is not None,
                                            c.last_assigned_at or now, c.user_id))
    uow.change_load(chosen.user_id, 1, now=now)
    return chosen


def pick(uow: UnitOfWork, team: str, now: datetime, *, ctx: Context, exclude: str | None) -> Candidate:
    """Someone else available in ``team``, else in the default team (409 if nobody is)."""
    try:
        return pick_owner(uow, team, now, exclude=exclude)
    except NoOwnerAvailable:
        try:
            return pick_owner(uow, default_team(ctx.org), now, exclude=exclude)
        except NoOwnerAvailable:
            raise TicketConflict(f"Nobody else in {team} or the default team is available.") from None


def handover(uow: UnitOfWork, ticket: Ticket, new_owner: Assignee | Candidate, now: datetime, *, ctx: Context,
             actor: str | None, reason: str) -> None:
    """Give ``ticket`` to ``new_owner`` (whose load the caller has counted) and record it."""
    previous = ticket.owner_id
    uow.change_load(previous, -1)
    ticket.owner_id, ticket.team = new_owner.user_id, new_owner.team
    if ticket.sla_state == sla.BREACHED:  # the new owner's chain may be longer or shorter
        ticket.next_check_at = sla.next_check(ticket.sla_state, warn=ticket.warn_at, due=ticket.due_at,
                                              escalation_level=ticket.escalation_level,
                                              chain_length=len(ctx.chain_for(ticket)),
                                              escalation_seconds=ctx.escalation_seconds)
    record(uow, ticket, events.TICKET_ASSIGNED, ctx.org, now, actor=actor,
           detail={"from": previous, "to": new_owner.user_id, "reason": reason}, previous_owner=previous,
           reason=reason)


def set_availability(uow: UnitOfWork, user_id: str, available: bool, now: datetime, *, ctx: Context,
                     actor: User) -> list[Ticket]:
    """Mark a member (un)available; an unavailable member's open tickets go to teammates. Returns those."""
    session = uow.session
    assignee = session.get(Assignee, user_id)
    if assignee is None:
        raise LookupError(user_id)
    allowed = actor.is_leadership or actor.id == user_id or (actor.role == "lead" and actor.team == assignee.team)
    if not allowed:
        raise NotAllowed("Only the member, their team's lead or leadership may change availability.")
    assignee.available = available
    uow.forget_load()
    moved: list[Ticket] = []
    if available:
        return moved
    session.flush()
    open_tickets = session.scalars(select(Ticket).where(Ticket.owner_id == user_id, Ticket.status.in_(ACTIVE))
                                   .order_by(Ticket.due_at))
    for ticket in list(open_tickets):
        new_owner = pick(uow, ticket.team, now, ctx=ctx, exclude=user_id)
        handover(uow, ticket, new_owner, now, ctx=ctx, actor=actor.id,
                 reason=f"{ctx.org.users[user_id].name if user_id in ctx.org.users else user_id} is unavailable")
        moved.append(ticket)
    return moved


def _member(assignee: Assignee, org: Org) -> dict[str, Any]:
    user = org.users.get(assignee.user_id)
    return {"id": assignee.user_id, "name": user.name if user else assignee.user_id, "team": assignee.team,
            "role": user.role if user else None, "available": assignee.available,
            "open_tickets": assignee.open_tickets}


def members(session: Session, org: Org, user: User) -> list[dict[str, Any]]:
    """Who can own tickets, with availability and load (the caller's team; leadership sees all)."""
    query = select(Assignee).order_by(Assignee.team, Assignee.user_id)
    if not user.is_leadership:
        query = query.where(Assignee.team == user.team)
    return [_member(a, org) for a in session.scalars(query)]


def member(session: Session, org: Org, user_id: str) -> dict[str, Any]:
    """One member's availability and load."""
    assignee = session.get(Assignee, user_id)
    assert assignee is not None
    return _member(assignee, org)
