"""Run triage's real consumer loop (and its outbox relay) until the database holds ``--expect`` tickets.

``python -m bench.triage_driver --group G --expect N --out result.json``, configured by the same
environment variables as ``python -m services.triage consume``. The group is the bench's own,
so that each run reads the backlog from its start. Several drivers may share a group and a
database, as replicas of the ``consume`` role do; each stops when the tickets of all of them
reach ``--expect``. Each reports when its first batch arrived (the group join is not triage's
work) and when its last batch committed, on the machine-wide monotonic clock, so that the
bench can time them together.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from services.triage.app import Triage
from services.triage.config import load_settings
from services.triage.tickets.models import Ticket
from shared.sqlite import READ_ONLY


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--group", required=True)
    parser.add_argument("--expect", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float, default=480)
    args = parser.parse_args()

    triage = Triage(load_settings())
    triage.sync()
    loop = triage.consumer()
    loop.group = args.group
    stop = threading.Event()
    state: dict[str, Any] = {"first": None, "last": None, "records": 0, "batches": 0}
    process = loop.process

    def counted(records: list[Any], **options: Any) -> None:
        if state["first"] is None:
            state["first"] = time.monotonic()
        process(records, **options)
        state["records"] += len(records)
        state["batches"] += 1
        state["last"] = time.monotonic()

    loop.process = counted  # type: ignore[method-assign]
    threads = [threading.Thread(target=part, args=(stop,), daemon=True) for part in (loop.run, triage.relay.run)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + args.timeout
    tickets = 0
    while not stop.wait(0.2) and time.monotonic() < deadline:
        tickets = count_tickets(triage)
        if tickets >= args.expect:
            break
    stop.set()
    for t in threads:
        t.join(timeout=30)
    tickets = count_tickets(triage)
    seconds = (state["last"] or 0) - (state["first"] or 0)
    result = {"tickets": tickets, "records": state["records"], "batches": state["batches"], "seconds": seconds,
              "first": state["first"], "last": state["last"],
              "tickets_per_s": tickets / seconds if seconds > 0 else None,
              "timed_out": tickets < args.expect}
    Path(args.out).write_text(json.dumps(result))
    return 0


def count_tickets(triage: Triage) -> int:
    """Tickets in the database, whichever driver made them (a reader: on SQLite it takes no writer lock)."""
    with triage.sessions() as session:
        # count(*), not count(id): answered from the smallest index; it runs beside the consumer it times
        return session.scalar(select(func.count()).select_from(Ticket), execution_options={READ_ONLY: True}) or 0


if __name__ == "__main__":
    raise SystemExit(main())
