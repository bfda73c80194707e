"""SLA figures: breach-detection lag after ``due_at``, and the sweep and summary at 1,000,000 tickets.

The lag is read off the broker: the Kafka timestamp of each ``ticket.sla_breached`` event minus
the ``due_at`` it carries, with triage's ``schedule`` role running a short SLA and a short sweep.
The scale figures bulk-load tickets into triage's migrated PostgreSQL schema with server-side
``INSERT … SELECT generate_series`` and time the sweeper's indexed query and the summary API.
"""

from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import Figure, Report, at_most, percentile, say
from bench.stack import (
    Processes,
    base_env,
    bench_org,
    free_port,
    http,
    migrated,
    pg_available,
    pg_database,
    sqlite_url,
    wait_healthy,
)
from shared import topics

SLA_SECONDS = 4
LOAD_SESSIONS = 2
"""Server sessions loading the big database at once (one per core of this machine)."""


def breach_lag(report: Report, procs: Processes, work: Path, bootstrap: str, *, tickets: int) -> None:
    """Open ``tickets`` tickets with a short SLA and measure when their breaches are published."""
    from kafka import KafkaConsumer, TopicPartition

    from bench.backlog import produce_backlog

    section = "SLA timer"
    url = migrated("triage", sqlite_url(work, "triage-sla"))
    env = base_env(work, bootstrap, bench_org(work, sla_seconds=SLA_SECONDS)) | {
        "TRIAGE_DATABASE_URL": url, "TRIAGE_SLA_SECONDS": str(SLA_SECONDS), "TRIAGE_SWEEP_SECONDS": "0.5",
        "TRIAGE_ESCALATION_SECONDS": "3600", "TRIAGE_PORT": str(free_port())}
    say(f"SLA: {tickets} tickets with a {SLA_SECONDS}s SLA, sweeping every 0.5s")
    procs.service("triage", "consume", env)
    procs.service("triage", "schedule", env)
    reader = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=500)
    parts = [TopicPartition(topics.TICKET_EVENTS, p) for p in reader.partitions_for_topic(topics.TICKET_EVENTS) or []]
    reader.assign(parts)
    reader.seek_to_end(*parts)
    for p in parts:
        reader.position(p)
    # one complaint first, until its ticket exists: the SLA clock starts when feedback is received,
    # so tickets opened while the consumer was still starting and joining its group would be due
    # before they existed, and their "lag" would be the start-up's
    say("SLA: warming up until triage's consumer has opened a ticket")
    produce_backlog(bootstrap, 1)
    warm: set[str] = set()
    deadline = time.monotonic() + 90
    while not warm and time.monotonic() < deadline:
        for batch in reader.poll(timeout_ms=500).values():
            warm.update(json.loads(r.value)["subject"] for r in batch
                        if json.loads(r.value)["type"] == "ticket.created")
    produce_backlog(bootstrap, tickets)
    lags: list[float] = []
    created = 0
    deadline = time.monotonic() + 90  # moved closer once every ticket exists
    while time.monotonic() < deadline and len(lags) < tickets:
        for batch in reader.poll(timeout_ms=500).values():
            for record in batch:
                event = json.loads(record.value)
                if event["subject"] in warm:
                    continue
                if event["type"] == "ticket.created":
                    created += 1
                    if created == tickets:
                        deadline = min(deadline, time.monotonic() + SLA_SECONDS + 10)
                elif event["type"] == "ticket.sla_breached":
                    due = datetime.fromisoformat(event["data"]["due_at"].replace("Z", "+00:00"))
                    lags.append(record.timestamp / 1000 - due.timestamp())
    reader.close()
    procs.stop_services()
    if not lags:
        report.add(section, Figure("breach detected after due_at, p99", None, "s", "<= 3 s", None,
                                   note=f"no ticket.sla_breached event arrived for {created} tickets past due "
                                        "(triage's sweeper is not on this branch yet)"))
        return
    report.add(section, Figure("breach detected after due_at, p50", percentile(lags, 50), "s"))
    p99 = percentile(lags, 99)
    report.add(section, Figure("breach detected after due_at, p99", p99, "s", "<= 3 s", at_most(p99, 3),
                               note=f"{len(lags)} breaches of {created} tickets; max {max(lags):.2f}s"))


