"""What people (and the customer's answers) do to tickets: acknowledge, assign, resolve, reopen,
wait on the customer, and mark members unavailable.

Each function checks the caller's role against the ticket, applies the change, and records it
(timeline entry plus outbox event). Functions take the caller's session and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.triage import routing, sla, spikes
from services.triage.models import Assignee, Feedback, RootCauseExample, Ticket
from services.triage.tickets import (
    ACKNOWLEDGED,
    ACTIVE,
    OPEN,
    RESOLVED,
    WAITING,
    Context,
    InvalidChange,
    NotAllowed,
    TicketConflict,
    record,
    start_clock,
)
from shared import events
from shared.org import User

MAX_TEXT = 10_000


def may_act(user: User, ticket: Ticket) -> bool:
    """Leadership, the ticket's team lead, and its owner may change a ticket."""
    if user.is_leadership:
        return True
    return user.team == ticket.team and (user.role == "lead" or user.id == ticket.owner_id)


def _check(user: User, ticket: Ticket) -> None:
    if not may_act(user, ticket):
        raise NotAllowed("Only the owner, the team's lead or leadership may change this ticket.")


def acknowledge(session: Session, ticket: Ticket, now: datetime, *, ctx: Context, actor: User) -> None:
    """The owner has seen the ticket and is on it (the clock keeps running)."""
    _check(actor, ticket)
    if ticket.status == RESOLVED:
        raise TicketConflict("The ticket is resolved.")
    if ticket.acknowledged_at is not None:
        raise TicketConflict("The ticket is already acknowledged.")
    ticket.acknowledged_at = now
    if ticket.status == OPEN:
        ticket.status = ACKNOWLEDGED
    record(session, ticket, events.TICKET_ACKNOWLEDGED, ctx.org, now, actor=actor.id)


def _handover(session: Session, ticket: Ticket, new_owner: Assignee | routing.Candidate, now: datetime, *,
              ctx: Context,
              actor: str | None, reason: str) -> None:
    previous = ticket.owner_id
    routing.add_load(session, previous, -1)
    ticket.owner_id, ticket.team = new_owner.user_id, new_owner.team
    if ticket.sla_state == sla.BREACHED:  # the new owner's chain may be longer or shorter
        ticket.next_check_at = sla.next_check(ticket.sla_state, warn=ticket.warn_at, due=ticket.due_at,
                                              escalation_level=ticket.escalation_level,
                                              chain_length=len(ctx.chain_for(ticket)),
                                              escalation_seconds=ctx.escalation_seconds)
    record(session, ticket, events.TICKET_ASSIGNED, ctx.org, now, actor=actor,
           detail={"from": previous, "to": new_owner.user_id, "reason": reason}, previous_owner=previous,
           reason=reason)


def assign(session: Session, ticket: Ticket, owner_id: str, now: datetime, *, ctx: Context, actor: User,
           reason: str | None = None) -> None:
    """Hand the ticket to ``owner_id``: employees pass their own tickets within the team; leads and
    leadership move any ticket they may change, across teams too."""
    _check(actor, ticket)
    target = ctx.org.users.get(owner_id)
    assignee = session.get(Assignee, owner_id) if target is not None else None
    if target is None:
        raise InvalidChange({"owner": f"No user with id {owner_id!r}."})
    if assignee is None:
        raise InvalidChange({"owner": f"{target.name} does not own tickets (leadership role or no team)."})
    if not assignee.available:
        raise InvalidChange({"owner": f"{target.name} is marked unavailable."})
    if actor.role == "employee" and assignee.team != ticket.team:
        raise NotAllowed("Employees may hand tickets only to members of the ticket's team.")
    if ticket.status == RESOLVED:
        raise TicketConflict("The ticket is resolved; reopen it first.")
    if owner_id == ticket.owner_id:
        raise TicketConflict(f"{target.name} already owns the ticket.")
    routing.add_load(session, owner_id, 1, now=now)
    _handover(session, ticket, assignee, now, ctx=ctx, actor=actor.id, reason=reason or "reassigned")


