"""Sending for real: Slack and webhook posts to a local HTTP server, mail to a local SMTP server."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.notify.app import Notify
from services.notify.delivery import DeliveryWorker
from services.notify.models import Delivery
from tests.services.notify.conftest import WEBHOOK_SECRET, consume, feedback_event, ticket_event
from tests.services.notify.receivers import HttpReceiver, MailReceiver, parts
from tests.support import wait_for


def worker(notify: Notify, **overrides: Any) -> DeliveryWorker:
    options: dict[str, Any] = {"max_attempts": 3, "backoff_seconds": 0.05, "send_timeout": 8,
                               "poll_seconds": 0.05, **overrides}
    return DeliveryWorker(sessions=notify.sessions, channels=notify.channels, **options)


@contextmanager
def running(*workers: DeliveryWorker) -> Iterator[None]:
    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)


def rows(notify: Notify) -> list[Delivery]:
    with notify.sessions() as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def settled(notify: Notify) -> bool:
    return all(d.status != "pending" for d in rows(notify))


def test_every_channel_gets_its_own_format_and_a_broken_one_is_retried_then_recorded_as_failed(
        notify: Notify, http_receiver: HttpReceiver, mailbox: MailReceiver) -> None:
    praise = feedback_event(rating=5, comment="Ana Silva was great <3 & quick <!channel> mail a@b.example")
    complaint = feedback_event(survey={"metric": "nps", "score": 1}, touchpoint="billing",
                               comment="Charged twice on 4111 1111 1111 1111, call +44 20 7946 0958")
    consume(notify, praise)
    consume(notify, complaint)
    with running(worker(notify)):
        wait_for(lambda: settled(notify), 30, "every delivery settled")

    (slack,) = http_receiver.at("/slack/kudos")
    text = slack.json()["text"]
    assert "&lt;3 &amp; quick &lt;!channel&gt;" in text and "<!channel>" not in text
    assert "a@b.example" not in text and "[email]" in text

    (hook,) = http_receiver.at("/hooks/complaints")
    assert hook.signature_ok(WEBHOOK_SECRET) and not hook.signature_ok("another-secret")
    assert abs(int(hook.headers["x-closeloop-timestamp"]) - time.time()) < 60
    body = hook.json()
    assert body["event_id"] == complaint.id and body["kind"] == "complaint"
    assert body["comment"] == "Charged twice on [card], call [phone]"

    assert len(http_receiver.at("/hooks/broken")) == 2 * 3  # two events, three attempts each
    by_channel = {(d.channel, d.address): d for d in rows(notify)}
    broken = [d for d in rows(notify) if d.channel == "broken"]
    assert [(d.status, d.attempts) for d in broken] == [("failed", 3), ("failed", 3)]
    assert all(d.last_error and d.last_error.startswith("HTTP 500") for d in broken)
    assert by_channel[("kudos", "")].status == "sent" and by_channel[("complaints", "")].attempts == 1

    (to_ana,) = mailbox.to("ana@example.com")
    (to_lee,) = mailbox.to("lee@example.com")
    text_part, html_part = parts(to_ana)
    assert to_ana["Subject"] == "A customer praised Ana Silva" and to_lee["Subject"] == to_ana["Subject"]
    assert "Ana Silva was great <3 & quick" in text_part
    assert "Ana Silva was great &lt;3 &amp; quick &lt;!channel&gt;" in html_part and "<!channel>" not in html_part


def test_a_slow_or_failing_channel_does_not_hold_up_the_others(
        notify: Notify, http_receiver: HttpReceiver) -> None:
    http_receiver.slow.add("/hooks/complaints")
    complaint = feedback_event(survey={"metric": "nps", "score": 1}, comment="Broken")
    praise = feedback_event(rating=5, comment="Lovely")
    consume(notify, complaint)
    consume(notify, praise)
    started = time.monotonic()
    with running(worker(notify, backoff_seconds=30)):
        wait_for(lambda: http_receiver.at("/slack/kudos"), 3, "the praise on Slack while the webhook hangs")
        assert time.monotonic() - started < 3
        assert {d.channel: d.status for d in rows(notify)}["complaints"] == "pending"  # in flight on its own lane
        broken = wait_for(lambda: (b := [d for d in rows(notify) if d.channel == "broken" and d.attempts == 1])
                          and len(b) == 2 and b, 3, "one attempt at each of the two broken deliveries")
        assert all(d.status == "pending" and d.last_error == "HTTP 500: boom" for d in broken)  # waiting to retry
        wait_for(lambda: {d.channel: d.status for d in rows(notify)}["complaints"] == "sent", 15, "slow hook")


def test_a_restart_sends_nothing_twice_and_picks_up_what_a_dead_worker_held(
        notify: Notify, http_receiver: HttpReceiver) -> None:
    for i in range(3):
        consume(notify, feedback_event(survey={"metric": "nps", "score": 2}, comment=f"complaint {i}"))
    with running(worker(notify)):
        wait_for(lambda: len(http_receiver.at("/hooks/complaints")) == 3, 20, "three webhook posts")
    late = feedback_event(survey={"metric": "nps", "score": 2}, comment="after the restart")
    consume(notify, late)
    dead = worker(notify, clock=lambda: datetime.now(UTC) - timedelta(hours=1))
    assert dead.claim()  # claimed an hour ago and never sent: its lease has run out
    with running(worker(notify)):
        wait_for(lambda: len(http_receiver.at("/hooks/complaints")) == 4, 20, "the held delivery")
        time.sleep(1.5)
    ids = [json.loads(p.body)["delivery_id"] for p in http_receiver.at("/hooks/complaints")]
    assert len(ids) == len(set(ids)) == 4


def test_two_workers_side_by_side_never_send_the_same_delivery(notify: Notify, http_receiver: HttpReceiver) -> None:
    http_receiver.failing.clear()
    for i in range(25):
        consume(notify, feedback_event(survey={"metric": "nps", "score": 1}, comment=f"complaint {i}"))
    with running(worker(notify, lane_size=2), worker(notify, lane_size=2)):
        wait_for(lambda: settled(notify), 30, "all sent")
    ids = [json.loads(p.body)["delivery_id"] for p in http_receiver.at("/hooks/complaints")]
    assert len(ids) == len(set(ids)) == 25
    assert len(http_receiver.at("/hooks/broken")) == 25


def test_the_customer_gets_the_closed_loop_mail_and_the_team_its_root_cause(
        notify: Notify, mailbox: MailReceiver, http_receiver: HttpReceiver) -> None:
    fb = feedback_event(survey={"metric": "nps", "score": 2}, touchpoint="delivery", comment="Parcel never came",
                        customer={"email": "jo@customer.example", "name": "Jo <Doe>"})
    consume(notify, fb)
    resolved = ticket_event("ticket.resolved", fb.data["id"], status="resolved", sla_state="met",
                            root_cause="delivery_logistics", resolution="Courier coached", our_fault=True,
                            customer_message="We re-sent your parcel by express & refunded the shipping.")
    consume(notify, resolved)
    with running(worker(notify)):
        wait_for(lambda: mailbox.to("jo@customer.example"), 20, "the customer's mail")
    (mail,) = mailbox.to("jo@customer.example")
    text, html = parts(mail)
    assert mail["Subject"] == "About your feedback"
    assert "Hello Jo <Doe>," in text and "Hello Jo &lt;Doe&gt;," in html
    assert "We are sorry" in text
    assert "We re-sent your parcel by express & refunded the shipping." in text
    assert "something went wrong while getting your order to you" in text
    assert text.count("http://intake.test/follow-up?token=") == 2 and html.count('href="http://intake.test/') == 2
    assert "Yes, it is fixed" in html and "No, it is not fixed" in html
    (team,) = wait_for(lambda: http_receiver.at("/slack/logistics"), 10, "the team channel's post")
    assert "Root cause: Delivery and logistics" in team.json()["text"]


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_send_the_same_delivery(pg_notify: Notify,
                                                                http_receiver: HttpReceiver) -> None:
    for i in range(25):
        consume(pg_notify, feedback_event(survey={"metric": "nps", "score": 1}, comment=f"complaint {i}"))
    with running(worker(pg_notify, lane_size=2), worker(pg_notify, lane_size=2), worker(pg_notify, lane_size=2)):
        wait_for(lambda: settled(pg_notify), 30, "all sent")
    ids = [json.loads(p.body)["delivery_id"] for p in http_receiver.at("/hooks/complaints")]
    assert len(ids) == len(set(ids)) == 25
    assert {d.status for d in rows(pg_notify) if d.channel == "complaints"} == {"sent"}
