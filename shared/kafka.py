"""Kafka plumbing: the producer settings and the one consumer loop every service uses.

The loop polls a batch, decodes each message, and runs the handlers for the whole batch inside
one database transaction (each message in its own savepoint). The event id goes into the
service's idempotency table in the same transaction, so a replay after a crash is harmless.
Offsets are committed (``offset + 1``) only after the transaction commits. A message that cannot
be decoded or that a handler rejects as invalid goes to ``<topic>.dlq`` with the reason in its
headers and the loop goes on. Any other error retries the batch with backoff. A transient one
(the database or the broker unreachable, a full disk) then raises, so the process crashes and
its supervisor restarts it, and nothing is skipped. An error that comes back the same way
``poison_attempts`` times is a poison message (a valid event a handler cannot handle, e.g. a
date at the end of time): the batch runs once more with each message on its own, and the
messages that still fail go to the dead-letter topic with the error. As arroyo's ``DlqLimit``
does, the loop stops (raises :class:`DeadLetterLimitExceeded`) rather than dead-letter more
than ``dlq_limit`` messages in a row: that is an outage, not a few bad messages.

A service may also give the loop a batch hook: a context manager entered around the handlers of
a batch (with the events about to be handled), so that it can look up in one query what the
handlers would otherwise look up one message at a time, and write what they queued in one
statement per table when it exits. When messages are isolated, each one gets its own hook,
inside its savepoint, so a rejected message's queued rows are dropped with it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shared import metrics
from shared.bulk import insert_rows
from shared.db import among
from shared.events import CONTENT_TYPE, Event, InvalidEvent, decode_event
from shared.topics import dlq

log = structlog.get_logger(__name__)

Handler = Callable[[Session, Event, datetime], object]
BatchHook = Callable[[Session, list[Event]], AbstractContextManager[object]]
"""Entered around the handlers of a batch with the events they are about to handle."""


class RejectedEvent(Exception):
    """Raised by a handler for an event that is well-formed but can never be processed."""


class DeadLetterLimitExceeded(Exception):
    """Too many messages in a row would have gone to the dead-letter topic: the loop stops instead."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database or the broker is unreachable or full, not the message."""
    from kafka.errors import KafkaError
    from sqlalchemy import exc as db_errors

    seen: BaseException | None = exc
    for _ in range(10):  # the chain of causes, bounded
        if seen is None:
            return False
        if isinstance(seen, (db_errors.OperationalError, db_errors.InterfaceError, db_errors.DisconnectionError,
                             db_errors.TimeoutError, KafkaError, OSError)):
            return True
        if isinstance(seen, db_errors.DBAPIError) and seen.connection_invalidated:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _failure(exc: BaseException) -> str:
    """How a batch failed, to tell the same failure coming back from another."""
    return f"{type(exc).__qualname__}: {exc}"[:500]


class _IsolateMessages(Exception):
    """A handler rejected a message in a batch run without savepoints: run it again with them."""


def make_producer(bootstrap: str, **overrides: Any) -> Any:
    """A producer tuned for small JSON events: acks from all replicas, short linger, bounded blocking."""
    from kafka import KafkaProducer

    options: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "linger_ms": 5,
        "max_block_ms": 5000,
        "request_timeout_ms": 10000,
        "client_id": "closeloop-producer",
    }
    options.update(overrides)
    return KafkaProducer(**options)


def consumer_options(bootstrap: str, group: str) -> dict[str, Any]:
    """Consumer settings: manual commits, fast group joins, bounded batches."""
    return {
        "bootstrap_servers": bootstrap,
        "group_id": group,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "session_timeout_ms": 6000,
        "heartbeat_interval_ms": 1000,
        # backpressure: a slow database holds at most one poll and one fetch per partition in memory
        "max_poll_records": 500,
        # an idle fetch waits at most this long; at the default 500 ms the local broker answered a
        # new record ~200 ms late (measured), at 50 ms within ~4 ms, for 20 small requests/s idle
        "fetch_max_wait_ms": 50,
        "max_partition_fetch_bytes": 1024 * 1024,
        "fetch_max_bytes": 16 * 1024 * 1024,
        "max_poll_interval_ms": 120000,
        "client_id": f"closeloop-{group}",
    }


