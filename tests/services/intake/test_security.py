"""Intake against a hostile client: made-up Host headers, bodies sent before any token."""

from __future__ import annotations

from typing import Any

NEGATIVE = {"rating": 1, "comment": "The app crashed twice."}


def test_a_spoofed_host_does_not_appear_in_status_links(make_intake: Any) -> None:
    client = make_intake(public_url=None).create_app().test_client()
    body = client.post("/api/v1/feedback", json=NEGATIVE, headers={"Host": "evil.example"}).get_json()
    assert "evil.example" not in body["links"]["status_page"]
    assert "evil.example" not in body["links"]["self"]
    assert body["links"]["status_page"].startswith("http://localhost/status/")


def test_a_trusted_host_is_used_for_links(make_intake: Any) -> None:
    client = make_intake(public_url=None, trusted_hosts=("feedback.example.com",)).create_app().test_client()
    body = client.post("/api/v1/feedback", json=NEGATIVE, headers={"Host": "feedback.example.com"}).get_json()
    assert body["links"]["status_page"].startswith("http://feedback.example.com/status/")


def test_the_configured_public_url_wins(make_intake: Any) -> None:
    client = make_intake(public_url="https://intake.example.org").create_app().test_client()
    body = client.post("/api/v1/feedback", json=NEGATIVE, headers={"Host": "evil.example"}).get_json()
    assert body["links"]["self"].startswith("https://intake.example.org/api/v1/feedback/")


def test_the_thank_you_page_link_ignores_a_spoofed_host(make_intake: Any) -> None:
    intake = make_intake(public_url=None)
    client = intake.create_app().test_client()
    body = client.post("/api/v1/feedback", json=NEGATIVE).get_json()
    token = body["links"]["status_page"].rsplit("/", 1)[1]
    page = client.get(f"/thanks/{token}", headers={"Host": "evil.example"})
    assert page.status_code == 200
    assert "evil.example" not in page.get_data(as_text=True)


def test_a_batch_without_a_token_is_401_whatever_its_body(make_intake: Any) -> None:
    client = make_intake().create_app().test_client()
    for response in (client.post("/api/v1/feedback/batch", data=b"hello", content_type="text/plain"),
                     client.post("/api/v1/feedback/batch", data=b"{not json", content_type="application/json")):
        assert response.status_code == 401
        assert "Authorization" in response.get_json()["errors"]


def test_a_full_disk_answers_503_with_retry_after(make_intake: Any, monkeypatch: Any) -> None:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    intake = make_intake()
    client = intake.create_app().test_client()

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT INTO feedback ...", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(intake.store, "store", full)
    response = client.post("/api/v1/feedback", json=NEGATIVE)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "cannot be written" in ready.get_json()["detail"]
