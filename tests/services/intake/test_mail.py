"""Intake's mail role, a real SMTP server: a customer's answer by email joins the ticket without its
quoted part; a forged reply address is refused during the SMTP dialogue and nothing is stored."""

from __future__ import annotations

import smtplib
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from services.intake import mail, status
from services.intake.models import Feedback, Outbox
from shared import events
from shared.events import decode_event
from shared.links import reply_address
from tests.support import free_port

SECRET = "test-secret-key"  # CLOSELOOP_SECRET_KEY in tests; the link secret falls back to it
DOMAIN = "mail.closeloop.test"
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
QUOTED = """Still broken, sorry. The new box was wet too.

Kim

On Mon, 4 May 2026 at 10:00, Tom <reply+x@mail.closeloop.test> wrote:
> Could you send a photo of the box?
> Thanks, Tom
"""


@pytest.fixture
def smtp(make_intake: Any) -> Iterator[tuple[Any, int]]:
    intake = make_intake(mail_domain=DOMAIN)
    port = free_port()
    server = mail.build(intake.settings, intake.sessions, status.store_of(intake.create_app()), host="127.0.0.1",
                        port=port)
    stop = threading.Event()
    thread = threading.Thread(target=server.run, args=(stop,), daemon=True)
    thread.start()
    assert server.ready.wait(10)
    try:
        yield intake, port
    finally:
        stop.set()
        thread.join(10)


def ticket_with_feedback(intake: Any) -> str:
    """A customer's feedback whose ticket intake knows; the ticket id."""
    ticket_id = str(uuid.uuid4())
    app = intake.create_app()
    app.config["TESTING"] = True
    body = {"comment": "Late", "touchpoint": "delivery", "customer": {"email": "kim@example.org", "name": "Kim",
                                                                      "id": "c-7"}}
    feedback_id = app.test_client().post("/api/v1/feedback", json=body).get_json()["id"]
    data = {"ticket_id": ticket_id, "feedback_id": feedback_id, "status": "open", "sla_state": "on_track",
            "priority": "P2", "team": "logistics", "team_name": "Logistics", "owner": {"id": "u-tom", "name": "Tom"},
            "received_at": NOW, "due_at": NOW + timedelta(hours=24)}
    event = events.decode_event(events.encode_event(events.make_event(
        type=events.TICKET_CREATED, source="/triage", subject=ticket_id, data=data, now=NOW)))
    with intake.sessions() as session, session.begin():
        status.on_ticket_event(session, event, NOW)
    return ticket_id


def answers(intake: Any) -> list[Feedback]:
    with intake.sessions() as session:
        return list(session.scalars(select(Feedback).where(Feedback.source == "email")))


def letter(to: str, body: str, *, sender: str = "Kim Lee <kim.lee@example.org>", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Re: About your feedback"
    message["Message-ID"] = f"<{uuid.uuid4()}@example.org>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def test_a_reply_is_stored_without_its_quoted_part(smtp: tuple[Any, int]) -> None:
    intake, port = smtp
    ticket_id = ticket_with_feedback(intake)
    to = reply_address(SECRET, ticket_id=ticket_id, domain=DOMAIN)
    message = letter(to, QUOTED)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        assert client.send_message(message) == {}
        client.send_message(message)  # the sender's server tries again: stored once
    [answer] = answers(intake)
    assert answer.comment == "Still broken, sorry. The new box was wet too.\n\nKim"
    assert answer.in_reply_to == ticket_id
    assert (answer.customer_email, answer.customer_id, answer.touchpoint) == ("kim.lee@example.org", "c-7",
                                                                              "delivery")
    with intake.sessions() as session:
        event = decode_event(session.scalars(select(Outbox).where(Outbox.key == answer.id)).one().payload)
    assert (event.data["source"], event.data["in_reply_to"]) == ("email", ticket_id)
    assert "Could you send a photo" not in event.data["comment"]


def test_forged_and_unknown_reply_addresses_are_refused_in_the_dialogue(smtp: tuple[Any, int]) -> None:
    intake, port = smtp
    ticket_id = ticket_with_feedback(intake)
    genuine = reply_address(SECRET, ticket_id=ticket_id, domain=DOMAIN)
    forged = [
        reply_address("someone-elses-secret", ticket_id=ticket_id, domain=DOMAIN),
        genuine[:-len(DOMAIN) - 3] + "00@" + DOMAIN,
        f"reply+{uuid.UUID(ticket_id).hex}@{DOMAIN}",
        f"support@{DOMAIN}",
        reply_address(SECRET, ticket_id=ticket_id, domain="elsewhere.example"),
    ]
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        for address in forged:
            client.mail("kim@example.org")
            code, reply = client.rcpt(address)
            assert code == 550, (address, code, reply)
            client.rset()
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.send_message(letter(forged[0], "Reopen it please"))
    assert answers(intake) == []


def test_automatic_answers_and_empty_replies_store_nothing(smtp: tuple[Any, int]) -> None:
    intake, port = smtp
    to = reply_address(SECRET, ticket_id=ticket_with_feedback(intake), domain=DOMAIN)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(letter(to, "I am out of the office until Monday.", Auto_Submitted="auto-replied"))
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.send_message(letter(to, "> Could you send a photo of the box?\n"))
        assert refused.value.smtp_code == 550
    assert answers(intake) == []


def test_oversized_mail_is_refused(smtp: tuple[Any, int]) -> None:
    intake, port = smtp
    to = reply_address(SECRET, ticket_id=ticket_with_feedback(intake), domain=DOMAIN)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        assert int(client.esmtp_features["size"]) == mail.MAX_MAIL_BYTES
        with pytest.raises(smtplib.SMTPException):
            client.send_message(letter(to, "x" * (mail.MAX_MAIL_BYTES + 10)))
    assert answers(intake) == []


def test_an_html_only_reply_is_read_as_text() -> None:
    message = EmailMessage()
    message.set_content("<html><head><style>p{}</style></head><body><p>Fixed, thank you!</p>"
                        "<div>Kim</div></body></html>", subtype="html")
    assert mail.reply_of(mail.body_text(message)) == "Fixed, thank you!\nKim"


def test_a_long_reply_is_cut_to_the_comment_limit() -> None:
    assert len(mail.reply_of("word " * 5000)) == 10_000


def test_a_database_that_cannot_be_written_answers_451_so_the_sender_tries_again(make_intake: Any) -> None:
    intake = make_intake(mail_domain=DOMAIN)

    class Broken:
        def store(self, data: Any, *, idempotency_key: str | None, now: datetime) -> Any:
            raise OSError("disk full")

    port = free_port()
    server = mail.build(intake.settings, intake.sessions, Broken(), host="127.0.0.1", port=port)
    stop = threading.Event()
    thread = threading.Thread(target=server.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert server.ready.wait(10)
        to = reply_address(SECRET, ticket_id=str(uuid.uuid4()), domain=DOMAIN)
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.send_message(letter(to, "Still broken"))
        assert refused.value.smtp_code == 451
    finally:
        stop.set()
        thread.join(10)
