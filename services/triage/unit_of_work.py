"""The unit of work: one transaction's changes to triage, passed explicitly to every use case.

A :class:`UnitOfWork` wraps the caller's session (a web request, a sweep) and writes as it goes:
new rows are added to the session, members' load is updated in SQL at once. A :class:`Batch` is
the unit of work of a consumer batch: it queues new rows in one :class:`shared.bulk.RowQueue`
and members' load changes in memory, and :meth:`Batch.write` inserts them with one multi-row
INSERT per table when the batch ends. Both keep what the transaction has learnt so far (members'
load per team, recent tickets per cause and touchpoint, whether the classifier is up to date),
so a batch of hundreds of tickets does not query for each of them. A unit of work never
commits: its caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from services.triage.database import Base, Outbox
from services.triage.routing.models import Assignee
from shared import topics
from shared.bulk import RowQueue
from shared.outbox import add_event, mark_pending, outbox_row


@dataclass
class Candidate:
    """A member who can own tickets, with the load this unit of work knows of."""

    user_id: str
    team: str
    open_tickets: int
    last_assigned_at: datetime | None


@dataclass
class SpikeCount:
    """Recent tickets of one cause on one touchpoint, counted once and then in memory."""

    count: int
    first: datetime | None
    active: Any = None  # the active Spike, once known


class UnitOfWork:
    """Changes made in ``session``'s transaction, written as they are made."""

    queues_rows = False  # a Batch queues new rows instead: they are not in the tables until it writes

    def __init__(self, session: Session):
        self.session = session
        self.team_load: dict[str, list[Candidate]] = {}  # team -> its available members, with load
        self.spike_counts: dict[tuple[str, str, datetime], SpikeCount] = {}
        self.classifier_fresh = False  # the classifier has learnt what was confirmed before this began

    def add(self, model: type[Base], row: dict[str, Any]) -> None:
        """A new row of ``model``."""
        self.session.add(model(**row))

    def add_event(self, event: dict[str, Any], now: datetime) -> None:
        """Queue ``event`` for ``ticket.events`` (after everything queued before it)."""
        add_event(self.session, Outbox, topic=topics.TICKET_EVENTS, event=event, now=now)

    def change_load(self, user_id: str, delta: int, *, now: datetime | None = None) -> None:
        """Change a member's open-ticket count (and last assignment time, with ``now``)."""
        _update_load(self.session, user_id, delta, now)
        self._track_load(user_id, delta, now)

    def forget_load(self) -> None:
        """Drop what this unit of work knows of members' load (after availability changes)."""
        self.team_load = {}

    def _track_load(self, user_id: str, delta: int, now: datetime | None) -> None:
        for candidates in self.team_load.values():
            for candidate in candidates:
                if candidate.user_id == user_id:
                    candidate.open_tickets += delta
                    if now is not None:
                        candidate.last_assigned_at = now


class Batch(UnitOfWork):
    """A consumer batch's unit of work: new rows and load changes wait for :meth:`write`."""

    queues_rows = True

    def __init__(self, session: Session, *, seen: Iterable[str] = ()):
        super().__init__(session)
        self.seen = set(seen)  # feedback ids already stored or queued
        self.rows = RowQueue()
        self.load_changes: dict[str, list[Any]] = {}  # user id -> [delta, last assigned at]

    def add(self, model: type[Base], row: dict[str, Any]) -> None:
        self.rows.add(cast(Table, model.__table__), row)

    def add_event(self, event: dict[str, Any], now: datetime) -> None:
        self.rows.add(cast(Table, Outbox.__table__), outbox_row(topic=topics.TICKET_EVENTS, event=event, now=now))

    def change_load(self, user_id: str, delta: int, *, now: datetime | None = None) -> None:
        change = self.load_changes.setdefault(user_id, [0, None])
        change[0] += delta
        if now is not None:
            change[1] = now
        self._track_load(user_id, delta, now)

    def write(self) -> None:
        """Insert the queued rows (parents first, each table in queue order) and apply the load changes."""
        wakes_relay = bool(self.rows.rows(cast(Table, Outbox.__table__)))
        self.rows.write(self.session.connection())
        if wakes_relay:
            mark_pending(self.session)
        changes, self.load_changes = self.load_changes, {}
        for user_id in sorted(changes):  # a fixed order: no deadlock between consumers
            delta, now = changes[user_id]
            _update_load(self.session, user_id, delta, now)


def _update_load(session: Session, user_id: str, delta: int, now: datetime | None) -> None:
    # an atomic UPDATE in SQL: no lost update when consumers run side by side
    table = cast(Table, Assignee.__table__)
    values: dict[str, Any] = {"open_tickets": table.c.open_tickets + delta}
    if now is not None:
        values["last_assigned_at"] = now
    # a Core statement on the session's connection: no ORM bookkeeping, no flush of pending rows
    session.connection().execute(update(table).where(table.c.user_id == user_id).values(**values))
    for row in session.identity_map.values():
        if isinstance(row, Assignee) and row.user_id == user_id:
            session.expire(row, ["open_tickets", "last_assigned_at"])
