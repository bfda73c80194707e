"""The whole conversation in a real browser and a real mailbox: an employee opens a ticket from the
inbox, sees the customer and their earlier feedback, writes an internal note and a reply, hands the
ticket to a teammate; the customer gets the reply by email, answers it by email (quoting it) and
again on their status page; neither the customer's mails nor their pages ever show the note, and
opening the resolution's answer links (as a mail scanner does) records nothing."""

from __future__ import annotations

import re
import smtplib
import time
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from services.intake.models import Feedback
from tests.e2e.conftest import Stack, start_stack
from tests.services.notify.receivers import MailReceiver, parts
from tests.support import http, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = "/tmp/closeloop-conv"
DOMAIN = "replies.closeloop.test"  # INTAKE_MAIL_DOMAIN: where customers' answers are addressed
TOKENS = {"u-lena": "dev-lena", "u-tom": "dev-tom"}  # Logistics, which owns delivery feedback
NAMES = {"u-lena": "Lena Fischer", "u-tom": "Tom Nguyen"}

CUSTOMER = {"name": "Priya Raman", "email": "priya.raman@customer.example"}
EARLIER = "Last month the courier was lovely and early"
COMPLAINT = "The parcel was left in the rain and the phone charger inside is ruined"
NOTE = "INTERNAL zebra-4412: depot 7 leaves parcels outside again, ask Marco"
REPLY = "Hello Priya, we are sending a new charger by express today. Which door should the courier use?"
EMAIL_ANSWER = "The side door please, the bell at the front is broken."
PAGE_ANSWER = "Thanks, I will be home all afternoon."
RESOLUTION = "INTERNAL depot-7 audit filed as LOG-5521"
CUSTOMER_MESSAGE = "A new charger is on its way and our courier now rings at the side door."


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Stack, MailReceiver]]:
    mail = MailReceiver().start()
    stack = start_stack(tmp_path, {"NOTIFY_SMTP_URL": mail.url, "NOTIFY_DELIVERY_BACKOFF_SECONDS": "0.2",
                                   "INTAKE_MAIL_DOMAIN": DOMAIN})
    try:
        yield stack, mail
    finally:
        stack.stop()
        mail.stop()


def post(stack: Stack, body: dict[str, Any]) -> str:
    status, answer = http("POST", f"{stack.intake}/api/v1/feedback", body)
    assert status == 202, answer
    return answer["id"]


def ticket_for(stack: Stack, feedback_id: str) -> dict[str, Any] | None:
    status, page = http("GET", f"{stack.triage}/api/v1/tickets?feedback_id={feedback_id}", token="dev-ceo")
    assert status == 200, page
    return page["items"][0] if page["items"] else None


def detail_of(stack: Stack, ticket_id: str) -> dict[str, Any]:
    status, detail = http("GET", f"{stack.triage}/api/v1/tickets/{ticket_id}", token="dev-ceo")
    assert status == 200, detail
    return detail


def customer_words(stack: Stack, ticket_id: str) -> list[str]:
    return [m["body"] for m in detail_of(stack, ticket_id)["conversation"] if m["kind"] == "customer"]


def mails_with(mail: MailReceiver, address: str, words: str) -> list[EmailMessage]:
    return [m for m in mail.to(address) if words in parts(m)[0]]


