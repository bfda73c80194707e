"""A Bengali customer's closed loop across the three services: the owner resolves in English, the
customer's resolution mail speaks Bengali around the owner's words, and the pages behind its links
do too."""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from html import unescape

import pytest

from tests.e2e.test_closed_loop import World, stack_with_mailbox, ticket_of
from tests.services.notify.receivers import parts
from tests.support import http, wait_for

pytestmark = pytest.mark.e2e
CUSTOMER = "rahim@customer.example"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with stack_with_mailbox(tmp_path_factory.mktemp("bengali-mail")) as world:
        yield world


def page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the test's own stack)
        assert response.status == 200
        return response.read().decode()


def test_a_bengali_customer_gets_a_bengali_resolution_mail_around_the_owners_english(world: World) -> None:
    stack = world.stack
    status, answer = http("POST", f"{stack.intake}/api/v1/feedback", {
        "survey": {"metric": "nps", "score": 2}, "touchpoint": "delivery", "locale": "bn-BD",
        "comment": "পার্সেল দুই দিন দেরিতে এসেছে, বাক্সটা ভাঙা ছিল",
        "customer": {"email": CUSTOMER, "name": "Rahim"}})
    assert status == 202, answer
    ticket = wait_for(lambda: ticket_of(stack, answer["id"]), 60, "the ticket")
    owner_token = {"u-lena": "dev-lena", "u-tom": "dev-tom"}[ticket["owner"]["id"]]
    status, resolved = http("POST", f"{stack.triage}/api/v1/tickets/{ticket['id']}/resolve", {
        "root_cause": "delivery_logistics", "resolution": "Courier contract reviewed", "our_fault": True,
        "customer_message": "We sent a new parcel by express courier; it arrives tomorrow."}, token=owner_token)
    assert status == 200, resolved

    (letter,) = wait_for(lambda: world.mail.to(CUSTOMER), 60, "the customer's resolution email")
    text, html = parts(letter)
    assert letter["Subject"] == "আপনার মতামত সম্পর্কে"  # subject
    assert letter["Content-Language"] == "bn-BD" and '<html lang="bn-BD">' in html
    assert "প্রিয় Rahim," in text  # greeting
    assert "আমরা দুঃখিত" in text  # the apology the owner asked for
    assert "আমরা যা করেছি: We sent a new parcel by express courier; it arrives tomorrow." in text  # as written
    assert "আপনার অর্ডার পৌঁছে দেওয়ার পথে কিছু একটা ভুল হয়েছিল" in text  # the cause, in Bengali
    assert "আমরা এটি অন্য কোনো কাজে ব্যবহার করব না" in text and "আমরা এটি অন্য কোনো কাজে ব্যবহার করব না" in html
    for english in ("About your feedback", "Hello", "Yes, it is fixed", "not fixed", "You are receiving",
                    "What we did", "status page"):
        assert english not in text and english not in html
    assert "Courier contract reviewed" not in letter.as_string()  # the internal note stays inside

    buttons = {unescape(label.strip()): unescape(url)
               for url, label in re.findall(r'<a href="([^"]+)"[^>]*>\s*([^<]+?)\s*</a>', html)}
    assert set(buttons) == {"হ্যাঁ, সমাধান হয়েছে", "না, সমাধান হয়নি", "আপনার অবস্থার পাতা"}
    for label in ("হ্যাঁ, সমাধান হয়েছে", "না, সমাধান হয়নি"):
        answer_page = page(buttons[label])
        assert 'lang="bn' in answer_page and "Did this fix it?" not in answer_page
        assert "সমস্যাটির সমাধান হয়েছে কি?" in answer_page
    status_page = page(buttons["আপনার অবস্থার পাতা"])
    assert 'lang="bn' in status_page and "Your feedback" not in status_page
    assert "We sent a new parcel by express courier" in status_page  # what was done, on their page too
