"""A Bengali chat message with no score is understood in real processes: a complaint opens exactly one
ticket with its cause and is a complaint in the feed; praise opens none and is praise."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import Stack, start_stack
from tests.support import http, wait_for

pytestmark = pytest.mark.e2e
CEO = "dev-ceo"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    started = start_stack(tmp_path_factory.mktemp("bengali"))
    try:
        yield started
    finally:
        started.stop()


def post(stack: Stack, comment: str) -> str:
    status, answer = http("POST", f"{stack.intake}/api/v1/feedback",
                          {"source": "chat", "locale": "bn-BD", "touchpoint": "delivery", "comment": comment})
    assert status == 202, answer
    return answer["id"]


def tickets_of(stack: Stack, feedback_id: str) -> list[dict]:
    status, page = http("GET", f"{stack.triage}/api/v1/tickets?feedback_id={feedback_id}", token=CEO)
    assert status == 200, page
    return page["items"]


def feed_kind(stack: Stack, feedback_id: str) -> str | None:
    status, page = http("GET", f"{stack.notify}/api/v1/feed?limit=50", token=CEO)
    assert status == 200, page
    return next((e["kind"] for e in page["items"] if e["feedback_id"] == feedback_id), None)


def test_bengali_text_only_complaint_and_praise(stack: Stack) -> None:
    praise = post(stack, "ডেলিভারি ভাই খুব আন্তরিক ছিলেন, সময়মতো পৌঁছে দিয়েছেন, ধন্যবাদ")
    complaint = post(stack, "এক সপ্তাহ হয়ে গেল, পার্সেল এখনো আসেনি, খুব বিরক্ত")

    opened = wait_for(lambda: tickets_of(stack, complaint), 60, "the complaint's ticket")
    assert len(opened) == 1
    assert opened[0]["suggested_root_cause"]["code"] == "delivery_logistics"
    assert wait_for(lambda: feed_kind(stack, complaint), 60, "the complaint in the feed") == "complaint"
    assert wait_for(lambda: feed_kind(stack, praise), 60, "the praise in the feed") == "praise"
    deadline = time.monotonic() + 3  # triage had the praise before the complaint: it stays without a ticket
    while time.monotonic() < deadline:
        assert tickets_of(stack, praise) == []
        time.sleep(0.3)
    assert len(tickets_of(stack, complaint)) == 1