@dataclass
class ConsumerLoop:
    """Consume ``topics`` as ``group`` and apply ``handlers`` (event type → handler) durably."""

    bootstrap: str
    group: str
    topics: Iterable[str]
    handlers: dict[str, Handler]
    session_factory: sessionmaker[Session]
    processed_model: type[Any]
    batch_hook: BatchHook | None = None
    max_attempts: int = 6
    backoff_seconds: float = 0.5
    poison_attempts: int = 3
    """A batch that fails the same way this many times has a poison message: it is dead-lettered."""
    dlq_limit: int = 100
    """More messages than this dead-lettered in a row stop the loop (:class:`DeadLetterLimitExceeded`)."""
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _consumer: Any = None
    _producer: Any = None

    def __post_init__(self) -> None:
        self.topics = list(self.topics)
        self._rank = {topic: i for i, topic in enumerate(self.topics)}
        self._dead_in_a_row = 0

    def run(self, stop: threading.Event) -> None:
        """Poll and process until ``stop`` is set; raise after repeated transient failures."""
        from kafka import KafkaConsumer

        self._consumer = KafkaConsumer(*self.topics, **consumer_options(self.bootstrap, self.group))
        self._producer = make_producer(self.bootstrap)
        log.info("consumer_started", group=self.group, topics=list(self.topics))
        try:
            last_lag = 0.0
            while not stop.is_set():
                batch = self._consumer.poll(timeout_ms=500)
                if batch:
                    self._process_with_retries(batch)
                    self._commit(batch)
                if time.monotonic() - last_lag > 5:
                    self._report_lag()
                    last_lag = time.monotonic()
        finally:
            self._consumer.close()
            self._producer.close(timeout=5)
            log.info("consumer_stopped", group=self.group)

    def _commit(self, batch: dict) -> None:
        from kafka.structs import OffsetAndMetadata

        offsets = {tp: OffsetAndMetadata(records[-1].offset + 1, "", -1) for tp, records in batch.items()}
        self._consumer.commit(offsets)

    def _process_with_retries(self, batch: dict) -> None:
        records = [r for rs in batch.values() for r in rs]
        last_failure, same = "", 0
        for attempt in range(1, self.max_attempts + 1):
            poison = same >= self.poison_attempts
            try:
                started = time.perf_counter()
                self.process(records, dead_letter_failures=same if poison else 0)
                metrics.CONSUMER_BATCH_SECONDS.labels(self.group).observe(time.perf_counter() - started)
                return
            except DeadLetterLimitExceeded:
                raise
            except Exception as exc:
                metrics.CONSUMER_ERRORS.labels(self.group).inc()
                if attempt == self.max_attempts:
                    log.error("consumer_giving_up", group=self.group, attempts=attempt, error=repr(exc))
                    raise
                failure = "" if is_transient(exc) else _failure(exc)
                same = same + 1 if failure and failure == last_failure else int(bool(failure))
                last_failure = failure
                delay = self.backoff_seconds * 2 ** (attempt - 1)
                log.warning("consumer_retrying", group=self.group, attempt=attempt, delay=delay,
                            error=repr(exc), same_failure=same)
                time.sleep(delay)

    def process(self, records: list[Any], *, dead_letter_failures: int = 0) -> None:
        """Handle one polled batch in one transaction; dead-letter what cannot be handled.

        With ``dead_letter_failures`` (how many times the batch already failed the same way),
        each message runs on its own and one whose handler raises anything but a transient
        error is dead-lettered with it.

        Records are handled topic by topic, in the order ``topics`` lists them, each topic's in
        the order they came (a stable sort). Kafka orders records only within a partition, and
        one poll may hold a feedback and the ticket events about it from two topics in either
        order; listing ``feedback.received`` first means the feedback is known before its ticket
        events are handled whenever both arrive in one batch.

        The batch first runs without savepoints (a savepoint costs two statements per message).
        If a handler rejects a message, that attempt is rolled back as a whole and the batch is
        run again with each message in its own savepoint, so that only the rejected one is
        left out. The idempotency rows of the batch are written with one multi-row insert.
        """
        decoded: list[tuple[Any, Event]] = []
        rejected: list[tuple[Any, str]] = []
        last = len(self._rank)
        ordered = sorted(records, key=lambda r: self._rank.get(r.topic, last))
        for record in ordered:
            try:
                decoded.append((record, decode_event(record.value)))
            except InvalidEvent as exc:
                rejected.append((record, exc.reason))
        now = self.clock()
        if dead_letter_failures:
            outcomes = self._apply(decoded, rejected, now, isolate=True, failed_before=dead_letter_failures)
        else:
            try:
                outcomes = self._apply(decoded, rejected, now, isolate=False)
            except _IsolateMessages:
                outcomes = self._apply(decoded, rejected, now, isolate=True)
        self._brake(ordered, rejected)
        for topic, outcome in outcomes:
            metrics.CONSUMER_MESSAGES.labels(self.group, topic, outcome).inc()
        for record, reason in rejected:
            self._dead_letter(record, reason)

    def _brake(self, ordered: list[Any], rejected: list[tuple[Any, str]]) -> None:
        """Raise :class:`DeadLetterLimitExceeded` if over ``dlq_limit`` messages in a row would be dead-lettered."""
        dead = {id(record) for record, _ in rejected}
        run = self._dead_in_a_row
        for record in ordered:
            run = run + 1 if id(record) in dead else 0
            if run > self.dlq_limit:
                log.error("dead_letter_limit_exceeded", group=self.group, limit=self.dlq_limit,
                          reason=rejected[-1][1][:500])
                raise DeadLetterLimitExceeded(
                    f"more than {self.dlq_limit} messages in a row would go to the dead-letter topic "
                    f"(the last because: {rejected[-1][1][:200]}); stopping instead")
        self._dead_in_a_row = run

    def _apply(self, decoded: list[tuple[Any, Event]], rejected: list[tuple[Any, str]], now: datetime, *,
               isolate: bool, failed_before: int = 0) -> list[tuple[str, str]]:
        model = self.processed_model
        outcomes: list[tuple[str, str]] = []
        with self.session_factory() as session, session.begin():
            ids = [e.id for _, e in decoded]
            query = select(model.event_id).where(among(session, model.event_id, ids))
            seen = set(session.scalars(query)) if ids else set()
            fresh: list[str] = []
            todo: list[tuple[Any, Event, Handler]] = []
            for record, event in decoded:
                if event.id in seen:
                    outcomes.append((record.topic, "duplicate"))
                    continue
                seen.add(event.id)
                fresh.append(event.id)
                handler = self.handlers.get(event.type)
                if handler is None:
                    outcomes.append((record.topic, "ignored"))
                    continue
                todo.append((record, event, handler))
            if not isolate:
                with self._hook(session, [event for _, event, _ in todo]):
                    for record, event, handler in todo:
                        try:
                            handler(session, event, now)
                        except (RejectedEvent, InvalidEvent) as exc:
                            raise _IsolateMessages() from exc
                        outcomes.append((record.topic, "handled"))
            else:
                for record, event, handler in todo:
                    try:
                        with session.begin_nested(), self._hook(session, [event]):
                            handler(session, event, now)
                        outcomes.append((record.topic, "handled"))
                    except (RejectedEvent, InvalidEvent) as exc:
                        rejected.append((record, f"rejected by handler: {exc}"))
                        outcomes.append((record.topic, "rejected"))
                    except Exception as exc:
                        if not failed_before or is_transient(exc):
                            raise
                        rejected.append((record, f"handler failed the same way {failed_before + 1} times: {exc!r}"))
                        outcomes.append((record.topic, "rejected"))
            if fresh:
                # on the session's connection: the ORM's bulk insert did the same with more work per row
                insert_rows(session.connection(), model.__table__,
                            [{"event_id": i, "processed_at": now} for i in fresh])
        return outcomes

    def _hook(self, session: Session, events: list[Event]) -> AbstractContextManager[object]:
        if self.batch_hook is None or not events:
            return contextlib.nullcontext()
        return self.batch_hook(session, events)

    def _dead_letter(self, record: Any, reason: str) -> None:
        headers = list(record.headers or []) + [
            ("dlq-reason", reason[:1000].encode()),
            ("dlq-original-topic", record.topic.encode()),
            ("dlq-original-partition", str(record.partition).encode()),
            ("dlq-original-offset", str(record.offset).encode()),
            ("dlq-consumer-group", self.group.encode()),
        ]
        self._producer.send(dlq(record.topic), key=record.key, value=record.value, headers=headers).get(
            timeout=30
        )
        metrics.DLQ_MESSAGES.labels(record.topic, self.group).inc()
        metrics.CONSUMER_MESSAGES.labels(self.group, record.topic, "dead_lettered").inc()
        log.warning("message_dead_lettered", topic=record.topic, partition=record.partition,
                    offset=record.offset, reason=reason)

    def _report_lag(self) -> None:
        try:
            for tp in self._consumer.assignment():
                end = self._consumer.highwater(tp)
                pos = self._consumer.position(tp)
                if end is not None and pos is not None:
                    metrics.CONSUMER_LAG.labels(self.group, tp.topic, str(tp.partition)).set(max(0, end - pos))
        except Exception as exc:  # lag is best-effort telemetry; never stop consuming for it
            log.debug("lag_unavailable", error=repr(exc))


def header(record: Any, name: str) -> bytes | None:
    """Return a Kafka header value by name."""
    for key, value in record.headers or []:
        if key == name:
            return value
    return None


KAFKA_HEADERS = [("content-type", CONTENT_TYPE.encode())]
