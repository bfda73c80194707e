"""The batch endpoint: up to 1,000 items, a result per item, good items kept whatever the others hold."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from services.intake.models import Feedback, Outbox
from tests.services.intake.conftest import count

CEO = {"Authorization": "Bearer dev-ceo"}
INTEGRATION_TOKEN = "dev-integration-token"
MIXED = [
    {"source": "review", "rating": 2, "comment": "Slow support", "external_id": "rv-1"},
    {"source": "review", "rating": 9, "external_id": "rv-2"},
    {"source": "survey", "survey": {"metric": "csat", "score": 4}},
    {"comment": "hi", "unknown": 1},
    "not an object",
    {"source": "review", "rating": 5, "external_id": "rv-1"},
    {"source": "review", "rating": 5, "comment": "ডেলিভারি দ্রুত ছিল 😊", "external_id": "rv-3"},
]


@pytest.fixture
def client(intake: Any) -> Any:
    """A client of an integration (batches need its token)."""
    app = intake.create_app()
    app.config["TESTING"] = True
    integration = app.test_client()
    integration.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {INTEGRATION_TOKEN}"
    return integration


@pytest.mark.parametrize(("token", "status"), [(None, 401), ("made-up", 401), ("dev-ceo", 403)])
def test_a_batch_needs_an_integration_token(intake: Any, token: str | None, status: int) -> None:
    """One anonymous request must not store a thousand items at the cost of one hit of the rate limit."""
    stranger = intake.create_app().test_client()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = stranger.post("/api/v1/feedback/batch", json=MIXED, headers=headers)
    assert response.status_code == status and response.mimetype == "application/problem+json"
    assert "Authorization" in response.get_json()["errors"]
    assert count(intake, Feedback) == 0 and count(intake, Outbox) == 0


def test_mixed_batch_stores_the_good_items_and_names_each_bad_field(client: Any, intake: Any) -> None:
    response = client.post("/api/v1/feedback/batch", json=MIXED)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["received"], body["duplicates"], body["rejected"]) == (3, 1, 3)
    statuses = [item["status"] for item in body["items"]]
    assert statuses == ["received", "rejected", "received", "rejected", "rejected", "duplicate", "received"]
    assert [item["index"] for item in body["items"]] == list(range(7))
    assert "rating" in body["items"][1]["errors"]
    assert "unknown" in body["items"][3]["errors"]
    assert body["items"][4]["errors"]
    assert body["items"][5]["id"] == body["items"][0]["id"]
    # each stored item has exactly its own event queued; the bad ones left no trace
    assert count(intake, Feedback) == 3 and count(intake, Outbox) == 3
    bengali = client.get(f"/api/v1/feedback/{body['items'][6]['id']}", headers=CEO).get_json()
    assert bengali["comment"].encode() == "ডেলিভারি দ্রুত ছিল 😊".encode()


def test_ndjson_batch_reports_a_broken_line_and_keeps_the_rest(client: Any, intake: Any) -> None:
    lines = [json.dumps({"comment": "first"}), "{broken", "", json.dumps({"comment": "third\u2028line"}), ""]
    response = client.post("/api/v1/feedback/batch", data="\n".join(lines).encode(),
                           content_type="application/x-ndjson")
    body = response.get_json()
    assert [item["status"] for item in body["items"]] == ["received", "rejected", "received"]
    assert "line 2" in body["items"][1]["errors"]["line"][0]
    with intake.sessions() as session:
        comments = set(session.scalars(select(Feedback.comment)))
    assert comments == {"first", "third\u2028line"}


def test_resending_the_same_batch_stores_nothing_new(client: Any, intake: Any) -> None:
    items = [{"source": "review", "rating": 3, "external_id": f"r-{i}"} for i in range(20)]
    first = client.post("/api/v1/feedback/batch", json=items).get_json()
    again = client.post("/api/v1/feedback/batch", json=items).get_json()
    assert first["received"] == 20 and again["duplicates"] == 20 and again["received"] == 0
    assert [i["id"] for i in again["items"]] == [i["id"] for i in first["items"]]
    assert count(intake, Feedback) == 20 and count(intake, Outbox) == 20


def test_a_thousand_items_are_accepted_and_a_thousand_and_one_refused(client: Any, intake: Any) -> None:
    items = [{"source": "survey", "survey": {"metric": "nps", "score": i % 11}, "comment": "x" * 200}
             for i in range(1001)]
    too_many = client.post("/api/v1/feedback/batch", json=items)
    assert too_many.status_code == 413 and too_many.mimetype == "application/problem+json"
    assert "items" in too_many.get_json()["errors"]
    assert count(intake, Feedback) == 0
    ok = client.post("/api/v1/feedback/batch", json=items[:1000])
    assert ok.status_code == 200 and ok.get_json()["received"] == 1000
    assert count(intake, Feedback) == 1000 and count(intake, Outbox) == 1000


def test_batch_envelope_errors_are_problems(client: Any, intake: Any) -> None:
    cases = [
        (b"{broken", "application/json", 400, "body"),
        (b'{"comment": "an object, not an array"}', "application/json", 422, "body"),
        (b"[]", "application/json", 422, "items"),
        (b"\n\n", "application/x-ndjson", 422, "items"),
        (b"[]", "text/csv", 415, "Content-Type"),
        (b"\xff\xfe", "application/x-ndjson", 400, "body"),
    ]
    for raw, ctype, status, field in cases:
        response = client.post("/api/v1/feedback/batch", data=raw, content_type=ctype)
        assert response.status_code == status, (raw, response.get_json())
        assert response.mimetype == "application/problem+json"
        assert field in response.get_json()["errors"], response.get_json()
    assert count(intake, Feedback) == 0
