"""The daily and weekly digests: the right window, the right numbers, sent once, by real SMTP."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from services.notify import jobs
from services.notify.app import Notify
from services.notify.delivery import DeliveryWorker
from services.notify.digest import period_window
from tests.services.notify.conftest import consume, feedback_event, ticket_event
from tests.services.notify.receivers import MailReceiver, parts
from tests.support import wait_for

DIGEST = {"daily_at": "08:00", "weekly_day": "mon", "timezone": "UTC"}


@pytest.mark.parametrize(("now", "period", "start", "end"), [
    (datetime(2026, 11, 4, 8, 0, 5, tzinfo=UTC), "daily", datetime(2026, 11, 3, 8, tzinfo=UTC),
     datetime(2026, 11, 4, 8, tzinfo=UTC)),
    (datetime(2026, 11, 4, 7, 59, tzinfo=UTC), "daily", datetime(2026, 11, 2, 8, tzinfo=UTC),
     datetime(2026, 11, 3, 8, tzinfo=UTC)),
    (datetime(2026, 11, 4, 9, 0, tzinfo=UTC), "weekly", datetime(2026, 10, 26, 8, tzinfo=UTC),
     datetime(2026, 11, 2, 8, tzinfo=UTC)),
])
def test_the_window_ends_at_the_scheduled_time(now: datetime, period: str, start: datetime, end: datetime) -> None:
    assert period_window(period, now=now, digest=DIGEST)[:2] == (start, end)


def test_a_window_in_another_timezone_ends_at_local_time() -> None:
    start, end, key = period_window("daily", now=datetime(2026, 7, 1, 12, tzinfo=UTC),
                                    digest={**DIGEST, "timezone": "Europe/Berlin"})
    assert end == datetime(2026, 7, 1, 6, tzinfo=UTC) and end - start == timedelta(days=1) and key == "2026-07-01"


def test_the_cron_triggers_follow_the_org_file() -> None:
    triggers = jobs.digest_triggers({"daily_at": "07:30", "weekly_day": "fri", "timezone": "UTC"})
    after = datetime(2026, 11, 4, 8, tzinfo=UTC)  # a Wednesday
    assert triggers["daily"].get_next_fire_time(None, after) == datetime(2026, 11, 5, 7, 30, tzinfo=UTC)
    assert triggers["weekly"].get_next_fire_time(None, after) == datetime(2026, 11, 6, 7, 30, tzinfo=UTC)


def test_the_daily_digest_reaches_leadership_once_with_the_days_numbers(notify: Notify, mailbox: MailReceiver) -> None:
    day = datetime(2026, 11, 2, 10, tzinfo=UTC)
    for score, comment in ((10, "Ana Silva was brilliant"), (9, "Quick and kind"), (8, None),
                           (2, "Parcel lost and nobody answered"), (0, "Charged twice <b>again</b>")):
        consume(notify, feedback_event(survey={"metric": "nps", "score": score}, comment=comment, received_at=day,
                                       touchpoint="delivery"), now=day)
    consume(notify, feedback_event(survey={"metric": "nps", "score": 0}, received_at=day - timedelta(days=2)))
    lost = feedback_event(survey={"metric": "nps", "score": 1}, received_at=day, touchpoint="billing")
    consume(notify, lost, now=day)
    consume(notify, ticket_event("ticket.sla_breached", lost.data["id"], sla_state="breached", team="billing"),
            now=day)
    resolved = ticket_event("ticket.resolved", lost.data["id"], status="resolved", sla_state="missed",
                            root_cause="billing_payment", team="billing")
    consume(notify, resolved, now=day)

    due = datetime(2026, 11, 3, 8, 0, 1, tzinfo=UTC)
    assert jobs.send_digest(notify.sessions, notify.ctx, "daily", now=due) == 1  # carmen: channel and leader
    assert jobs.send_digest(notify.sessions, notify.ctx, "daily", now=due + timedelta(minutes=5)) == 0

    sender = DeliveryWorker(sessions=notify.sessions, channels=notify.channels, poll_seconds=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=sender.run, args=(stop,), daemon=True)
    thread.start()
    try:
        (mail,) = wait_for(lambda: [m for m in mailbox.to("carmen@example.com") if "digest" in m["Subject"]], 20,
                           "the digest mail")
    finally:
        stop.set()
        thread.join(timeout=20)
    text, html = parts(mail)
    assert mail["Subject"] == "Daily digest: 2 praise, 3 complaints, 1 SLA breach"
    assert "Feedback: 6" in text and "NPS: -17 (6 answers)" in text  # 2 promoters, 3 detractors of 6
    assert text.index("Best praise") < text.index("Ana Silva was brilliant") < text.index("Worst complaints")
    assert "Charged twice <b>again</b>" in text and "Charged twice &lt;b&gt;again&lt;/b&gt;" in html
    assert "Billing and payment: 1" in text and "Billing: ticket" in text
