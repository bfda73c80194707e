"""A slow webhook receiver: it delays only its own channel, and nothing is lost or sent twice."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

import pytest

from tests.faults.conftest import System
from tests.services.notify.conftest import WEBHOOK_SECRET, write_org
from tests.services.notify.receivers import HttpReceiver
from tests.support import http, wait_for

pytestmark = pytest.mark.e2e
SLOW = "/hooks/complaints"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    r = HttpReceiver(slow={SLOW}, delay=1.0).start()
    yield r
    r.stop()


@pytest.fixture
def system_env(tmp_path_factory: pytest.TempPathFactory, receiver: HttpReceiver) -> dict[str, str]:
    org = write_org(tmp_path_factory.mktemp("slow-org"), receiver)
    return {"ORG_CONFIG": str(org), "NOTIFY_DELIVERY_TIMEOUT_SECONDS": "10",
            "NOTIFY_DELIVERY_BACKOFF_SECONDS": "0.2", "NOTIFY_SMTP_URL": "smtp://127.0.0.1:1"}


def test_a_slow_webhook_delays_only_itself_and_gets_each_complaint_once(system: System,
                                                                       receiver: HttpReceiver) -> None:
    system.submit_many(20, "slow-hook", per_second=20)
    started = time.monotonic()
    status, answer = http("POST", f"{system.intake}/api/v1/feedback",
                          {"survey": {"metric": "nps", "score": 10}, "comment": "Lovely, quick delivery"})
    assert status == 202, answer
    # praise goes to another channel, which the slow one must not hold up
    wait_for(lambda: any("Lovely, quick delivery" in p.json()["text"] for p in receiver.at("/slack/kudos")), 15,
             "the praise on Slack despite the slow hook")
    assert time.monotonic() - started < 15
    assert len(receiver.at(SLOW)) < len(system.accepted), "the praise waited for the slow channel's backlog"
    system.assert_nothing_lost()
    wanted = set(system.accepted)
    wait_for(lambda: wanted <= {p.json()["data"]["feedback_id"] for p in receiver.at(SLOW)}, 120,
             "every complaint delivered to the slow webhook", interval=0.5)
    per_feedback = Counter(p.json()["data"]["feedback_id"] for p in receiver.at(SLOW))
    assert {f: n for f, n in per_feedback.items() if n != 1} == {}
    assert all(p.signature_ok(WEBHOOK_SECRET) for p in receiver.at(SLOW))


