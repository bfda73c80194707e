"""Ticket changes and the events they emit: every change is a timeline entry plus an outbox event.

Inside a consumer batch (:class:`PendingRows`), new feedback, tickets, timeline entries and outbox
rows are queued as plain rows and written with one multi-row INSERT per table when the batch
ends, in the order they were queued; elsewhere they are added to the session as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from services.triage import sla
from services.triage.calendar import WALL_CLOCK, Calendar
from services.triage.models import Feedback, Outbox, Ticket, TimelineEntry
from services.triage.rootcause.classifier import NaiveBayes
from shared import events, topics
from shared.bulk import insert_rows
from shared.org import Org, User
from shared.outbox import add_event, outbox_row

OPEN, ACKNOWLEDGED, WAITING, RESOLVED = "open", "acknowledged", "waiting", "resolved"
ACTIVE = (OPEN, ACKNOWLEDGED, WAITING)
DEFAULT_SLA_SECONDS = 86400


class TicketConflict(Exception):
    """The change does not fit the ticket's current state (HTTP 409)."""


class InvalidChange(Exception):
    """Fields of the requested change are invalid (HTTP 422); ``errors`` maps each field to why."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotAllowed(Exception):
    """The caller's role does not allow this change (HTTP 403)."""


@dataclass(frozen=True)
class Context:
    """What ticket handlers need besides the session: the org, SLA settings, the cause classifier."""

    org: Org
    sla_seconds: int | None
    warning_ratio: float
    escalation_seconds: int
    keywords: dict[str, tuple[str, ...]]
    classifier: NaiveBayes | None = None
    calendars: dict[str, Calendar] = field(default_factory=dict)
    waiting_pauses_clock: bool = False
    spike_threshold: int = 5
    spike_window_seconds: int = 4 * 3600

    def seconds_for(self, priority: str) -> int:
        """SLA length: the org file's per-priority override, else TRIAGE_SLA_SECONDS, else the org default."""
        override = self.org.sla_by_priority.get(priority)
        if override is not None:
            return override
        return self.sla_seconds or self.org.sla_default_seconds or DEFAULT_SLA_SECONDS

    def calendar_for(self, team: str) -> Calendar:
        """The team's business hours, or the wall clock."""
        return self.calendars.get(team, WALL_CLOCK)

    def chain_for(self, ticket: Ticket) -> list[User]:
        """Who a breach of ``ticket`` escalates to, in order."""
        return self.chain_of(ticket.owner_id, ticket.team)

    def chain_of(self, owner_id: str, team_id: str) -> list[User]:
        """The owner's managers, nearest first; the team lead (and theirs) if the owner has none."""
        chain = self.org.chain(owner_id)
        if not chain:
            team = self.org.teams.get(team_id)
            lead = self.org.users.get(team.lead) if team and team.lead else None
            if lead is not None and lead.id != owner_id:
                chain = [lead, *self.org.chain(lead.id)]
        return chain


def start_clock(ticket: Ticket, start: datetime, ctx: Context) -> None:
    """(Re)start the SLA clock of ``ticket`` at ``start``: due and warning times, state, next check."""
    calendar, seconds = ctx.calendar_for(ticket.team), ctx.seconds_for(ticket.priority)
    ticket.due_at = sla.due_at(start, seconds, calendar)
    ticket.warn_at = sla.warn_at(start, seconds, ctx.warning_ratio, calendar)
    ticket.escalation_level = 0
    ticket.paused_at = None
    # a ticket born already late (from a backlog) is due for the sweeper at once, which then emits its
    # warning and breach in order like any other ticket's
    ticket.sla_state = sla.ON_TRACK
    ticket.next_check_at = ticket.warn_at


def person(org: Org, user_id: str | None) -> dict[str, Any] | None:
    """A user as events carry them."""
    if user_id is None:
        return None
    user = org.users.get(user_id)
    if user is None:
        return {"id": user_id, "name": user_id, "email": None}
    return {"id": user.id, "name": user.name, "email": user.email}


def ticket_data(ticket: Ticket, org: Org, **change: Any) -> dict[str, Any]:
    """The ``data`` of a ticket event: the ticket after the change, plus the change itself."""
    team = org.teams.get(ticket.team)
    cause = org.root_causes.get(ticket.root_cause) if ticket.root_cause else None
    data: dict[str, Any] = {
        "ticket_id": ticket.id,
        "feedback_id": ticket.feedback_id,
        "status": ticket.status,
        "sla_state": ticket.sla_state,
        "priority": ticket.priority,
        "team": ticket.team,
        "team_name": team.name if team else ticket.team,
        "owner": person(org, ticket.owner_id),
        "received_at": ticket.received_at,
        "due_at": ticket.due_at,
        "touchpoint": ticket.touchpoint,
        "kind": ticket.kind,
        "suggested_root_cause": (
            {"code": ticket.suggested_root_cause, "confidence": ticket.suggested_confidence}
            if ticket.suggested_root_cause else None
        ),
        "root_cause": ticket.root_cause,
        "root_cause_label": cause.label if cause else None,
        "resolution": ticket.resolution,
        "customer_message": ticket.customer_message,
    }
    data.update(change)
    return data


