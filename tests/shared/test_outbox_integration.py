"""The outbox: intake keeps accepting while Kafka is down, and everything is published once it is back."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer

from services.intake.app import Intake
from services.intake.config import load_settings
from services.intake.models import Outbox
from shared.outbox import wait_until_published
from shared.topics import ensure_topics
from tests.support import Broker, free_port

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
