"""Spikes: several tickets with the same root cause on the same touchpoint within a short window.

A spike is raised once (``spike.detected``) and stays active while matching tickets keep coming
within the window; leadership's dashboard reads the active ones (:func:`active_spikes`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from services.triage.rootcause.models import Spike
from services.triage.tickets.models import Ticket
from services.triage.unit_of_work import SpikeCount, UnitOfWork
from shared import events
from shared.org import Org


def spike_data(spike: Spike, org: Org) -> dict:
    """The ``data`` of ``spike.detected``."""
    cause = org.root_causes.get(spike.root_cause)
    return {"spike_id": spike.id, "root_cause": spike.root_cause, "root_cause_label": cause.label if cause else None,
            "touchpoint": spike.touchpoint, "ticket_count": spike.ticket_count,
            "window_seconds": spike.window_seconds, "first_at": spike.first_at, "detected_at": spike.detected_at}


# built once: a consumer batch runs them for every cause and touchpoint it sees
# count(*), not count(id): the id is not in the index, and reading it visited every row (7.5 ms
# instead of 0.65 ms at 6,300 tickets of one cause on SQLite)
_RECENT = (select(func.count(), func.min(Ticket.created_at))
           .where(Ticket.touchpoint == bindparam("touchpoint"), Ticket.created_at >= bindparam("since"),
                  func.coalesce(Ticket.root_cause, Ticket.suggested_root_cause) == bindparam("code")))
_ACTIVE = (select(Spike).where(Spike.root_cause == bindparam("code"), Spike.touchpoint == bindparam("touchpoint"),
                               Spike.last_at >= bindparam("since"))
           .order_by(Spike.detected_at.desc()).limit(1))


def check_spike(uow: UnitOfWork, *, code: str | None, touchpoint: str | None, now: datetime, org: Org,
                threshold: int, window_seconds: int) -> Spike | None:
    """Count recent tickets like the one just opened or resolved in ``uow``; raise a spike at
    ``threshold``, or extend the active one."""
    if not code or not touchpoint or code == "other":
        return None
    session = uow.session
    since = now - timedelta(seconds=window_seconds)
    # One count per cause and touchpoint per unit of work, then counted on in memory: a consumer
    # batch of hundreds of tickets does not query (and flush) for each of them.
    key = (code, touchpoint, since)
    known = uow.spike_counts.get(key)
    if known is not None:
        known.count += 1
    else:
        if not uow.queues_rows:  # the ticket was added to the session: count it too
            session.flush()
        count, first = session.execute(_RECENT, {"touchpoint": touchpoint, "since": since, "code": code}).one()
        if uow.queues_rows:  # this ticket is not in the table yet; earlier ones of the batch were counted here
            count += 1
            first = now if first is None else min(first, now)
        known = uow.spike_counts[key] = SpikeCount(count, first)
    if known.count < threshold:
        return None
    active = known.active or session.scalars(_ACTIVE, {"code": code, "touchpoint": touchpoint,
                                                       "since": since}).first()
    if active is not None:
        active.ticket_count, active.last_at = max(active.ticket_count, known.count), now
        known.active = active
        return None
    spike = Spike(id=str(uuid.uuid4()), root_cause=code, touchpoint=touchpoint, ticket_count=known.count,
                  window_seconds=window_seconds, first_at=known.first or now, detected_at=now, last_at=now)
    session.add(spike)
    known.active = spike
    event = events.make_event(type=events.SPIKE_DETECTED, source="/triage", subject=spike.id,
                              data=spike_data(spike, org), now=now)
    uow.add_event(event, now)
    return spike


def active(session: Session, now: datetime) -> list[Spike]:
    """Spikes whose cause kept coming within their window, newest first."""
    rows = session.scalars(select(Spike).order_by(Spike.detected_at.desc()).limit(200))
    return [s for s in rows if s.last_at + timedelta(seconds=s.window_seconds) >= now]


def active_spikes(session: Session, now: datetime, org: Org | None = None, *,
                  team: str | None = None) -> list[dict[str, Any]]:
    """Root causes repeating on a touchpoint right now (for leadership's dashboard), newest first; with
    ``team``, the spikes that hold tickets of that team."""
    found = []
    for spike in active(session, now):
        if team is not None and not _has_team(session, spike, team):
            continue
        cause = org.root_causes.get(spike.root_cause) if org else None
        found.append({"id": spike.id, "root_cause": spike.root_cause,
                      "root_cause_label": cause.label if cause else spike.root_cause,
                      "touchpoint": spike.touchpoint, "ticket_count": spike.ticket_count,
                      "window_seconds": spike.window_seconds, "first_at": spike.first_at,
                      "detected_at": spike.detected_at, "last_at": spike.last_at})
    return found


def _has_team(session: Session, spike: Spike, team: str) -> bool:
    since = spike.first_at - timedelta(seconds=spike.window_seconds)
    return session.scalar(select(Ticket.id).where(
        Ticket.team == team, Ticket.touchpoint == spike.touchpoint,
        func.coalesce(Ticket.root_cause, Ticket.suggested_root_cause) == spike.root_cause,
        Ticket.created_at >= since, Ticket.created_at <= spike.last_at).limit(1)) is not None
