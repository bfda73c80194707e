"""What people (and the customer's answers) do to tickets: acknowledge, assign, resolve, reopen,
wait on the customer.

Each function checks the caller's role against the ticket, applies the change, and records it
(timeline entry plus outbox event) in the caller's unit of work; none commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from services.triage.context import Context
from services.triage.errors import InvalidChange, NotAllowed, TicketConflict
from services.triage.rootcause import spikes
from services.triage.rootcause.models import RootCauseExample
from services.triage.routing import service as routing
from services.triage.routing.models import Assignee
from services.triage.sla import service as sla
from services.triage.tickets.events import record
from services.triage.tickets.models import ACKNOWLEDGED, OPEN, RESOLVED, WAITING, Feedback, Ticket
from services.triage.unit_of_work import UnitOfWork
from shared import events
from shared.org import User

MAX_TEXT = 10_000


def may_act(user: User, ticket: Ticket) -> bool:
    """Leadership, the ticket's team lead, and its owner may change a ticket."""
    if user.is_leadership:
        return True
    return user.team == ticket.team and (user.role == "lead" or user.id == ticket.owner_id)


def check_may_act(user: User, ticket: Ticket) -> None:
    """Refuse (403) unless ``user`` may change ``ticket``."""
    if not may_act(user, ticket):
        raise NotAllowed("Only the owner, the team's lead or leadership may change this ticket.")


def acknowledge(uow: UnitOfWork, ticket: Ticket, now: datetime, *, ctx: Context, actor: User) -> None:
    """The owner has seen the ticket and is on it (the clock keeps running)."""
    check_may_act(actor, ticket)
    if ticket.status == RESOLVED:
        raise TicketConflict("The ticket is resolved.")
    if ticket.acknowledged_at is not None:
        raise TicketConflict("The ticket is already acknowledged.")
    ticket.acknowledged_at = now
    if ticket.status == OPEN:
        ticket.status = ACKNOWLEDGED
    record(uow, ticket, events.TICKET_ACKNOWLEDGED, ctx.org, now, actor=actor.id)


def assign(uow: UnitOfWork, ticket: Ticket, owner_id: str, now: datetime, *, ctx: Context, actor: User,
           reason: str | None = None) -> None:
    """Hand the ticket to ``owner_id``: employees pass their own tickets within the team; leads and
    leadership move any ticket they may change, across teams too."""
    check_may_act(actor, ticket)
    target = ctx.org.users.get(owner_id)
    assignee = uow.session.get(Assignee, owner_id) if target is not None else None
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
    uow.change_load(owner_id, 1, now=now)
    routing.handover(uow, ticket, assignee, now, ctx=ctx, actor=actor.id, reason=reason or "reassigned")


def resolve(uow: UnitOfWork, ticket: Ticket, now: datetime, *, ctx: Context, actor: User, root_cause: str | None,
            resolution: str | None, customer_message: str | None = None, our_fault: bool = False) -> None:
    """Close the ticket with its confirmed root cause, what was done (internal), an optional message to
    the customer and whether it was our fault; the SLA outcome is fixed."""
    check_may_act(actor, ticket)
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
    uow.change_load(ticket.owner_id, -1)
    learn(uow, ticket, root_cause, now)
    # the timeline keeps each resolution whole: a reopening clears the ticket's fields, not its history
    record(uow, ticket, events.TICKET_RESOLVED, ctx.org, now, actor=actor.id,
           detail={"root_cause": root_cause, "suggested_root_cause": ticket.suggested_root_cause,
                   "outcome": ticket.sla_state, "resolution": text, "customer_message": ticket.customer_message,
                   "our_fault": our_fault}, our_fault=our_fault)
    if root_cause != ticket.suggested_root_cause:
        spikes.check_spike(uow, code=root_cause, touchpoint=ticket.touchpoint, now=now, org=ctx.org,
                           threshold=ctx.spike_threshold, window_seconds=ctx.spike_window_seconds)


