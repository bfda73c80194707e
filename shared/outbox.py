"""The transactional outbox: events are written with the state change and published after commit.

A service adds an outbox row in the same transaction as its state change (:func:`add_event`).
The :class:`OutboxRelay` thread publishes unpublished rows in order and marks them published.
It is woken right after any commit that added rows, so publishing adds no polling delay (or
only the few milliseconds of ``linger_seconds``, if given); a slow poll is only the safety
net. If Kafka is unreachable the rows wait and the relay retries with backoff; nothing is
lost, and duplicates (a crash between publish and mark) are absorbed by the consumers'
idempotency tables.
"""

from __future__ import annotations

import collections
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, any_, bindparam, event, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from shared import metrics
from shared.db import UTCDateTime
from shared.events import encode_event
from shared.kafka import KAFKA_HEADERS, make_producer
from shared.sqlite import READ_ONLY, UNSYNCED, RelayTurns, is_sqlite

log = structlog.get_logger(__name__)


class OutboxMixin:
    """Columns of a service's ``outbox`` table."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @classmethod
    def pending_index(cls, name: str = "ix_outbox_pending") -> Index:
        """Index that makes finding unpublished rows cheap."""
        return Index(name, "published_at", "id")


def outbox_row(*, topic: str, event: dict, now: datetime) -> dict[str, Any]:
    """The outbox row (column → value) that publishes ``event`` on ``topic``."""
    return {"event_id": event["id"], "topic": topic, "key": event["subject"], "payload": encode_event(event),
            "created_at": now, "published_at": None}


_PENDING = "outbox_pending"  # session.info key; only this module reads or sets it


def mark_pending(session: Session) -> None:
    """Say that ``session``'s transaction adds outbox rows: its relay is woken once it commits."""
    session.info[_PENDING] = True


def add_event(session: Session, model: type[Any], *, topic: str, event: dict, now: datetime) -> None:
    """Queue ``event`` for ``topic`` in the caller's transaction."""
    session.add(model(**outbox_row(topic=topic, event=event, now=now)))
    mark_pending(session)


