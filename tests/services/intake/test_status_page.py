"""The status page is the customer's side of the thread, as intake learns it from ``ticket.events``:
what they sent, who owns it, the owner's replies, what was done, reopenings and a missed promise.
Nothing internal ever shows. The customer can write back there."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.intake import status
from services.intake.models import Feedback, Outbox
from shared import events
from shared.events import decode_event
from tests.services.intake.conftest import csrf_token

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CEO = {"Authorization": "Bearer dev-ceo"}
INTERNAL = "payment provider bug PAY-311"


def ticket_event(feedback_id: str, type: str, at: datetime, **extra: Any) -> events.Event:
    data = {"ticket_id": "tk-1", "feedback_id": feedback_id, "status": "open", "sla_state": "on_track",
            "priority": "P2", "team": "logistics", "team_name": "Logistics",
            "owner": {"id": "u-tom", "name": "Tom Baker"},
            "received_at": NOW, "due_at": NOW + timedelta(hours=24), **extra}
    raw = events.make_event(type=type, source="/triage", subject="tk-1", data=data, now=at)
    return events.decode_event(events.encode_event(raw))


def consume(intake: Any, *evs: events.Event) -> None:
    with intake.sessions() as session, session.begin():
        for event in evs:
            status.on_ticket_event(session, event, NOW)


def submit(client: Any) -> tuple[str, str]:
    answer = client.post("/api/v1/feedback", json={"comment": "Late", "touchpoint": "delivery",
                                                   "customer": {"email": "kim@example.org", "name": "Kim"}}).get_json()
    return answer["id"], answer["links"]["status_page"].replace("http://localhost", "")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_status_follows_the_ticket_from_owner_to_what_was_done(client: Any, intake: Any) -> None:
    feedback_id, status_path = submit(client)
    page = client.get(status_path).get_data(as_text=True)
    assert "Received" in page and "Owned by" not in page

    consume(intake, ticket_event(feedback_id, events.TICKET_CREATED, NOW))
    page = client.get(status_path).get_data(as_text=True)
    assert "Owned by Logistics" in page and "Tom is looking after it" in page and "Baker" not in page
    # written by Babel in the page's language, naming the timezone (UTC: the API gave none)
    assert '<time datetime="2026-05-05T09:00:00+00:00">May 5, 2026, 9:00\u202fAM (UTC)</time>' in page
    api = client.get(f"/api/v1/feedback/{feedback_id}", headers=CEO).get_json()
    assert api["status"] == "ticket_open" and api["ticket"]["team"] == "Logistics"

    resolved = ticket_event(feedback_id, events.TICKET_RESOLVED, NOW + timedelta(hours=3), status="resolved",
                            sla_state="met", root_cause="delivery_logistics",
                            root_cause_label="Delivery and logistics",
                            resolution=INTERNAL, customer_message="We re-sent it <b>by express</b>.")
    # an older event arriving late changes nothing of the state
    consume(intake, resolved, ticket_event(feedback_id, events.TICKET_ASSIGNED, NOW + timedelta(hours=1)))
    page = client.get(status_path).get_data(as_text=True)
    assert "here is what we did" in page and "We re-sent it &lt;b&gt;by express&lt;/b&gt;." in page
    assert INTERNAL not in page and "Delivery and logistics" in page and "has until" not in page
    api = client.get(f"/api/v1/feedback/{feedback_id}", headers=CEO).get_json()
    assert api["status"] == "ticket_resolved" and INTERNAL not in str(api)


def test_a_resolution_without_a_customer_message_names_the_cause_and_never_the_internal_note(
        client: Any, intake: Any) -> None:
    feedback_id, status_path = submit(client)
    consume(intake, ticket_event(feedback_id, events.TICKET_CREATED, NOW),
            ticket_event(feedback_id, events.TICKET_RESOLVED, NOW + timedelta(hours=2), status="resolved",
                         sla_state="met", root_cause="payment", root_cause_label="Payment problems",
                         resolution=INTERNAL, customer_message=None))
    page = text_of(client.get(status_path).get_data(as_text=True))
    assert "We resolved the problem. What caused it: Payment problems." in page
    assert INTERNAL not in page and "PAY-311" not in page
    api = client.get(f"/api/v1/feedback/{feedback_id}", headers=CEO).get_json()
    assert "PAY-311" not in str(api)
    with intake.sessions() as session:
        assert session.get(Feedback, feedback_id).resolution is None


def test_replies_reopenings_and_a_missed_promise_are_on_the_page(client: Any, intake: Any) -> None:
    feedback_id, status_path = submit(client)
    reply = {"id": "m-1", "author": "Tom", "body": "Could you send a photo of the <box>?",
             "at": NOW + timedelta(hours=1)}
    consume(intake,
            ticket_event(feedback_id, events.TICKET_CREATED, NOW),
            ticket_event(feedback_id, events.TICKET_REPLIED, NOW + timedelta(hours=1), message=reply),
            ticket_event(feedback_id, events.TICKET_SLA_BREACHED, NOW + timedelta(hours=24), sla_state="breached"),
            ticket_event(feedback_id, events.TICKET_RESOLVED, NOW + timedelta(hours=25), status="resolved",
                         sla_state="missed", root_cause_label="Delivery and logistics", resolution=INTERNAL,
                         customer_message="New parcel sent."),
            ticket_event(feedback_id, events.TICKET_REOPENED, NOW + timedelta(hours=26), sla_state="on_track",
                         due_at=NOW + timedelta(hours=50), reason="still broken", actor="customer"))
    html = client.get(status_path).get_data(as_text=True)
    page = text_of(html)
    assert "Tom (Logistics) wrote to you" in page
    assert "Could you send a photo of the &lt;box&gt;?" in html
    assert "We missed our promise; Logistics is still on it." in page
    assert "New parcel sent." in page and "Opened again" in page and INTERNAL not in page
    order = [page.index(s) for s in ("Owned by Logistics", "wrote to you", "We missed our promise",
                                     "here is what we did", "Opened again", "Being worked on")]
    assert order == sorted(order)


def test_a_breached_ticket_says_so_honestly(client: Any, intake: Any) -> None:
    feedback_id, status_path = submit(client)
    consume(intake, ticket_event(feedback_id, events.TICKET_CREATED, NOW),
            ticket_event(feedback_id, events.TICKET_SLA_BREACHED, NOW + timedelta(hours=24), sla_state="breached"))
    page = text_of(client.get(status_path).get_data(as_text=True))
    assert "We missed our promise; Logistics is still on it." in page
    assert "has until" not in page


def test_the_customer_writes_back_and_it_joins_the_ticket(client: Any, intake: Any) -> None:
    feedback_id, status_path = submit(client)
    page = client.get(status_path).get_data(as_text=True)
    assert 'name="message"' not in page  # no ticket yet: nobody to write to
    consume(intake, ticket_event(feedback_id, events.TICKET_CREATED, NOW))
    csrf = csrf_token(client, status_path)
    message = "Here is the photo: কাগজের বাক্স <i>crushed</i>"
    sent = client.post(status_path, data={"csrf_token": csrf, "message": message})
    assert sent.status_code == 303 and sent.headers["Location"].endswith("?sent=1")
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "your message is with Tom (Logistics)" in page
    assert "কাগজের বাক্স &lt;i&gt;crushed&lt;/i&gt;" in page and "You wrote" in page
    with intake.sessions() as session:
        [answer] = session.scalars(select(Feedback).where(Feedback.in_reply_to == "tk-1")).all()
        event = decode_event(session.scalars(select(Outbox).where(Outbox.key == answer.id)).one().payload)
    assert (answer.source, answer.comment, answer.customer_email) == ("form", message, "kim@example.org")
    assert event.data["in_reply_to"] == "tk-1" and event.data["comment"] == message
    # a double click stores it once
    client.post(status_path, data={"csrf_token": csrf, "message": message})
    with intake.sessions() as session:
        assert len(session.scalars(select(Feedback).where(Feedback.in_reply_to == "tk-1")).all()) == 1


def test_writing_back_needs_the_csrf_token_and_a_message_and_bots_store_nothing(client: Any, intake: Any) -> None:
    feedback_id, status_path = submit(client)
    consume(intake, ticket_event(feedback_id, events.TICKET_CREATED, NOW))
    no_csrf = client.post(status_path, data={"message": "hello"})
    assert no_csrf.status_code == 400 and "please send it again" in no_csrf.get_data(as_text=True)
    csrf = csrf_token(client, status_path)
    empty = client.post(status_path, data={"csrf_token": csrf, "message": "  "})
    assert empty.status_code == 422 and "Write a few words" in empty.get_data(as_text=True)
    long = client.post(status_path, data={"csrf_token": csrf, "message": "x" * 10_001})
    assert long.status_code == 422
    bot = client.post(status_path, data={"csrf_token": csrf, "message": "buy now", "website": "http://spam"})
    assert bot.status_code == 303
    assert client.post("/status/nope", data={"csrf_token": csrf, "message": "hi"}).status_code == 404
    with intake.sessions() as session:
        assert session.scalars(select(Feedback).where(Feedback.in_reply_to == "tk-1")).all() == []


def test_writing_back_is_rate_limited(make_intake: Any) -> None:
    intake = make_intake(rate_limit="4/minute")
    app = intake.create_app()
    app.config["TESTING"] = True
    client = app.test_client()
    feedback_id, status_path = submit(client)
    consume(intake, ticket_event(feedback_id, events.TICKET_CREATED, NOW))
    csrf = csrf_token(client, status_path)
    codes = [client.post(status_path, data={"csrf_token": csrf, "message": f"hi {i}"}).status_code for i in range(3)]
    assert codes == [303, 303, 429] and "Retry-After" in client.post(status_path, data={"message": "x"}).headers


def test_unknown_and_overlong_status_tokens_are_404_pages(client: Any) -> None:
    for token in ("nope", "x" * 65):
        response = client.get(f"/status/{token}")
        assert response.status_code == 404 and "could not find" in response.get_data(as_text=True)


def test_a_ticket_waiting_on_the_customer_asks_for_their_answer(client: Any, intake: Any) -> None:
    feedback_id, status_path = submit(client)
    consume(intake, ticket_event(feedback_id, events.TICKET_CREATED, NOW),
            ticket_event(feedback_id, events.TICKET_WAITING, NOW + timedelta(hours=1), status="waiting"))
    page = text_of(client.get(status_path).get_data(as_text=True))
    assert "Waiting for your answer" in page and "Tom needs a word from you" in page
    consume(intake, ticket_event(feedback_id, events.TICKET_RESUMED, NOW + timedelta(hours=2), status="open"))
    page = text_of(client.get(status_path).get_data(as_text=True))
    assert "Waiting for your answer" not in page and "Being worked on" in page
