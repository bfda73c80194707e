"""Poison messages go to the dead-letter topic with a reason; everything around them still flows."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaConsumer

from services.triage.app import Triage
from services.triage.config import load_settings
from services.triage.database import ProcessedEvent
from services.triage.tickets.models import Ticket
from shared import events, topics
from shared.kafka import ConsumerLoop, RejectedEvent, make_producer
from tests.faults.conftest import System
from tests.support import Broker, wait_for

pytestmark = pytest.mark.e2e  # real processes; `make test-fast` leaves them out


def dead_letters(bootstrap: str, topic: str, at_least: int) -> list:
    consumer = KafkaConsumer(topics.dlq(topic), bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=1000, group_id=f"dlq-reader-{uuid.uuid4()}")
    found: list = []
    try:
        wait_for(lambda: (found.extend(consumer) or len(found) >= at_least), 60, f"{at_least} dead letters")
    finally:
        consumer.close()
    return found


def test_poison_messages_are_dead_lettered_and_the_stream_keeps_flowing(system: System) -> None:
    producer = make_producer(system.broker.bootstrap)
    poison = [b"\x00\xffnot json at all", json.dumps({"specversion": "1.0", "id": "p-2", "type": "feedback.received",
                                                       "source": "/intake", "time": "2026-01-01T00:00:00Z",
                                                       "subject": "x", "data": {"id": "x"}}).encode()]

    def poison_at(i: int) -> None:
        if i in (20, 60):
            producer.send(topics.FEEDBACK_RECEIVED, key=b"poison", value=poison[i // 60]).get(timeout=10)

    system.submit_many(100, "poison", during=poison_at)
    producer.close()
    system.assert_nothing_lost()
    # two consumer groups read feedback.received, and each dead-letters both messages once
    letters = dead_letters(system.broker.bootstrap, topics.FEEDBACK_RECEIVED, 4)
    by_group = {}
    for record in letters:
        headers = dict(record.headers)
        by_group.setdefault(headers["dlq-consumer-group"].decode(), []).append(record.value)
        assert headers["dlq-reason"]
    assert sorted(by_group) == ["notify", "triage"]
    assert all(sorted(values) == sorted(poison) for values in by_group.values())


def complaint(i: int, comment: str) -> bytes:
    fid = str(uuid.uuid4())
    data = {"id": fid, "received_at": datetime.now(UTC), "source": "survey", "survey": {"metric": "nps", "score": 2},
            "comment": comment}
    return events.encode_event(events.make_event(type=events.FEEDBACK_RECEIVED, source="/intake", subject=fid,
                                                 data=data, now=datetime.now(UTC)))


def test_a_message_a_handler_rejects_is_left_out_alone_and_its_batch_is_applied_once(
        broker: Broker, db_url, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", db_url("triage"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap)
    triage = Triage(load_settings())
    triage.sync()
    real = triage.consumer().handlers[events.FEEDBACK_RECEIVED]

    def picky(session, event, now):  # type: ignore[no-untyped-def]
        if "reject me" in (event.data.get("comment") or ""):
            raise RejectedEvent("this complaint cannot be handled")
        return real(session, event, now)

    producer = make_producer(broker.bootstrap)
    values = [complaint(i, "reject me" if i == 7 else f"late parcel {i}") for i in range(30)]
    for value in values:  # one partition key: one batch, the rejected one in the middle
        producer.send(topics.FEEDBACK_RECEIVED, key=b"same", value=value)
    producer.flush()
    producer.close()
    loop = ConsumerLoop(bootstrap=broker.bootstrap, group="triage-picky", topics=[topics.FEEDBACK_RECEIVED],
                        handlers={events.FEEDBACK_RECEIVED: picky}, session_factory=triage.sessions,
                        processed_model=ProcessedEvent)
    stop = threading.Event()
    thread = threading.Thread(target=loop.run, args=(stop,), daemon=True)
    thread.start()
    try:
        letters = dead_letters(broker.bootstrap, topics.FEEDBACK_RECEIVED, 1)

        def count() -> int:
            with triage.sessions() as session:
                return session.query(Ticket).count()

        wait_for(lambda: count() == 29, 30, "29 tickets")
    finally:
        stop.set()
        thread.join(timeout=20)
    assert [r.value for r in letters] == [values[7]]
    assert b"cannot be handled" in dict(letters[0].headers)["dlq-reason"]
    with triage.sessions() as session:
        assert session.query(Ticket).count() == 29
        assert session.query(ProcessedEvent).count() == 30
