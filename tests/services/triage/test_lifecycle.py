"""The ticket lifecycle through the API: acknowledge, assign, resolve, reopen, follow-ups, availability."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from services.triage.database import Outbox
from services.triage.routing.models import Assignee
from services.triage.tickets.handlers import FeedbackConsumer
from services.triage.tickets.models import Ticket
from shared.events import Event, decode_event
from tests.services.triage.test_handlers import NOW, feedback_event, handle
from tests.support import migrate


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def events_of(service: Any, ticket_id: str) -> list[str]:
    with service.sessions() as session:
        return [e.type for e in (decode_event(r.payload) for r in session.scalars(select(Outbox).order_by(Outbox.id)))
                if e.subject == ticket_id]


def care_ticket(service: Any, comment: str = "Nobody answered my emails") -> Ticket:
    service.clock = lambda: NOW + timedelta(hours=1)  # the API acts an hour after the feedback came
    ticket = handle(service, feedback_event(survey={"metric": "nps", "score": 5}, comment=comment))
    assert ticket is not None and ticket.team == "care"
    return ticket


def owner_token(service: Any, ticket: Ticket) -> str:
    return service.org.users[ticket.owner_id].token


def test_owner_acknowledges_and_resolves_with_a_root_cause_and_the_ticket_is_met(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    token = owner_token(triage, ticket)
    ack = client.post(f"/api/v1/tickets/{ticket.id}/acknowledge", headers=bearer(token))
    assert ack.status_code == 200 and ack.get_json()["status"] == "acknowledged"
    assert client.post(f"/api/v1/tickets/{ticket.id}/acknowledge", headers=bearer(token)).status_code == 409
    done = client.post(f"/api/v1/tickets/{ticket.id}/resolve", headers=bearer(token),
                       json={"root_cause": "slow_response", "resolution": "Replied and fixed the queue rota",
                             "customer_message": "Sorry for the wait <b>really</b>"})
    body = done.get_json()
    assert done.status_code == 200, body
    assert body["status"] == "resolved" and body["sla_state"] == "met" and body["root_cause"] == "slow_response"
    assert [e["type"] for e in body["timeline"]] == ["ticket.created", "ticket.acknowledged", "ticket.resolved"]
    assert events_of(triage, ticket.id) == ["ticket.created", "ticket.acknowledged", "ticket.resolved"]
    with triage.sessions() as session:
        assert session.get(Assignee, ticket.owner_id).open_tickets == 0  # type: ignore[union-attr]


def test_resolving_needs_a_valid_root_cause_and_a_resolution(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    headers = bearer(owner_token(triage, ticket))
    url = f"/api/v1/tickets/{ticket.id}/resolve"
    missing = client.post(url, headers=headers, json={"resolution": "done"})
    assert missing.status_code == 422 and "root_cause" in missing.get_json()["errors"]
    assert missing.mimetype == "application/problem+json"
    unknown = client.post(url, headers=headers, json={"root_cause": "gremlins", "resolution": "done"})
    assert unknown.status_code == 422 and "root_cause" in unknown.get_json()["errors"]
    blank = client.post(url, headers=headers, json={"root_cause": "slow_response", "resolution": "   "})
    assert blank.status_code == 422 and set(blank.get_json()["errors"]) == {"resolution"}
    extra = client.post(url, headers=headers, json={"root_cause": "slow_response", "resolution": "x", "x": 1})
    assert extra.status_code == 422 and "x" in extra.get_json()["errors"]
    assert client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).get_json()["status"] == "open"


def test_reassignment_by_roles_keeps_exactly_one_owner(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    owner = ticket.owner_id
    teammate = next(u for u in ("u-ana", "u-ben") if u != owner)
    outsider = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=bearer("dev-tom"), json={"owner": "u-tom"})
    assert outsider.status_code == 404  # another team's ticket is invisible
    if owner != "u-lead":
        other_employee = triage.org.users[teammate].token
        refused = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=bearer(other_employee),
                              json={"owner": teammate})
        assert refused.status_code == 403
    bad = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=bearer("dev-lead"), json={"owner": "u-nobody"})
    assert bad.status_code == 422 and "owner" in bad.get_json()["errors"]
    to_ceo = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=bearer("dev-lead"), json={"owner": "u-ceo"})
    assert to_ceo.status_code == 422  # leadership owns no tickets
    moved = client.post(f"/api/v1/tickets/{ticket.id}/assign", headers=bearer("dev-lead"),
                        json={"owner": "u-tom", "reason": "it is a delivery problem"})
    body = moved.get_json()
    assert moved.status_code == 200, body
    assert body["owner"]["id"] == "u-tom" and body["team"] == "logistics"
    assert body["timeline"][-1]["detail"] == {"from": owner, "to": "u-tom", "reason": "it is a delivery problem"}
    assert events_of(triage, ticket.id)[-1] == "ticket.assigned"
    with triage.sessions() as session:
        loads = {a.user_id: a.open_tickets for a in session.scalars(select(Assignee))}
    assert loads["u-tom"] == 1 and loads[owner] == 0


def test_marking_a_member_unavailable_hands_their_open_tickets_to_teammates(triage: Any) -> None:
    tickets = [care_ticket(triage, f"No reply {i}") for i in range(6)]
    client = triage.create_app().test_client()
    victims = [t.id for t in tickets if t.owner_id == "u-ana"]
    assert victims
    assert client.put("/api/v1/members/u-ana/availability", headers=bearer("dev-ben"),
                      json={"available": False}).status_code == 403
    bad = client.put("/api/v1/members/u-ana/availability", headers=bearer("dev-ana"), json={"available": "maybe"})
    assert bad.status_code == 422 and "available" in bad.get_json()["errors"]
    answer = client.put("/api/v1/members/u-ana/availability", headers=bearer("dev-ana"), json={"available": False})
    body = answer.get_json()
    assert answer.status_code == 200, body
    assert body["available"] is False and sorted(body["reassigned"]) == sorted(victims) and body["open_tickets"] == 0
    with triage.sessions() as session:
        for ticket_id in victims:
            stored = session.get(Ticket, ticket_id)
            assert stored is not None and stored.owner_id in ("u-ben", "u-lead")
    fresh = care_ticket(triage, "Still waiting for a reply")
    assert fresh.owner_id != "u-ana"
    members = client.get("/api/v1/members", headers=bearer("dev-lead")).get_json()
    assert {m["id"] for m in members} == {"u-lead", "u-ana", "u-ben"}


def follow_up(service: Any, ticket: Ticket, answer: str | None, comment: str | None = None) -> Ticket | None:
    data: dict[str, Any] = {"id": str(uuid.uuid4()), "received_at": NOW, "source": "follow_up",
                            "in_reply_to": ticket.id, "comment": comment,
                            "metadata": {"answer": answer} if answer else None}
    event = Event(id=str(uuid.uuid4()), type="feedback.received", source="/intake", subject=data["id"], time=NOW,
                  data=data)
    later = NOW + timedelta(hours=2)
    with service.sessions() as session, session.begin():
        return FeedbackConsumer(service.ctx).handle(session, event, later)


def test_not_fixed_reopens_with_a_fresh_clock_and_fixed_is_only_recorded(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    headers = bearer("dev-lead")
    client.post(f"/api/v1/tickets/{ticket.id}/resolve", headers=headers,
                json={"root_cause": "slow_response", "resolution": "Answered"})
    assert follow_up(triage, ticket, "not_fixed", "It still does not work, terrible") is None
    body = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).get_json()
    assert body["status"] == "open" and body["reopened_count"] == 1 and body["sla_state"] == "on_track"
    assert body["customer_answer"] == "not_fixed" and body["root_cause"] is None
    assert body["due_at"].startswith((NOW + timedelta(hours=26)).strftime("%Y-%m-%dT%H:%M"))
    assert events_of(triage, ticket.id)[-1] == "ticket.reopened"
    client.post(f"/api/v1/tickets/{ticket.id}/resolve", headers=headers,
                json={"root_cause": "slow_response", "resolution": "Answered again"})
    assert follow_up(triage, ticket, "fixed") is None
    body = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).get_json()
    assert body["status"] == "resolved" and body["customer_answer"] == "fixed"
    everything = client.get("/api/v1/tickets", headers=bearer("dev-ceo")).get_json()
    assert everything["total"] == 1  # follow-ups never open tickets of their own


def test_reopen_by_api_and_conflicts(triage: Any) -> None:
    ticket = care_ticket(triage)
    client = triage.create_app().test_client()
    headers = bearer("dev-lead")
    assert client.post(f"/api/v1/tickets/{ticket.id}/reopen", headers=headers).status_code == 409
    client.post(f"/api/v1/tickets/{ticket.id}/resolve", headers=headers,
                json={"root_cause": "other", "resolution": "Done"})
    again = client.post(f"/api/v1/tickets/{ticket.id}/reopen", headers=headers, json={"reason": "premature"})
    assert again.status_code == 200 and again.get_json()["status"] == "open"
    assert client.post("/api/v1/tickets/nope/acknowledge", headers=headers).status_code == 404


def test_waiting_on_the_customer_pauses_the_clock_only_when_enabled(make_triage: Any, db_url: Any,
                                                                   tmp_path: Path) -> None:
    service = make_triage(db_url("triage"), waiting_pauses_clock=True)
    ticket = care_ticket(service)
    due_before = ticket.due_at
    from services.triage.tickets import service as actions
    from services.triage.unit_of_work import UnitOfWork

    with service.sessions() as session, session.begin():
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        actions.wait_on_customer(UnitOfWork(session), stored, NOW + timedelta(hours=1), ctx=service.ctx,
                                 actor=service.org.users["u-lead"])
    follow_up(service, ticket, None, "Here is the order number you asked for")  # arrives NOW + 2 h
    with service.sessions() as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None and stored.status == "open"
        assert stored.due_at == due_before + timedelta(hours=1)  # the hour spent waiting is given back
    client = service.create_app().test_client()
    off_url = f"sqlite:///{tmp_path / 'off.db'}"
    migrate("triage", off_url)
    off = make_triage(off_url, waiting_pauses_clock=False)
    other = care_ticket(off)
    refused = off.create_app().test_client().post(f"/api/v1/tickets/{other.id}/wait", headers=bearer("dev-lead"))
    assert refused.status_code == 409 and "TRIAGE_WAITING_PAUSES_CLOCK" in refused.get_json()["detail"]
    assert client.get(f"/api/v1/tickets/{ticket.id}", headers=bearer("dev-lead")).get_json()["timeline"][-2]["type"] \
        == "ticket.resumed"


def test_the_last_available_member_cannot_leave_tickets_without_an_owner(triage: Any) -> None:
    ticket = handle(triage, feedback_event(survey={"metric": "nps", "score": 4}, touchpoint="billing",
                                           comment="Charged twice"))
    assert ticket is not None and ticket.owner_id == "u-raj"
    client = triage.create_app().test_client()
    for member in ("u-ana", "u-ben", "u-lead"):  # the default team (care) is away too
        assert client.put(f"/api/v1/members/{member}/availability", headers=bearer("dev-ceo"),
                          json={"available": False}).status_code == 200
    refused = client.put("/api/v1/members/u-raj/availability", headers=bearer("dev-raj"), json={"available": False})
    assert refused.status_code == 409
    with triage.sessions() as session:
        stored = session.get(Ticket, ticket.id)
        raj = session.get(Assignee, "u-raj")
        assert stored is not None and stored.owner_id == "u-raj" and raj is not None and raj.available