def resolve(session: Session, ticket: Ticket, now: datetime, *, ctx: Context, actor: User, root_cause: str | None,
            resolution: str | None, customer_message: str | None = None) -> None:
    """Close the ticket with its confirmed root cause and what was done; the SLA outcome is fixed."""
    _check(actor, ticket)
    errors: dict[str, str] = {}
    if not root_cause or root_cause not in ctx.org.root_causes:
        errors["root_cause"] = "Choose one of: " + ", ".join(ctx.org.root_causes) + "."
    text = (resolution or "").strip()
    if not text:
        errors["resolution"] = "Say what was done (required)."
    elif len(text) > MAX_TEXT:
        errors["resolution"] = f"At most {MAX_TEXT} characters."
    if customer_message is not None and len(customer_message) > MAX_TEXT:
        errors["customer_message"] = f"At most {MAX_TEXT} characters."
    if errors:
        raise InvalidChange(errors)
    if ticket.status == RESOLVED:
        raise TicketConflict("The ticket is already resolved.")
    assert root_cause is not None
    if ticket.status == WAITING:
        _shift_paused_clock(ticket, now, ctx)
    ticket.status, ticket.resolved_at = RESOLVED, now
    ticket.sla_state = sla.outcome(now, ticket.due_at)
    ticket.root_cause, ticket.resolution = root_cause, text
    ticket.customer_message = (customer_message or "").strip() or None
    ticket.next_check_at, ticket.paused_at, ticket.customer_answer, ticket.customer_answered_at = None, None, None, None
    routing.add_load(session, ticket.owner_id, -1)
    learn(session, ticket, root_cause, now)
    record(session, ticket, events.TICKET_RESOLVED, ctx.org, now, actor=actor.id,
           detail={"root_cause": root_cause, "suggested_root_cause": ticket.suggested_root_cause,
                   "outcome": ticket.sla_state})
    if root_cause != ticket.suggested_root_cause:
        session.flush()
        spikes.check_spike(session, code=root_cause, touchpoint=ticket.touchpoint, now=now, org=ctx.org,
                           threshold=ctx.spike_threshold, window_seconds=ctx.spike_window_seconds)


def learn(session: Session, ticket: Ticket, code: str, now: datetime) -> None:
    """Keep the complaint and its confirmed cause as an example for the classifier."""
    feedback = session.get(Feedback, ticket.feedback_id)
    if feedback is None or not (feedback.comment or "").strip():
        return
    session.execute(delete(RootCauseExample).where(RootCauseExample.ticket_id == ticket.id))
    session.add(RootCauseExample(ticket_id=ticket.id, text=feedback.comment, code=code, created_at=now))


def reopen(session: Session, ticket: Ticket, now: datetime, *, ctx: Context, actor: User | None,
           reason: str) -> None:
    """Open a resolved ticket again with a fresh clock (its owner keeps it if still available)."""
    if actor is not None:
        _check(actor, ticket)
    if ticket.status != RESOLVED:
        raise TicketConflict("Only a resolved ticket can be reopened.")
    owner = session.get(Assignee, ticket.owner_id)
    if owner is not None and owner.available:
        routing.add_load(session, owner.user_id, 1, now=now)
    else:
        successor = _pick(session, ticket.team, now, ctx=ctx, exclude=ticket.owner_id)
        ticket.owner_id, ticket.team = successor.user_id, successor.team
    ticket.status, ticket.resolved_at, ticket.acknowledged_at = OPEN, None, None
    ticket.root_cause, ticket.resolution, ticket.customer_message = None, None, None
    ticket.reopened_count += 1
    start_clock(ticket, now, ctx)
    record(session, ticket, events.TICKET_REOPENED, ctx.org, now, actor=actor.id if actor else None,
           detail={"reason": reason, "owner": ticket.owner_id}, reason=reason)


