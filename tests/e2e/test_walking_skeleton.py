"""One feedback crosses intake → Kafka → triage → notify, in real processes started as `make run` does."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Stack, start_stack
from tests.support import http, wait_for

pytestmark = pytest.mark.e2e
CEO = "dev-ceo"


def post(stack: Stack, body: dict[str, Any]) -> str:
    status, answer = http("POST", f"{stack.intake}/api/v1/feedback", body)
    assert status == 202, answer
    return answer["id"]


def tickets_for(stack: Stack, feedback_id: str) -> list[dict[str, Any]]:
    status, page = http("GET", f"{stack.triage}/api/v1/tickets?feedback_id={feedback_id}", token=CEO)
    assert status == 200, page
    return page["items"]


def feed_ids(stack: Stack) -> set[str]:
    status, page = http("GET", f"{stack.notify}/api/v1/feed?limit=500", token=CEO)
    assert status == 200, page
    return {item["feedback_id"] for item in page["items"]}


def test_negative_feedback_becomes_an_owned_ticket_within_two_seconds_and_both_reach_the_feed(
        stack: Stack) -> None:
    # warm-up: the consumers have joined their groups once this one is through
    warm = post(stack, {"survey": {"metric": "nps", "score": 1}})
    wait_for(lambda: tickets_for(stack, warm), 60, "warm-up ticket")

    negative = post(stack, {"survey": {"metric": "nps", "score": 4}, "comment": "Nobody answered my emails",
                            "touchpoint": "support"})
    started = time.monotonic()
    ticket = wait_for(lambda: tickets_for(stack, negative), 2.0, "the ticket, within 2 s")[0]
    assert time.monotonic() - started < 2.0
    assert ticket["owner"]["name"] and ticket["team"] == "care"
    received = datetime.fromisoformat(ticket["received_at"])
    assert datetime.fromisoformat(ticket["due_at"]) - received == timedelta(hours=24)

    positive = post(stack, {"survey": {"metric": "nps", "score": 10}, "comment": "Ana was brilliant"})
    wait_for(lambda: {negative, positive} <= feed_ids(stack), 10, "both feedback in the feed")
    assert tickets_for(stack, positive) == []
    status, info = http("GET", f"{stack.intake}/api/v1/feedback/{negative}", token=CEO)
    assert status == 200
    wait_for(lambda: http("GET", f"{stack.intake}/api/v1/feedback/{negative}", token=CEO)[1]["ticket"], 10,
             "intake learning the ticket")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigkilled_triage_loses_nothing_and_duplicates_nothing(stack: Stack) -> None:
    ids = []
    killed: list[int] = []
    for i in range(90):
        ids.append(post(stack, {"survey": {"metric": "nps", "score": i % 7}, "external_id": f"kill-{i}",
                                "source": "survey"}))
        if i in (15, 45, 75):
            # the supervisor (make run) restarts it; kill the new process each time
            pid = wait_for(lambda: (p := stack.pid("triage")) not in killed and alive(p) and p, 20,
                           "a running triage process")
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        time.sleep(0.03)

    def all_ticketed() -> bool:
        status, page = http("GET", f"{stack.triage}/api/v1/tickets?per_page=500", token=CEO)
        return status == 200 and {t["feedback_id"] for t in page["items"]} >= set(ids)

    wait_for(all_ticketed, 120, "a ticket for every feedback after the kills", interval=0.5)
    for fid in ids:
        assert len(tickets_for(stack, fid)) == 1, fid


def test_intake_accepts_while_the_broker_is_frozen_and_delivers_after(stack: Stack) -> None:
    broker_pid = int((stack.var / "run" / "broker.pid").read_text())
    os.kill(broker_pid, signal.SIGSTOP)
    try:
        ids = []
        for i in range(10):
            status, answer = http("POST", f"{stack.intake}/api/v1/feedback",
                                  {"survey": {"metric": "nps", "score": 3}, "comment": f"frozen {i}"}, timeout=5)
            assert status == 202, answer
            ids.append(answer["id"])
    finally:
        os.kill(broker_pid, signal.SIGCONT)
    wait_for(lambda: all(tickets_for(stack, fid) for fid in ids), 90, "tickets after the broker thawed",
             interval=0.5)


def test_ctrl_c_leaves_nothing_running(tmp_path: Path) -> None:
    own = start_stack(tmp_path)
    pids = [own.pid(n) for n in ("intake", "triage", "notify", "broker")]
    assert own.stop() == 0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
