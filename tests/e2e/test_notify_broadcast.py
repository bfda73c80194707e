"""Feedback posted to intake reaches the channels, the owner's mailbox and the feed wall, in real processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, start_stack
from tests.services.notify.conftest import WEBHOOK_SECRET, write_org
from tests.services.notify.receivers import HttpReceiver, MailReceiver, parts
from tests.support import http, wait_for

pytestmark = pytest.mark.e2e
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@dataclass
class World:
    stack: Stack
    hooks: HttpReceiver
    mail: MailReceiver


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    base = tmp_path_factory.mktemp("notify-e2e")
    hooks = HttpReceiver(failing={"/hooks/broken"}).start()
    mail = MailReceiver().start()
    org = write_org(base, hooks)
    stack = start_stack(base, {"ORG_CONFIG": str(org), "NOTIFY_SMTP_URL": mail.url,
                               "NOTIFY_DELIVERY_BACKOFF_SECONDS": "0.2", "NOTIFY_DELIVERY_MAX_ATTEMPTS": "3"})
    try:
        yield World(stack, hooks, mail)
    finally:
        stack.stop()
        hooks.stop()
        mail.stop()


def post(stack: Stack, body: dict) -> str:
    status, answer = http("POST", f"{stack.intake}/api/v1/feedback", body)
    assert status == 202, answer
    return answer["id"]


def test_praise_and_complaint_reach_their_channels_and_the_owner(world: World) -> None:
    stack = world.stack
    praise = post(stack, {"survey": {"metric": "nps", "score": 10}, "touchpoint": "support",
                          "comment": "Ana Silva fixed it in minutes <3, reach me at jo@home.example"})
    complaint = post(stack, {"survey": {"metric": "nps", "score": 1}, "touchpoint": "delivery",
                             "comment": "Parcel lost, call me on +44 20 7946 0958",
                             "customer": {"email": "jo@customer.example", "name": "Jo"}})

    (slack,) = wait_for(lambda: world.hooks.at("/slack/kudos"), 60, "the praise on Slack")
    assert "Ana Silva fixed it in minutes &lt;3" in slack.json()["text"]
    assert "jo@home.example" not in slack.body.decode()
    (hook,) = wait_for(lambda: world.hooks.at("/hooks/complaints"), 30, "the complaint on the webhook")
    assert hook.signature_ok(WEBHOOK_SECRET)
    assert hook.json()["data"]["feedback_id"] == complaint
    assert hook.json()["comment"] == "Parcel lost, call me on [phone]"

    wait_for(lambda: world.mail.to("ana@example.com") and world.mail.to("lee@example.com"), 30,
             "the praise mailed to Ana and her manager")
    owner_mail = wait_for(lambda: world.mail.to("tom@example.com") or world.mail.to("lena@example.com"), 60,
                          "the new ticket mailed to its owner in Logistics")
    text, _ = parts(owner_mail[0])
    assert "A new ticket is yours" in text and "Parcel lost, call me on [phone]" in text

    status, _ = http("GET", f"{stack.notify}/api/v1/deliveries?limit=200", token="dev-ceo")
    assert status == 200
    broken = wait_for(lambda: [d for d in http("GET", f"{stack.notify}/api/v1/deliveries?channel=broken",
                                               token="dev-ceo")[1]["items"] if d["status"] == "failed"], 30,
                      "the broken channel given up")
    assert {d["attempts"] for d in broken} == {3} and broken[0]["last_error"].startswith("HTTP 500")
    wanted = {("kudos", "feedback.received"), ("complaints", "feedback.received"), ("people", "feedback.praised"),
              ("people", "ticket.created")}

    def sent() -> set[tuple[str, str]]:  # a delivery is marked sent just after its message left
        items = http("GET", f"{stack.notify}/api/v1/deliveries?limit=200", token="dev-ceo")[1]["items"]
        return {(d["channel"], d["event_type"]) for d in items if d["status"] == "sent"}

    wait_for(lambda: wanted <= sent(), 30, "the deliveries marked sent")
    assert wanted <= sent()
    feed = http("GET", f"{stack.notify}/api/v1/feed", token="dev-tom")[1]["items"]
    assert {(i["feedback_id"], i["kind"]) for i in feed} >= {(praise, "praise"), (complaint, "complaint")}


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Chromium at /usr/bin/chromium")
def test_the_feed_wall_shows_praise_and_complaints_after_logging_in(world: World, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    stack = world.stack
    post(stack, {"rating": 5, "touchpoint": "checkout", "comment": "Checkout took ten seconds. Wonderful!"})
    post(stack, {"survey": {"metric": "csat", "score": 1}, "touchpoint": "billing",
                 "comment": "Charged twice for one order <script>alert(1)</script>"})
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{stack.notify}/feed")
        page.fill("#token", "dev-lena")
        page.click("button[type=submit]")
        page.wait_for_url("**/feed")
        wall = page.locator("#wall")
        expect(wall.locator("article.praise", has_text="Checkout took ten seconds")).to_be_visible(timeout=30000)
        expect(wall.locator("article.complaint", has_text="<script>alert(1)</script>")).to_be_visible(
            timeout=30000)
        page.screenshot(path=str(tmp_path / "feed.png"), full_page=True)
        page.select_option("#kind", "praise")
        expect(wall.locator("article.complaint")).to_have_count(0, timeout=15000)
        expect(wall.locator("article.praise").first).to_be_visible()
        assert "kind=praise" in page.url
        browser.close()
