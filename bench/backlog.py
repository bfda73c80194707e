"""Triage from a backlog: tickets/s on SQLite and PostgreSQL ÷ a bare kafka-python consumer.

The backlog is ``N`` complaints (each opens a ticket) put on ``feedback.received`` of the
bench's own broker. The bare consumer reads the same topic with the same consumer settings and
does nothing with the records; the real consumer (:mod:`bench.triage_driver`, in its own process)
is triage's ``ConsumerLoop`` with its outbox relay beside it, as the ``consume`` role runs them.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import Figure, Report, at_least, say
from bench.stack import Processes, base_env, bench_org, migrated, pg_available, pg_database, python, sqlite_url
from shared import events, topics
from shared.kafka import consumer_options, make_producer

COMMENTS = (
    "The parcel arrived three days late and the box was crushed",
    "I was charged twice for the same order and still have no refund",
    "The app logs me out every time I open the checkout page",
    "Your agent was rude and hung up on me",
    "The instructions are confusing, I could not set it up",
    "The blender stopped working after two weeks",
    "Nobody answered my emails for a week",
    "Far too expensive for what you get",
)


def feedback_event(i: int, now: datetime) -> dict[str, Any]:
    """A complaint as intake would publish it."""
    fid = str(uuid.uuid4())
    data = {"id": fid, "received_at": now, "source": "survey", "survey": {"metric": "nps", "score": i % 5},
            "rating": None, "comment": f"{COMMENTS[i % len(COMMENTS)]} (order {i})",
            "customer": {"email": f"customer{i}@example.com", "name": f"Customer {i}"},
            "touchpoint": ("delivery", "billing", "website", "support")[i % 4], "product": None, "locale": "en",
            "external_id": None, "submitted_at": None, "metadata": None, "in_reply_to": None}
    return events.make_event(type=events.FEEDBACK_RECEIVED, source="/intake", subject=fid, data=data, now=now)


def produce_backlog(bootstrap: str, count: int) -> float:
    """Put ``count`` complaints on ``feedback.received``; return the seconds it took."""
    now = datetime.now(UTC)
    producer = make_producer(bootstrap, linger_ms=20, batch_size=256 * 1024)
    started = time.monotonic()
    template = feedback_event(0, now)
    for i in range(count):
        fid = str(uuid.uuid4())
        # the same envelope with fresh ids: building 50,000 through the schemas would dominate
        event = {**template, "id": str(uuid.uuid4()), "subject": fid,
                 "data": {**template["data"], "id": fid, "comment": f"{COMMENTS[i % len(COMMENTS)]} (order {i})",
                          "survey": {"metric": "nps", "score": i % 5},
                          "touchpoint": ("delivery", "billing", "website", "support")[i % 4]}}
        producer.send(topics.FEEDBACK_RECEIVED, key=fid.encode(), value=events.encode_event(event),
                      headers=[("content-type", events.CONTENT_TYPE.encode())])
    producer.flush(timeout=120)
    producer.close()
    return time.monotonic() - started


def bare_consume(bootstrap: str, count: int) -> dict[str, Any]:
    """Read ``count`` records with a plain KafkaConsumer (same settings as ours) and do nothing with them.

    The clock starts when the first records arrive (the group join is not reading), and the
    records of that first poll are not counted, since they were fetched before the clock started.
    """
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topics.FEEDBACK_RECEIVED, **consumer_options(bootstrap, f"bench-bare-{uuid.uuid4()}"))
    got, counted, first = 0, 0, None
    deadline = time.monotonic() + 300
    while got < count and time.monotonic() < deadline:
        batch = consumer.poll(timeout_ms=500)
        n = sum(len(records) for records in batch.values())
        got += n
        if first is None:
            if n:
                first = time.monotonic()
        else:
            counted += n
    elapsed = time.monotonic() - (first or time.monotonic())
    consumer.close()
    return {"records": got, "timed_records": counted, "seconds": elapsed,
            "per_s": counted / elapsed if elapsed else None}


TIME_BUDGET_SECONDS = 75
"""Each real-consumer run stops after this long; the rate is then measured on what it did, so that
``make bench`` stays within its ten minutes even where triage is far below its target."""


REPLICAS = 2
"""The shipped deployment runs the ``consume`` role as two replicas (``deploy/k8s/triage-consume.yaml``);
on a 2-core machine that is one process per core."""


def drive_triage(procs: Processes, work: Path, bootstrap: str, db_url: str, count: int,
                 label: str, profile: bool, replicas: int = 1) -> dict[str, Any]:
    """Run :mod:`bench.triage_driver` as ``replicas`` processes in one group; return what they measured together.

    The rate is the tickets made divided by the time from the first batch any of them received
    to the last batch any of them committed.
    """
    env = base_env(work, bootstrap, bench_org(work)) | {"TRIAGE_DATABASE_URL": db_url}
    group = f"bench-triage-{uuid.uuid4().hex[:8]}"
    runs: list[tuple[Path, subprocess.Popen[bytes], str]] = []
    for replica in range(replicas):
        name = label if replicas == 1 else f"{label}-{replicas}x-{replica}"
        out = work / f"triage-{name}.json"
        args = [python(), "-m", "bench.triage_driver", "--group", group,
                "--expect", str(count), "--out", str(out), "--timeout", str(TIME_BUDGET_SECONDS)]
        if profile:
            profile_path = Path(__file__).with_name("profiles") / f"triage-{name}.speedscope.json"
            profile_path.parent.mkdir(exist_ok=True)
            args = [str(Path(python()).with_name("py-spy")), "record", "--format", "speedscope", "--rate", "200",
                    "-o", str(profile_path), "--", *args]
        runs.append((out, procs.popen(args, f"triage-driver-{name}.log", env), name))
    results = []
    for out, proc, name in runs:
        try:
            proc.wait(timeout=600)
        except subprocess.TimeoutExpired:
            proc.kill()
        if not out.exists():
            raise RuntimeError(f"the triage driver ({name}) failed; see {work / f'triage-driver-{name}.log'}")
        results.append(json.loads(out.read_text()))
    started = [r["first"] for r in results if r["first"] is not None]
    ended = [r["last"] for r in results if r["last"] is not None]
    seconds = max(ended) - min(started) if started and ended else 0.0
    tickets = max(r["tickets"] for r in results)
    return {"tickets": tickets, "seconds": seconds, "tickets_per_s": tickets / seconds if seconds > 0 else None,
            "batches": sum(r["batches"] for r in results), "records": [r["records"] for r in results],
            "timed_out": tickets < count, "replicas": results}


def run(report: Report, procs: Processes, work: Path, bootstrap: str, *, count: int, profile: bool) -> None:
    """Produce the backlog once; measure the bare consumer, then triage on SQLite and PostgreSQL.

    Triage runs as one ``consume`` process (the figure divided by the bare consumer's) and then
    as the shipped deployment's two replicas, on a fresh database each time.
    """
    say(f"triage: producing a backlog of {count:,} feedback.received events")
    produced = produce_backlog(bootstrap, count)
    section = f"triage from a backlog of {count:,} complaints"
    report.add(section, Figure("producing the backlog (one kafka-python producer)", count / produced, "msg/s"))
    say("triage: bare kafka-python consumer")
    bare = bare_consume(bootstrap, count)
    report.add(section, Figure("bare kafka-python consumer", bare["per_s"], "msg/s",
                               note=f"{bare['timed_records']:,} records timed in {bare['seconds']:.2f}s "
                                    "(after the first poll; no work per record)"))
    targets: list[tuple[str, str | None]] = [("SQLite", None)]
    pg_missing = pg_available()
    targets.append(("PostgreSQL", pg_missing))
    for name, missing in targets:
        if missing:
            report.add(section, Figure(f"triage on {name}, tickets/s", None, "tickets/s", ">= 2,000/s", None,
                                       note=missing))
            continue
        for replicas in (1, REPLICAS):
            processes = "one process" if replicas == 1 else f"{replicas} replicas"
            say(f"triage: the real consumer on {name}, {processes}")
            if name == "SQLite":
                url = migrated("triage", sqlite_url(work, f"triage-backlog-{replicas}"))
                result = drive_triage(procs, work, bootstrap, url, count, "sqlite", profile, replicas)
            else:
                with pg_database("closeloop_bench_backlog") as url:
                    result = drive_triage(procs, work, bootstrap, migrated("triage", url), count, "postgresql",
                                          profile, replicas)
            rate = result["tickets_per_s"]
            note = f"{result['tickets']:,} tickets in {result['seconds']:.1f}s, {result['batches']} batches"
            if replicas > 1:
                note += f"; records per process {', '.join(f'{n:,}' for n in result['records'])}"
            if result["timed_out"]:
                note += f" (stopped at the {TIME_BUDGET_SECONDS}s budget, before the whole backlog)"
            report.add(section, Figure(f"triage on {name}, {processes}, tickets/s", rate, "tickets/s",
                                       ">= 2,000/s", at_least(rate, 2000), note=note, detail=result))
            if replicas == 1:
                ratio = rate / bare["per_s"] if rate and bare["per_s"] else None
                report.add(section, Figure(f"triage on {name}, one process ÷ bare consumer", ratio, "ratio",
                                           ">= 0.3", at_least(ratio, 0.3)))
