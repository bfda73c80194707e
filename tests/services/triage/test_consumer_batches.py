"""Triage's consumer batches: a batch of feedback gives exactly what one message at a time gives.

The consumer loop runs here without a broker (``process`` on records as a poll returns them),
so these check the batch hook itself: prefetched existence, bulk-written rows, deferred load.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select

from services.triage.app import Triage
from services.triage.database import Outbox, ProcessedEvent
from services.triage.routing.models import Assignee
from services.triage.tickets import service as actions
from services.triage.tickets.models import Feedback, Ticket, TimelineEntry
from services.triage.unit_of_work import UnitOfWork
from shared import events, topics
from shared.events import decode_event
from shared.kafka import ConsumerLoop, RejectedEvent
from tests.support import migrate

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SPIKES = {"spike_threshold": 3, "spike_window_seconds": 3600}


def feedback_data(**data: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "received_at": NOW - timedelta(seconds=30), "source": "survey", **data}


def record_of(data: dict[str, Any], offset: int, event_id: str | None = None) -> SimpleNamespace:
    event = events.make_event(type=events.FEEDBACK_RECEIVED, source="/intake", subject=data["id"], data=data,
                              now=NOW)
    if event_id is not None:
        event["id"] = event_id
    return SimpleNamespace(topic=topics.FEEDBACK_RECEIVED, partition=0, offset=offset, key=data["id"].encode(),
                           value=events.encode_event(event), headers=[])


def mixed_feedback() -> list[dict[str, Any]]:
    """Complaints to several teams (causes repeated on a touchpoint: spikes), praise, passives."""
    items = []
    for i in range(5):
        items.append(feedback_data(survey={"metric": "nps", "score": 3}, touchpoint="checkout",
                                   comment=f"I was charged twice for order {i}"))
        items.append(feedback_data(rating=2, touchpoint="delivery", comment=f"The parcel {i} arrived late"))
        items.append(feedback_data(survey={"metric": "nps", "score": 10}, comment="Lovely staff"))
        items.append(feedback_data(survey={"metric": "nps", "score": 7}))
        items.append(feedback_data(survey={"metric": "nps", "score": 0}, comment=f"Support never replied {i}"))
    return items


def loop_of(service: Triage, **overrides: Any) -> ConsumerLoop:
    loop = service.consumer()
    loop.clock = lambda: NOW
    for key, value in overrides.items():
        setattr(loop, key, value)
    return loop


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, topic: str, *, key: Any, value: bytes, headers: Any) -> Any:
        self.sent.append(value)
        return SimpleNamespace(get=lambda timeout: None)


def outcome(service: Triage) -> dict[str, Any]:
    """What a user would see: each ticket by its feedback, members' loads, the events in order."""
    with service.sessions() as session:
        tickets = {t.feedback_id: t for t in session.scalars(select(Ticket))}
        by_ticket = {t.id: fid for fid, t in tickets.items()}
        published = [decode_event(r.payload) for r in session.scalars(select(Outbox).order_by(Outbox.id))]
        timeline = session.execute(select(TimelineEntry.ticket_id, TimelineEntry.type)
                                   .order_by(TimelineEntry.id)).all()
        loads = {a.user_id: (a.open_tickets, a.last_assigned_at) for a in session.scalars(select(Assignee))}
        owned = dict(session.execute(select(Ticket.owner_id, func.count(Ticket.id)).group_by(Ticket.owner_id)).all())
        return {
            "feedback": session.scalar(select(func.count(Feedback.id))),
            "tickets": {fid: (t.owner_id, t.team, t.priority, t.due_at, t.suggested_root_cause, t.sla_state)
                        for fid, t in tickets.items()},
            "events": [(e.type, by_ticket.get(e.subject), e.data.get("owner"), e.data.get("ticket_count"))
                       for e in published],
            "timeline": [(by_ticket[ticket_id], kind) for ticket_id, kind in timeline],
            "loads": loads,
            "owned": owned,
        }


def test_one_batch_gives_what_one_message_at_a_time_gives(make_triage: Any, db_url: Any, tmp_path: Path) -> None:
    items = mixed_feedback()
    records = [record_of(data, i) for i, data in enumerate(items)]
    batched = make_triage(db_url("triage"), **SPIKES)
    loop_of(batched).process(records)
    single_url = f"sqlite:///{tmp_path / 'one-at-a-time.db'}"
    migrate("triage", single_url)
    single = make_triage(single_url, **SPIKES)
    loop = loop_of(single)
    for record in records:
        loop.process([record])
    got, expected = outcome(batched), outcome(single)
    assert got == expected
    assert got["feedback"] == 25 and len(got["tickets"]) == 20
    assert [kind for kind, *_ in got["events"]].count("spike.detected") == 2  # billing at checkout, late parcels
    assert {user: load for user, (load, _) in got["loads"].items() if load} == got["owned"]


