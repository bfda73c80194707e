"""Every bad input gets a 4xx problem+json naming each bad field; nothing is stored or queued."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.intake.models import Feedback, Outbox
from tests.services.intake.conftest import count

CASES = [
    ({"survey": {"metric": "nps", "score": 11}}, ["survey"]),
    ({"survey": {"metric": "nps", "score": -1}}, ["survey"]),
    ({"survey": {"metric": "csat", "score": 6}}, ["survey"]),
    ({"survey": {"metric": "ces", "score": 0}}, ["survey"]),
    ({"survey": {"metric": "ces", "score": 8}}, ["survey"]),
    ({"survey": {"metric": "nps", "score": "9"}}, ["survey"]),
    ({"survey": {"metric": "nps", "score": True}}, ["survey"]),
    ({"survey": {"metric": "stars", "score": 3}}, ["survey"]),
    ({"rating": 0}, ["rating"]),
    ({"rating": 6}, ["rating"]),
    ({"rating": 4.5}, ["rating"]),
    ({"comment": "ok", "customer": {"email": "not-an-email"}}, ["customer"]),
    ({"comment": "ok", "customer": {"email": "a@b@c"}}, ["customer"]),
    ({"comment": "ok", "colour": "blue", "size": 3}, ["colour", "size"]),
    ({"comment": "ok", "customer": {"phone": "123"}}, ["customer"]),
    ({"comment": "x" * 10_001}, ["comment"]),
    ({}, ["_schema"]),
    ({"comment": "   \n "}, ["_schema"]),
    ({"source": "fax", "comment": "hi"}, ["source"]),
    ({"source": "follow_up", "comment": "not fixed"}, ["in_reply_to"]),
    ({"comment": "hi", "touchpoint": "Check Out!"}, ["touchpoint"]),
    ({"comment": "hi", "locale": "english please"}, ["locale"]),
    ({"comment": "hi", "locale": "CBV-X528t_GtD34Om-X0NC9rr8-Ln_b62vdx9I"}, ["locale"]),  # a valid shape, too long
    ({"comment": "hi", "product": "\x00kettle"}, ["product"]),
    ({"comment": "hi", "metadata": {"order": ["a\x00"]}}, ["metadata"]),
    ({"comment": "hi", "submitted_at": "yesterday"}, ["submitted_at"]),
    ({"comment": "hi", "submitted_at": "2026-01-01T10:00:00"}, ["submitted_at"]),
    ({"comment": "hi", "metadata": {"blob": "x" * 9000}}, ["metadata"]),
    ({"comment": "hi", "metadata": ["not", "an", "object"]}, ["metadata"]),
    ({"comment": 42}, ["comment"]),
    # lone surrogates cannot be stored or sent as UTF-8 (they answered 500)
    ({"comment": "a\ud800b"}, ["comment"]),
    ({"comment": "x", "customer": {"name": "\udfff"}}, ["customer"]),
    ({"comment": "x", "metadata": {"\ud800": 1}}, ["metadata"]),
    # instants whose UTC time is outside the calendar (they answered 500), or far from any real feedback
    ({"comment": "hi", "submitted_at": "9999-12-31T23:59:59-23:59"}, ["submitted_at"]),
    ({"comment": "hi", "submitted_at": "0001-01-01T00:00:00+23:59"}, ["submitted_at"]),
    ({"comment": "hi", "submitted_at": "9999-12-31T23:59:59Z"}, ["submitted_at"]),
    ({"rating": 9, "survey": {"metric": "nps", "score": 12}, "customer": {"email": "x"}},
     ["rating", "survey", "customer"]),
]


def problem(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/problem+json", response.data
    body = json.loads(response.data)
    assert body["status"] == response.status_code and body["title"]
    return body


@pytest.mark.parametrize(("body", "fields"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_bad_field_is_named(client: Any, intake: Any, body: dict[str, Any], fields: list[str]) -> None:
    response = client.post("/api/v1/feedback", json=body)
    assert response.status_code == 422, body
    errors = problem(response)["errors"]
    assert set(fields) <= set(errors), errors
    assert count(intake, Feedback) == 0 and count(intake, Outbox) == 0


def test_top_level_that_is_not_an_object_is_422(client: Any) -> None:
    for raw in (b"[1, 2]", b'"hello"', b"null", b"5"):
        response = client.post("/api/v1/feedback", data=raw, content_type="application/json")
        assert response.status_code == 422, raw
        assert problem(response)["errors"]


def test_malformed_json_is_400_naming_the_body(client: Any, intake: Any) -> None:
    for raw in (b"{not json", b'{"comment": "hi"', b"\xff\xfe{}", b""):
        response = client.post("/api/v1/feedback", data=raw, content_type="application/json")
        assert response.status_code == 400, raw
        assert "body" in problem(response)["errors"]
    assert count(intake, Feedback) == 0


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "application/xml",
                                          "multipart/form-data; boundary=x", None])
def test_wrong_content_type_is_415_naming_it(client: Any, intake: Any, content_type: str | None) -> None:
    response = client.post("/api/v1/feedback", data=b'{"comment": "hi"}', content_type=content_type)
    assert response.status_code == 415
    assert "Content-Type" in problem(response)["errors"]
    assert count(intake, Feedback) == 0


def test_json_with_charset_is_fine(client: Any) -> None:
    response = client.post("/api/v1/feedback", data='{"comment": "ça va"}'.encode(),
                           content_type="application/json; charset=utf-8")
    assert response.status_code == 202


def test_oversize_body_is_413(client: Any, intake: Any) -> None:
    huge = json.dumps({"comment": "x" * 2_000_000}).encode()
    response = client.post("/api/v1/feedback", data=huge, content_type="application/json")
    assert response.status_code == 413
    assert "body" in problem(response)["errors"]
    assert count(intake, Feedback) == 0


def test_bad_idempotency_key_is_named(client: Any, intake: Any) -> None:
    response = client.post("/api/v1/feedback", json={"comment": "hi"}, headers={"Idempotency-Key": "k" * 201})
    assert response.status_code == 400 and "Idempotency-Key" in problem(response)["errors"]
    assert count(intake, Feedback) == 0


def test_wrong_method_and_unknown_path_are_problems(client: Any) -> None:
    assert problem(client.put("/api/v1/feedback", json={}))["status"] == 405
    assert problem(client.get("/api/v1/nothing-here"))["status"] == 404


INTEGRATION = {"Authorization": "Bearer dev-integration-token"}
DEEP = "[" * 100_000 + "]" * 100_000


def test_deeply_nested_json_is_a_400_naming_the_body(client: Any, intake: Any) -> None:
    for raw in ('{"comment": ' + DEEP + "}", DEEP):
        response = client.post("/api/v1/feedback", data=raw, content_type="application/json")
        assert response.status_code == 400 and "body" in problem(response)["errors"]
    batch = client.post("/api/v1/feedback/batch", data=DEEP, content_type="application/json", headers=INTEGRATION)
    assert batch.status_code == 400 and "body" in problem(batch)["errors"]
    assert count(intake, Feedback) == 0


def test_in_a_batch_one_bad_item_fails_alone(client: Any, intake: Any) -> None:
    lines = [json.dumps({"comment": "first"}), DEEP, json.dumps({"comment": "a\ud800b"}),
             json.dumps({"comment": "x", "submitted_at": "9999-12-31T23:59:59-23:59"}), json.dumps({"comment": "last"})]
    response = client.post("/api/v1/feedback/batch", data="\n".join(lines), content_type="application/x-ndjson",
                           headers=INTEGRATION)
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["status"] for item in items] == ["received", "rejected", "rejected", "rejected", "received"]
    assert "line" in items[1]["errors"] and "comment" in items[2]["errors"] and "submitted_at" in items[3]["errors"]
    assert count(intake, Feedback) == 2 and count(intake, Outbox) == 2
