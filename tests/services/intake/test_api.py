"""Intake's API as a client sees it: accepted, deduplicated, or a clear problem."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from services.intake.models import Feedback, Outbox
from shared.events import decode_event

NEGATIVE = {"survey": {"metric": "nps", "score": 2}, "comment": "The parcel arrived broken",
            "touchpoint": "delivery", "customer": {"email": "kim@example.org"}}


def count(intake: Any, model: Any) -> int:
    with intake.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_accepted_feedback_is_stored_with_its_event_in_the_outbox(client: Any, intake: Any) -> None:
    response = client.post("/api/v1/feedback", json=NEGATIVE)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "received"
    assert body["links"]["status_page"].startswith("http://localhost/status/")
    with intake.sessions() as session:
        row = session.scalars(select(Outbox)).one()
        event = decode_event(row.payload)
    assert event.type == "feedback.received" and event.subject == body["id"]
    assert event.data["survey"] == {"metric": "nps", "score": 2}
    assert event.data["customer"]["email"] == "kim@example.org"
    # notify links the customer's status page in its mails
    assert body["links"]["status_page"].endswith("/status/" + event.data["status_token"])


def test_idempotency_key_returns_the_first_answer_and_stores_nothing_new(client: Any, intake: Any) -> None:
    first = client.post("/api/v1/feedback", json=NEGATIVE, headers={"Idempotency-Key": "k-1"})
    again = client.post("/api/v1/feedback", json=NEGATIVE, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 202
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(intake, Feedback) == 1 and count(intake, Outbox) == 1


def test_idempotency_key_with_another_body_is_a_conflict(client: Any, intake: Any) -> None:
    client.post("/api/v1/feedback", json=NEGATIVE, headers={"Idempotency-Key": "k-2"})
    other = client.post("/api/v1/feedback", json={**NEGATIVE, "comment": "different"},
                        headers={"Idempotency-Key": "k-2"})
    assert other.status_code == 409
    assert other.mimetype == "application/problem+json"
    assert "Idempotency-Key" in other.get_json()["errors"]
    assert count(intake, Feedback) == 1


def test_same_source_and_external_id_is_a_duplicate(client: Any, intake: Any) -> None:
    review = {"source": "review", "rating": 1, "external_id": "rv-77", "comment": "Bad"}
    first = client.post("/api/v1/feedback", json=review).get_json()
    second = client.post("/api/v1/feedback", json=review).get_json()
    assert second["id"] == first["id"] and second["status"] == "duplicate"
    assert count(intake, Feedback) == 1


def problem(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/problem+json", response.data
    return json.loads(response.data)


def test_bad_fields_are_named_and_nothing_is_stored(client: Any, intake: Any) -> None:
    cases = [
        ({"survey": {"metric": "nps", "score": 11}}, "survey"),
        ({"survey": {"metric": "csat", "score": 0}}, "survey"),
        ({"rating": 6}, "rating"),
        ({"comment": "ok", "customer": {"email": "not-an-email"}}, "customer"),
        ({"comment": "ok", "colour": "blue"}, "colour"),
        ({"comment": "x" * 10_001}, "comment"),
        ({"comment": "   "}, "_schema"),
        ({"source": "fax", "comment": "hi"}, "source"),
        ({"source": "follow_up", "comment": "not fixed"}, "in_reply_to"),
    ]
    for body, field in cases:
        response = client.post("/api/v1/feedback", json=body)
        assert response.status_code == 422, body
        assert field in problem(response)["errors"], (body, problem(response))
    assert count(intake, Feedback) == 0 and count(intake, Outbox) == 0


def test_malformed_json_wrong_type_and_oversize_are_4xx_problems(client: Any) -> None:
    bad_json = client.post("/api/v1/feedback", data=b"{not json", content_type="application/json")
    assert bad_json.status_code == 400 and problem(bad_json)["status"] == 400
    not_json = client.post("/api/v1/feedback", data=b"comment=hi", content_type="application/x-www-form-urlencoded")
    assert 400 <= not_json.status_code < 500 and problem(not_json)
    huge = client.post("/api/v1/feedback", data=b"[" + b"1," * 600_000 + b"1]", content_type="application/json")
    assert huge.status_code == 413 and problem(huge)["status"] == 413


def test_bengali_comment_with_emoji_is_kept_byte_for_byte(client: Any, intake: Any) -> None:
    comment = "ডেলিভারি দেরিতে এসেছে, প্যাকেট ছেঁড়া ছিল 😡📦"
    body = client.post("/api/v1/feedback", json={"comment": comment, "locale": "bn-BD"}).get_json()
    read = client.get(f"/api/v1/feedback/{body['id']}", headers={"Authorization": "Bearer dev-ceo"})
    assert read.get_json()["comment"].encode("utf-8") == comment.encode("utf-8")


def test_status_api_needs_a_token_and_reports_received(client: Any) -> None:
    body = client.post("/api/v1/feedback", json=NEGATIVE).get_json()
    assert client.get(f"/api/v1/feedback/{body['id']}").status_code == 401
    assert client.get(f"/api/v1/feedback/{body['id']}",
                      headers={"Authorization": "Bearer nope-nope"}).status_code == 401
    status = client.get(f"/api/v1/feedback/{body['id']}", headers={"Authorization": "Bearer dev-ana"}).get_json()
    assert status["status"] == "received" and status["ticket"] is None


def test_status_page_shows_received_without_login_and_escapes_the_comment(client: Any) -> None:
    body = client.post("/api/v1/feedback", json={"comment": "<script>alert(1)</script> slow"}).get_json()
    page = client.get(body["links"]["status_page"].replace("http://localhost", ""))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Received" in html and "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert client.get("/status/not-a-real-token").status_code == 404


def test_health_ready_metrics_and_openapi(client: Any) -> None:
    assert client.get("/healthz").get_json()["status"] == "ok"
    assert client.get("/readyz").get_json()["status"] == "ready"
    client.post("/api/v1/feedback", json=NEGATIVE)
    assert b"closeloop_http_requests_total" in client.get("/metrics").data
    spec = client.get("/openapi.json").get_json()
    assert "/api/v1/feedback" in spec["paths"]


def test_methods_a_client_makes_up_are_counted_under_one_label(client: Any) -> None:
    for method in ("BREW", "WHEN", "XYZZY"):
        assert client.open("/api/v1/feedback", method=method).status_code == 405
    text = client.get("/metrics").get_data(as_text=True)
    assert 'method="OTHER"' in text
    assert not any(f'method="{m}"' in text for m in ("BREW", "WHEN", "XYZZY"))


def test_links_name_the_host_and_prefix_the_request_came_through_or_the_public_url(make_intake: Any) -> None:
    app = make_intake(trusted_hosts=("intake.local", "example.org")).create_app()  # INTAKE_TRUSTED_HOSTS
    client = app.test_client()
    direct = client.post("/api/v1/feedback", json=NEGATIVE, base_url="http://intake.local:8001").get_json()
    proxied = client.post("/api/v1/feedback", json=NEGATIVE, base_url="https://example.org/feedback/").get_json()
    assert direct["links"]["self"] == f"http://intake.local:8001/api/v1/feedback/{direct['id']}"
    assert proxied["links"]["self"] == f"https://example.org/feedback/api/v1/feedback/{proxied['id']}"
    assert proxied["links"]["status_page"].startswith("https://example.org/feedback/status/")
    # each link leads to what it names
    assert client.get(direct["links"]["status_page"].replace("http://intake.local:8001", "")).status_code == 200
    public = make_intake(public_url="https://feedback.example.com").create_app().test_client()
    answer = public.post("/api/v1/feedback", json=NEGATIVE).get_json()
    assert answer["links"]["self"] == f"https://feedback.example.com/api/v1/feedback/{answer['id']}"
    assert answer["links"]["status_page"].startswith("https://feedback.example.com/status/")


INTEGRATION = {"Authorization": "Bearer dev-integration-token"}
TICKET = "5b0e9b52-3f0a-4d2c-9a57-2f1d8c6e7a10"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer dev-ceo"}, {"Authorization": "Bearer made-up"}])
def test_only_an_integration_may_answer_on_a_ticket(client: Any, intake: Any, headers: dict[str, str]) -> None:
    """An anonymous (or employee's) follow-up must not reopen or close a resolved ticket whose id leaked."""
    forged = {"source": "follow_up", "in_reply_to": TICKET, "metadata": {"answer": "not_fixed"}}
    response = client.post("/api/v1/feedback", json=forged, headers=headers)
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {
        "source": ["follow_up needs an integration token"],
        "in_reply_to": ["answering a ticket needs an integration token"],
        "metadata": {"answer": ["an answer on a ticket needs an integration token"]}}
    reply = client.post("/api/v1/feedback", json={"comment": "still broken", "in_reply_to": TICKET}, headers=headers)
    assert reply.status_code == 403 and set(reply.get_json()["errors"]) == {"in_reply_to"}
    answer = client.post("/api/v1/feedback", json={"comment": "ok", "metadata": {"answer": "fixed"}}, headers=headers)
    assert answer.status_code == 403 and set(answer.get_json()["errors"]) == {"metadata"}
    assert count(intake, Feedback) == 0 and count(intake, Outbox) == 0
    assert client.post("/api/v1/feedback", json=forged, headers=INTEGRATION).status_code == 202
    assert count(intake, Feedback) == 1
