"""Notify's unit of work: one consumer batch (or one job's run) and what it has read and queued.

The handlers get a :class:`FeedBatch`, never a bare session: it is where they find the feed
entries of the batch (looked up for all its messages with one query, and seen by a later
message even before they are flushed), the ticket events that came before their feedback, and
where they queue deliveries, which are written with one multi-row INSERT when the batch ends.
Only a batch that ends without an error writes anything; the caller's transaction commits it.
(The model is cosmicpython's ``unit_of_work.py``.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from services.notify.channels import CUSTOMER_CHANNEL, PERSON_CHANNEL
from services.notify.messages import Message
from services.notify.models import PENDING, Delivery, EarlyTicketEvent, FeedEntry
from shared import events
from shared.bulk import RowQueue
from shared.db import among
from shared.events import Event
from shared.org import Channel, User

DELIVERIES: Table = Delivery.__table__  # type: ignore[assignment]


class FeedBatch:
    """The feed entries, early ticket events and deliveries of one unit of work."""

    def __init__(self, session: Session):
        self.session = session
        self._entries: dict[str, FeedEntry] = {}
        self._absent: set[str] = set()  # looked up for the whole batch and not there
        self._early: set[str] | None = None  # feedback ids that have early ticket events, if looked up
        self._rows = RowQueue()

    @classmethod
    @contextlib.contextmanager
    def opened(cls, session: Session, batch: Iterable[Event] = ()) -> Iterator[FeedBatch]:
        """A batch on ``session`` for ``batch``'s events; its deliveries are written when it ends without error.

        Handlers run with autoflush off: a batch of messages is flushed once, at commit, instead
        of once per message; the batch's own map is how a later message finds an entry an
        earlier one added.
        """
        unit = cls(session)
        unit._prefetch(list(batch))
        with session.no_autoflush:
            yield unit
        unit.write()

    def _prefetch(self, batch: list[Event]) -> None:
        if not batch:
            return
        ids = {e.data["id"] if e.type == events.FEEDBACK_RECEIVED else e.data["feedback_id"] for e in batch}
        found = {entry.feedback_id: entry for entry in
                 self.session.scalars(select(FeedEntry).where(among(self.session, FeedEntry.feedback_id, ids)))}
        self._entries.update(found)
        self._absent = ids - set(found)
        arriving = [e.data["id"] for e in batch if e.type == events.FEEDBACK_RECEIVED]
        early = select(EarlyTicketEvent.feedback_id).where(among(self.session, EarlyTicketEvent.feedback_id,
                                                                 arriving))
        self._early = set(self.session.scalars(early)) if arriving else set()

    def entry(self, feedback_id: str) -> FeedEntry | None:
        """The feed entry of a feedback, if it is on the feed (or was added earlier in this batch)."""
        known = self._entries.get(feedback_id)
        if known is not None and known in self.session:  # not expunged by a rolled-back savepoint
            return known
        if feedback_id in self._absent:
            return None
        entry = self.session.scalar(select(FeedEntry).where(FeedEntry.feedback_id == feedback_id))
        if entry is not None:
            self._entries[feedback_id] = entry
        return entry

    def add_entry(self, entry: FeedEntry) -> None:
        """Put a new feedback on the feed."""
        self.session.add(entry)
        self._entries[entry.feedback_id] = entry
        self._absent.discard(entry.feedback_id)

    def keep_early(self, event: Event, now: datetime) -> None:
        """Keep a ticket event whose feedback is not on the feed yet, to replay when it comes."""
        self.session.add(EarlyTicketEvent(feedback_id=event.data["feedback_id"], event_id=event.id, created_at=now,
                                          payload=events.encode_event(events.envelope_of(event)).decode()))

    def take_early(self, feedback_id: str) -> list[Event]:
        """The ticket events kept for this feedback, oldest first; they are deleted with this batch."""
        if self._early is not None and feedback_id not in self._early:
            return []
        kept = list(self.session.scalars(select(EarlyTicketEvent).where(EarlyTicketEvent.feedback_id == feedback_id)
                                         .order_by(EarlyTicketEvent.id)))
        for row in kept:
            self.session.delete(row)
        return [events.decode_event(row.payload.encode()) for row in kept]

    def already_queued(self, event_id: str) -> bool:
        """Whether deliveries for ``event_id`` exist (written earlier, or queued in this batch)."""
        if any(row["event_id"] == event_id for row in self._rows.rows(DELIVERIES)):
            return True
        return self.session.scalar(select(Delivery.id).where(Delivery.event_id == event_id).limit(1)) is not None

    def record(self, *, event_id: str, event_type: str, message: Message, now: datetime,
               channel: Channel | None = None, person: User | None = None, customer_email: str | None = None) -> None:
        """Queue one message for an org channel, a person (by email) or the customer."""
        if channel is not None:
            name, ctype, address, recipient = channel.id, channel.type, "", None
        elif person is not None:
            name, ctype, address, recipient = PERSON_CHANNEL, "email", person.email or "", person.name
        else:
            name, ctype, address, recipient = CUSTOMER_CHANNEL, "email", customer_email or "", "customer"
        self._rows.add(DELIVERIES, {
            "channel": name, "channel_type": ctype, "address": address, "recipient": recipient,
            "event_id": event_id, "event_type": event_type, "subject": message.subject[:300],
            "message": message.to_json(), "status": PENDING, "attempts": 0, "created_at": now,
            "next_attempt_at": now})

    def write(self) -> None:
        """Write the queued deliveries (one INSERT); the caller's transaction commits them."""
        self._rows.write(self.session.connection())


@contextlib.contextmanager
def unit_of_work(sessions: sessionmaker[Session], batch: Iterable[Event] = ()) -> Iterator[FeedBatch]:
    """A transaction and a :class:`FeedBatch` in it, committed when the block ends without error."""
    with sessions() as session, session.begin(), FeedBatch.opened(session, batch) as unit:
        yield unit


BatchHandler = Callable[[FeedBatch, Event, datetime], object]


class ConsumerBatches:
    """Gives each of the consumer loop's handlers the batch its message is in.

    The loop enters :meth:`hook` around a batch's handlers (around each message, in its own
    savepoint, when messages are isolated) and calls handlers with its session; :meth:`handler`
    adapts a batch handler to that.
    """

    def __init__(self) -> None:
        self._open: FeedBatch | None = None

    @contextlib.contextmanager
    def hook(self, session: Session, batch: list[Event]) -> Iterator[FeedBatch]:
        with FeedBatch.opened(session, batch) as unit:
            self._open = unit
            try:
                yield unit
            finally:
                self._open = None

    def handler(self, handle: BatchHandler) -> Callable[[Session, Event, datetime], object]:
        def run(session: Session, event: Event, now: datetime) -> Any:
            unit = self._open
            if unit is None or unit.session is not session:
                raise RuntimeError("a notify handler ran outside its consumer batch")
            return handle(unit, event, now)

        return run
