"""Notify's HTTP API and feed page: the org feed, deliveries for leads, and clear errors."""

from __future__ import annotations

from typing import Any

from services.notify.app import Notify
from tests.services.notify.conftest import consume, feedback_event


def add(notify: Notify, **data: Any) -> None:
    consume(notify, feedback_event(**data))


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_feed_shows_praise_and_complaints_redacted(notify: Notify) -> None:
    add(notify, survey={"metric": "nps", "score": 10}, comment="Ana was wonderful, thanks!")
    add(notify, survey={"metric": "nps", "score": 1}, comment="Call me on +1 415 555 0100, still broken")
    client = notify.create_app().test_client()
    assert client.get("/api/v1/feed").status_code == 401
    items = client.get("/api/v1/feed", headers=auth("dev-tom")).get_json()["items"]
    assert [i["kind"] for i in items] == ["complaint", "praise"]
    assert "555" not in items[0]["comment"] and "[phone]" in items[0]["comment"]
    praise = client.get("/api/v1/feed?kind=praise", headers=auth("dev-tom")).get_json()
    assert [i["comment"] for i in praise["items"]] == ["Ana was wonderful, thanks!"]
    newer = client.get(f"/api/v1/feed?after={items[1]['id']}", headers=auth("dev-tom")).get_json()["items"]
    assert [i["id"] for i in newer] == [items[0]["id"]]


def test_feed_rejects_bad_filters_naming_the_field(notify: Notify) -> None:
    client = notify.create_app().test_client()
    answer = client.get("/api/v1/feed?kind=angry", headers=auth("dev-tom"))
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert "kind" in answer.get_json()["errors"]


def test_deliveries_are_for_leads_leaders_and_admins_only(notify: Notify) -> None:
    add(notify, survey={"metric": "nps", "score": 2}, comment="Broken on arrival")
    client = notify.create_app().test_client()
    assert client.get("/api/v1/deliveries").status_code == 401
    assert client.get("/api/v1/deliveries", headers=auth("dev-ana")).status_code == 403
    for token in ("dev-lead", "dev-ceo", "dev-admin"):
        answer = client.get("/api/v1/deliveries", headers=auth(token))
        assert answer.status_code == 200
    items = answer.get_json()["items"]
    assert {(i["channel"], i["status"], i["attempts"], i["event_type"]) for i in items} == {
        ("complaints", "pending", 0, "feedback.received"), ("broken", "pending", 0, "feedback.received")}
    bad = client.get("/api/v1/deliveries?status=lost", headers=auth("dev-ceo"))
    assert bad.status_code == 422 and "status" in bad.get_json()["errors"]


def test_customer_addresses_are_not_listed_with_deliveries(notify: Notify) -> None:
    from tests.services.notify.conftest import ticket_event

    fb = feedback_event(survey={"metric": "nps", "score": 2}, customer={"email": "jo@customer.example"})
    consume(notify, fb)
    consume(notify, ticket_event("ticket.resolved", fb.data["id"], status="resolved", sla_state="met",
                                 root_cause="other", resolution="Fixed"))
    body = notify.create_app().test_client().get("/api/v1/deliveries", headers=auth("dev-ceo")).get_data(True)
    assert "jo@customer.example" not in body and '"recipient": "customer"' in body.replace('":"', '": "')


def test_feed_page_needs_a_login_and_escapes_what_customers_wrote(notify: Notify) -> None:
    add(notify, rating=5, touchpoint="delivery", comment="</script><script>alert(1)</script> great")
    client = notify.create_app().test_client()
    page = client.get("/feed")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert client.post("/login", data={"token": "dev-tom"}).status_code == 302
    page = client.get("/feed?kind=praise")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<script>alert(1)" not in html and "\\u003cscript\\u003e" in html
    assert '<option value="delivery"' in html
    assert client.get("/feed?team=nowhere").status_code == 400


def test_a_customers_answer_to_a_ticket_shows_as_their_answer_with_the_ticket_link_and_is_not_counted_as_a_kind(
        notify: Notify) -> None:
    from datetime import timedelta

    from services.notify.queries import digest_stats
    from tests.services.notify.conftest import NOW

    ticket = "7f0c5a52-1f1e-4b55-9d8e-3c2a3f1d9e01"
    add(notify, survey={"metric": "nps", "score": 2}, comment="Late again")
    add(notify, source="follow_up", in_reply_to=ticket, metadata={"answer": "not_fixed"},
        comment="Still broken, call me on +1 415 555 0100")
    client = notify.create_app().test_client()
    items = client.get("/api/v1/feed", headers=auth("dev-tom")).get_json()["items"]
    assert items[0]["in_reply_to"] == ticket and items[0]["answer"] == "not_fixed"
    assert "555" not in items[0]["comment"] and items[1]["in_reply_to"] is None
    page = client.get("/feed", headers=auth("dev-tom")).get_data(as_text=True)
    assert "Customer answered" in page and 'triageUrl + "/tickets/"' in page
    assert f'"{notify.ctx.triage_url.rstrip("/")}"' in page
    assert "Praise and complaints" not in page and ">Everything<" in page  # the "all" filter's honest name
    # the digest counts as triage's dashboard does: answers to tickets are not praise, complaints or neutral
    with notify.sessions() as session:
        stats = digest_stats(session, start=NOW - timedelta(days=1), end=NOW + timedelta(days=1), org=notify.org)
    assert stats["counts"] == {"total": 1, "praise": 0, "complaint": 1, "neutral": 0}
    assert stats["nps"]["responses"] == 1
