"""The triage consumer killed with SIGKILL again and again while feedback pours in: afterwards every
feedback has been seen once, and every problem has exactly one ticket (never none, never two)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from services.triage.database import Outbox
from services.triage.tickets.models import Feedback, Ticket
from shared.events import encode_event, make_event
from shared.kafka import KAFKA_HEADERS, make_producer
from shared.sentiment import POSITIVE, classify_feedback
from shared.topics import FEEDBACK_RECEIVED
from tests.support import Broker, ServiceProcess, wait_for

pytestmark = pytest.mark.integration
KILLS = 4
BATCH = 10


def feedback(i: int) -> dict[str, Any]:
    data: dict[str, Any] = {"id": str(uuid.uuid4()), "received_at": datetime.now(UTC), "source": "survey",
                            "survey": {"metric": "nps", "score": i % 11}}
    if i % 3 == 0:
        data["comment"] = f"The parcel number {i} arrived broken"
    return data


def count(engine: Any, query: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, db_url: Any) -> str:
    return request.getfixturevalue("pg_url") if request.param == "postgresql" else db_url("triage")


def test_sigkill_under_load_loses_no_feedback_and_duplicates_no_ticket(broker: Broker, database: str,
                                                                     tmp_path: Path) -> None:
    env = {"TRIAGE_DATABASE_URL": database, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
           "CLOSELOOP_VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "WARNING"}
    items: list[dict[str, Any]] = []
    producer = make_producer(broker.bootstrap)
    done = threading.Event()

    def produce() -> None:  # a steady stream until the last kill is over
        while not done.is_set():
            for _ in range(BATCH):
                data = feedback(len(items))
                items.append(data)
                event = make_event(type=FEEDBACK_RECEIVED, source="/intake", subject=data["id"], data=data,
                                   now=datetime.now(UTC))
                producer.send(FEEDBACK_RECEIVED, key=data["id"].encode(), value=encode_event(event),
                              headers=KAFKA_HEADERS)
            producer.flush()
            time.sleep(0.25)

    engine = create_engine(database)
    sender = threading.Thread(target=produce)
    sender.start()
    process = ServiceProcess("triage", "consume", env, tmp_path).start()
    try:
        for kill in range(KILLS):
            seen = count(engine, select(func.count(Feedback.id)))
            wait_for(lambda seen=seen: count(engine, select(func.count(Feedback.id))) > seen, 90,
                     f"progress before kill {kill + 1}")
            process.kill()  # SIGKILL: no shutdown, no offset commit
            process = ServiceProcess("triage", "consume", env, tmp_path).start()
        time.sleep(1)
        done.set()
        sender.join(30)
        wait_for(lambda: count(engine, select(func.count(Feedback.id))) == len(items), 120, "every feedback handled")
    finally:
        done.set()
        process.stop()
        producer.close()
    problems = sum(1 for d in items if classify_feedback(d).label != POSITIVE)
    tickets = count(engine, select(func.count(Ticket.id)))
    per = select(func.count(Ticket.id).label("n")).group_by(Ticket.feedback_id).subquery()
    per_feedback = count(engine, select(func.max(per.c.n)))
    created = count(engine, select(func.count(Outbox.id)))
    assert len(items) > 200 and problems > 100
    assert tickets == problems, process.log()[-3000:]
    assert per_feedback <= 1
    assert created == problems  # one ticket.created per ticket, none replayed
    engine.dispose()
