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
