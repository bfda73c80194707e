"""Turning feedback into tickets: who owns it, by when, and what it is about."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.triage.database import Outbox
from services.triage.tickets.handlers import FeedbackConsumer
from services.triage.tickets.models import Ticket
from shared.events import Event, decode_event

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def feedback_event(**data: Any) -> Event:
    body = {"id": str(uuid.uuid4()), "received_at": NOW - timedelta(seconds=30), "source": "survey", **data}
    return Event(id=str(uuid.uuid4()), type="feedback.received", source="/intake", subject=body["id"], time=NOW,
                 data=body)


def handle(triage: Any, event: Event) -> Ticket | None:
    with triage.sessions() as session, session.begin():
        return FeedbackConsumer(triage.ctx).handle(session, event, NOW)


def test_detractor_gets_one_owner_and_24_hours(triage: Any) -> None:
    ticket = handle(triage, feedback_event(survey={"metric": "nps", "score": 5}, comment="Support never replied"))
    assert ticket is not None and ticket.owner_id in {"u-ana", "u-ben", "u-lead", "u-ceo", "u-admin"}
    assert ticket.team == "care"
    assert ticket.due_at == NOW - timedelta(seconds=30) + timedelta(hours=24)
    assert ticket.sla_state == "on_track" and ticket.status == "open"
    with triage.sessions() as session:
        event = decode_event(session.scalars(select(Outbox)).one().payload)
    assert event.type == "ticket.created" and event.data["owner"]["id"] == ticket.owner_id


def test_promoter_opens_no_ticket(triage: Any) -> None:
    assert handle(triage, feedback_event(survey={"metric": "nps", "score": 10}, comment="Lovely staff")) is None
    with triage.sessions() as session:
        assert session.scalars(select(Ticket)).first() is None


def test_high_score_with_angry_comment_still_opens_a_ticket(triage: Any) -> None:
    ticket = handle(triage, feedback_event(survey={"metric": "nps", "score": 10},
                                           comment="10, but the delivery was a disaster"))
    assert ticket is not None and ticket.kind == "complaint"


def test_passive_opens_a_ticket_because_it_is_not_clearly_positive(triage: Any) -> None:
    ticket = handle(triage, feedback_event(survey={"metric": "nps", "score": 7}))
    assert ticket is not None and ticket.priority == "P3"


def test_routing_rule_sends_delivery_to_logistics_and_worst_score_is_p1_with_4_hours(triage: Any) -> None:
    ticket = handle(triage, feedback_event(survey={"metric": "nps", "score": 0}, touchpoint="delivery"))
    assert ticket is not None and ticket.team == "logistics" and ticket.priority == "P1"
    assert ticket.due_at - ticket.received_at == timedelta(hours=4)


def test_members_with_fewest_open_tickets_take_turns(triage: Any) -> None:
    owners = [handle(triage, feedback_event(rating=2)).owner_id for _ in range(4)]
    assert sorted(owners) == ["u-ana", "u-ana", "u-ben", "u-ben"]  # Care's employees; its lead only when none can
    assert owners[0] != owners[1]


def test_a_team_with_business_hours_gets_a_due_time_in_working_time(make_triage: Any, db_url: Any) -> None:
    hours = {"logistics": {"days": "mon-fri", "start": "09:00", "end": "17:00", "timezone": "UTC"}}
    service = make_triage(db_url("triage"), business_hours=hours, sla_seconds=28800)
    ticket = handle(service, feedback_event(survey={"metric": "nps", "score": 4}, touchpoint="delivery",
                                            comment="The parcel is late"))
    assert ticket is not None and ticket.priority == "P2"
    # received Monday 08:59:30, before opening: eight working hours end Monday at 17:00
    assert ticket.due_at == datetime(2026, 11, 2, 17, 0, tzinfo=UTC)
    care = handle(service, feedback_event(survey={"metric": "nps", "score": 4}, comment="Nobody replied"))
    assert care is not None and care.due_at == care.received_at + timedelta(hours=8)  # care has no calendar
