"""The ticket page and the inbox that leads to it: what an employee sees and may do, escaped and CSRF-checked."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from services.triage.database import Outbox
from services.triage.tickets.models import Ticket
from shared.events import decode_event
from tests.services.triage.test_conversation import customer_writes
from tests.services.triage.test_handlers import NOW, feedback_event, handle
from tests.services.triage.test_inbox import csrf, logged_in

MAYA = {"id": "c-1", "email": "maya@example.com", "name": "Maya <b>Ortiz</b>"}


def maya_ticket(service: Any, comment: str = "Nobody answered my <script>alert(1)</script> emails") -> Ticket:
    service.clock = lambda: NOW + timedelta(hours=1)
    ticket = handle(service, feedback_event(survey={"metric": "nps", "score": 4}, comment=comment, customer=MAYA))
    assert ticket is not None and ticket.team == "care"
    return ticket


def token_of(service: Any, user_id: str) -> str:
    return service.org.users[user_id].token


def test_the_ticket_page_shows_the_customer_their_history_the_clock_and_the_conversation(triage: Any) -> None:
    handle(triage, feedback_event(survey={"metric": "nps", "score": 9}, comment="Lovely shop last year",
                                  customer={"id": "c-1", "email": "other@example.com"}))
    handle(triage, feedback_event(rating=2, comment="Parcel late", touchpoint="delivery",
                                  customer={"email": "MAYA@example.com"}))  # same email, no id: not counted by id
    handle(triage, feedback_event(survey={"metric": "nps", "score": 3}, comment="Someone else entirely",
                                  customer={"id": "c-2"}))
    ticket = maya_ticket(triage)
    customer_writes(triage, ticket.id, source="email", comment="Any news? <i>please</i>")
    client = logged_in(triage, token_of(triage, ticket.owner_id))
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and html.escape("<script>alert(1)</script>") in page
    assert "Maya <b>Ortiz</b>" not in page and "Maya &lt;b&gt;Ortiz&lt;/b&gt;" in page
    assert "maya@example.com" in page and "c-1" in page
    assert "Lovely shop last year" in page  # the same customer id, another channel
    assert "Someone else entirely" not in page and "Parcel late" not in page
    assert "Any news? &lt;i&gt;please&lt;/i&gt;" in page
    assert 'data-due="' in page and "on track" in page
    assert "Likely cause" in page
    for action in ("Acknowledge", "Send reply", "Add note", "Reassign", "Resolve ticket"):
        assert action in page, action
    assert "Reopen" not in page and "Wait on the customer" not in page  # resolved only / pausing is off


def test_the_page_needs_login_and_hides_other_teams_tickets_and_actions_from_onlookers(triage: Any) -> None:
    ticket = maya_ticket(triage)
    anonymous = triage.create_app().test_client().get(f"/tickets/{ticket.id}")
    assert anonymous.status_code in (302, 401)
    assert logged_in(triage, "dev-tom").get(f"/tickets/{ticket.id}").status_code == 404
    assert logged_in(triage, "dev-tom").get("/tickets/nope").status_code == 404
    teammate = "u-ben" if ticket.owner_id != "u-ben" else "u-ana"
    page = logged_in(triage, token_of(triage, teammate)).get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Nobody answered my" in page  # a teammate sees it
    assert "Send reply" not in page and "Resolve ticket" not in page and "Reassign" not in page


def test_working_a_ticket_from_its_page(triage: Any) -> None:
    ticket = maya_ticket(triage)
    lead = logged_in(triage, "dev-lead")
    page = lead.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    token = csrf(page)
    forged = lead.post(f"/tickets/{ticket.id}/note", data={"body": "no token"})
    assert forged.status_code == 302
    assert "expired" in lead.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert lead.post(f"/tickets/{ticket.id}/note", data={"csrf_token": token, "body": "VIP: call back"}
                     ).status_code == 302
    assert lead.post(f"/tickets/{ticket.id}/reply", data={"csrf_token": token, "body": "We are on it, Maya."}
                     ).status_code == 302
    target = "u-logistics-lead" if "u-logistics-lead" in triage.org.users else "u-tom"
    assert lead.post(f"/tickets/{ticket.id}/assign", data={"csrf_token": token, "owner": target}).status_code == 302
    with triage.sessions() as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None and stored.owner_id == target  # a lead may move it to another team
        events = [decode_event(r.payload) for r in session.scalars(select(Outbox).order_by(Outbox.id))]
    assert [e.type for e in events if e.subject == ticket.id] == ["ticket.created", "ticket.replied",
                                                                  "ticket.assigned"]
    assert all("VIP" not in str(e.data) for e in events)
    # the ticket now belongs to another team: care's lead no longer sees it
    assert lead.get(f"/tickets/{ticket.id}").status_code == 404
    ceo = logged_in(triage, "dev-ceo")
    page = ceo.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "VIP: call back" in page and "We are on it, Maya." in page
    assert "Internal note" in page and "Replied to the customer" in page and "Assigned" in page
    token = csrf(page)
    assert ceo.post(f"/tickets/{ticket.id}/resolve", data={
        "csrf_token": token, "root_cause": "slow_response", "resolution": "Fixed the mailbox", "our_fault": "y",
    }).status_code == 302
    page = ceo.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Reopen" in page and "Resolve ticket" not in page and "our fault" in page
    assert ceo.post(f"/tickets/{ticket.id}/reopen", data={"csrf_token": csrf(page), "reason": "not done"}
                    ).status_code == 302
    with triage.sessions() as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None and stored.status == "open" and stored.reopened_count == 1


def test_the_inbox_links_every_card_to_its_ticket_and_searches_filters_and_pages(triage: Any) -> None:
    first = maya_ticket(triage, "The zebra mug chipped on day one")
    for i in range(27):
        handle(triage, feedback_event(survey={"metric": "nps", "score": 5}, comment=f"Slow answer number {i}",
                                      customer={"email": f"c{i}@example.com", "name": f"Customer {i}"}))
    ceo = logged_in(triage, "dev-ceo")
    page = ceo.get("/inbox?scope=all").get_data(as_text=True)
    cards = re.findall(r'<article class="ticket[^"]*" data-ticket="([^"]+)"', page)
    assert len(cards) == 25 and all(f'href="/tickets/{c}"' in page for c in cards)
    assert "Page 1 of 2" in page
    second = ceo.get("/inbox?scope=all&page=2").get_data(as_text=True)
    assert len(re.findall(r'data-ticket="', second)) == 3
    found = ceo.get("/inbox?scope=all&q=ZEBRA").get_data(as_text=True)
    assert re.findall(r'data-ticket="([^"]+)"', found) == [first.id]
    by_customer = ceo.get("/inbox?scope=all&customer=maya%40example").get_data(as_text=True)
    assert re.findall(r'data-ticket="([^"]+)"', by_customer) == [first.id]
    p1 = ceo.get("/inbox?scope=all&priority=P1").get_data(as_text=True)
    assert "data-ticket=" not in p1 and "Nothing open here" in p1
    assert ceo.get("/inbox?scope=all&page=99999999999999999999&priority=P9").status_code == 200
    resolved = ceo.get("/inbox?scope=all&view=resolved").get_data(as_text=True)
    assert "Nothing resolved here" in resolved
    with triage.sessions() as session:
        stored = session.get(Ticket, first.id)
        assert stored is not None
    client = triage.create_app().test_client()
    client.post(f"/api/v1/tickets/{first.id}/resolve", json={"root_cause": "billing_payment", "resolution": "Paid"},
                headers={"Authorization": "Bearer dev-ceo"})
    resolved = ceo.get("/inbox?scope=all&view=resolved").get_data(as_text=True)
    assert re.findall(r'data-ticket="([^"]+)"', resolved) == [first.id]
    assert re.findall(r'data-ticket="([^"]+)"', ceo.get("/inbox?scope=all&view=resolved&root_cause=billing_payment")
                      .get_data(as_text=True)) == [first.id]


def test_an_employee_sees_mine_and_my_team_but_not_all(triage: Any) -> None:
    ticket = maya_ticket(triage)
    employee = logged_in(triage, token_of(triage, ticket.owner_id))
    page = employee.get("/inbox").get_data(as_text=True)
    assert ticket.id in page and ">All<" not in page
    assert ticket.id in employee.get("/inbox?scope=all").get_data(as_text=True)  # falls back to their own view
    assert ">All<" in logged_in(triage, "dev-ceo").get("/inbox").get_data(as_text=True)


def test_waiting_resuming_and_the_customers_reopening_on_the_page(make_triage: Any, db_url: Any) -> None:
    service = make_triage(db_url("triage"), waiting_pauses_clock=True)
    ticket = maya_ticket(service)
    owner = logged_in(service, token_of(service, ticket.owner_id))
    page = owner.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Wait on the customer" in page and "Resume the clock" not in page
    owner.post(f"/tickets/{ticket.id}/wait", data={"csrf_token": csrf(page)})
    page = owner.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "clock paused" in page and "Resume the clock" in page and "Wait on the customer" not in page
    owner.post(f"/tickets/{ticket.id}/resume", data={"csrf_token": csrf(page)})
    page = owner.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "The clock runs again." in page and "Clock resumed" in page
    owner.post(f"/tickets/{ticket.id}/resolve", data={"csrf_token": csrf(page), "root_cause": "slow_response",
                                                      "resolution": "Answered"})
    customer_writes(service, ticket.id, source="follow_up", answer="not_fixed", comment="Still <b>nothing</b>")
    page = owner.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "<b>Reopened</b> by the customer: Still &lt;b&gt;nothing&lt;/b&gt;" in page
    assert "cause: Slow response; what was done: Answered" in page  # the earlier resolution stays