def at_scale(report: Report, procs: Processes, work: Path, bootstrap: str, *, tickets: int) -> None:
    """Bulk-load ``tickets`` into PostgreSQL; time one sweep query and one SLA summary."""
    section = f"scale: {tickets:,} tickets in PostgreSQL"
    missing = pg_available()
    if missing:
        report.add(section, Figure("sweep query", None, "ms", "< 100 ms", None, note=missing))
        report.add(section, Figure("SLA summary", None, "ms", "< 300 ms", None, note=missing))
        return
    with pg_database("closeloop_bench_scale") as url:
        migrated("triage", url)
        say(f"scale: loading {tickets:,} tickets into PostgreSQL")
        started = time.monotonic()
        _bulk_load(url, tickets)
        report.add(section, Figure("bulk load (feedback + tickets, server side)", time.monotonic() - started, "s",
                                   note="the summary's aggregate triggers fire for every row"))
        folded_seconds, folded = _compact(url)
        report.add(section, Figure("aggregate compaction after the load", folded_seconds, "s",
                                   note=f"{folded:,} delta rows folded (the schedule role does this every minute), "
                                        "then VACUUM ANALYZE as autovacuum would"))
        sweep_ms, due_rows, plan = _time_sweep(url)
        report.add(section, Figure("sweep query (due tickets, LIMIT 500)", sweep_ms, "ms", "< 100 ms",
                                   at_most(sweep_ms, 100), note=f"{due_rows} due rows returned; plan: {plan}"))
        port = free_port()
        env = base_env(work, bootstrap, bench_org(work)) | {"TRIAGE_DATABASE_URL": url, "TRIAGE_PORT": str(port)}
        procs.service("triage", "web", env)
        wait_healthy(port, "triage web on the big database")
        timings = []
        status: Any = None
        for _ in range(6):  # the first on cold caches, then warm (as the sweep query above is timed)
            t0 = time.monotonic()
            status, answer = http("GET", f"http://127.0.0.1:{port}/api/v1/sla/summary", token="dev-ceo", timeout=60)
            timings.append((time.monotonic() - t0) * 1000)
            if status != 200:
                break
        procs.stop_services()
        name = "SLA summary, default 30-day window (GET /api/v1/sla/summary)"
        if status != 200:
            report.add(section, Figure(name, None, "ms", "< 300 ms", None,
                                       note=f"not available: the endpoint answered {status}"))
        else:
            warm = percentile(timings[1:], 50)
            report.add(section, Figure(name + ", warm", warm, "ms", "< 300 ms", at_most(warm, 300),
                                       note="median of " + ", ".join(f"{t:.0f}" for t in timings[1:]) + " ms"))
            report.add(section, Figure(name + ", first call", timings[0], "ms",
                                       note="a fresh web role on cold database caches, right after the load"))


