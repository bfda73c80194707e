"""A Bengali customer on a phone (browser language ``bn``, in Dhaka): the form, the thank-you page and
the status page speak Bengali, the promise and the dates are written the Bengali way, times are in
Dhaka and say so. Real Chromium against real processes started as ``make run``; the screenshots
show real Bengali glyphs (a Bengali font is installed by the README's setup and ``.ci/run``)."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from services.intake.models import Feedback
from tests.e2e.conftest import start_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
COMMENT = "টাকা ফেরত চাই, পণ্যটা একদম কাজ করে না। পার্সেলটি ভেজা অবস্থায় দরজার বাইরে রেখে গেছে"
SHOTS = Path("/tmp")  # closeloop-bn-form.png, closeloop-bn-status.png: to look at after a run
BENGALI = re.compile("[\u0980-\u09ff]")


def fits_the_screen(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def reload_until(page: Any, text: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while text not in page.inner_text("main") and time.monotonic() < deadline:
        time.sleep(1)
        page.reload()


def glyphs_are_drawn(page: Any, text: str) -> bool:
    """Whether the browser has a font for ``text``: without one every letter is the same missing-glyph
    box, as wide as the box of a private-use character no font has."""
    return page.evaluate(
        """(text) => { const c = document.createElement('canvas').getContext('2d');
                       c.font = '32px sans-serif';
                       const letters = [...text].filter((ch) => ch.trim());
                       return c.measureText(letters.join('')).width
                              !== c.measureText('\\uE000'.repeat(letters.length)).width; }""", text)


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Chromium at /usr/bin/chromium, which this machine lacks")
def test_a_bengali_customer_on_a_phone_is_answered_in_bengali(tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    stack = start_stack(tmp_path)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            context = browser.new_context(**PHONE, locale="bn", timezone_id="Asia/Dhaka")
            page = context.new_page()
            page.goto(f"{stack.intake}/")
            assert page.evaluate("document.documentElement.lang") == "bn"
            expect(page.locator("h1")).to_have_text("আপনার কোনো বন্ধুকে আমাদের সুপারিশ করার সম্ভাবনা কতটুকু?")
            expect(page.locator("button[type=submit]")).to_have_text("মতামত পাঠান")
            expect(page.locator("nav.languages a[aria-current]")).to_have_text("বাংলা")
            expect(page.locator("form")).to_contain_text("২৪ ঘণ্টা সময়ের মধ্যে")  # the org file's clock
            assert glyphs_are_drawn(page, "মতামত পাঠান")
            assert fits_the_screen(page)
            page.locator("label.nps-opt", has=page.locator('input[value="2"]')).tap()
            expect(page.locator('input[name="score"][value="2"]')).to_be_checked()
            expect(page.locator("label.nps-opt", has=page.locator('input[value="2"]'))).to_have_text("২")
            page.fill("#comment", COMMENT)
            page.select_option("#touchpoint", "delivery")
            expect(page.locator("#touchpoint option:checked")).to_have_text("ডেলিভারি")
            page.fill("#email", "rina@example.org")
            assert page.input_value("#timezone") == "Asia/Dhaka"  # the browser's, sent with the form
            page.screenshot(path=str(SHOTS / "closeloop-bn-form.png"), full_page=True)
            page.click("button[type=submit]")

            page.wait_for_url("**/thanks/**")
            expect(page.locator("h1")).to_have_text("ধন্যবাদ: আপনার মতামত আমরা পেয়েছি")
            assert fits_the_screen(page)
            page.click("text=আপনার মতামতের অগ্রগতি দেখুন")
            page.wait_for_url("**/status/**")
            expect(page.locator("h1")).to_have_text("আপনার মতামত নিয়ে কী হচ্ছে")
            expect(page.locator("blockquote.comment")).to_have_text(COMMENT)
            reload_until(page, "দায়িত্বে: Logistics")
            timeline = page.locator(".timeline")
            expect(timeline).to_contain_text("আমরা পেয়েছি")
            expect(timeline).to_contain_text("দায়িত্বে: Logistics")
            expect(timeline).to_contain_text("বিষয়টির সমাধান করবেন, সময়সীমা:")
            expect(timeline).to_contain_text("(Asia/Dhaka)")
            expect(page.locator("label[for=message]")).to_contain_text("লিখুন")
            text = page.inner_text("main")
            assert "Received" not in text and "Owned by" not in text and "has until" not in text
            # the dates: a Bengali month and Bengali digits
            assert re.search(r"[০-৯]+ [\u0980-\u09ff]+, [০-৯]{4}", text), text
            assert glyphs_are_drawn(page, "আপনার মতামত নিয়ে কী হচ্ছে")
            assert fits_the_screen(page)
            page.screenshot(path=str(SHOTS / "closeloop-bn-status.png"), full_page=True)
            browser.close()
        for name in ("closeloop-bn-form.png", "closeloop-bn-status.png"):
            shutil.copy(SHOTS / name, tmp_path / name)
        [feedback] = stored(stack, Feedback.comment == COMMENT)
        assert (feedback.locale, feedback.language, feedback.extra) == ("bn", "bn", {"timezone": "Asia/Dhaka"})
        assert BENGALI.search(feedback.comment)
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
