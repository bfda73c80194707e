"""In a real browser: an employee logs in, sees their inbox with a live countdown, and resolves a
ticket with a root cause."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Stack, start_stack
from tests.support import http, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = os.environ.get("CLOSELOOP_SCREENSHOTS", "/tmp")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    s = start_stack(tmp_path_factory.mktemp("inbox"))
    yield s
    s.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"needs Chromium at {CHROMIUM}, which this machine lacks")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page(viewport={"width": 1200, "height": 900})
        browser.close()


def post(stack: Stack, body: dict[str, Any]) -> str:
    status, answer = http("POST", f"{stack.intake}/api/v1/feedback", body)
    assert status == 202, answer
    return answer["id"]


def ticket_for(stack: Stack, feedback_id: str) -> dict[str, Any] | None:
    items = http("GET", f"{stack.triage}/api/v1/tickets?feedback_id={feedback_id}", token="dev-ceo")[1]["items"]
    return items[0] if items else None


def test_employee_logs_in_sees_the_inbox_and_resolves_a_ticket_with_a_root_cause(stack: Stack, page: Any) -> None:
    first = post(stack, {"survey": {"metric": "nps", "score": 2}, "comment": "I was charged twice for one order",
                         "touchpoint": "billing", "customer": {"name": "Mia <b>Lee</b>"}})
    second = post(stack, {"survey": {"metric": "csat", "score": 2}, "comment": "The invoice shows the wrong amount",
                          "touchpoint": "billing"})
    ticket = wait_for(lambda: ticket_for(stack, first), 60, "the first ticket")
    wait_for(lambda: ticket_for(stack, second), 30, "the second ticket")
    assert ticket["owner"]["id"] == "u-raj"  # Billing has one member

    page.goto(f"{stack.triage}/inbox")
    assert "/login" in page.url
    page.fill("#token", "dev-raj")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/inbox"))
    card = page.locator(f"article[data-ticket='{ticket['id']}']")
    card.wait_for()
    assert "I was charged twice for one order" in card.inner_text()
    assert "Mia <b>Lee</b>" in card.inner_text()  # shown as text, not markup
    countdown = card.locator("[data-due]")
    wait_for(lambda: re.search(r"\d+h \d+m left", countdown.inner_text()), 5, "a live countdown")
    assert page.locator("article.ticket").count() == 2
    page.screenshot(path=f"{SHOTS}/closeloop-inbox.png", full_page=True)

    card.locator("summary", has_text="Resolve").click()
    assert card.locator("select[name=root_cause]").input_value() == "billing_payment"  # the suggestion
    card.locator("select[name=root_cause]").select_option("billing_payment")
    card.locator("textarea[name=resolution]").fill("Refunded the duplicate charge and fixed the retry bug")
    card.locator("textarea[name=customer_message]").fill("We refunded you; sorry for the trouble.")
    page.screenshot(path=f"{SHOTS}/closeloop-inbox-resolve.png", full_page=True)
    card.locator("button", has_text="Resolve ticket").click()
    page.wait_for_selector("text=Resolved. Thank you for closing the loop.")
    assert page.locator(f"article[data-ticket='{ticket['id']}']").count() == 0
    assert page.locator("article.ticket").count() == 1
    page.screenshot(path=f"{SHOTS}/closeloop-inbox-after.png", full_page=True)

    detail = http("GET", f"{stack.triage}/api/v1/tickets/{ticket['id']}", token="dev-raj")[1]
    assert detail["status"] == "resolved" and detail["root_cause"] == "billing_payment"
    assert detail["resolution"] == "Refunded the duplicate charge and fixed the retry bug"
    assert detail["timeline"][-1]["type"] == "ticket.resolved" and detail["timeline"][-1]["actor"] == "u-raj"


def test_a_lead_opens_a_ticket_from_the_inbox_sees_the_customer_and_works_it(stack: Stack, page: Any) -> None:
    customer = {"id": "cust-4711", "name": "Noor Haddad", "email": "noor@example.com"}
    earlier = post(stack, {"survey": {"metric": "nps", "score": 9}, "comment": "Quick and friendly last spring",
                           "customer": {"id": "cust-4711"}})
    complaint = post(stack, {"survey": {"metric": "nps", "score": 3},
                             "comment": "Nobody answered my three emails about the warranty", "customer": customer})
    ticket = wait_for(lambda: ticket_for(stack, complaint), 60, "the complaint's ticket")
    assert ticket["team"] == "care"
    assert earlier

    page.goto(f"{stack.triage}/login")
    page.fill("#token", "dev-lead")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/inbox"))
    card = page.locator(f"article[data-ticket='{ticket['id']}']")
    card.locator("h2 a").click()
    page.wait_for_url(re.compile(rf"/tickets/{ticket['id']}"))
    assert "Nobody answered my three emails" in page.locator("[data-words]").inner_text()
    who = page.locator("[data-customer]").inner_text()
    assert "Noor Haddad" in who and "noor@example.com" in who and "cust-4711" in who

    def history_shown() -> bool:
        page.reload()
        return "Quick and friendly last spring" in page.locator("[data-history]").inner_text()

    wait_for(history_shown, 20, "the customer's earlier feedback on the page")

    page.fill("#note", "Warranty desk lost the thread; check the shared mailbox")
    page.click("text=Add note")
    page.wait_for_selector("text=Note added (internal).")
    page.fill("#reply", "Sorry, Noor: we found your emails and are on it today.")
    page.click("text=Send reply")
    page.wait_for_selector("text=Sent to the customer.")
    teammate = "u-ben" if ticket["owner"]["id"] != "u-ben" else "u-ana"
    page.select_option("#owner", teammate)
    page.click("button:has-text('Reassign')")
    page.wait_for_selector("text=Reassigned.")
    page.screenshot(path=f"{SHOTS}/closeloop-ticket-page.png", full_page=True)
    thread = page.locator("[data-conversation]").inner_text()
    assert "Warranty desk lost the thread" in thread and "we found your emails" in thread
    assert stack_name(teammate) in page.locator("[data-owner]").inner_text()

    detail = http("GET", f"{stack.triage}/api/v1/tickets/{ticket['id']}", token="dev-lead")[1]
    assert [m["kind"] for m in detail["conversation"]] == ["customer", "note", "reply"]
    assert detail["owner"]["id"] == teammate


def stack_name(user_id: str) -> str:
    return {"u-ben": "Ben Okafor", "u-ana": "Ana Silva"}[user_id]
