"""The conversation on a ticket: replies, internal notes, the customer's messages, and answers that reopen."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from services.triage.database import Outbox
from services.triage.tickets.handlers import FeedbackConsumer
from services.triage.tickets.models import Ticket, TimelineEntry
from shared.events import Event, decode_event
from tests.services.triage.test_handlers import NOW, feedback_event, handle
from tests.services.triage.test_lifecycle import bearer, care_ticket, owner_token


def published(service: Any, ticket_id: str) -> list[Event]:
    with service.sessions() as session:
        return [e for e in (decode_event(r.payload) for r in session.scalars(select(Outbox).order_by(Outbox.id)))
                if e.subject == ticket_id]


def customer_writes(service: Any, ticket_id: str, *, source: str = "form", comment: str | None = None,
                    answer: str | None = None, score: int | None = None, hours: float = 3) -> Ticket | None:
    data: dict[str, Any] = {"id": str(uuid.uuid4()), "received_at": NOW, "source": source, "in_reply_to": ticket_id,
                            "comment": comment, "customer": {"name": "Maya Ortiz", "email": "maya@example.com"},
                            "metadata": {"answer": answer} if answer else None}
    if score is not None:
        data["survey"] = {"metric": "nps", "score": score}
    event = Event(id=str(uuid.uuid4()), type="feedback.received", source="/intake", subject=data["id"], time=NOW,
                  data=data)
    with service.sessions() as session, session.begin():
        return FeedbackConsumer(service.ctx).handle(session, event, NOW + timedelta(hours=hours))


def resolve(client: Any, ticket_id: str, token: str, **extra: Any) -> Any:
    body = {"root_cause": "slow_response", "resolution": "Internal: mailbox rule PAY-311 dropped the mails", **extra}
    return client.post(f"/api/v1/tickets/{ticket_id}/resolve", json=body, headers=bearer(token))


def test_a_reply_goes_out_as_ticket_replied_and_a_note_never_leaves_triage(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    token = owner_token(triage, ticket)
    note = client.post(f"/api/v1/tickets/{ticket.id}/notes", json={"body": "Customer is a VIP, call them"},
                       headers=bearer(token))
    assert note.status_code == 200
    reply = client.post(f"/api/v1/tickets/{ticket.id}/replies", json={"body": "Sorry! Looking into it now."},
                        headers=bearer(token))
    assert reply.status_code == 200
    thread = reply.get_json()["conversation"]
    assert [(m["kind"], m["body"]) for m in thread] == [
        ("customer", "Nobody answered my emails"), ("note", "Customer is a VIP, call them"),
        ("reply", "Sorry! Looking into it now.")]
    owner = triage.org.users[ticket.owner_id]
    assert thread[1]["author"] == owner.name and thread[2]["author"] == owner.name.split()[0]
    events = published(triage, ticket.id)
    replied = [e for e in events if e.type == "ticket.replied"]
    assert len(replied) == 1
    assert replied[0].data["message"]["body"] == "Sorry! Looking into it now."
    assert replied[0].data["message"]["author"] == owner.name.split()[0]
    assert all("VIP" not in str(e.data) for e in events)  # the note is in no event
    with triage.sessions() as session:
        types = [e.type for e in session.scalars(select(TimelineEntry).where(TimelineEntry.ticket_id == ticket.id))]
    assert "ticket.note_added" in types and "ticket.replied" in types


def test_an_empty_or_oversized_body_is_refused_naming_body(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    token = owner_token(triage, ticket)
    for path in ("notes", "replies"):
        for body in ({"body": ""}, {"body": "   "}, {"body": "x" * 10_001}, {}):
            answer = client.post(f"/api/v1/tickets/{ticket.id}/{path}", json=body, headers=bearer(token))
            assert answer.status_code == 422, (path, body)
            assert "body" in str(answer.get_json()["errors"])
    assert [e.type for e in published(triage, ticket.id)] == ["ticket.created"]


def test_only_those_who_may_change_the_ticket_write_on_it(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    other = "dev-ben" if ticket.owner_id != "u-ben" else "dev-ana"
    assert client.post(f"/api/v1/tickets/{ticket.id}/replies", json={"body": "hi"},
                       headers=bearer(other)).status_code == 403
    assert client.post(f"/api/v1/tickets/{ticket.id}/notes", json={"body": "hi"},
                       headers=bearer("dev-tom")).status_code == 404  # another team's: not even seen
    assert client.post(f"/api/v1/tickets/{ticket.id}/replies", json={"body": "hi"}).status_code == 401


def test_resolve_takes_our_fault_into_the_event_and_keeps_each_resolution_in_the_timeline(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    token = owner_token(triage, ticket)
    assert resolve(client, ticket.id, token).status_code == 200
    first = [e for e in published(triage, ticket.id) if e.type == "ticket.resolved"][-1]
    assert first.data["our_fault"] is False and first.data["customer_message"] is None
    customer_writes(triage, ticket.id, source="follow_up", answer="not_fixed", comment="Still no answer to my mail")
    assert resolve(client, ticket.id, token, our_fault=True, customer_message="We fixed the mailbox.",
                   resolution="Second fix").status_code == 200
    second = [e for e in published(triage, ticket.id) if e.type == "ticket.resolved"][-1]
    assert second.data["our_fault"] is True and second.data["customer_message"] == "We fixed the mailbox."
    timeline = client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(token)).get_json()["timeline"]
    resolutions = [e["detail"]["resolution"] for e in timeline if e["type"] == "ticket.resolved"]
    assert resolutions == ["Internal: mailbox rule PAY-311 dropped the mails", "Second fix"]


def test_not_fixed_with_a_reason_reopens_with_a_fresh_clock_and_the_reason_everywhere(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    token = owner_token(triage, ticket)
    resolve(client, ticket.id, token)
    assert customer_writes(triage, ticket.id, source="follow_up", answer="not_fixed",
                           comment="The emails still bounce") is None
    detail = client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(token)).get_json()
    assert detail["status"] == "open" and detail["reopened_count"] == 1
    assert detail["due_at"].startswith((NOW + timedelta(hours=3, seconds=86400)).strftime("%Y-%m-%dT%H"))
    assert detail["conversation"][-1] == {"kind": "customer", "author": "Maya Ortiz",
                                          "body": "The emails still bounce", "at": detail["conversation"][-1]["at"]}
    reopened = [e for e in published(triage, ticket.id) if e.type == "ticket.reopened"][-1]
    assert reopened.data["reason"] == "The emails still bounce" and reopened.data["actor"] is None
    with triage.sessions() as session:
        assert session.scalars(select(Ticket)).all() == [session.get(Ticket, ticket.id)]  # no second ticket


def test_any_message_on_a_known_ticket_joins_the_thread_and_never_opens_a_ticket(triage: Any) -> None:
    ticket = care_ticket(triage)
    for source in ("email", "form"):
        assert customer_writes(triage, ticket.id, source=source, comment=f"More details by {source}: order 42") is None
    client = triage.create_app().test_client()
    detail = client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(owner_token(triage, ticket))).get_json()
    assert [m["body"] for m in detail["conversation"]][1:] == ["More details by email: order 42",
                                                                "More details by form: order 42"]
    assert detail["status"] == "open" and detail["reopened_count"] == 0
    with triage.sessions() as session:
        assert len(session.scalars(select(Ticket)).all()) == 1


def test_an_integration_follow_up_reopens_when_negative_and_counts_as_fixed_when_positive(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    token = owner_token(triage, ticket)
    resolve(client, ticket.id, token)
    customer_writes(triage, ticket.id, source="follow_up", score=10, comment="Great, all sorted")
    detail = client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(token)).get_json()
    assert detail["status"] == "resolved" and detail["customer_answer"] == "fixed"
    customer_writes(triage, ticket.id, source="follow_up", score=2)  # a detractor score, no explicit answer
    detail = client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(token)).get_json()
    assert detail["status"] == "open" and detail["reopened_count"] == 1
    resolve(client, ticket.id, token)
    customer_writes(triage, ticket.id, source="follow_up", score=3, answer="fixed", comment="meh but fixed")
    detail = client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(token)).get_json()
    assert detail["status"] == "resolved" and detail["customer_answer"] == "fixed"


def test_a_customer_message_resumes_a_waiting_ticket(make_triage: Any, db_url: Any) -> None:
    service = make_triage(db_url("triage"), waiting_pauses_clock=True)
    ticket = care_ticket(service)
    client = service.create_app().test_client()
    assert client.post(f"/api/v1/tickets/{ticket.id}/wait",
                       headers=bearer(owner_token(service, ticket))).status_code == 200
    customer_writes(service, ticket.id, source="email", comment="Here is the order number: 42")
    detail = client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer(owner_token(service, ticket))).get_json()
    assert detail["status"] == "open"


def test_feedback_answering_an_unknown_ticket_is_ignored_or_opens_its_own(triage: Any) -> None:
    assert customer_writes(triage, str(uuid.uuid4()), source="follow_up", answer="not_fixed") is None
    with triage.sessions() as session:
        assert session.scalars(select(Ticket)).first() is None
    fresh = customer_writes(triage, str(uuid.uuid4()), source="email", comment="My order never came, awful")
    assert fresh is not None  # a complaint of its own


def test_feedback_keeps_the_customer_id(triage: Any) -> None:
    ticket = handle(triage, feedback_event(survey={"metric": "nps", "score": 2}, comment="Broken again",
                                           customer={"id": "c-77", "email": "x@example.com", "name": "X"}))
    assert ticket is not None
    detail = triage.create_app().test_client().get(f"/api/v1/tickets/{ticket.id}",
                                                   headers=bearer("dev-ceo")).get_json()
    assert detail["feedback"]["customer_id"] == "c-77"
