"""The inbox page: who sees what, escaping, and CSRF-protected acknowledge and resolve."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from services.triage.tickets.models import Ticket
from tests.services.triage.test_handlers import NOW, feedback_event, handle


def logged_in(service: Any, token: str) -> Any:
    client = service.create_app().test_client()
    assert client.post("/login", data={"token": token}).status_code == 302
    return client


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_inbox_needs_login_and_shows_the_right_tickets_soonest_due_first(triage: Any) -> None:
    triage.clock = lambda: NOW
    urgent = handle(triage, feedback_event(survey={"metric": "nps", "score": 0},
                                           comment="<script>alert(1)</script> the heater caught fire"))
    calm = handle(triage, feedback_event(survey={"metric": "nps", "score": 6}, comment="Nobody replied to me"))
    other_team = handle(triage, feedback_event(survey={"metric": "nps", "score": 3}, touchpoint="delivery",
                                               comment="Parcel lost"))
    assert urgent and calm and other_team and urgent.priority == "P1"
    anonymous = triage.create_app().test_client().get("/inbox")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]

    lead = logged_in(triage, "dev-lead")
    page = lead.get("/inbox").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert page.index("the heater caught fire") < page.index("Nobody replied to me")  # P1 is due first
    assert "Parcel lost" not in page
    assert f'data-due="{urgent.due_at.isoformat()}"' in page
    ceo = logged_in(triage, "dev-ceo").get("/inbox").get_data(as_text=True)
    assert "Parcel lost" in ceo and "Nobody replied to me" in ceo


def test_resolving_from_the_inbox_needs_the_csrf_token_and_a_resolution(triage: Any) -> None:
    triage.clock = lambda: NOW + timedelta(minutes=5)
    ticket = handle(triage, feedback_event(survey={"metric": "nps", "score": 5}, comment="Nobody answered my emails"))
    assert ticket is not None
    client = logged_in(triage, triage.org.users[ticket.owner_id].token)
    page = client.get("/inbox?scope=mine").get_data(as_text=True)
    assert '<option value="slow_response" selected>' in page  # the suggestion is preselected
    forged = client.post(f"/inbox/{ticket.id}/resolve", data={"root_cause": "slow_response", "resolution": "x"},
                         follow_redirects=True)
    assert "The form expired" in forged.get_data(as_text=True)
    token = csrf(page)
    empty = client.post(f"/inbox/{ticket.id}/resolve", data={"csrf_token": token, "root_cause": "slow_response",
                                                              "resolution": ""}, follow_redirects=True)
    assert "Say what was done." in empty.get_data(as_text=True)
    with triage.sessions() as session:
        assert session.get(Ticket, ticket.id).status == "open"  # type: ignore[union-attr]
    ack = client.post(f"/inbox/{ticket.id}/acknowledge", data={"csrf_token": token, "scope": "mine"},
                      follow_redirects=True)
    assert "Acknowledged" in ack.get_data(as_text=True)
    done = client.post(f"/inbox/{ticket.id}/resolve", data={"csrf_token": token, "root_cause": "staff_conduct",
                                                             "resolution": "Called the customer, coached the agent",
                                                             "scope": "mine"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "Resolved." in html and "Nobody answered my emails" not in html
    with triage.sessions() as session:
        stored = session.get(Ticket, ticket.id)
        assert stored is not None and stored.status == "resolved" and stored.root_cause == "staff_conduct"
        assert stored.sla_state == "met"


def test_at_risk_and_breached_tickets_are_highlighted(triage: Any) -> None:
    from services.triage.jobs import Sweeper

    ticket = handle(triage, feedback_event(survey={"metric": "nps", "score": 5}, comment="Nobody answered my emails"))
    assert ticket is not None
    later = ticket.due_at + timedelta(seconds=1)
    Sweeper(session_factory=triage.sessions, ctx=triage.ctx, interval=1, clock=lambda: later).sweep_once()
    page = logged_in(triage, "dev-lead").get("/inbox?scope=team").get_data(as_text=True)
    assert 'class="ticket breached open"' in page
    assert re.search(r'<div class="stat bad"><b>1</b>breached</div>', page)
