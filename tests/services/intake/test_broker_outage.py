"""Kafka down: the form and the API keep accepting; everything is published once the broker is back."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer

from services.intake.models import Outbox
from shared import topics
from shared.events import decode_event
from tests.services.intake.conftest import count, csrf_token
from tests.support import Broker, free_port, wait_until_published

pytestmark = pytest.mark.integration


def test_feedback_accepted_while_the_broker_is_down_is_published_once_it_returns(
        make_intake: Any, tmp_path: Path) -> None:
    port = free_port()
    intake = make_intake(kafka_bootstrap=f"127.0.0.1:{port}")
    client = intake.create_app().test_client()
    stop = threading.Event()
    relay = threading.Thread(target=intake.relay.run, args=(stop,), daemon=True)
    relay.start()
    broker = None
    try:
        ids = []
        for i in range(5):
            answer = client.post("/api/v1/feedback", json={"survey": {"metric": "nps", "score": i}})
            assert answer.status_code == 202
            ids.append(answer.get_json()["id"])
        batch = client.post("/api/v1/feedback/batch", json=[{"comment": f"batch {i}"} for i in range(5)],
                            headers={"Authorization": "Bearer dev-integration-token"})
        ids += [item["id"] for item in batch.get_json()["items"]]
        form = client.post("/", data={"score": "2", "comment": "form while Kafka is down",
                                      "csrf_token": csrf_token(client)})
        assert form.status_code == 303
        assert count(intake, Outbox) == 11
        assert not wait_until_published(intake.sessions, Outbox, timeout=3)  # nothing can leave yet

        broker = Broker(tmp_path, port=port).start()
        assert wait_until_published(intake.sessions, Outbox, timeout=60)
        consumer = KafkaConsumer(topics.FEEDBACK_RECEIVED, bootstrap_servers=broker.bootstrap,
                                 auto_offset_reset="earliest", consumer_timeout_ms=5000, group_id=None)
        seen = [decode_event(message.value).subject for message in consumer]
        consumer.close()
        assert set(ids) <= set(seen) and len(set(seen)) == 11
    finally:
        stop.set()
        relay.join(timeout=20)
        if broker is not None:
            broker.stop()
