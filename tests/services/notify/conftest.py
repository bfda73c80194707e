"""Notify fixtures: a migrated database, an org whose channels point at real local receivers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.notify.app import Notify
from services.notify.config import load_settings
from services.notify.handlers import on_feedback_received, on_ticket_event
from shared.events import DATA_SCHEMAS, Event
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


@pytest.fixture
def notify(db_url: Any, tmp_path: Path, http_receiver: HttpReceiver, mailbox: MailReceiver,
           monkeypatch: pytest.MonkeyPatch) -> Notify:
    monkeypatch.setenv("NOTIFY_DATABASE_URL", db_url("notify"))
    monkeypatch.setenv("ORG_CONFIG", str(write_org(tmp_path, http_receiver)))
    monkeypatch.setenv("NOTIFY_SMTP_URL", mailbox.url)
    monkeypatch.setenv("INTAKE_PUBLIC_URL", "http://intake.test")
    monkeypatch.setenv("NOTIFY_DELIVERY_BACKOFF_SECONDS", "0.05")
    monkeypatch.setenv("NOTIFY_DELIVERY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("NOTIFY_DELIVERY_TIMEOUT_SECONDS", "5")
    return Notify(load_settings())


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
    with notify.sessions() as session, session.begin():
        handler(session, event, now, ctx=notify.ctx)


@pytest.fixture
def pg_notify(tmp_path: Path, http_receiver: HttpReceiver, mailbox: MailReceiver,
              monkeypatch: pytest.MonkeyPatch) -> Iterator[Notify]:
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
        monkeypatch.setenv("NOTIFY_DATABASE_URL", url)
        monkeypatch.setenv("ORG_CONFIG", str(write_org(tmp_path, http_receiver)))
        monkeypatch.setenv("NOTIFY_SMTP_URL", mailbox.url)
        service = Notify(load_settings())
        yield service
        service.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
