"""The consumer loop and the outbox against the real local broker and SQLite."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import func, select

from services.triage.app import Triage
from services.triage.config import load_settings as triage_settings
from services.triage.database import ProcessedEvent
from services.triage.tickets.models import Feedback, Ticket
from shared.events import encode_event, make_event
from shared.kafka import ConsumerLoop
from tests.support import Broker, wait_for

pytestmark = pytest.mark.integration


def feedback(score: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    fid = str(uuid.uuid4())
    return make_event(type="feedback.received", source="/intake", subject=fid, now=now,
                      data={"id": fid, "received_at": now, "source": "survey",
                            "survey": {"metric": "nps", "score": score}})


@pytest.fixture
def triage(broker: Broker, db_url: Any, monkeypatch: pytest.MonkeyPatch) -> Triage:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", db_url("triage"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap)
    service = Triage(triage_settings())
    service.sync()
    return service


def has_feedback(triage: Triage, feedback_id: str) -> bool:
    with triage.sessions() as session:
        return session.get(Feedback, feedback_id) is not None


def run_loop(loop: ConsumerLoop) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def tickets(triage: Triage) -> int:
    with triage.sessions() as session:
        return session.scalar(select(func.count()).select_from(Ticket))


def test_garbage_goes_to_the_dlq_with_a_reason_and_valid_messages_still_flow(broker: Broker, triage: Triage) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    producer.send("feedback.received", key=b"x", value=b"\x00garbage{")
    good = feedback(2)
    producer.send("feedback.received", key=good["subject"].encode(), value=encode_event(good))
    producer.flush()
    stop, thread = run_loop(triage.consumer())
    try:
        wait_for(lambda: tickets(triage) == 1, 30, "the valid feedback's ticket")
        dlq = KafkaConsumer("feedback.received.dlq", bootstrap_servers=broker.bootstrap,
                            auto_offset_reset="earliest", consumer_timeout_ms=10000)
        record = next(iter(dlq))
        dlq.close()
        assert record.value == b"\x00garbage{"
        reason = dict(record.headers)["dlq-reason"].decode()
        assert "not JSON" in reason
    finally:
        stop.set()
        thread.join(10)
    producer.close()


def test_a_replayed_event_is_harmless(broker: Broker, triage: Triage) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    event = feedback(1)
    for _ in range(3):
        producer.send("feedback.received", key=event["subject"].encode(), value=encode_event(event))
    producer.flush()
    stop, thread = run_loop(triage.consumer())
    try:
        wait_for(lambda: tickets(triage) == 1, 30, "one ticket")
        marker = feedback(10)
        producer.send("feedback.received", key=marker["subject"].encode(), value=encode_event(marker)).get(10)
        wait_for(lambda: has_feedback(triage, marker["subject"]), 30, "the marker feedback")
        assert tickets(triage) == 1
    finally:
        stop.set()
        thread.join(10)
    producer.close()


def test_offsets_are_committed_so_a_restart_does_not_reprocess(broker: Broker, triage: Triage) -> None:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    first = feedback(3)
    producer.send("feedback.received", key=first["subject"].encode(), value=encode_event(first)).get(10)
    stop, thread = run_loop(triage.consumer())
    wait_for(lambda: tickets(triage) == 1, 30, "the first ticket")
    stop.set()
    thread.join(15)
    seen: list[str] = []
    loop = triage.consumer()
    loop.handlers = {"feedback.received": lambda session, event, now: seen.append(event.id)}
    second = feedback(4)
    producer.send("feedback.received", key=second["subject"].encode(), value=encode_event(second)).get(10)
    stop, thread = run_loop(loop)
    try:
        wait_for(lambda: second["id"] in seen, 30, "the second event")
        assert first["id"] not in seen
    finally:
        stop.set()
        thread.join(10)
    producer.close()


def comment_event(comment: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    fid = str(uuid.uuid4())
    return make_event(type="feedback.received", source="/intake", subject=fid, now=now,
                      data={"id": fid, "received_at": now, "source": "form", "comment": comment})


def picky_loop(triage: Triage, handled: list[str], **options: Any) -> ConsumerLoop:
    """A loop whose handler records comments, overflows on "poison" and loses its database on "outage"."""
    from sqlalchemy.exc import OperationalError

    def handle(session: Any, event: Any, now: datetime) -> None:
        comment = event.data.get("comment")
        if comment == "poison":
            raise OverflowError("date value out of range")  # what a received_at at the end of time did
        if comment == "outage":
            raise OperationalError("SELECT 1", {}, ConnectionError("the database is unreachable"))
        handled.append(comment)

    return ConsumerLoop(bootstrap=triage.settings.common.kafka_bootstrap, group=f"picky-{uuid.uuid4().hex[:6]}",
                        topics=["feedback.received"], handlers={"feedback.received": handle},
                        session_factory=triage.sessions, processed_model=ProcessedEvent, backoff_seconds=0.01,
                        **options)


def send_comments(broker: Broker, *comments: str, garbage: int = 0) -> dict[str, str]:
    """Send garbage, then an event per comment; return comment -> event id."""
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for _ in range(garbage):
        producer.send("feedback.received", key=b"g", value=b"\x00garbage{")
    ids = {}
    for comment in comments:
        event = comment_event(comment)
        ids[comment] = event["id"]
        producer.send("feedback.received", key=event["subject"].encode(), value=encode_event(event))
    producer.flush()
    producer.close()
    return ids


def processed(triage: Triage) -> set[str]:
    with triage.sessions() as session:
        return set(session.scalars(select(ProcessedEvent.event_id)))


def dead_lettered(broker: Broker) -> list[Any]:
    dlq = KafkaConsumer("feedback.received.dlq", bootstrap_servers=broker.bootstrap,
                        auto_offset_reset="earliest", consumer_timeout_ms=3000)
    found = list(dlq)
    dlq.close()
    return found


def run_until_it_stops(loop: ConsumerLoop, timeout: float = 60) -> BaseException | None:
    """Run ``loop`` until it raises (return what) or ``timeout`` passes (return None, after stopping it)."""
    raised: list[BaseException] = []

    def target(stop: threading.Event) -> None:
        try:
            loop.run(stop)
        except BaseException as exc:
            raised.append(exc)

    stop = threading.Event()
    thread = threading.Thread(target=target, args=(stop,), daemon=True)
    thread.start()
    thread.join(timeout)
    stop.set()
    thread.join(10)
    return raised[0] if raised else None


def test_a_message_that_fails_the_same_way_every_time_is_dead_lettered_and_the_rest_flow(
        broker: Broker, triage: Triage) -> None:
    ids = send_comments(broker, "before", "poison", "after")
    handled: list[str] = []
    stop, thread = run_loop(picky_loop(triage, handled))
    try:
        wait_for(lambda: set(ids.values()) <= processed(triage), 60, "the batch around the poison committed")
        [letter] = dead_lettered(broker)
        reason = dict(letter.headers)["dlq-reason"].decode()
        assert "OverflowError" in reason and "date value out of range" in reason
        assert thread.is_alive()
    finally:
        stop.set()
        thread.join(10)
    assert {"before", "after"} <= set(handled) and "poison" not in handled


def test_a_transient_fault_still_crashes_the_loop_and_nothing_is_dead_lettered(broker: Broker, triage: Triage) -> None:
    from sqlalchemy.exc import OperationalError

    send_comments(broker, "outage")
    raised = run_until_it_stops(picky_loop(triage, [], max_attempts=5))
    assert isinstance(raised, OperationalError)
    assert dead_lettered(broker) == []


def test_too_many_dead_letters_in_a_row_stop_the_loop(broker: Broker, triage: Triage) -> None:
    from shared.kafka import DeadLetterLimitExceeded

    send_comments(broker, "fine", garbage=5)
    raised = run_until_it_stops(picky_loop(triage, [], dlq_limit=3))
    assert isinstance(raised, DeadLetterLimitExceeded)
    assert len(dead_lettered(broker)) <= 3