def learn(uow: UnitOfWork, ticket: Ticket, code: str, now: datetime) -> None:
    """Keep the complaint and its confirmed cause as an example for the classifier."""
    session = uow.session
    feedback = session.get(Feedback, ticket.feedback_id)
    if feedback is None or not (feedback.comment or "").strip():
        return
    session.execute(delete(RootCauseExample).where(RootCauseExample.ticket_id == ticket.id))
    session.add(RootCauseExample(ticket_id=ticket.id, text=feedback.comment, code=code, created_at=now))


def reopen(uow: UnitOfWork, ticket: Ticket, now: datetime, *, ctx: Context, actor: User | None,
           reason: str) -> None:
    """Open a resolved ticket again with a fresh clock (its owner keeps it if still available)."""
    if actor is not None:
        check_may_act(actor, ticket)
    if ticket.status != RESOLVED:
        raise TicketConflict("Only a resolved ticket can be reopened.")
    owner = uow.session.get(Assignee, ticket.owner_id)
    if owner is not None and owner.available:
        uow.change_load(owner.user_id, 1, now=now)
    else:
        successor = routing.pick(uow, ticket.team, now, ctx=ctx,
                                 exclude={ticket.owner_id, *routing.named_by(uow, ticket, ctx)})
        routing.follow_team(uow, ticket, successor.team)
        ticket.owner_id, ticket.team = successor.user_id, successor.team
    ticket.status, ticket.resolved_at, ticket.acknowledged_at = OPEN, None, None
    ticket.root_cause, ticket.resolution, ticket.customer_message = None, None, None
    ticket.reopened_count += 1
    sla.start_clock(ticket, now, ctx)
    record(uow, ticket, events.TICKET_REOPENED, ctx.org, now, actor=actor.id if actor else None,
           detail={"reason": reason, "owner": ticket.owner_id}, reason=reason)


def wait_on_customer(uow: UnitOfWork, ticket: Ticket, now: datetime, *, ctx: Context, actor: User) -> None:
    """Pause the clock while the customer owes an answer (only if TRIAGE_WAITING_PAUSES_CLOCK is on)."""
    check_may_act(actor, ticket)
    if not ctx.waiting_pauses_clock:
        raise TicketConflict("Waiting on the customer is not enabled (TRIAGE_WAITING_PAUSES_CLOCK).")
    if ticket.status not in (OPEN, ACKNOWLEDGED):
        raise TicketConflict(f"A {ticket.status} ticket cannot wait on the customer.")
    if ticket.sla_state == sla.BREACHED:
        raise TicketConflict("The ticket has breached its SLA; the clock cannot be paused now.")
    ticket.status, ticket.paused_at, ticket.next_check_at = WAITING, now, None
    record(uow, ticket, events.TICKET_WAITING, ctx.org, now, actor=actor.id)


def _shift_paused_clock(ticket: Ticket, now: datetime, ctx: Context) -> None:
    calendar = ctx.calendar_for(ticket.team)
    paused = ticket.paused_at or now
    ticket.due_at = calendar.add(now, calendar.between(paused, ticket.due_at))
    ticket.warn_at = calendar.add(now, calendar.between(paused, ticket.warn_at))
    ticket.paused_at = None


def resume(uow: UnitOfWork, ticket: Ticket, now: datetime, *, ctx: Context, actor: User | None,
           reason: str) -> None:
    """Restart a paused clock: the time left when it paused is what the ticket has now."""
    if actor is not None:
        check_may_act(actor, ticket)
    if ticket.status != WAITING:
        raise TicketConflict("The ticket is not waiting on the customer.")
    _shift_paused_clock(ticket, now, ctx)
    ticket.status = ACKNOWLEDGED if ticket.acknowledged_at else OPEN
    ticket.next_check_at = sla.next_check(ticket.sla_state, warn=ticket.warn_at, due=ticket.due_at,
                                          escalation_level=ticket.escalation_level,
                                          chain_length=len(ctx.chain_for(ticket)),
                                          escalation_seconds=ctx.escalation_seconds)
    record(uow, ticket, events.TICKET_RESUMED, ctx.org, now, actor=actor.id if actor else None,
           detail={"reason": reason}, reason=reason)


