"""A customer on a phone: fills the form, follows the status link, sees who owns their feedback,
answers by email and on the status page, and says "not fixed" on the answer page after the ticket is
resolved. Real Chromium, a real SMTP client, real processes started as ``make run``."""

from __future__ import annotations

import smtplib
import time
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from services.intake.models import Feedback
from shared.links import follow_up_url, reply_address
from tests.e2e.conftest import start_stack
from tests.support import http, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
COMMENT = "পার্সেলটি ভেজা অবস্থায় দরজার বাইরে রেখে গেছে 😞📦"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
SECRET = "e2e-secret"  # the stack's CLOSELOOP_SECRET_KEY, which signs links when no link secret is set
INTERNAL = "courier contract clause 7b, see PAY-311"
TOKENS = {"u-lena": "dev-lena", "u-tom": "dev-tom"}


def fits_the_screen(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def reload_until(page: Any, text: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while text not in page.inner_text("main") and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()


def answer_by_email(port: int, ticket_id: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = "Kim <kim@example.org>"
    message["To"] = reply_address(SECRET, ticket_id=ticket_id, domain="localhost")
    message["Subject"] = "Re: About your feedback"
    message["Message-ID"] = "<answer-1@example.org>"
    message.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium, which this machine lacks")
def test_a_customer_on_a_phone_follows_and_answers_their_feedback(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    shots.mkdir()
    stack = start_stack(tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_context(**PHONE).new_page()
            page.goto(f"{stack.intake}/")
            assert fits_the_screen(page)
            page.locator("label.nps-opt", has=page.locator('input[value="3"]')).tap()
            expect(page.locator('input[name="score"][value="3"]')).to_be_checked()
            page.fill("#comment", COMMENT)
            page.select_option("#touchpoint", "delivery")
            page.fill("#email", "kim@example.org")
            page.screenshot(path=str(shots / "form.png"), full_page=True)
            page.click("button[type=submit]")

            page.wait_for_url("**/thanks/**")
            expect(page.locator("h1")).to_contain_text("Thank you")
            assert fits_the_screen(page)
            page.screenshot(path=str(shots / "thanks.png"), full_page=True)
            page.click("text=Follow your feedback")
            page.wait_for_url("**/status/**")
            expect(page.locator("blockquote.comment")).to_have_text(COMMENT)

            reload_until(page, "Owned by Logistics")
            expect(page.locator(".timeline")).to_contain_text("Owned by Logistics")
            expect(page.locator(".timeline")).to_contain_text("is looking after it")
            expect(page.locator(".timeline")).to_contain_text("has until")
            assert fits_the_screen(page)
            page.screenshot(path=str(shots / "status.png"), full_page=True)
            status_url = page.url

            # the customer answers the owner's email; the quoted part stays out
            original = stored(stack, Feedback.comment == COMMENT)[0]
            assert original.ticket_id and original.team_name == "Logistics"
            answer_by_email(stack.mail_port, original.ticket_id,
                            "The box was soaked through.\n\nOn Mon, Tom wrote:\n> Could you tell us more?\n")
            reload_until(page, "The box was soaked through.")
            expect(page.locator(".timeline")).to_contain_text("The box was soaked through.")
            assert "Could you tell us more?" not in page.inner_text("main")

            # and writes back on the status page
            page.fill("#message", "এবং বাক্সটি ছেঁড়া ছিল")
            page.click("form.write-back button[type=submit]")
            page.wait_for_url("**?sent=1")
            expect(page.locator(".flash")).to_contain_text("your message is with")
            expect(page.locator(".timeline")).to_contain_text("এবং বাক্সটি ছেঁড়া ছিল")

            # the owner resolves it without a message for the customer: nothing internal shows
            status, resolved = http("POST", f"{stack.triage}/api/v1/tickets/{original.ticket_id}/resolve",
                                    {"root_cause": "delivery_logistics", "resolution": INTERNAL},
                                    token=TOKENS[ticket_owner(stack, original.ticket_id)])
            assert status == 200, resolved
            page.goto(status_url)
            reload_until(page, "We resolved the problem")
            expect(page.locator(".timeline")).to_contain_text("We resolved the problem")
            assert "PAY-311" not in page.content()
            page.screenshot(path=str(shots / "status_resolved.png"), full_page=True)

            # the resolution email's links, as notify builds them: plain GETs (a scanner) change nothing
            resolution_id = wait_for(lambda: stored(stack, Feedback.id == original.id)[0].resolution_id, 30,
                                     "intake learns the resolution")
            links = {answer: follow_up_url(stack.intake, SECRET, ticket_id=original.ticket_id,
                                           feedback_id=original.id, answer=answer, nonce=resolution_id)
                     for answer in ("fixed", "not_fixed")}
            for url in links.values():
                with urllib.request.urlopen(url, timeout=10) as response:
                    assert response.status == 200
            assert stored(stack, Feedback.source == "follow_up") == []

            page.goto(links["not_fixed"])
            expect(page.locator("h1")).to_contain_text("Did this fix it?")
            expect(page.locator('input[name="answer"][value="not_fixed"]')).to_be_checked()
            assert fits_the_screen(page)
            page.screenshot(path=str(shots / "follow_up.png"), full_page=True)
            page.fill("#comment", "এখনও ভেজা 😞")
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_contain_text("sorry it is not fixed")
            page.goto(f"{stack.intake}/follow-up?token=forged")
            expect(page.locator("h1")).to_contain_text("This link does not work")
            page.screenshot(path=str(shots / "follow_up_bad.png"), full_page=True)
            browser.close()
        answers = stored(stack, Feedback.in_reply_to == original.ticket_id)
        assert sorted((a.source, a.comment, (a.extra or {}).get("answer")) for a in answers) == [
            ("email", "The box was soaked through.", None),
            ("follow_up", "এখনও ভেজা 😞", "not_fixed"),
            ("form", "এবং বাক্সটি ছেঁড়া ছিল", None),
        ]
        [follow_up] = [a for a in answers if a.source == "follow_up"]
        assert follow_up.extra["resolution_id"] == resolution_id
        assert {a.customer_email for a in answers} == {"kim@example.org"}

        # the click reopened the ticket, and the customer's reason is on it
        def reopened() -> dict[str, Any] | None:
            ticket = http("GET", f"{stack.triage}/api/v1/tickets/{original.ticket_id}", token="dev-ceo")[1]
            return ticket if ticket["status"] != "resolved" else None

        ticket = wait_for(reopened, 60, "the ticket reopened by the customer's 'not fixed'")
        assert ticket["timeline"][-1]["type"] == "ticket.reopened"
        assert ("customer", "এখনও ভেজা 😞") in [(m["kind"], m["body"]) for m in ticket["conversation"]]
    finally:
        stack.stop()


def ticket_owner(stack: Any, ticket_id: str) -> str:
    status, ticket = http("GET", f"{stack.triage}/api/v1/tickets/{ticket_id}", token="dev-ceo")
    assert status == 200, ticket
    return ticket["owner"]["id"]


def stored(stack: Any, *where: Any) -> list[Feedback]:
    """Feedback rows in the stack's intake database."""
    engine = create_engine(f"sqlite:///{stack.var / 'intake.db'}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Feedback).where(*where)))
    finally:
        engine.dispose()
