"""What the consumer records: who hears about each feedback and ticket event (no sending here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.notify.app import Notify
from services.notify.messages import Message
from services.notify.models import Delivery, FeedEntry
from shared.links import read_follow_up_token
from tests.services.notify.conftest import NOW, consume, feedback_event, ticket_event


def deliveries(notify: Notify, event_id: str | None = None) -> list[Delivery]:
    with notify.sessions() as session:
        query = select(Delivery).order_by(Delivery.id)
        if event_id:
            query = query.where(Delivery.event_id == event_id)
        return list(session.scalars(query))


def targets(rows: list[Delivery]) -> set[tuple[str, str]]:
    return {(d.channel, d.address) for d in rows}


def test_praise_goes_only_to_praise_channels_and_reaches_the_named_employee_and_manager(notify: Notify) -> None:
    event = feedback_event(survey={"metric": "nps", "score": 10},
                           comment="Ana Silva sorted it in minutes, write to me at jo@home.example")
    consume(notify, event)
    rows = deliveries(notify, event.id)
    assert targets(rows) == {("kudos", ""), ("broken", ""), ("people", "ana@example.com"),
                             ("people", "lee@example.com")}
    kudos = Message.from_json(next(d for d in rows if d.address == "ana@example.com").message)
    assert kudos.subject == "A customer praised Ana Silva"
    assert "jo@home.example" not in (kudos.quote or "") and "[email]" in (kudos.quote or "")


def test_praise_naming_a_team_reaches_its_members_and_their_lead(notify: Notify) -> None:
    event = feedback_event(rating=5, comment="The Logistics people are heroes")
    consume(notify, event)
    people = {d.address for d in deliveries(notify, event.id) if d.channel == "people"}
    assert people == {"lena@example.com", "tom@example.com", "carmen@example.com"}


def test_complaints_go_to_complaint_channels_redacted(notify: Notify) -> None:
    event = feedback_event(survey={"metric": "nps", "score": 2}, touchpoint="delivery",
                           comment="Parcel lost. Call 0044 20 7946 0958 or (555) 123-4567; card 4111-1111-1111-1111")
    consume(notify, event)
    rows = deliveries(notify, event.id)
    assert targets(rows) == {("complaints", ""), ("broken", "")}
    quote = Message.from_json(rows[0].message).quote or ""
    assert quote == "Parcel lost. Call [phone] or [phone]; card [card]"


def test_a_first_name_two_people_share_is_not_a_mention(notify: Notify) -> None:
    event = feedback_event(rating=5, comment="great service, no names")
    consume(notify, event)
    assert {d.channel for d in deliveries(notify, event.id)} == {"kudos", "broken"}


def test_new_ticket_tells_its_owner_and_breach_tells_owner_and_escalation_target(notify: Notify) -> None:
    fb = feedback_event(survey={"metric": "nps", "score": 3}, touchpoint="delivery", comment="late again")
    consume(notify, fb)
    created = ticket_event("ticket.created", fb.data["id"])
    consume(notify, created)
    assert targets(deliveries(notify, created.id)) == {("people", "tom@example.com")}
    warned = ticket_event("ticket.sla_warning", fb.data["id"], ticket_id=created.data["ticket_id"],
                          sla_state="at_risk")
    consume(notify, warned)
    assert targets(deliveries(notify, warned.id)) == {("people", "tom@example.com"), ("people", "lena@example.com")}
    breached = ticket_event("ticket.sla_breached", fb.data["id"], ticket_id=created.data["ticket_id"],
                            sla_state="breached", escalated_to={"id": "u-ceo", "name": "Carmen Ortiz"})
    consume(notify, breached)
    rows = deliveries(notify, breached.id)
    assert targets(rows) == {("people", "tom@example.com"), ("people", "carmen@example.com")}
    assert Message.from_json(rows[0].message).headline.startswith("Breached")


def resolve(notify: Notify, kind: str = "complaint", our_fault: bool = True, **feedback: Any) -> tuple[Any, Any]:
    fb = feedback_event(touchpoint="delivery", **feedback)
    consume(notify, fb)
    resolved = ticket_event("ticket.resolved", fb.data["id"], status="resolved", sla_state="met", kind=kind,
                            root_cause="delivery_logistics", our_fault=our_fault,
                            resolution="Courier re-trained; parcel re-sent, customer on +44 20 7946 0958",
                            customer_message="We sent a new parcel by express courier; it arrives tomorrow.")
    consume(notify, resolved)
    return fb, resolved


def test_resolved_goes_to_the_team_channel_and_the_customer_gets_the_closed_loop_letter(notify: Notify) -> None:
    fb, resolved = resolve(notify, survey={"metric": "nps", "score": 2}, comment="Where is my parcel, Jo here",
                           customer={"email": "jo@customer.example", "name": "Jo <Doe>"})
    rows = deliveries(notify, resolved.id)
    assert targets(rows) == {("logistics-chat", ""), ("customer", "jo@customer.example")}
    team = Message.from_json(next(d for d in rows if d.channel == "logistics-chat").message)
    assert "Delivery and logistics" in team.headline
    assert ("Resolution", "Courier re-trained; parcel re-sent, customer on [phone]") in team.facts
    letter = Message.from_json(next(d for d in rows if d.channel == "customer").message)
    assert letter.greeting == "Hello Jo <Doe>,"
    assert letter.paragraphs[0].startswith("We are sorry")
    assert "We sent a new parcel by express courier" in letter.paragraphs[1]
    assert "something went wrong while getting your order to you" in letter.paragraphs[2]
    (fixed_label, fixed), (not_label, not_fixed) = letter.links
    assert fixed_label.startswith("Yes") and not_label.startswith("No")
    for url, answer in ((fixed, "fixed"), (not_fixed, "not_fixed")):
        assert url.startswith("http://intake.test/follow-up?token=")
        token = read_follow_up_token("test-secret-key", url.split("token=", 1)[1])
        assert token == {"ticket_id": resolved.data["ticket_id"], "feedback_id": fb.data["id"], "answer": answer,
                         "nonce": resolved.id}


def test_no_email_means_no_letter_and_no_fault_gets_no_apology(notify: Notify) -> None:
    _, silent = resolve(notify, survey={"metric": "nps", "score": 2})
    assert "customer" not in {d.channel for d in deliveries(notify, silent.id)}
    _, kind = resolve(notify, "neutral", our_fault=False, survey={"metric": "nps", "score": 8},
                      customer={"email": "al@customer.example"})
    letter = Message.from_json(next(d for d in deliveries(notify, kind.id) if d.channel == "customer").message)
    assert not any("sorry" in p for p in letter.paragraphs) and letter.greeting == "Hello,"


def test_a_bare_follow_up_click_is_on_the_feed_but_not_broadcast(notify: Notify) -> None:
    event = feedback_event(source="follow_up", survey={"metric": "csat", "score": 1}, in_reply_to="t-1",
                           metadata={"answer": "not_fixed"})
    consume(notify, event)
    assert deliveries(notify, event.id) == []
    with notify.sessions() as session:
        assert session.scalar(select(FeedEntry.kind).where(FeedEntry.feedback_id == event.data["id"])) == "complaint"


def test_one_batch_with_a_repeated_feedback_and_its_ticket_gives_one_current_feed_entry(notify: Notify) -> None:
    """Handlers write a batch in one flush; later messages still see what earlier ones added."""
    from types import SimpleNamespace

    from shared.events import encode_event, make_event

    first = feedback_event(survey={"metric": "nps", "score": 2}, comment="The parcel came broken",
                           touchpoint="delivery")
    created = ticket_event("ticket.created", first.data["id"], ticket_id="t-batch-1")
    # the same feedback published twice (a relay retry), then its ticket: all in one poll
    batch = [make_event(type=e.type, source=e.source, subject=e.subject, data=e.data, now=NOW)
             for e in (first, first, created)]
    records = [SimpleNamespace(value=encode_event(e), topic="ticket.events" if i == 2 else "feedback.received",
                               partition=0, offset=i, key=None, headers=[]) for i, e in enumerate(batch)]
    notify.consumer().process(records)
    with notify.sessions() as session:
        entries = list(session.scalars(select(FeedEntry)))
    assert [(e.feedback_id, e.ticket_id, e.owner_name) for e in entries] == [(first.data["id"], "t-batch-1",
                                                                              "Tom Nguyen")]
    assert len(deliveries(notify, batch[0]["id"])) > 0 and deliveries(notify, batch[1]["id"]) == []


def test_a_resolution_polled_before_its_feedback_still_writes_to_the_customer(notify: Notify) -> None:
    """One poll may return the ticket topic's records before the feedback topic's (Kafka orders
    records only within a partition): the feedback is handled first, so the letter goes out."""
    from types import SimpleNamespace

    from shared.events import encode_event, make_event

    fb = feedback_event(survey={"metric": "nps", "score": 2}, comment="Box crushed", touchpoint="delivery",
                        customer={"email": "kim@customer.example", "name": "Kim"})
    resolved = ticket_event("ticket.resolved", fb.data["id"], status="resolved", sla_state="met",
                            root_cause="delivery_logistics", resolution="Re-sent",
                            customer_message="A new parcel is on its way.")
    events_ = [make_event(type=e.type, source=e.source, subject=e.subject, data=e.data, now=NOW)
               for e in (resolved, fb)]
    records = [SimpleNamespace(value=encode_event(e), topic=e["type"].replace("ticket.resolved", "ticket.events"),
                               partition=0, offset=i, key=None, headers=[]) for i, e in enumerate(events_)]
    notify.consumer().process(records)
    letters = [d for d in deliveries(notify, events_[0]["id"]) if d.address == "kim@customer.example"]
    assert len(letters) == 1
    assert any("A new parcel is on its way." in p for p in Message.from_json(letters[0].message).paragraphs)


def _records(*batch: Any) -> list[Any]:
    from types import SimpleNamespace

    from shared.events import encode_event, make_event

    wire = [make_event(type=e.type, source=e.source, subject=e.subject, data=e.data, now=NOW) for e in batch]
    return [SimpleNamespace(value=encode_event(w), topic="feedback.received" if w["type"] == "feedback.received"
                            else "ticket.events", partition=0, offset=i, key=None, headers=[], id=w["id"])
            for i, w in enumerate(wire)]


def test_a_resolution_read_in_polls_before_its_feedback_still_closes_the_loop(notify: Notify) -> None:
    """A consumer behind on feedback.received (restarted, or a slower partition) reads the ticket's
    events in earlier polls: the team hears at once, and the feed entry and the customer's letter
    follow when the feedback comes."""
    from services.notify.models import EarlyTicketEvent

    fb = feedback_event(survey={"metric": "nps", "score": 2}, comment="Box crushed", touchpoint="delivery",
                        customer={"email": "kim@customer.example", "name": "Kim"})
    created = ticket_event("ticket.created", fb.data["id"], ticket_id="t-early")
    resolved = ticket_event("ticket.resolved", fb.data["id"], ticket_id="t-early", status="resolved",
                            sla_state="met", root_cause="delivery_logistics", resolution="Re-sent",
                            customer_message="A new parcel is on its way.")
    loop = notify.consumer()
    (created_rec,), (resolved_rec,), (fb_rec,) = _records(created), _records(resolved), _records(fb)
    loop.process([created_rec])
    loop.process([resolved_rec])
    assert ("logistics-chat", "") in targets(deliveries(notify, resolved_rec.id))  # the team, at once
    assert "customer" not in {d.channel for d in deliveries(notify)}  # no address yet
    loop.process([fb_rec])
    letters = [d for d in deliveries(notify) if d.channel == "customer"]
    assert [(d.address, d.event_id) for d in letters] == [("kim@customer.example", resolved_rec.id)]
    assert any("A new parcel is on its way." in p for p in Message.from_json(letters[0].message).paragraphs)
    with notify.sessions() as session:
        entry = session.scalars(select(FeedEntry)).one()
        assert (entry.ticket_id, entry.ticket_status, entry.owner_name) == ("t-early", "resolved", "Tom Nguyen")
        assert entry.resolved_at is not None and entry.root_cause == "delivery_logistics"
        assert session.scalars(select(EarlyTicketEvent)).all() == []
    loop.process([fb_rec])  # redelivered: nothing new
    assert len([d for d in deliveries(notify) if d.channel == "customer"]) == 1


def test_a_ticket_event_before_its_feedback_outside_a_batch_waits_for_it_too(notify: Notify) -> None:
    fb = feedback_event(survey={"metric": "nps", "score": 3}, customer={"email": "al@customer.example"})
    consume(notify, ticket_event("ticket.resolved", fb.data["id"], status="resolved", sla_state="met",
                                 root_cause="delivery_logistics", resolution="Refunded"))
    consume(notify, fb)
    assert [d.address for d in deliveries(notify) if d.channel == "customer"] == ["al@customer.example"]


def test_ticket_events_whose_feedback_never_came_are_dropped_after_a_week(notify: Notify) -> None:
    from datetime import timedelta

    from services.notify import jobs
    from services.notify.models import EarlyTicketEvent

    lost, late = feedback_event(), feedback_event(customer={"email": "late@customer.example"})
    consume(notify, ticket_event("ticket.created", lost.data["id"]), now=NOW - timedelta(days=8))
    consume(notify, ticket_event("ticket.resolved", late.data["id"], status="resolved", sla_state="met",
                                 root_cause="delivery_logistics", resolution="Re-sent"), now=NOW - timedelta(days=6))
    assert jobs.forget_stale_early_events(notify.sessions, now=NOW) == 1
    with notify.sessions() as session:
        assert [e.feedback_id for e in session.scalars(select(EarlyTicketEvent))] == [late.data["id"]]
    consume(notify, late)  # six days late, and still in time for the letter
    assert [d.address for d in deliveries(notify) if d.channel == "customer"] == ["late@customer.example"]
