"""Notify's delivery worker against a local SMTP sink: deliveries per second, and how long a burst's
notices take to drain.

The sink (aiosmtpd, which keeps nothing) runs in a process of its own, so that it does not share
the worker's interpreter; the worker runs here on a fresh migrated SQLite database with
notify's own engine (synced commits), channels and mailer, as the ``consume`` role would.

- *Throughput*: ``count`` owner notices queued at once (to different people), then sent.
- *Burst*: for ``burst_seconds`` a crisis queues ``burst_rate`` notices a second while the worker
  runs; the drain time is from the last one queued to the last one sent.

``python -m bench.deliveries sink <port>`` runs the sink alone.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.report import Figure, Report, at_least, at_most, say
from bench.stack import Processes, bench_org, migrated, python, sqlite_url
from tests.support import free_port, port_open, wait_for

TARGET_PER_S = 300.0
DRAIN_TARGET_S = 10.0


def sink(port: int) -> None:
    """An SMTP server that accepts every mail and keeps none (until killed)."""
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:  # noqa: N802
            return "250 OK"

    controller = Controller(Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    threading.Event().wait()


def _queue(notify: Any, start: int, count: int) -> None:
    """Queue ``count`` owner notices (to people who do not exist: the sink takes anything)."""
    from services.notify import messages
    from services.notify.batch import unit_of_work
    from shared.org import User

    now = datetime.now(UTC)
    message = messages.Message(subject="[P2] A new ticket is yours, due Thu 03 Dec 12:00 UTC: ticket 2bc5615d",
                               headline="A new ticket is yours: one customer, one owner, 24 hours to resolve it",
                               kind="complaint", quote="The parcel came two days late and the box was crushed",
                               facts=[("Priority", "P2"), ("Owner", "Tom Nguyen"), ("Team", "Logistics")],
                               links=[("Open your inbox", "http://127.0.0.1:8002/inbox")], thread=None)
    with unit_of_work(notify.sessions) as batch:
        for i in range(start, start + count):
            person = User(id=f"u-{i}", name=f"Person {i}", email=f"person{i}@bench.example", team=None,
                          role="employee", manager=None, token=f"t-{i}")
            batch.record(event_id=f"bench-{i}", event_type="ticket.created", message=message, now=now, person=person)


def _sent(notify: Any) -> int:
    from services.notify.models import SENT, Delivery

    with notify.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == SENT)) or 0)


def _notify(work: Path, port: int, name: str) -> Any:
    from services.notify.app import Notify
    from services.notify.config import NotifySettings
    from shared.settings import CommonSettings

    settings = NotifySettings(
        common=CommonSettings(kafka_bootstrap="127.0.0.1:9", org_config=str(bench_org(work)), log_level="WARNING",
                              secret_key="bench-secret", link_secret="bench-secret", web_workers=1, web_threads=1,
                              metrics_port=None),
        database_url=migrated("notify", sqlite_url(work, name)), port=8003, smtp_url=f"smtp://127.0.0.1:{port}?from=bench@example.com",
        intake_public_url="http://127.0.0.1:8001", triage_public_url="http://127.0.0.1:8002",
        notify_public_url="http://127.0.0.1:8003", delivery_max_attempts=8, delivery_backoff_seconds=5.0,
        delivery_max_backoff_seconds=1800.0, delivery_timeout_seconds=10.0, delivery_poll_seconds=0.5,
    )
    return Notify(replace(settings, delivery_poll_seconds=0.05))


def run(report: Report, procs: Processes, work: Path, *, count: int, burst_rate: int, burst_seconds: int) -> None:
    section = "deliveries"
    port = free_port()
    procs.popen([python(), "-m", "bench.deliveries", "sink", str(port)], "smtp-sink.log")
    wait_for(lambda: port_open(port), 30, "the SMTP sink")

    notify = _notify(work, port, "notify-throughput")
    _queue(notify, 0, count)
    stop = threading.Event()
    worker = threading.Thread(target=notify.delivery_worker().run, args=(stop,), daemon=True)
    say(f"deliveries: sending {count} queued notices to the local SMTP sink")
    started = time.monotonic()
    worker.start()
    try:
        wait_for(lambda: _sent(notify) >= count, 600, "every queued notice sent", interval=0.05)
        took = time.monotonic() - started
    finally:
        stop.set()
        worker.join(timeout=30)
        notify.mailer.close()
    per_s = count / took
    report.add(section, Figure("deliveries per second to a local SMTP sink", round(per_s, 1), "deliveries/s",
                               f">= {TARGET_PER_S:.0f}", at_least(per_s, TARGET_PER_S),
                               detail={"deliveries": count, "seconds": round(took, 2)}))

    notify = _notify(work, port, "notify-burst")
    total = burst_rate * burst_seconds
    stop = threading.Event()
    worker = threading.Thread(target=notify.delivery_worker().run, args=(stop,), daemon=True)
    worker.start()
    say(f"deliveries: a {burst_seconds} s burst of {burst_rate} notices/s")
    try:
        begun = time.monotonic()
        for second in range(burst_seconds):
            tick = begun + second
            for part in range(10):  # in tenths of a second, as complaints come
                _queue(notify, second * burst_rate + part * burst_rate // 10, burst_rate // 10)
                time.sleep(max(0.0, tick + (part + 1) / 10 - time.monotonic()))
        ended = time.monotonic()
        wait_for(lambda: _sent(notify) >= total, 600, "the burst's notices sent", interval=0.05)
        drained = time.monotonic() - ended
    finally:
        stop.set()
        worker.join(timeout=30)
        notify.mailer.close()
    report.add(section, Figure(f"burst drain time ({burst_rate} notices/s for {burst_seconds} s)", round(drained, 2),
                               "s", f"<= {DRAIN_TARGET_S:.0f} s", at_most(drained, DRAIN_TARGET_S),
                               detail={"notices": total, "burst_seconds": burst_seconds}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["sink"]:
        sink(int(sys.argv[2]))
