"""The SLA clock: due and warning times, the state a ticket is in, and what is due to happen next.

Pure functions of their inputs (and :func:`start_clock`, which sets them on a ticket); ``now`` is
always passed in. The sweeper asks :func:`plan` what a ticket needs at ``now`` (a warning, a
breach, escalations) and when to look at it again; the answer depends only on what is stored, so
two sweepers looking at the same row agree, and a row whose steps were applied is never planned
again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from services.triage.sla.calendar import WALL_CLOCK, Calendar

if TYPE_CHECKING:
    from services.triage.context import Context
    from services.triage.tickets.models import AnyTicket

ON_TRACK, AT_RISK, BREACHED, MET, MISSED, PAUSED = "on_track", "at_risk", "breached", "met", "missed", "paused"
WARNING, BREACH, ESCALATION = "warning", "breach", "escalation"


def sla_seconds(priority: str, *, default_seconds: int, by_priority: dict[str, int]) -> int:
    """How long a ticket of ``priority`` has."""
    return by_priority.get(priority, default_seconds)


def due_at(start: datetime, seconds: float, calendar: Calendar = WALL_CLOCK) -> datetime:
    """When the promise runs out: ``seconds`` of (working) time after ``start``."""
    return calendar.add(start, seconds)


def warn_at(start: datetime, seconds: float, warning_ratio: float, calendar: Calendar = WALL_CLOCK) -> datetime:
    """When a ticket becomes at risk: ``warning_ratio`` of its (working) time after ``start``."""
    return calendar.add(start, seconds * warning_ratio)


def outcome(resolved_at: datetime, due: datetime) -> str:
    """``met`` if resolved by the due time, else ``missed``."""
    return MET if resolved_at <= due else MISSED


def escalation_due(due: datetime, level: int, escalation_seconds: int) -> datetime:
    """When escalation ``level + 1`` is due: the manager at breach, each next level later."""
    return due + timedelta(seconds=escalation_seconds * level)


@dataclass(frozen=True)
class Step:
    kind: str  # WARNING, BREACH or ESCALATION
    level: int = 0  # for ESCALATION: 1 = the owner's manager, 2 = the next level, ...


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    sla_state: str
    escalation_level: int
    next_check: datetime | None


def next_check(sla_state: str, *, warn: datetime, due: datetime, escalation_level: int, chain_length: int,
               escalation_seconds: int) -> datetime | None:
    """When the sweeper must next look at an open ticket (``None``: nothing more will happen)."""
    if sla_state == ON_TRACK:
        return warn
    if sla_state == AT_RISK:
        return due
    if sla_state == BREACHED and escalation_level < chain_length:
        return escalation_due(due, escalation_level, escalation_seconds)
    return None


def plan(now: datetime, *, sla_state: str, warn: datetime, due: datetime, escalation_level: int,
         chain_length: int, escalation_seconds: int) -> Plan:
    """Every step due by ``now``, in order (a late sweep catches up), and the next check time."""
    steps: list[Step] = []
    state, level = sla_state, escalation_level
    if state == ON_TRACK and now >= warn:
        steps.append(Step(WARNING))
        state = AT_RISK
    if state == AT_RISK and now >= due:
        steps.append(Step(BREACH))
        state = BREACHED
    if state == BREACHED:
        while level < chain_length and now >= escalation_due(due, level, escalation_seconds):
            level += 1
            steps.append(Step(ESCALATION, level))
    return Plan(tuple(steps), state, level, next_check(state, warn=warn, due=due, escalation_level=level,
                                                      chain_length=chain_length,
                                                      escalation_seconds=escalation_seconds))


def start_clock(ticket: AnyTicket, start: datetime, ctx: Context) -> None:
    """(Re)start the SLA clock of ``ticket`` at ``start``: due and warning times, state, next check."""
    calendar, seconds = ctx.calendar_for(ticket.team), ctx.seconds_for(ticket.priority)
    ticket.due_at = due_at(start, seconds, calendar)
    ticket.warn_at = warn_at(start, seconds, ctx.warning_ratio, calendar)
    ticket.escalation_level = 0
    ticket.paused_at = None
    # a ticket born already late (from a backlog) is due for the sweeper at once, which then emits its
    # warning and breach in order like any other ticket's
    ticket.sla_state = ON_TRACK
    ticket.next_check_at = ticket.warn_at
