"""Every kind of feedback and every source is accepted, stored as sent and published as sent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from services.intake.models import Outbox
from shared.events import SOURCES, decode_event
from tests.services.intake.conftest import count

CEO = {"Authorization": "Bearer dev-ceo"}
INTEGRATION = {"Authorization": "Bearer dev-integration-token"}

KINDS = {
    "nps": {"source": "survey", "survey": {"metric": "nps", "score": 0}},
    "nps_top": {"source": "survey", "survey": {"metric": "nps", "score": 10}},
    "csat": {"source": "survey", "survey": {"metric": "csat", "score": 5}},
    "ces": {"source": "survey", "survey": {"metric": "ces", "score": 7}},
    "stars": {"source": "review", "rating": 1, "external_id": "g-123", "product": "desk"},
    "text": {"source": "chat", "comment": "Le livreur était très aimable", "locale": "fr-FR"},
    "everything": {
        "source": "email", "survey": {"metric": "csat", "score": 2}, "rating": 2, "comment": "Billed twice",
        "customer": {"id": "c-9", "email": "kim@example.org", "name": "Kim Lee"}, "touchpoint": "billing",
        "product": "plan-pro", "locale": "en-GB", "external_id": "mail-1", "submitted_at": "2026-01-02T03:04:05+01:00",
        "metadata": {"order": "SO-1", "tags": ["vip"]},
    },
}


def event_of(intake: Any, feedback_id: str) -> Any:
    with intake.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.key == feedback_id)).one()
    return decode_event(row.payload)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_kind_is_stored_and_read_back_as_sent(client: Any, intake: Any, kind: str) -> None:
    body = KINDS[kind]
    answer = client.post("/api/v1/feedback", json=body)
    assert answer.status_code == 202, answer.get_json()
    stored = client.get(f"/api/v1/feedback/{answer.get_json()['id']}", headers=CEO).get_json()
    for field, value in body.items():
        if field == "submitted_at":
            continue
        assert stored[field] == value, field
    event = event_of(intake, stored["id"])
    assert event.data["source"] == body["source"]
    assert event.data["survey"] == body.get("survey")
    assert event.data["rating"] == body.get("rating")
    assert event.data["comment"] == body.get("comment")


def test_submitted_at_keeps_the_instant(client: Any, intake: Any) -> None:
    answer = client.post("/api/v1/feedback", json=KINDS["everything"]).get_json()
    event = event_of(intake, answer["id"])
    assert event.data["submitted_at"] == datetime(2026, 1, 2, 2, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize("source", SOURCES)
def test_every_source_is_accepted(client: Any, intake: Any, source: str) -> None:
    body: dict[str, Any] = {"source": source, "comment": f"via {source}"}
    headers = {}
    if source == "follow_up":  # an integration's (a survey tool's) answer on a ticket
        body["in_reply_to"] = "t-1"
        headers = INTEGRATION
    assert client.post("/api/v1/feedback", json=body, headers=headers).status_code == 202
    assert count(intake, Outbox) == 1


def test_a_follow_up_answer_needs_no_score_or_comment(client: Any) -> None:
    body = {"source": "follow_up", "in_reply_to": "t-1", "metadata": {"answer": "not_fixed"}}
    assert client.post("/api/v1/feedback", json=body, headers=INTEGRATION).status_code == 202
    other = client.post("/api/v1/feedback", json={"source": "form", "metadata": {"answer": "not_fixed"}},
                        headers=INTEGRATION)
    assert other.status_code == 422


def test_comment_of_ten_thousand_characters_in_any_script_is_kept(client: Any) -> None:
    comment = ("নমস্কার 🙏 こんにちは مرحبا " * 500)[:10_000]
    assert len(comment) == 10_000
    answer = client.post("/api/v1/feedback", json={"comment": comment}).get_json()
    stored = client.get(f"/api/v1/feedback/{answer['id']}", headers=CEO).get_json()
    assert stored["comment"].encode("utf-8") == comment.encode("utf-8")