def test_a_feedback_twice_in_one_batch_and_again_in_the_next_opens_one_ticket(triage: Triage) -> None:
    data = feedback_data(survey={"metric": "nps", "score": 2}, comment="Nobody answered my emails")
    other = feedback_data(rating=1, touchpoint="delivery")
    loop = loop_of(triage)
    # the same feedback under two event ids (published twice), then again in a later batch
    loop.process([record_of(data, 0), record_of(other, 1), record_of(data, 2)])
    loop.process([record_of(data, 3), record_of(other, 4, event_id=str(uuid.uuid4()))])
    got = outcome(triage)
    assert got["feedback"] == 2 and len(got["tickets"]) == 2
    assert [(kind, fid) for kind, fid, *_ in got["events"]] == [("ticket.created", data["id"]),
                                                                ("ticket.created", other["id"])]
    assert {user: load for user, (load, _) in got["loads"].items() if load} == got["owned"]
    with triage.sessions() as session:
        assert session.scalar(select(func.count(ProcessedEvent.event_id))) == 5


def test_a_redelivered_batch_changes_nothing(triage: Triage) -> None:
    records = [record_of(data, i) for i, data in enumerate(mixed_feedback())]
    loop = loop_of(triage)
    loop.process(records)
    first = outcome(triage)
    loop.process(records)  # the offsets were not committed: the same records come again
    assert outcome(triage) == first


def test_a_rejected_message_is_left_out_and_the_rest_of_its_batch_is_applied_once(triage: Triage) -> None:
    items = mixed_feedback()
    items[6]["comment"] = "reject me"
    real = triage.consumer().handlers[events.FEEDBACK_RECEIVED]

    def picky(session: Any, event: Any, now: datetime) -> object:
        result = real(session, event, now)  # queues its rows and load, then is rejected
        if event.data.get("comment") == "reject me":
            raise RejectedEvent("this complaint cannot be handled")
        return result

    producer = FakeProducer()
    loop = loop_of(triage, handlers={events.FEEDBACK_RECEIVED: picky}, _producer=producer)
    records = [record_of(data, i) for i, data in enumerate(items)]
    loop.process(records)
    assert producer.sent == [records[6].value]
    got = outcome(triage)
    assert got["feedback"] == 24 and len(got["tickets"]) == 19 and items[6]["id"] not in got["tickets"]
    assert [kind for kind, *_ in got["events"]].count("ticket.created") == 19
    assert {user: load for user, (load, _) in got["loads"].items() if load} == got["owned"]
    loop.process(records)
    assert outcome(triage) == got


def test_a_follow_up_in_a_batch_keeps_its_events_in_order(triage: Triage) -> None:
    loop = loop_of(triage)
    first = feedback_data(survey={"metric": "nps", "score": 2}, comment="Nobody answered my emails")
    loop.process([record_of(first, 0)])
    with triage.sessions() as session, session.begin():
        ticket = session.scalars(select(Ticket)).one()
        actions.resolve(UnitOfWork(session), ticket, NOW, ctx=triage.ctx, actor=triage.org.users["u-ceo"],
                        root_cause="slow_response", resolution="Answered")
        ticket_id = ticket.id
    before = feedback_data(rating=1, touchpoint="delivery", comment="The parcel arrived late")
    answer = feedback_data(source="follow_up", in_reply_to=ticket_id, comment="Still broken",
                           metadata={"answer": "not_fixed"})
    after = feedback_data(survey={"metric": "nps", "score": 1}, comment="Support never replied")
    loop.process([record_of(before, 1), record_of(answer, 2), record_of(after, 3)])
    got = outcome(triage)
    assert [(kind, fid) for kind, fid, *_ in got["events"]] == [
        ("ticket.created", first["id"]), ("ticket.resolved", first["id"]), ("ticket.created", before["id"]),
        ("ticket.reopened", first["id"]), ("ticket.created", after["id"])]
    assert got["feedback"] == 4 and len(got["tickets"]) == 3
    assert {user: load for user, (load, _) in got["loads"].items() if load} == got["owned"]
