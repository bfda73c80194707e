"""Closing the loop across all three services: resolve a ticket, the customer is told what was done,
and following "not fixed" in that email reopens the ticket with a fresh clock."""

from __future__ import annotations

import contextlib
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from html import unescape
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import Stack, start_stack
from tests.services.notify.receivers import MailReceiver, parts
from tests.support import http, wait_for

pytestmark = pytest.mark.e2e
CEO = "dev-ceo"


@dataclass
class World:
    stack: Stack
    mail: MailReceiver


@contextlib.contextmanager
def stack_with_mailbox(base: Path) -> Iterator[World]:
    """The whole stack, its customer mail going to a real SMTP mailbox of the test's own."""
    mail = MailReceiver().start()
    stack = start_stack(base, {"NOTIFY_SMTP_URL": mail.url, "NOTIFY_DELIVERY_BACKOFF_SECONDS": "0.2"})
    try:
        yield World(stack, mail)
    finally:
        stack.stop()
        mail.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with stack_with_mailbox(tmp_path_factory.mktemp("closed-loop")) as world:
        yield world


def ticket_of(stack: Stack, feedback_id: str) -> dict:
    status, page = http("GET", f"{stack.triage}/api/v1/tickets?feedback_id={feedback_id}", token=CEO)
    assert status == 200, page
    return page["items"][0] if page["items"] else {}


def test_resolution_mail_reaches_the_customer_and_not_fixed_reopens_the_ticket(world: World) -> None:
    stack = world.stack
    status, answer = http("POST", f"{stack.intake}/api/v1/feedback", {
        "survey": {"metric": "nps", "score": 3}, "touchpoint": "delivery",
        "comment": "The parcel came two days late & the box was crushed",
        "customer": {"email": "kim@customer.example", "name": "Kim <Lee>"}})
    assert status == 202, answer
    ticket = wait_for(lambda: ticket_of(stack, answer["id"]), 60, "the ticket")
    owner_token = {"u-lena": "dev-lena", "u-tom": "dev-tom"}[ticket["owner"]["id"]]

    missing_cause = http("POST", f"{stack.triage}/api/v1/tickets/{ticket['id']}/resolve",
                         {"resolution": "Re-sent the parcel"}, token=owner_token)
    assert missing_cause[0] == 422, missing_cause
    status, resolved = http("POST", f"{stack.triage}/api/v1/tickets/{ticket['id']}/resolve", {
        "root_cause": "delivery_logistics", "resolution": "Courier contract reviewed; parcel re-sent",
        "customer_message": "We sent a new parcel by express courier; it arrives tomorrow."}, token=owner_token)
    assert status == 200, resolved

    (letter,) = wait_for(lambda: world.mail.to("kim@customer.example"), 60, "the customer's resolution email")
    text, html = parts(letter)
    assert "We sent a new parcel by express courier; it arrives tomorrow." in text
    assert "sorry" not in text.lower()  # no apology: the owner did not say it was our fault
    assert "Courier contract reviewed" not in letter.as_string()  # the internal note stays inside
    assert letter["Reply-To"].startswith("reply+") and letter["References"] == f"<ticket-{ticket['id']}@localhost>"
    assert f"{stack.intake}/status/" in text  # the customer's status page
    assert "<Lee>" not in html  # the customer's own name is escaped in the HTML part
    links = dict(re.findall(r'href="([^"]*follow-up\?token=[^"]+)"[^>]*>\s*([^<]+?)\s*<', html))
    not_fixed = next(unescape(url) for url, label in links.items() if "not" in label.lower())
    assert not_fixed.startswith(stack.intake + "/follow-up?token=")

    # opening the link (a person, a mail scanner) only shows the choice; posting that page records it
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with browser.open(not_fixed, timeout=10) as response:
        assert response.status == 200
        page = response.read().decode()
    fields = dict(re.findall(r'name="(csrf_token|token)" type="hidden" value="([^"]+)"', page))
    form = urlencode({**fields, "answer": "not_fixed", "comment": "The new parcel is damaged too"}).encode()
    with browser.open(f"{stack.intake}/follow-up", data=form, timeout=10) as response:
        assert response.status == 200
        assert "thank" in response.read().decode().lower()

    def reopened() -> dict:
        current = ticket_of(stack, answer["id"])
        return current if current.get("status") not in (None, "resolved") else {}

    again = wait_for(reopened, 60, "the ticket reopened by the customer's 'not fixed'")
    assert again["id"] == ticket["id"]
    assert datetime.fromisoformat(again["due_at"]) > datetime.fromisoformat(ticket["due_at"])
    status, detail = http("GET", f"{stack.triage}/api/v1/tickets/{ticket['id']}", token=CEO)
    assert [e["type"] for e in detail["timeline"]][-1] == "ticket.reopened"
    status, page = http("GET", f"{stack.triage}/api/v1/tickets?per_page=500", token=CEO)
    assert sum(1 for t in page["items"] if t["feedback_id"] == answer["id"]) == 1
