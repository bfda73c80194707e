"""Notify fixtures: a migrated database, an org whose channels point at real local receivers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.notify.app import Notify
from services.notify.batch import unit_of_work
from services.notify.config import NotifySettings
from services.notify.handlers import on_feedback_received, on_ticket_event
from shared.events import DATA_SCHEMAS, Event
from shared.settings import CommonSettings
from tests.services.notify.receivers import HttpReceiver, MailReceiver
from tests.support import ORG

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WEBHOOK_SECRET = "s3cret-for-tests"


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(failing={"/hooks/broken"}).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def mailbox() -> Iterator[MailReceiver]:
    receiver = MailReceiver().start()
    yield receiver
    receiver.stop()


def write_org(path: Path, receiver: HttpReceiver, **changes: Any) -> Path:
    """The demo org with its channels pointing at ``receiver`` and a broken channel added."""
    org = yaml.safe_load(ORG.read_text())
    org["channels"] = [
        {"id": "org-feed", "type": "feed"},
        {"id": "kudos", "type": "slack", "url": receiver.url("/slack/kudos"), "subscribe": {"kinds": ["praise"]}},
        {"id": "complaints", "type": "webhook", "url": receiver.url("/hooks/complaints"), "secret": WEBHOOK_SECRET,
         "subscribe": {"kinds": ["complaint"]}},
        {"id": "broken", "type": "webhook", "url": receiver.url("/hooks/broken"), "secret": "x",
         "subscribe": {"kinds": ["complaint", "praise", "neutral"]}},
        {"id": "leadership-mail", "type": "email", "to": ["carmen@example.com"],
         "subscribe": {"digest": ["daily", "weekly"]}},
    ]
    for team in org["teams"]:
        if team["id"] == "logistics":
            team["channel"] = "logistics-chat"
    org["channels"].append({"id": "logistics-chat", "type": "slack", "url": receiver.url("/slack/logistics"),
                            "subscribe": {"events": []}})
    org.update(changes)
    target = path / "org.yaml"
    target.write_text(yaml.safe_dump(org, sort_keys=False))
    return target


def settings(database_url: str, org: Path, smtp_url: str, **changes: Any) -> NotifySettings:
    """Notify's settings for a test, as an object (no environment variables)."""
    base = NotifySettings(
        common=CommonSettings(kafka_bootstrap="127.0.0.1:9", org_config=str(org), log_level="WARNING",
                              secret_key="test-secret-key", link_secret="test-secret-key", web_workers=1,
                              web_threads=1, metrics_port=None),
        database_url=database_url, port=8003, smtp_url=smtp_url, intake_public_url="http://intake.test",
        triage_public_url="http://triage.test", notify_public_url="http://notify.test",
        delivery_max_attempts=3, delivery_backoff_seconds=0.05, delivery_max_backoff_seconds=1800.0,
        delivery_timeout_seconds=5.0, delivery_poll_seconds=0.5,
    )
    return replace(base, **changes)


@pytest.fixture
def notify(db_url: Any, tmp_path: Path, http_receiver: HttpReceiver, mailbox: MailReceiver) -> Notify:
    return Notify(settings(db_url("notify"), write_org(tmp_path, http_receiver), mailbox.url))


def feedback_event(**data: Any) -> Event:
    body = {"id": str(uuid.uuid4()), "received_at": NOW, "source": "survey", **data}
    return Event(id=str(uuid.uuid4()), type="feedback.received", source="/intake", subject=body["id"], time=NOW,
                 data=body)


def ticket_event(type: str, feedback_id: str, **data: Any) -> Event:
    body = {"ticket_id": data.pop("ticket_id", str(uuid.uuid4())), "feedback_id": feedback_id, "status": "open",
            "sla_state": "on_track", "priority": "P2", "team": "logistics", "team_name": "Logistics",
            "owner": {"id": "u-tom", "name": "Tom Nguyen", "email": "tom@example.com"}, "received_at": NOW,
            "due_at": NOW + timedelta(hours=24), "touchpoint": "delivery", "kind": "complaint", **data}
    loaded = DATA_SCHEMAS[type].load(DATA_SCHEMAS[type].dump(body))
    return Event(id=str(uuid.uuid4()), type=type, source="/triage", subject=body["ticket_id"], time=NOW, data=loaded)


def consume(notify: Notify, event: Event, now: datetime = NOW) -> None:
    """Apply one event as the consumer loop does (one transaction)."""
    handler = on_feedback_received if event.type == "feedback.received" else on_ticket_event
    with unit_of_work(notify.sessions) as batch:
        handler(batch, event, now, ctx=notify.ctx)


@pytest.fixture
def pg_notify(tmp_path: Path, http_receiver: HttpReceiver, mailbox: MailReceiver) -> Iterator[Notify]:
    """Notify on a fresh PostgreSQL database of its own (created and dropped around the test)."""
    import os

    from sqlalchemy import create_engine, text

    from tests.support import migrate

    base = os.environ.get("CLOSELOOP_TEST_PG_URL")
    if not base:
        pytest.skip("needs PostgreSQL: set CLOSELOOP_TEST_PG_URL (.ci/run does)")
    name = f"notify_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate("notify", url)
        service = Notify(settings(url, write_org(tmp_path, http_receiver), mailbox.url))
        yield service
        service.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
