"""The status page and status API follow the ticket as intake learns it from ``ticket.events``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from services.intake import status
from shared import events

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
CEO = {"Authorization": "Bearer dev-ceo"}


def ticket_event(feedback_id: str, type: str, at: datetime, **extra: Any) -> events.Event:
    data = {"ticket_id": "tk-1", "feedback_id": feedback_id, "status": "open", "sla_state": "on_track",
            "priority": "P2", "team": "logistics", "team_name": "Logistics", "owner": {"id": "u-tom", "name": "Tom"},
            "received_at": NOW, "due_at": NOW + timedelta(hours=24), **extra}
    raw = events.make_event(type=type, source="/triage", subject="tk-1", data=data, now=at)
    return events.decode_event(events.encode_event(raw))


def test_the_status_follows_the_ticket_from_owner_to_what_was_done(client: Any, intake: Any) -> None:
    answer = client.post("/api/v1/feedback", json={"comment": "Late", "touchpoint": "delivery"}).get_json()
    status_path = answer["links"]["status_page"].replace("http://localhost", "")
    feedback_id = answer["id"]
    page = client.get(status_path).get_data(as_text=True)
    assert "Received" in page and "Owned by" not in page

    with intake.sessions() as session, session.begin():
        status.on_ticket_event(session, ticket_event(feedback_id, events.TICKET_CREATED, NOW), NOW)
    page = client.get(status_path).get_data(as_text=True)
    assert "Owned by Logistics" in page
    assert re.search(r'<time datetime="2026-05-05T09:00:00\+00:00">05 May 2026, 09:00 UTC</time>', page)
    api = client.get(f"/api/v1/feedback/{feedback_id}", headers=CEO).get_json()
    assert api["status"] == "ticket_open" and api["ticket"]["team"] == "Logistics"

    resolved = ticket_event(feedback_id, events.TICKET_RESOLVED, NOW + timedelta(hours=3), status="resolved",
                            sla_state="met", root_cause="delivery_logistics",
                            root_cause_label="Delivery and logistics",
                            resolution="internal note", customer_message="We re-sent it <b>by express</b>.")
    with intake.sessions() as session, session.begin():
        status.on_ticket_event(session, resolved, NOW)
        # an older event arriving late changes nothing
        status.on_ticket_event(session, ticket_event(feedback_id, events.TICKET_ASSIGNED, NOW + timedelta(hours=1)),
                                 NOW)
    page = client.get(status_path).get_data(as_text=True)
    assert "here is what we did" in page and "We re-sent it &lt;b&gt;by express&lt;/b&gt;." in page
    assert "internal note" not in page and "Delivery and logistics" in page and "They have until" not in page
    assert client.get(f"/api/v1/feedback/{feedback_id}", headers=CEO).get_json()["status"] == "ticket_resolved"


def test_unknown_and_overlong_status_tokens_are_404_pages(client: Any) -> None:
    for token in ("nope", "x" * 65):
        response = client.get(f"/status/{token}")
        assert response.status_code == 404 and "could not find" in response.get_data(as_text=True)
