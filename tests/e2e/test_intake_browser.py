"""A customer on a phone: fills the form, follows the status link, sees the team that owns it,
and later answers the one-click follow-up. Real Chromium, real processes started as ``make run``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from services.intake.models import Feedback
from shared.links import follow_up_url
from tests.e2e.conftest import start_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
COMMENT = "পার্সেলটি ভেজা অবস্থায় দরজার বাইরে রেখে গেছে 😞📦"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def fits_the_screen(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium, which this machine lacks")
def test_a_customer_on_a_phone_sees_who_owns_their_feedback(tmp_path: Path) -> None:
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

            deadline = time.monotonic() + 90
            while "Owned by Logistics" not in page.inner_text("main") and time.monotonic() < deadline:
                time.sleep(1)
                page.reload()
            expect(page.locator(".timeline")).to_contain_text("Owned by Logistics")
            expect(page.locator(".timeline")).to_contain_text("They have until")
            assert fits_the_screen(page)
            page.screenshot(path=str(shots / "status.png"), full_page=True)

            # the closed-loop email's "not fixed" button, as notify builds it
            original = stored(stack, Feedback.comment == COMMENT)[0]
            assert original.ticket_id and original.team_name == "Logistics"
            page.goto(follow_up_url(stack.intake, "e2e-secret", ticket_id=original.ticket_id,
                                    feedback_id=original.id, answer="not_fixed", nonce="n-1"))
            expect(page.locator("h1")).to_contain_text("not fixed")
            assert fits_the_screen(page)
            page.screenshot(path=str(shots / "follow_up.png"), full_page=True)
            page.fill("#comment", "এখনও ভেজা 😞")
            page.click("button[type=submit]")
            expect(page.locator("h1")).to_contain_text("your comment is with the team")
            page.goto(f"{stack.intake}/follow-up?token=forged")
            expect(page.locator("h1")).to_contain_text("This link does not work")
            page.screenshot(path=str(shots / "follow_up_bad.png"), full_page=True)
            browser.close()
        answers = stored(stack, Feedback.source == "follow_up")
        assert {(a.in_reply_to, a.extra["answer"], a.extra["feedback_id"]) for a in answers} == {
            (original.ticket_id, "not_fixed", original.id)}
        assert sorted(a.comment or "" for a in answers) == ["", "এখনও ভেজা 😞"]
    finally:
        stack.stop()


def stored(stack: Any, *where: Any) -> list[Feedback]:
    """Feedback rows in the stack's intake database."""
    engine = create_engine(f"sqlite:///{stack.var / 'intake.db'}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(Feedback).where(*where)))
    finally:
        engine.dispose()