class OutboxRelay:
    """Publishes a service's outbox; one per process, woken after commits that added events."""

    def __init__(self, *, session_factory: sessionmaker[Session], model: type[Any], bootstrap: str,
                 service: str, batch_size: int = 500, idle_seconds: float = 1.0, linger_seconds: float = 0.0,
                 handoff: bool = False, handoff_grace_seconds: float = 2.0):
        """``handoff=True``: writers of this process hand their committed rows over (:meth:`hand_off`)
        and the relay publishes them without reading them back; the table is then swept once per
        ``idle_seconds`` for rows older than ``handoff_grace_seconds`` (another process's that
        died before publishing, or rows whose send failed), and in full after :meth:`wake`.
        Only for outboxes whose events need no order between them (each key used once)."""
        self.session_factory = session_factory
        self.model = model
        self.bootstrap = bootstrap
        self.service = service
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.linger_seconds = linger_seconds
        self._wake = threading.Event()
        self.handoff = handoff
        self.handoff_grace = handoff_grace_seconds
        # bounded: rows beyond it (a relay that is not running, or far behind) are left to the sweep
        self._handed: collections.deque[dict[str, Any]] = collections.deque(maxlen=10 * batch_size)
        self._sweep = False
        self._degraded = False  # the last attempt failed: sweep everything until one succeeds
        self._producer: Any = None
        self._turns: RelayTurns | None = None  # on SQLite: the relays of one file take turns
        # built once: the relay shares the web workers' CPU with the requests, and building
        # these statements for every batch was a sixth of its time there
        table = model.__table__
        self._pending = (select(table.c.id, table.c.topic, table.c.key, table.c.payload, table.c.created_at)
                         .where(table.c.published_at.is_(None)).order_by(table.c.id).limit(batch_size))
        self._pending_before = self._pending.where(table.c.created_at <= bindparam("before"))
        self._marks: dict[tuple[str, str], Any] = {}  # (dialect, column) → the UPDATE marking a list published
        event.listen(session_factory, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_PENDING, False):
            self.wake()

    def wake(self) -> None:
        """Ask the relay to look for work in the table now."""
        self._sweep = True
        self._wake.set()

    def hand_off(self, row: dict[str, Any]) -> None:
        """Publish this :func:`outbox_row`, committed by this process, without reading it back.

        Call it only once the row's transaction has committed. Without ``handoff`` this is
        :meth:`wake`.
        """
        if not self.handoff:
            self.wake()
            return
        self._handed.append(row)
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Publish until ``stop`` is set, then drain what can be drained quickly."""
        backoff = 0.5
        last_depth = last_sweep = 0.0
        log.info("outbox_relay_started", service=self.service)
        while not stop.is_set():
            if self._wake.wait(self.idle_seconds) and self.linger_seconds:
                # let the commits of the next few milliseconds join this batch: one read, one
                # produce request and one mark for many rows instead of for each commit
                stop.wait(self.linger_seconds)
            self._wake.clear()
            # a wake() after this read leaves the flag set for the next turn; one between the
            # read and the reset is served by this turn's sweep, which starts after both
            sweep = self._sweep
            if sweep:
                self._sweep = False
            try:
                before: datetime | None = None  # sweep the whole table
                if self.handoff and not self._degraded:
                    self.publish_handed_off()
                    if not sweep:  # now and then, only rows nobody handed off in time
                        sweep = time.monotonic() - last_sweep >= self.idle_seconds
                        before = datetime.now(UTC) - timedelta(seconds=self.handoff_grace)
                else:
                    self._handed.clear()  # their rows are in the table: the sweep publishes them
                    sweep = True
                if sweep:
                    while self.publish_batch(before=before) == self.batch_size and not stop.is_set():
                        pass
                    last_sweep = time.monotonic()
                self._degraded = False
                backoff = 0.5
            except Exception as exc:  # Kafka or DB unavailable: keep the rows, retry later
                self._degraded = True
                metrics.OUTBOX_PUBLISH_FAILURES.labels(self.service).inc()
                log.warning("outbox_publish_failed", service=self.service, error=repr(exc), retry_in=backoff)
                self._drop_producer()
                stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            if time.monotonic() - last_depth >= 1.0:  # telemetry, not worth a query per wake-up
                self._record_depth()
                last_depth = time.monotonic()
        try:
            self.publish_batch()
        except Exception as exc:
            log.warning("outbox_final_publish_failed", service=self.service, error=repr(exc))
        self._drop_producer()
        log.info("outbox_relay_stopped", service=self.service)

    def _drop_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=2)
            except Exception as exc:
                log.debug("producer_close_failed", error=repr(exc))
            self._producer = None

    def publish_handed_off(self) -> int:
        """Publish the rows handed over so far (:meth:`hand_off`) and mark them; return how many.

        If sending fails, the rows stay unpublished in the table (the sweep finds them) and the
        error is raised.
        """
        rows: list[Any] = []
        while self._handed:
            rows.append(_Handed(self._handed.popleft()))
        if not rows:
            return 0
        if self._producer is None:
            self._producer = make_producer(self.bootstrap)
        done = self._send(rows)
        if done:
            with self.session_factory() as session, session.begin():
                if is_sqlite(session):
                    session.connection(execution_options={UNSYNCED: True})  # see publish_batch
                self._mark(session, rows, done, column="event_id")
            metrics.child(metrics.OUTBOX_PUBLISHED, self.service).inc(len(done))
        if len(done) < len(rows):
            raise RuntimeError(f"published {len(done)} of {len(rows)} handed-off outbox rows")
        return len(done)

    def publish_batch(self, *, before: datetime | None = None) -> int:
        """Publish up to ``batch_size`` pending rows in id order; return how many were published.

        With ``before``, only rows created before that time are published.

        On PostgreSQL the rows stay locked (``SKIP LOCKED``) while they are sent, so several
        relays never publish the same row. SQLite has one writer lock for the whole file, so
        there the rows are read, sent with no transaction open, and then marked (holding the
        lock while Kafka is slow would stop intake from accepting feedback), while this relay
        holds its turn among the relays of the file (:class:`shared.sqlite.RelayTurns`).
        """
        if self._producer is None:
            self._producer = make_producer(self.bootstrap)
        query, params = (self._pending, {}) if before is None else (self._pending_before, {"before": before})
        with self.session_factory() as session:
            if is_sqlite(session):
                rows, done = self._publish_in_turn(session, query, params)
            else:
                with session.begin():
                    rows = list(session.execute(query.with_for_update(skip_locked=True), params))
                    done = self._send(rows)
                    self._mark(session, rows, done)
        if done:
            metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(done))
        if len(done) < len(rows):
            raise RuntimeError(f"published {len(done)} of {len(rows)} outbox rows")
        return len(done)

    def _publish_in_turn(self, session: Session, query: Any, params: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        """SQLite: read the rows, send them with no transaction open, then mark them, in this relay's turn."""
        if self._turns is None:
            self._turns = RelayTurns()
        with self._turns.turn(session):
            with session.begin():
                rows = list(session.execute(query, params, execution_options={READ_ONLY: True}))
            done = self._send(rows)
            if done:
                with session.begin():
                    # a mark lost in a power cut only republishes (consumers are idempotent)
                    session.connection(execution_options={UNSYNCED: True})
                    self._mark(session, rows, done)
        return rows, done

    def _send(self, rows: list[Any]) -> list[Any]:
        """Send rows; return the ids Kafka acknowledged, in order, stopping at the first failure."""
        if not rows:
            return []
        futures = [
            self._producer.send(r.topic, key=r.key.encode(), value=r.payload, headers=KAFKA_HEADERS)
            for r in rows
        ]
        self._producer.flush(timeout=30)
        done: list[Any] = []
        for row, fut in zip(rows, futures, strict=True):
            try:
                fut.get(timeout=0 if fut.is_done else 30)
            except Exception as exc:
                log.warning("outbox_send_failed", service=self.service, row=row.id, error=repr(exc))
                break
            done.append(row.id)
        return done

    def _mark(self, session: Session, rows: list[Any], done: list[Any], column: str = "id") -> None:
        """Mark published the rows whose ``column`` (``id``, or ``event_id`` for handed-off rows) is in ``done``."""
        if not done:
            return
        now = datetime.now(UTC)
        connection = session.connection()
        dialect = connection.dialect.name
        mark = self._marks.get((dialect, column))
        if mark is None:
            table = self.model.__table__
            key = table.c[column]
            ids = (bindparam("ids", type_=ARRAY(key.type)) if dialect == "postgresql"
                   else bindparam("ids", expanding=True))
            where = key == any_(ids) if dialect == "postgresql" else key.in_(ids)
            mark = self._marks[(dialect, column)] = update(table).where(where).values(published_at=bindparam("now"))
        connection.execute(mark, {"ids": done, "now": now})
        latency = metrics.child(metrics.OUTBOX_PUBLISH_SECONDS, self.service)
        for row in rows[: len(done)]:
            latency.observe((now - row.created_at).total_seconds())

    def _record_depth(self) -> None:
        model = self.model
        try:
            with self.session_factory() as session:
                count, oldest = session.execute(
                    select(func.count(model.id), func.min(model.created_at)).where(model.published_at.is_(None)),
                    execution_options={READ_ONLY: True},
                ).one()
            metrics.OUTBOX_DEPTH.labels(self.service).set(count)
            age = 0.0
            if oldest is not None:
                if oldest.tzinfo is None:
                    oldest = oldest.replace(tzinfo=UTC)
                age = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
            metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(age)
        except Exception as exc:
            log.debug("outbox_depth_unavailable", error=repr(exc))


class _Handed:
    """A handed-off :func:`outbox_row` as :meth:`OutboxRelay._send` reads rows (its id is its event id)."""

    __slots__ = ("id", "topic", "key", "payload", "created_at")

    def __init__(self, row: dict[str, Any]):
        self.id, self.topic, self.key = row["event_id"], row["topic"], row["key"]
        self.payload, self.created_at = row["payload"], row["created_at"]
