"""The SLA sweep: find tickets whose next check is due, apply warnings, breaches and escalations.

One indexed query (``tickets.next_check_at <= now``) finds the due work. On PostgreSQL the rows
are locked with ``FOR UPDATE SKIP LOCKED``, so several replicas sweeping at once share the work
and never apply a step twice; on SQLite a writer holds the database lock for its whole
transaction (``BEGIN IMMEDIATE``), which serialises sweepers the same way. Each step changes the
stored state in the same transaction as its timeline entry and outbox event, so a step that was
applied is never planned again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.triage.context import Context
from services.triage.sla import service as sla
from services.triage.tickets.events import person, record
from services.triage.tickets.models import ACKNOWLEDGED, OPEN, Ticket
from services.triage.unit_of_work import UnitOfWork
from shared import events


@dataclass
class SweepResult:
    tickets: int = 0
    steps: list[tuple[str, str, int]] = field(default_factory=list)  # (ticket id, step kind, level)
    breach_lags: list[float] = field(default_factory=list)  # seconds from due_at to detection


def due_tickets(session: Session, now: datetime, limit: int) -> list[Ticket]:
    """Tickets whose next check is due, oldest first, locked for this sweeper where the database can."""
    query = select(Ticket).where(Ticket.next_check_at <= now).order_by(Ticket.next_check_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def sweep(session: Session, now: datetime, *, ctx: Context, limit: int = 500) -> SweepResult:
    """Apply every SLA step due by ``now`` to at most ``limit`` tickets, each step once."""
    result = SweepResult()
    uow = UnitOfWork(session)
    for ticket in due_tickets(session, now, limit):
        result.tickets += 1
        if ticket.status not in (OPEN, ACKNOWLEDGED):  # resolved or paused: nothing to time
            ticket.next_check_at = None
            continue
        chain = ctx.chain_for(ticket)
        plan = sla.plan(now, sla_state=ticket.sla_state, warn=ticket.warn_at, due=ticket.due_at,
                        escalation_level=ticket.escalation_level, chain_length=len(chain),
                        escalation_seconds=ctx.escalation_seconds)
        for step in plan.steps:
            apply_step(uow, ticket, step, now, ctx=ctx, chain=chain)
            result.steps.append((ticket.id, step.kind, step.level))
            if step.kind == sla.BREACH:
                result.breach_lags.append((now - ticket.due_at).total_seconds())
        ticket.next_check_at = plan.next_check
    return result


def apply_step(uow: UnitOfWork, ticket: Ticket, step: sla.Step, now: datetime, *, ctx: Context,
               chain: list) -> None:
    """Change the ticket for one step and record it (timeline + event)."""
    if step.kind == sla.WARNING:
        ticket.sla_state = sla.AT_RISK
        record(uow, ticket, events.TICKET_SLA_WARNING, ctx.org, now,
               detail={"warn_at": ticket.warn_at.isoformat(), "due_at": ticket.due_at.isoformat()})
    elif step.kind == sla.BREACH:
        ticket.sla_state = sla.BREACHED
        record(uow, ticket, events.TICKET_SLA_BREACHED, ctx.org, now,
               detail={"due_at": ticket.due_at.isoformat(), "owner": ticket.owner_id})
    else:
        target = chain[step.level - 1]
        ticket.escalation_level = step.level
        record(uow, ticket, events.TICKET_ESCALATED, ctx.org, now,
               detail={"level": step.level, "to": target.id, "owner": ticket.owner_id},
               escalated_to=person(ctx.org, target.id), escalation_level=step.level)