def record(session: Session, ticket: Ticket, event_type: str, org: Org, now: datetime, *,
           actor: str | None = None, detail: dict[str, Any] | None = None, **change: Any) -> None:
    """Write the timeline entry and queue the event for a change already applied to ``ticket``."""
    ticket.updated_at = now
    entry = {"ticket_id": ticket.id, "at": now, "type": event_type, "actor": actor, "detail": detail or None}
    pending = PendingRows.of(session)
    if pending is None:
        session.add(TimelineEntry(**entry))
    else:
        pending.timeline.append(entry)
    event = events.make_event(type=event_type, source="/triage", subject=ticket.id,
                              data=ticket_data(ticket, org, actor=actor, **change), now=now)
    queue_event(session, event, now)


def queue_event(session: Session, event: dict[str, Any], now: datetime) -> None:
    """Queue ``event`` for ``ticket.events`` in the caller's transaction (after everything queued before it)."""
    pending = PendingRows.of(session)
    if pending is None:
        add_event(session, Outbox, topic=topics.TICKET_EVENTS, event=event, now=now)
        return
    pending.outbox.append(outbox_row(topic=topics.TICKET_EVENTS, event=event, now=now))


_PENDING = "closeloop.triage.pending_rows"
_TICKET_COLUMNS = tuple(c.key for c in cast(Table, Ticket.__table__).columns)
_FEEDBACK_COLUMNS = tuple(c.key for c in cast(Table, Feedback.__table__).columns)
_COLUMNS: dict[type[Any], tuple[str, ...]] = {Ticket: _TICKET_COLUMNS, Feedback: _FEEDBACK_COLUMNS}
_UNSET = {model: dict.fromkeys(columns) for model, columns in _COLUMNS.items()}  # every column None
_COLUMN_SETS = {model: frozenset(columns) for model, columns in _COLUMNS.items()}
Model = TypeVar("Model", Ticket, Feedback)


class Draft:
    """A new row of a model as plain attributes, built by a consumer batch for :class:`PendingRows`.

    It stands in for a transient ORM instance of the model: handlers read and set its column
    attributes (every column is there, unset ones ``None``, as on a transient instance) and use
    nothing else of the ORM on it. Building hundreds of instrumented ORM instances per batch only
    to read their columns back was about a sixth of the triage consumer's time.
    """

    __slots__ = ("__dict__", "model")

    def __init__(self, model: type[Any], values: dict[str, Any]):
        if not values.keys() <= _COLUMN_SETS[model]:
            raise TypeError(f"not columns of {model.__name__}: {sorted(values.keys() - _COLUMN_SETS[model])}")
        self.model = model
        self.__dict__.update(_UNSET[model])
        self.__dict__.update(values)


def draft(model: type[Model], **values: Any) -> Model:
    """A :class:`Draft` row of ``model`` (typed as the model, whose column attributes it has)."""
    return cast(Model, Draft(model, values))


def instance(obj: Model) -> Model:
    """An ORM instance with the columns of ``obj`` if it is a draft (to add it to a session), else ``obj``."""
    if isinstance(obj, Draft):
        return cast(Model, obj.model(**obj.__dict__))
    return obj


def row_of(obj: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    """Column → value of a draft or an ORM instance."""
    if isinstance(obj, Draft):
        return obj.__dict__.copy()
    return {key: getattr(obj, key) for key in columns}


@dataclass
class PendingRows:
    """Rows a consumer batch queued; written by :meth:`write`, one multi-row INSERT per table."""

    seen: set[str] = field(default_factory=set)  # feedback ids already in the table or queued
    feedback: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def of(session: Session) -> PendingRows | None:
        """The rows the session's current batch queued, if a batch is open."""
        return session.info.get(_PENDING)

    def open(self, session: Session) -> None:
        """Make this the session's current batch."""
        session.info[_PENDING] = self

    def close(self, session: Session) -> None:
        """Stop queuing in this session (what is queued and not written is dropped)."""
        if session.info.get(_PENDING) is self:
            del session.info[_PENDING]

    def add_feedback(self, feedback: Feedback) -> None:
        """Queue ``feedback`` (a draft or a transient object, never added to the session)."""
        self.feedback.append(row_of(feedback, _FEEDBACK_COLUMNS))

    def add_ticket(self, ticket: Ticket) -> None:
        """Queue ``ticket`` (a draft or a transient object, never added to the session)."""
        self.tickets.append(row_of(ticket, _TICKET_COLUMNS))

    def write(self, session: Session) -> None:
        """Insert what is queued, parents first, each table in the order its rows were queued."""
        connection = session.connection()
        for model, rows in ((Feedback, self.feedback), (Ticket, self.tickets), (TimelineEntry, self.timeline),
                            (Outbox, self.outbox)):
            # real INSERTs on each table (its triggers fire), one statement for all the rows
            insert_rows(connection, cast(Table, model.__table__), rows)
        if self.outbox:
            session.info["outbox_pending"] = True  # wakes the outbox relay after the commit
        self.feedback, self.tickets, self.timeline, self.outbox = [], [], [], []
