"""The outbox: intake keeps accepting while Kafka is down, and everything is published once it is back."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer

from services.intake.app import Intake
from services.intake.config import load_settings
from services.intake.models import Outbox
from shared.topics import ensure_topics
from tests.support import Broker, free_port, wait_until_published

pytestmark = pytest.mark.integration


def test_feedback_accepted_while_the_broker_is_down_is_published_when_it_returns(
        tmp_path: Path, db_url: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("INTAKE_DATABASE_URL", db_url("intake"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")
    intake = Intake(load_settings())
    client = intake.create_app().test_client()
    stop = threading.Event()
    relay = threading.Thread(target=intake.relay.run, args=(stop,), daemon=True)
    relay.start()
    broker = Broker(tmp_path, port=port)
    try:
        ids = []
        for score in range(5):
            response = client.post("/api/v1/feedback", json={"survey": {"metric": "nps", "score": score}})
            assert response.status_code == 202
            ids.append(response.get_json()["id"])
        assert not wait_until_published(intake.sessions, Outbox, timeout=1.5)
        broker.start(create_topics=False)
        ensure_topics(broker.bootstrap)
        assert wait_until_published(intake.sessions, Outbox, timeout=60), "outbox never drained"
        consumer = KafkaConsumer("feedback.received", bootstrap_servers=broker.bootstrap,
                                 auto_offset_reset="earliest", consumer_timeout_ms=5000)
        keys = [r.key.decode() for r in consumer]
        consumer.close()
        assert sorted(set(keys)) == sorted(ids)
    finally:
        stop.set()
        relay.join(10)
        broker.stop()


def published_keys(bootstrap: str) -> list[str]:
    consumer = KafkaConsumer("feedback.received", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=3000)
    keys = [r.key.decode() for r in consumer]
    consumer.close()
    return keys


@pytest.fixture
def intake_env(tmp_path: Path, db_url: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Broker]:
    """A running broker with its topics; intake's settings point at it and at a fresh database."""
    broker = Broker(tmp_path).start(create_topics=False)
    ensure_topics(broker.bootstrap)
    monkeypatch.setenv("INTAKE_DATABASE_URL", db_url("intake"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", broker.bootstrap)
    try:
        yield broker
    finally:
        broker.stop()


@contextlib.contextmanager
def relay_running(intake: Intake) -> Iterator[None]:
    """Run ``intake``'s outbox relay in a thread, as its web worker does."""
    stop = threading.Event()
    relay = threading.Thread(target=intake.relay.run, args=(stop,), daemon=True)
    relay.start()
    try:
        yield
    finally:
        stop.set()
        relay.join(10)


def test_the_api_hands_its_events_to_the_relay_which_publishes_each_once_without_reading_them_back(
        intake_env: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    intake = Intake(load_settings())
    client = intake.create_app().test_client()
    swept: list[int] = []
    sweep = intake.relay.publish_batch
    monkeypatch.setattr(intake.relay, "publish_batch", lambda **kw: swept.append(sweep(**kw)) or swept[-1])
    with relay_running(intake):
        ids = []
        for score in range(20):
            response = client.post("/api/v1/feedback", json={"survey": {"metric": "nps", "score": score % 11}})
            assert response.status_code == 202
            ids.append(response.get_json()["id"])
        assert wait_until_published(intake.sessions, Outbox, timeout=30), "outbox never drained"
        assert sorted(published_keys(intake_env.bootstrap)) == sorted(ids)  # each once
        assert sum(swept) == 0  # all of them came through the hand-off


def test_rows_nobody_handed_off_are_swept_once_they_are_older_than_the_grace(intake_env: Broker) -> None:
    # a worker that stored feedback and died before publishing: its relay never runs
    dead = Intake(load_settings())
    dead_client = dead.create_app().test_client()
    orphan = dead_client.post("/api/v1/feedback", json={"comment": "stored, never handed on"}).get_json()["id"]
    alive = Intake(load_settings())
    alive.relay.idle_seconds, alive.relay.handoff_grace = 0.2, 1.0
    with relay_running(alive):
        assert wait_until_published(alive.sessions, Outbox, timeout=30), "the orphan was never swept"
        assert published_keys(intake_env.bootstrap) == [orphan]


def test_rows_stored_through_a_session_wake_the_relay_for_a_full_sweep_at_once(intake_env: Broker) -> None:
    intake = Intake(load_settings())
    intake.relay.handoff_grace = 30.0  # were the batch left to the grace sweep, it would wait 30 s
    client = intake.create_app().test_client()
    with relay_running(intake):
        answer = client.post("/api/v1/feedback/batch", json=[{"rating": 2, "comment": "slow"}, {"rating": 5}],
                             headers={"Authorization": "Bearer dev-integration-token"})
        assert answer.status_code == 200
        ids = [item["id"] for item in answer.get_json()["items"]]
        assert wait_until_published(intake.sessions, Outbox, timeout=10), "the batch waited for the grace sweep"
        assert sorted(published_keys(intake_env.bootstrap)) == sorted(ids)
