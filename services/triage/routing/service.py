"""Who owns a problem: the first routing rule that matches picks the team, load picks the person.

Also members' availability: an unavailable member's open tickets go to teammates.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.triage.context import Context
from services.triage.errors import NotAllowed, TicketConflict
from services.triage.routing.models import Assignee
from services.triage.sla import service as sla
from services.triage.tickets.events import record
from services.triage.tickets.models import ACTIVE, Feedback, Ticket
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


def _choose(candidates: Sequence[Candidate], org: Org, now: datetime) -> Candidate:
    """Who of ``candidates`` takes the next ticket.

    Members with room (below their ``max_open``, or with no limit) come first, and of those
    employees before leads: a lead answers frontline tickets only when no employee can. When
    everyone is full, the least loaded takes it (employees first on a tie). Ties go round-robin:
    the one who waited longest since their last ticket.
    """
    def is_lead(c: Candidate) -> bool:
        user = org.users.get(c.user_id)
        return user is not None and user.role != "employee"

    def has_room(c: Candidate) -> bool:
        user = org.users.get(c.user_id)
        return user is None or user.max_open is None or c.open_tickets < user.max_open

    def turn(c: Candidate) -> tuple[bool, datetime, str]:
        return c.last_assigned_at is not None, c.last_assigned_at or now, c.user_id

    with_room = [c for c in candidates if has_room(c)]
    if with_room:
        return min(with_room, key=lambda c: (is_lead(c), c.open_tickets, *turn(c)))
    return min(candidates, key=lambda c: (c.open_tickets, is_lead(c), *turn(c)))


def pick_owner(uow: UnitOfWork, team: str, now: datetime, *, org: Org, exclude: Collection[str] = ()) -> Candidate:
    """The available member of ``team`` who takes the next ticket (see :func:`_choose`), load counted."""
    candidates = [c for c in team_load(uow, team) if c.user_id not in exclude]
    if not candidates:
        raise NoOwnerAvailable(team)
    chosen = _choose(candidates, org, now)
    uow.change_load(chosen.user_id, 1, now=now)
    return chosen


def _leads_of(org: Org, user_ids: Collection[str]) -> list[str]:
    """The managers and team leads of ``user_ids`` (who answers a complaint about them)."""
    leads: list[str] = []
    for user_id in user_ids:
        user = org.users.get(user_id)
        if user is None:
            continue
        team = org.teams.get(user.team or "")
        for lead in (user.manager, team.lead if team else None):
            if lead and lead not in leads:
                leads.append(lead)
    return leads


def owner_for(uow: UnitOfWork, team: str, now: datetime, *, org: Org, named: Collection[str] = ()) -> Candidate:
    """The owner of a new ticket routed to ``team``: never someone its comment names, never nobody.

    In order: an available member of ``team`` (employees first, see :func:`_choose`); the lead of
    a named person; a member of the default team; an available member of any team; anyone who
    owns tickets, available or not. Only an org whose one owner is the named person gives it
    to them. The caller sets the ticket's team to the owner's.
    """
    named = set(named)
    try:
        return pick_owner(uow, team, now, org=org, exclude=named)
    except NoOwnerAvailable:
        pass
    leads = [c for lead in _leads_of(org, named) if lead not in named
             for c in _available(uow, org) if c.user_id == lead]
    if leads:
        return _take(uow, _choose(leads, org, now), now)
    try:
        return pick_owner(uow, default_team(org), now, org=org, exclude=named)
    except NoOwnerAvailable:
        pass
    for pool in (_available(uow, org), _everyone(uow)):
        others = [c for c in pool if c.user_id not in named]
        if others:
            return _take(uow, _choose(others, org, now), now)
    everyone = _everyone(uow)
    if not everyone:
        raise NoOwnerAvailable(team)
    return _take(uow, _choose(everyone, org, now), now)


def _available(uow: UnitOfWork, org: Org) -> list[Candidate]:
    return [c for team in org.teams for c in team_load(uow, team)]


def _everyone(uow: UnitOfWork) -> list[Candidate]:
    """Every member who owns tickets, available or not (the last resort: no ticket without an owner)."""
    rows = uow.session.execute(select(Assignee.user_id, Assignee.team, Assignee.open_tickets,
                                      Assignee.last_assigned_at))
    return [Candidate(*row) for row in rows]


def _take(uow: UnitOfWork, chosen: Candidate, now: datetime) -> Candidate:
    uow.change_load(chosen.user_id, 1, now=now)
    return chosen


def follow_team(uow: UnitOfWork, ticket: Ticket, team: str) -> None:
    """A ticket moving to another team takes its feedback's scores along (the dashboard's ?team=)."""
    if team != ticket.team:
        uow.session.execute(update(Feedback).where(Feedback.id == ticket.feedback_id).values(team=team),
                            execution_options={"synchronize_session": False})


def named_by(uow: UnitOfWork, ticket: Ticket, ctx: Context) -> set[str]:
    """The people the ticket's feedback names (who must not be handed it)."""
    comment = uow.session.scalar(select(Feedback.comment).where(Feedback.id == ticket.feedback_id))
    return ctx.names.named(comment)


def pick(uow: UnitOfWork, team: str, now: datetime, *, ctx: Context, exclude: Collection[str]) -> Candidate:
    """Someone else available in ``team``, else in the default team (409 if nobody is)."""
    try:
        return pick_owner(uow, team, now, org=ctx.org, exclude=exclude)
    except NoOwnerAvailable:
        try:
            return pick_owner(uow, default_team(ctx.org), now, org=ctx.org, exclude=exclude)
        except NoOwnerAvailable:
            raise TicketConflict(f"Nobody else in {team} or the default team is available.") from None


def handover(uow: UnitOfWork, ticket: Ticket, new_owner: Assignee | Candidate, now: datetime, *, ctx: Context,
             actor: str | None, reason: str) -> None:
    """Give ``ticket`` to ``new_owner`` (whose load the caller has counted) and record it."""
    previous = ticket.owner_id
    uow.change_load(previous, -1)
    follow_team(uow, ticket, new_owner.team)
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
        new_owner = pick(uow, ticket.team, now, ctx=ctx, exclude={user_id, *named_by(uow, ticket, ctx)})
        handover(uow, ticket, new_owner, now, ctx=ctx, actor=actor.id,
                 reason=f"{ctx.org.users[user_id].name if user_id in ctx.org.users else user_id} is unavailable")
        moved.append(ticket)
    return moved


def _member(assignee: Assignee, org: Org) -> dict[str, Any]:
    user = org.users.get(assignee.user_id)
    return {"id": assignee.user_id, "name": user.name if user else assignee.user_id, "team": assignee.team,
            "role": user.role if user else None, "available": assignee.available,
            "open_tickets": assignee.open_tickets, "max_open": user.max_open if user else None}


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
