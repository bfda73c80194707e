"""Sending under trouble: a refused address, a killed worker, a slow server, a burst."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

from services.notify.app import Notify
from tests.services.notify.conftest import consume, feedback_event, ticket_event
from tests.services.notify.receivers import MailReceiver
from tests.services.notify.test_delivery import rows, running, settled, worker
from tests.support import wait_for

CUSTOMER = "kim@customer.example"


def reply_to_customer(notify: Notify, address: str = CUSTOMER) -> str:
    """A feedback from ``address`` and the owner's reply to it: one customer delivery; its event id."""
    fb = feedback_event(rating=3, customer={"email": address, "name": "Kim"})
    consume(notify, fb)
    event = ticket_event("ticket.replied", fb.data["id"], kind="neutral",
                         message={"id": "m-1", "author": "Tom", "body": "A new parcel is on its way.",
                                  "at": fb.data["received_at"]})
    consume(notify, event)
    return event.id


def customer_row(notify: Notify, event_id: str) -> object:
    (row,) = [d for d in rows(notify) if d.event_id == event_id and d.channel == "customer"]
    return row


def test_a_permanent_smtp_refusal_is_not_retried_and_a_temporary_one_is(notify: Notify,
                                                                         mailbox: MailReceiver) -> None:
    mailbox.refuse = {"gone@customer.example": "550 5.1.1 No such user",
                      "full@customer.example": "452 4.2.2 Mailbox full, try later"}
    gone = reply_to_customer(notify, "gone@customer.example")
    full = reply_to_customer(notify, "full@customer.example")
    with running(worker(notify, max_attempts=3, backoff_seconds=0.05)):
        wait_for(lambda: settled(notify), 20, "every delivery settled")
    refused, later = customer_row(notify, gone), customer_row(notify, full)
    assert (refused.status, refused.attempts) == ("failed", 1)  # type: ignore[attr-defined]
    assert "550" in refused.last_error  # type: ignore[attr-defined]
    assert (later.status, later.attempts) == ("failed", 3)  # type: ignore[attr-defined]  # retried, then given up
    assert "452" in later.last_error  # type: ignore[attr-defined]


def test_a_worker_killed_while_sending_is_taken_over_soon_and_the_mail_is_the_same_mail(
        notify: Notify, mailbox: MailReceiver) -> None:
    event_id = reply_to_customer(notify)
    mailbox.hold = {CUSTOMER: 60.0}  # the server takes the mail and has not answered when the worker dies
    settings = notify.settings
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.services.notify.worker_process", settings.database_url,
         settings.common.org_config, settings.smtp_url, "2"],
        cwd=os.getcwd(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: mailbox.to(CUSTOMER), 30, "the mail on the wire from the worker process")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    killed = time.monotonic()
    mailbox.hold = {}
    assert customer_row(notify, event_id).status == "pending"  # type: ignore[attr-defined]
    with running(worker(notify, lease_seconds=2)):
        first, again = wait_for(lambda: len(mailbox.to(CUSTOMER)) == 2 and mailbox.to(CUSTOMER), 20,
                                "the mail sent again by another worker")
        wait_for(lambda: customer_row(notify, event_id).status == "sent", 10, "the delivery marked sent")
    assert time.monotonic() - killed < 15  # a short lease, not minutes
    assert again["Message-ID"] == first["Message-ID"]  # the same mail, recognisable as such
    assert again["Reply-To"] == first["Reply-To"] and again["References"] == first["References"]


def test_a_send_longer_than_the_lease_keeps_its_lease(notify: Notify, mailbox: MailReceiver) -> None:
    event_id = reply_to_customer(notify)
    mailbox.hold = {CUSTOMER: 3.0}  # three leases long
    with running(worker(notify, lease_seconds=1), worker(notify, lease_seconds=1)):
        wait_for(lambda: customer_row(notify, event_id).status == "sent", 20, "the slow mail sent")
        time.sleep(1.5)
    assert len(mailbox.to(CUSTOMER)) == 1


def test_mail_to_many_people_goes_out_side_by_side_over_reused_connections(notify: Notify,
                                                                            mailbox: MailReceiver) -> None:
    quick = Notify(replace(notify.settings, delivery_timeout_seconds=5.0))
    addresses = [f"c{i}@customer.example" for i in range(40)]
    for address in addresses:
        reply_to_customer(quick, address)
    mailbox.hold = {a: 0.2 for a in addresses}  # a server that takes a fifth of a second per mail
    started = time.monotonic()
    with running(worker(quick)):
        wait_for(lambda: all(d.status == "sent" for d in rows(quick) if d.channel == "customer"), 30,
                 "every customer mail sent")
    took = time.monotonic() - started
    assert sorted(a for a in addresses if mailbox.to(a)) == sorted(addresses)
    assert took < 40 * 0.2 / 3  # one at a time would take 8 s
    assert len(mailbox.connections) <= 8  # a connection per mail would be 40


def test_a_header_cannot_be_forged_and_text_outside_ascii_survives() -> None:
    import email
    import email.policy

    from services.notify.mail import Mailer, SmtpConfig
    from services.notify.messages import Message

    mailer = Mailer(SmtpConfig.from_url("smtp://127.0.0.1:1", sender="Zoë Care <care@acme.example>"), timeout=1)
    mail = mailer.build(["kim@customer.example"], Message(subject="Complaint about café\r\nBcc: x@evil.example",
                                                          headline="Grüße"), delivery_id=7, event_id="e-1")
    parsed = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["Subject"] == "Complaint about café Bcc: x@evil.example"
    assert parsed["From"] == "Zoë Care <care@acme.example>" and parsed["Message-ID"] == "<delivery-7.e-1@localhost>"
    assert "Grüße" in parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