def _bulk_load(url: str, count: int, *, sessions: int = LOAD_SESSIONS) -> None:
    """Rows 1..``count`` in ``sessions`` server sessions at once, each a contiguous range.

    The load is the server's CPU (every row fires the aggregate triggers), and one session uses
    one core; on a slow day one session took three minutes of a ten-minute bench.
    """
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    bounds = [1 + count * k // sessions for k in range(sessions + 1)]
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        for done in [pool.submit(_load_range, dsn, lo, hi - 1) for lo, hi in itertools.pairwise(bounds) if hi > lo]:
            done.result()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE feedback")
        conn.execute("ANALYZE tickets")


def _load_range(dsn: str, first: int, last: int) -> None:
    """Feedback and tickets ``first``..``last`` (each ticket's feedback is in the same range)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        # received over the last 30 days; 0.1 % are due now, the rest later; a third already resolved
        conn.execute("""
            INSERT INTO feedback (id, received_at, source, metric, score, comment, touchpoint, sentiment, kind)
            SELECT md5(i::text)::uuid::text, now() at time zone 'utc' - mod(i, 2592000) * interval '1 second',
                   'survey', 'nps', mod(i, 7), 'complaint number ' || i,
                   (ARRAY['delivery','billing','website','support'])[1 + mod(i, 4)], 'negative', 'complaint'
            FROM generate_series(%s, %s) AS i""", (first, last))
        conn.execute("""
            INSERT INTO tickets (id, feedback_id, status, priority, team, owner_id, sla_state, received_at,
                                 created_at, due_at, warn_at, next_check_at, escalation_level, touchpoint, kind,
                                 suggested_root_cause, suggested_confidence, root_cause, resolved_at,
                                 reopened_count, updated_at)
            SELECT md5('t' || i)::uuid::text, md5(i::text)::uuid::text,
                   CASE WHEN mod(i, 3) = 0 THEN 'resolved' ELSE 'open' END,
                   (ARRAY['P1','P2','P3'])[1 + mod(i, 3)],
                   (ARRAY['care','logistics','billing','digital'])[1 + mod(i, 4)],
                   (ARRAY['u-ana','u-ben','u-tom','u-raj','u-sam'])[1 + mod(i, 5)],
                   CASE WHEN mod(i, 3) <> 0 THEN 'on_track' WHEN mod(i, 2) = 0 THEN 'met' ELSE 'missed' END,
                   r, r, r + interval '24 hours', r + interval '18 hours',
                   CASE WHEN mod(i, 3) = 0 THEN NULL
                        WHEN mod(i, 1000) = 1 THEN now() at time zone 'utc' - interval '1 second'
                        ELSE now() at time zone 'utc' + mod(i, 86400) * interval '1 second' END,
                   0, (ARRAY['delivery','billing','website','support'])[1 + mod(i, 4)], 'complaint',
                   'other', 0.1,
                   CASE WHEN mod(i, 3) = 0 THEN 'other' END,
                   CASE WHEN mod(i, 3) = 0 THEN r + interval '20 hours' END,
                   0, r
            FROM (SELECT i, now() at time zone 'utc' - mod(i, 2592000) * interval '1 second' AS r
                  FROM generate_series(%s, %s) AS i) AS s""", (first, last))


def _compact(url: str) -> tuple[float, int]:
    """Fold the delta rows the load's triggers wrote, as the schedule role's minute job does."""
    import psycopg

    from services.triage.reports import aggregates
    from shared.db import make_engine, make_session_factory

    engine = make_engine(url)
    started = time.monotonic()
    with make_session_factory(engine)() as session, session.begin():
        folded, _ = aggregates.compact(session)
    elapsed = time.monotonic() - started
    engine.dispose()
    tables = ", ".join(table.__tablename__ for table in aggregates.TABLES)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"VACUUM ANALYZE {tables}")
    return elapsed, folded


def _time_sweep(url: str) -> tuple[float, int, str]:
    """The sweeper's query as the contract describes it, timed once warm; plus its plan's first line."""
    from sqlalchemy import text

    from shared.db import make_engine

    engine = make_engine(url)
    query = text("SELECT id FROM tickets WHERE next_check_at <= :now ORDER BY next_check_at LIMIT 500 "
                 "FOR UPDATE SKIP LOCKED")
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.connect() as conn:
        plan = conn.execute(text("EXPLAIN " + query.text), {"now": now}).scalars().all()
        conn.rollback()
        conn.execute(text("SELECT 1"))
        t0 = time.perf_counter()
        rows = conn.execute(query, {"now": now}).all()
        elapsed = (time.perf_counter() - t0) * 1000
        conn.rollback()
    engine.dispose()
    return elapsed, len(rows), " / ".join(line.strip() for line in plan[:3])


def rootcause_accuracy(report: Report, path: Path) -> None:
    """Top-1 accuracy of triage's root-cause suggestion on the labeled dev set at ``path``."""
    section = "root-cause suggestion"
    path = path.resolve()
    if not path.exists():
        report.add(section, Figure("top-1 accuracy", None, "%", note=f"skipped: {path} is absent"))
        return
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    suggest, how = _suggester()
    right = sum(1 for row in rows if suggest(row["text"]) == row["root_cause"])
    report.add(section, Figure("top-1 accuracy", 100 * right / len(rows), "%",
                               note=f"{right} of {len(rows)} on {path.name}; called {how}"))


def _suggester() -> tuple[Any, str]:
    """Triage's suggestion exactly as ticket creation calls it: keywords plus the text classifier."""
    from services.triage.config import load_settings
    from services.triage.rootcause import service as rootcause
    from shared.org import load_org

    org = load_org(load_settings().common.org_config)
    keywords = rootcause.keywords_for(org)
    classifier = rootcause.new_classifier(org)

    def call(text: str) -> str:
        return rootcause.suggest(text, keywords, classifier).code

    return call, "services.triage.rootcause.service.suggest(text, keywords, new_classifier(org))"