def everything_in(message: EmailMessage) -> str:
    """A mail's headers and every decoded text part, as a customer's mail client would show them."""
    shown = [f"{k}: {v}" for k, v in message.items()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            shown.append(part.get_content())
    return "\n".join(shown) + message.as_string()


def stored(stack: Stack, *where: Any) -> list[Feedback]:
    """Feedback rows in the stack's intake database."""
    engine = create_engine(f"sqlite:///{stack.var / 'intake.db'}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Feedback).where(*where)))
    finally:
        engine.dispose()


def answer_by_email(port: int, reply: EmailMessage, text: str) -> None:
    """The customer presses "Reply": their words on top, ours quoted below an "On ... wrote:" line."""
    quoted = "\n".join("> " + line for line in parts(reply)[0].splitlines())
    message = EmailMessage()
    message["From"] = f"{CUSTOMER['name']} <{CUSTOMER['email']}>"
    message["To"] = str(reply["Reply-To"])
    message["Subject"] = f"Re: {reply['Subject']}"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="customer.example")
    message["In-Reply-To"] = str(reply["Message-ID"])
    message["References"] = f"{reply['References']} {reply['Message-ID']}"
    message.set_content(f"{text}\n\nOn {reply['Date']}, {reply['From']} wrote:\n{quoted}\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        refused = client.send_message(message)
    assert refused == {}, refused


def reload_until(page: Any, selector: str, text: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while text not in page.locator(selector).inner_text() and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()
    assert text in page.locator(selector).inner_text(), f"{text!r} never appeared in {selector}"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium, which this machine lacks")
def test_owner_and_customer_talk_by_page_and_mail_and_the_note_stays_inside(
        world: tuple[Stack, MailReceiver]) -> None:
    from playwright.sync_api import expect, sync_playwright

    stack, mail = world
    post(stack, {"survey": {"metric": "nps", "score": 9}, "comment": EARLIER, "touchpoint": "delivery",
                 "customer": CUSTOMER})
    complaint = post(stack, {"survey": {"metric": "nps", "score": 2}, "comment": COMPLAINT, "touchpoint": "delivery",
                             "customer": CUSTOMER})
    ticket = wait_for(lambda: ticket_for(stack, complaint), 90, "the complaint's ticket")
    assert ticket["team"] == "logistics"
    owner = ticket["owner"]["id"]
    teammate = next(u for u in TOKENS if u != owner)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        staff = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        staff.set_default_timeout(30_000)

        # the owner logs in with their token and opens the ticket from the inbox
        staff.goto(f"{stack.triage}/inbox")
        assert "/login" in staff.url
        staff.fill("#token", TOKENS[owner])
        staff.click("button[type=submit]")
        staff.wait_for_url(re.compile(r"/inbox"))
        card = staff.locator(f"article[data-ticket='{ticket['id']}']")
        card.wait_for()
        card.locator("h2 a").click()
        staff.wait_for_url(re.compile(rf"/tickets/{ticket['id']}$"))
        expect(staff.locator("[data-words]")).to_contain_text(COMPLAINT)
        who = staff.locator("[data-customer]").inner_text()
        assert CUSTOMER["name"] in who and CUSTOMER["email"] in who
        reload_until(staff, "[data-history]", EARLIER)  # the same customer's earlier feedback, found by email
        staff.screenshot(path=f"{SHOTS}-ticket.png", full_page=True)

        # a note for the team, a reply for the customer, then the ticket goes to a teammate
        staff.fill("#note", NOTE)
        staff.click("text=Add note")
        staff.wait_for_selector("text=Note added (internal).")
        staff.fill("#reply", REPLY)
        staff.click("text=Send reply")
        staff.wait_for_selector("text=Sent to the customer.")
        staff.select_option("#owner", teammate)
        staff.click("button:has-text('Reassign')")
        staff.wait_for_selector("text=Reassigned.")
        expect(staff.locator("[data-owner]")).to_contain_text(NAMES[teammate])
        thread = staff.locator("[data-conversation]").inner_text()
        assert NOTE in thread and REPLY in thread
        staff.screenshot(path=f"{SHOTS}-worked.png", full_page=True)

        # the customer's mailbox gets the reply, to be answered at the ticket's reply address
        (reply,) = wait_for(lambda: mails_with(mail, CUSTOMER["email"], REPLY), 90, "the reply in the mailbox")
        assert re.fullmatch(rf"reply\+[0-9a-z]+@{re.escape(DOMAIN)}", str(reply["Reply-To"])), reply["Reply-To"]
        status_link = re.search(rf"{re.escape(stack.intake)}/status/[^\s<>\"]+", parts(reply)[0])
        assert status_link, parts(reply)[0]

        # the customer answers by email; only their own words join the conversation
        answer_by_email(stack.mail_port, reply, EMAIL_ANSWER)
        wait_for(lambda: EMAIL_ANSWER in customer_words(stack, ticket["id"]), 90, "the emailed answer on the ticket")
        assert customer_words(stack, ticket["id"]) == [COMPLAINT, EMAIL_ANSWER]  # no quoted text, no "wrote:"
        reload_until(staff, "[data-conversation]", EMAIL_ANSWER)
        assert REPLY not in staff.locator("[data-conversation] li.customer").all_inner_texts()[-1]
        staff.screenshot(path=f"{SHOTS}-answered-by-mail.png", full_page=True)

        # and again on the status page the mail links to: the reply is there, the note is not
        customer = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
        customer.set_default_timeout(30_000)
        customer.goto(status_link.group(0))
        reload_until(customer, ".timeline", EMAIL_ANSWER)
        expect(customer.locator(".timeline")).to_contain_text(REPLY)
        customer.fill("#message", PAGE_ANSWER)
        customer.click("form.write-back button[type=submit]")
        customer.wait_for_url("**?sent=1")
        expect(customer.locator(".timeline")).to_contain_text(PAGE_ANSWER)
        expect(customer.locator(".timeline")).to_contain_text(REPLY)
        assert NOTE not in customer.content()
        customer.screenshot(path=f"{SHOTS}-status.png", full_page=True)
        wait_for(lambda: PAGE_ANSWER in customer_words(stack, ticket["id"]), 90, "the status page answer on the ticket")
        reload_until(staff, "[data-conversation]", PAGE_ANSWER)
        staff.screenshot(path=f"{SHOTS}-conversation.png", full_page=True)

        detail = detail_of(stack, ticket["id"])
        assert [(m["kind"], m["body"]) for m in detail["conversation"]] == [
            ("customer", COMPLAINT), ("note", NOTE), ("reply", REPLY), ("customer", EMAIL_ANSWER),
            ("customer", PAGE_ANSWER)]
        assert detail["owner"]["id"] == teammate

        # the teammate resolves it; a scanner fetching both answer links changes nothing
        status, resolved = http("POST", f"{stack.triage}/api/v1/tickets/{ticket['id']}/resolve", {
            "root_cause": "delivery_logistics", "resolution": RESOLUTION, "customer_message": CUSTOMER_MESSAGE},
            token=TOKENS[teammate])
        assert status == 200, resolved
        (letter,) = wait_for(lambda: mails_with(mail, CUSTOMER["email"], CUSTOMER_MESSAGE), 90, "the resolution mail")
        html = parts(letter)[1]
        links = [unescape(url) for url in re.findall(r'href="([^"]*follow-up\?token=[^"]+)"', html)]
        assert len(set(links)) == 2, html
        for url in set(links):
            with urllib.request.urlopen(url, timeout=30) as response:  # no cookies, no form: a plain GET
                assert response.status == 200
                assert NOTE not in response.read().decode()
        assert stored(stack, Feedback.in_reply_to == ticket["id"], Feedback.source == "follow_up") == []
        time.sleep(5)  # were anything sent on, triage would have it by now
        after = detail_of(stack, ticket["id"])
        assert after["status"] == "resolved" and after["customer_answer"] is None
        assert after["timeline"][-1]["type"] == "ticket.resolved"
        assert customer_words(stack, ticket["id"]) == [COMPLAINT, EMAIL_ANSWER, PAGE_ANSWER]

        customer.goto(status_link.group(0))
        reload_until(customer, ".timeline", CUSTOMER_MESSAGE)
        page_text = customer.content()
        assert NOTE not in page_text and RESOLUTION not in page_text
        customer.screenshot(path=f"{SHOTS}-status-resolved.png", full_page=True)
        browser.close()

    # the note reached no customer: not in any mail the mailbox took (staff mails included); the internal
    # resolution goes to the team's mail only, never to the customer's
    assert len(mail.to(CUSTOMER["email"])) >= 2  # the reply and the resolution, at least
    for message in mail.messages:
        shown = everything_in(message)
        assert NOTE not in shown and "zebra-4412" not in shown, message["Subject"]
    for message in mail.to(CUSTOMER["email"]):
        assert RESOLUTION not in everything_in(message) and "LOG-5521" not in everything_in(message)