def _pick(session: Session, team: str, now: datetime, *, ctx: Context, exclude: str | None
          ) -> routing.Candidate:
    try:
        return routing.pick_owner(session, team, now, exclude=exclude)
    except routing.NoOwnerAvailable:
        try:
            return routing.pick_owner(session, routing.default_team(ctx.org), now, exclude=exclude)
        except routing.NoOwnerAvailable:
            raise TicketConflict(f"Nobody else in {team} or the default team is available.") from None


def wait_on_customer(session: Session, ticket: Ticket, now: datetime, *, ctx: Context, actor: User) -> None:
    """Pause the clock while the customer owes an answer (only if TRIAGE_WAITING_PAUSES_CLOCK is on)."""
    _check(actor, ticket)
    if not ctx.waiting_pauses_clock:
        raise TicketConflict("Waiting on the customer is not enabled (TRIAGE_WAITING_PAUSES_CLOCK).")
    if ticket.status not in (OPEN, ACKNOWLEDGED):
        raise TicketConflict(f"A {ticket.status} ticket cannot wait on the customer.")
    if ticket.sla_state == sla.BREACHED:
        raise TicketConflict("The ticket has breached its SLA; the clock cannot be paused now.")
    ticket.status, ticket.paused_at, ticket.next_check_at = WAITING, now, None
    record(session, ticket, events.TICKET_WAITING, ctx.org, now, actor=actor.id)


def _shift_paused_clock(ticket: Ticket, now: datetime, ctx: Context) -> None:
    calendar = ctx.calendar_for(ticket.team)
    paused = ticket.paused_at or now
    ticket.due_at = calendar.add(now, calendar.between(paused, ticket.due_at))
    ticket.warn_at = calendar.add(now, calendar.between(paused, ticket.warn_at))
    ticket.paused_at = None


def resume(session: Session, ticket: Ticket, now: datetime, *, ctx: Context, actor: User | None,
           reason: str) -> None:
    """Restart a paused clock: the time left when it paused is what the ticket has now."""
    if actor is not None:
        _check(actor, ticket)
    if ticket.status != WAITING:
        raise TicketConflict("The ticket is not waiting on the customer.")
    _shift_paused_clock(ticket, now, ctx)
    ticket.status = ACKNOWLEDGED if ticket.acknowledged_at else OPEN
    ticket.next_check_at = sla.next_check(ticket.sla_state, warn=ticket.warn_at, due=ticket.due_at,
                                          escalation_level=ticket.escalation_level,
                                          chain_length=len(ctx.chain_for(ticket)),
                                          escalation_seconds=ctx.escalation_seconds)
    record(session, ticket, events.TICKET_RESUMED, ctx.org, now, actor=actor.id if actor else None,
           detail={"reason": reason}, reason=reason)


def set_availability(session: Session, user_id: str, available: bool, now: datetime, *, ctx: Context,
                     actor: User) -> list[Ticket]:
    """Mark a member (un)available; an unavailable member's open tickets go to teammates. Returns those."""
    assignee = session.get(Assignee, user_id)
    if assignee is None:
        raise LookupError(user_id)
    allowed = actor.is_leadership or actor.id == user_id or (actor.role == "lead" and actor.team == assignee.team)
    if not allowed:
        raise NotAllowed("Only the member, their team's lead or leadership may change availability.")
    assignee.available = available
    routing.forget_load(session)
    moved: list[Ticket] = []
    if available:
        return moved
    session.flush()
    open_tickets = session.scalars(select(Ticket).where(Ticket.owner_id == user_id, Ticket.status.in_(ACTIVE))
                                   .order_by(Ticket.due_at))
    for ticket in list(open_tickets):
        new_owner = _pick(session, ticket.team, now, ctx=ctx, exclude=user_id)
        _handover(session, ticket, new_owner, now, ctx=ctx, actor=actor.id,
                  reason=f"{ctx.org.users[user_id].name if user_id in ctx.org.users else user_id} is unavailable")
        moved.append(ticket)
    return moved
