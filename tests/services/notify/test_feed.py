"""The org feed: praise and complaints alike, redacted, visible with a token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.notify.app import Notify
from services.notify.config import load_settings
from services.notify.handlers import on_feedback_received
from shared.events import Event

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def notify(db_url: Any, monkeypatch: pytest.MonkeyPatch) -> Notify:
    monkeypatch.setenv("NOTIFY_DATABASE_URL", db_url("notify"))
    return Notify(load_settings())


def add(notify: Notify, **data: Any) -> None:
    body = {"id": str(uuid.uuid4()), "received_at": NOW, "source": "survey", **data}
    event = Event(id=str(uuid.uuid4()), type="feedback.received", source="/intake", subject=body["id"], time=NOW,
                  data=body)
    with notify.sessions() as session, session.begin():
        on_feedback_received(session, event, NOW)


def test_feed_shows_praise_and_complaints_redacted(notify: Notify) -> None:
    add(notify, survey={"metric": "nps", "score": 10}, comment="Ana was wonderful, thanks!")
    add(notify, survey={"metric": "nps", "score": 1}, comment="Call me on +1 415 555 0100, still broken")
    client = notify.create_app().test_client()
    assert client.get("/api/v1/feed").status_code == 401
    items = client.get("/api/v1/feed", headers={"Authorization": "Bearer dev-tom"}).get_json()["items"]
    assert [i["kind"] for i in items] == ["complaint", "praise"]
    assert "555" not in items[0]["comment"] and "[phone]" in items[0]["comment"]
    praise = client.get("/api/v1/feed?kind=praise", headers={"Authorization": "Bearer dev-tom"}).get_json()
    assert [i["comment"] for i in praise["items"]] == ["Ana was wonderful, thanks!"]
