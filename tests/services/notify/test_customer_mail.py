"""What the customer's mailbox (a real aiosmtpd) gets: the owner's replies and the resolution, one
thread they can answer by mail, honest about fault, and nothing internal."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from services.notify.app import Notify
from services.notify.messages import Message, customer_words, reply_message
from services.notify.models import FeedEntry
from shared.links import read_reply_address
from tests.services.notify.conftest import NOW, consume, feedback_event, ticket_event
from tests.services.notify.receivers import MailReceiver, parts
from tests.services.notify.test_delivery import rows, running, worker
from tests.support import wait_for

CUSTOMER = "kim@customer.example"
INTERNAL = "Courier contract PAY-311 breached; see ops ticket OPS-7"


def complaint(notify: Notify, **extra: Any) -> Any:
    fb = feedback_event(survey={"metric": "nps", "score": 2}, touchpoint="delivery",
                        comment="My parcel <b>never</b> came & nobody answered",
                        customer={"email": CUSTOMER, "name": "Kim <Lee>"}, **extra)
    consume(notify, fb)
    return fb


def reply(fb: Any, ticket_id: str, body: str, **data: Any) -> Any:
    return ticket_event("ticket.replied", fb.data["id"], ticket_id=ticket_id,
                        message={"id": "m-1", "author": "Tom", "body": body, "at": NOW}, **data)


def resolved(fb: Any, ticket_id: str, **data: Any) -> Any:
    return ticket_event("ticket.resolved", fb.data["id"], ticket_id=ticket_id, status="resolved", sla_state="met",
                        root_cause="delivery_logistics", resolution=INTERNAL, **data)


def deliver(notify: Notify, mailbox: MailReceiver, count: int) -> list[Any]:
    with running(worker(notify)):
        return wait_for(lambda: len(mailbox.to(CUSTOMER)) >= count and mailbox.to(CUSTOMER), 20,
                        f"{count} mail(s) to the customer")


def test_a_reply_reaches_the_customer_answerable_by_mail_and_in_one_thread_with_the_resolution(
        notify: Notify, mailbox: MailReceiver) -> None:
    fb = complaint(notify, status_token="st-kim-123")
    ticket_id = ticket_event("ticket.created", fb.data["id"]).data["ticket_id"]
    consume(notify, reply(fb, ticket_id, "Sorry Kim <3 -- a new parcel leaves today & you'll get the tracking link.",
                          resolution=INTERNAL))
    consume(notify, resolved(fb, ticket_id, our_fault=True,
                             customer_message="We re-sent your parcel by express; it arrives tomorrow."))
    first, second = deliver(notify, mailbox, 2)

    text, html = parts(first)
    assert first["Subject"] == second["Subject"] == "About your feedback"
    assert "a new parcel leaves today & you'll get the tracking link." in text
    assert "Sorry Kim &lt;3 -- a new parcel leaves today &amp; you" in html and "<3" not in html
    assert "Tom" in text and "My parcel <b>never</b> came & nobody answered" in text  # their own words, quoted
    assert "<b>never</b>" not in html and "&lt;b&gt;never&lt;/b&gt;" in html
    assert "http://intake.test/status/st-kim-123" in text  # the status page, from the feedback's token

    for mail in (first, second):
        assert read_reply_address("test-secret-key", mail["Reply-To"]) == ticket_id
        assert mail["Reply-To"].endswith("@localhost")
        assert mail["In-Reply-To"] == mail["References"] == f"<ticket-{ticket_id}@localhost>"
        assert mail["From"] == "closeloop@example.com"
        text, html = parts(mail)
        assert INTERNAL not in text and INTERNAL not in html and "PAY-311" not in mail.as_string()
    assert first["Message-ID"] != second["Message-ID"]
    assert all(m["Message-ID"].endswith("@localhost>") for m in (first, second))


def test_a_resolution_without_a_customer_message_says_what_caused_it_in_plain_words_and_nothing_internal(
        notify: Notify, mailbox: MailReceiver) -> None:
    fb = complaint(notify)
    consume(notify, resolved(fb, ticket_event("ticket.created", fb.data["id"]).data["ticket_id"]))
    (mail,) = deliver(notify, mailbox, 1)
    text, html = parts(mail)
    assert "We have resolved the problem" in text
    assert "something went wrong while getting your order to you" in text  # the root cause, in plain words
    assert "Tom from Logistics looked after it" in text  # the owner, by first name
    assert "sorry" not in text.lower() and "our fault" not in text.lower()  # our_fault was not said
    assert "My parcel <b>never</b> came" in text
    for part in (text, html, mail.as_string()):
        assert "PAY-311" not in part and "OPS-7" not in part and "Courier contract" not in part
    assert "Yes, it is fixed" in html and "No, it is not fixed" in html


def test_the_apology_follows_our_fault(notify: Notify) -> None:
    letters = {}
    for fault in (True, False):
        fb = complaint(notify)
        event = resolved(fb, ticket_event("ticket.created", fb.data["id"]).data["ticket_id"], our_fault=fault,
                         customer_message="We refunded the shipping.")
        consume(notify, event)
        (row,) = [d for d in rows(notify) if d.event_id == event.id and d.channel == "customer"]
        letters[fault] = " ".join(Message.from_json(row.message).paragraphs)
    assert "sorry" in letters[True].lower() and "our fault" in letters[True]
    assert "sorry" not in letters[False].lower() and "fault" not in letters[False]
    assert all("What we did: We refunded the shipping." in letter for letter in letters.values())


def test_the_sender_comes_from_configuration(notify: Notify, mailbox: MailReceiver) -> None:
    configured = Notify(replace(notify.settings, mail_from="Acme Care <care@acme.example>",
                                mail_domain="mail.acme.example"))
    fb = complaint(configured)
    ticket_id = ticket_event("ticket.created", fb.data["id"]).data["ticket_id"]
    consume(configured, reply(fb, ticket_id, "On its way."))
    (mail,) = deliver(configured, mailbox, 1)
    assert mail["From"] == "Acme Care <care@acme.example>"
    assert mailbox.envelopes[-1][0] == "care@acme.example"
    assert mail["Reply-To"].endswith("@mail.acme.example")
    assert mail["References"] == f"<ticket-{ticket_id}@mail.acme.example>"


def test_the_owners_reopen_notice_gives_the_customers_reason(notify: Notify) -> None:
    fb = complaint(notify)
    event = ticket_event("ticket.reopened", fb.data["id"], reason="Still no parcel, call me on +44 20 7946 0958",
                         actor="customer")
    consume(notify, event)
    (row,) = [d for d in rows(notify) if d.event_id == event.id and d.address == "tom@example.com"]
    notice = Message.from_json(row.message)
    assert any("Still no parcel, call me on [phone]" in p for p in notice.paragraphs)


def test_email_subjects_keep_the_whole_due_time(notify: Notify) -> None:
    fb = complaint(notify)
    event = ticket_event("ticket.assigned", fb.data["id"], due_at=NOW + timedelta(hours=27, minutes=30))
    consume(notify, event)
    (row,) = [d for d in rows(notify) if d.event_id == event.id]
    assert row.subject == f"[P2] A ticket was assigned to you, due Tue 03 Nov 12:30 UTC: ticket {event.subject[:8]}"


def test_a_bengali_customer_gets_the_resolution_in_bengali_even_when_the_owner_wrote_english(
        notify: Notify, mailbox: MailReceiver) -> None:
    fb = complaint(notify, locale="bn-BD", metadata={"timezone": "Asia/Dhaka"}, status_token="st-bn-1")
    ticket_id = ticket_event("ticket.created", fb.data["id"]).data["ticket_id"]
    consume(notify, resolved(fb, ticket_id, our_fault=True, customer_message="We re-sent your parcel by express."))
    (mail,) = deliver(notify, mailbox, 1)
    text, html = parts(mail)
    assert mail["Subject"] == "আপনার মতামত সম্পর্কে" and mail["Content-Language"] == "bn-BD"
    assert '<html lang="bn-BD">' in html
    assert "প্রিয় Kim &lt;Lee&gt;," in html and "প্রিয় Kim <Lee>," in text  # greeting, their name escaped
    assert "আমরা দুঃখিত" in text  # the apology
    assert "আমরা যা করেছি: We re-sent your parcel by express." in text  # the owner's words as written
    assert "আপনার অর্ডার পৌঁছে দেওয়ার পথে কিছু একটা ভুল হয়েছিল" in text  # the cause, in Bengali
    assert "হ্যাঁ, সমাধান হয়েছে" in html and "না, সমাধান হয়নি" in html and "আপনার অবস্থার পাতা" in html
    assert "আমরা এটি অন্য কোনো কাজে ব্যবহার করব না" in text and "আমরা এটি অন্য কোনো কাজে ব্যবহার করব না" in html
    for english in ("About your feedback", "Hello", "Yes, it is fixed", "You are receiving", "Why it happened"):
        assert english not in text and english not in html


def test_a_customer_without_a_locale_is_written_in_the_orgs_language_and_a_reply_too(notify: Notify) -> None:
    bengali_org = replace(notify.ctx.org, language="bn")
    assert customer_words(FeedEntry(locale=None), bengali_org).locale == "bn"
    assert customer_words(FeedEntry(locale="en-GB"), bengali_org).locale == "en_GB"
    fb = complaint(notify)
    ticket_id = ticket_event("ticket.created", fb.data["id"]).data["ticket_id"]
    mail = reply_message(reply(fb, ticket_id, "On its way.").data, FeedEntry(), bengali_org, reply_to=None,
                         status_url=None)
    assert mail.subject == "আপনার মতামত সম্পর্কে" and mail.greeting == "প্রিয় গ্রাহক,"
    assert "On its way." in mail.paragraphs and "Tom" in mail.headline and mail.language == "bn"
