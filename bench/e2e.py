"""End to end at a fixed offered load: accepted → ticket with owner visible, and → feed entry.

Every service runs as its own role processes, on SQLite, as production runs them. A paced
generator posts complaints; a watcher reads the triage and notify databases every few
milliseconds and notes when each feedback's ticket (with its owner) and feed entry became
visible. Latency is visible-time minus the moment intake answered 202.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.report import Figure, Report, at_most, percentile, say
from bench.stack import (
    Processes,
    base_env,
    bench_org,
    free_port,
    migrated,
    peak_rss_mb,
    process_tree,
    sqlite_url,
    wait_for,
    wait_healthy,
)
from shared import topics

POLL_SECONDS = 0.01


class Watcher(threading.Thread):
    """Notes when each feedback id first shows up in a table, polling by rowid."""

    def __init__(self, path: str, query: str):
        super().__init__(daemon=True)
        self.path, self.query = path, query
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        last = 0
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5, check_same_thread=False)
        while not self.stop.is_set():
            try:
                rows = conn.execute(self.query, (last,)).fetchall()
            except sqlite3.OperationalError:
                rows = []
            now = time.monotonic()
            for rowid, feedback_id in rows:
                last = max(last, rowid)
                self.seen.setdefault(feedback_id, now)
            time.sleep(POLL_SECONDS)
        conn.close()


class BrokerWatcher(threading.Thread):
    """Notes when each feedback's ``feedback.received`` event is on the broker (the outbox relay's part)."""

    def __init__(self, bootstrap: str):
        super().__init__(daemon=True)
        from kafka import KafkaConsumer, TopicPartition

        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
        parts = [TopicPartition(topics.FEEDBACK_RECEIVED, p)
                 for p in self.consumer.partitions_for_topic(topics.FEEDBACK_RECEIVED) or []]
        self.consumer.assign(parts)
        self.consumer.seek_to_end(*parts)
        for p in parts:
            self.consumer.position(p)
        self.seen: dict[str, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for records in self.consumer.poll(timeout_ms=100).values():
                now = time.monotonic()
                for record in records:
                    self.seen.setdefault(record.key.decode(), now)
        self.consumer.close()


def body(i: int) -> bytes:
    comments = ("The parcel arrived late and nobody answered my emails", "I was charged twice this month",
                "The app crashes when I try to log in", "The kettle stopped working after a week")
    return json.dumps({"source": "survey", "survey": {"metric": "nps", "score": i % 5},
                       "comment": f"{comments[i % len(comments)]} (#{i})",
                       "touchpoint": ("delivery", "billing", "website", "support")[i % 4]}).encode()


def run(report: Report, procs: Processes, work: Path, bootstrap: str, *, rate: int, seconds: int) -> None:
    """Start the stack, pace the load, report latencies and each process's peak RSS."""
    env = base_env(work, bootstrap, bench_org(work))
    urls = {name: migrated(name, sqlite_url(work, f"{name}-e2e")) for name in ("intake", "triage", "notify")}
    ports = {name: free_port() for name in urls}
    started: dict[str, Any] = {}
    for name in ("intake", "triage", "notify"):
        svc_env = env | {f"{name.upper()}_DATABASE_URL": urls[name], f"{name.upper()}_PORT": str(ports[name])}
        roles = ("web", "consume", "schedule") if name == "triage" else ("web", "consume")
        for role in roles:
            started[f"{name} {role}"] = procs.service(name, role, svc_env)
    for name, port in ports.items():
        wait_healthy(port, f"{name} web")

    tickets = Watcher(urls["triage"].split("///", 1)[1],
                      "SELECT rowid, feedback_id FROM tickets WHERE rowid > ? AND owner_id IS NOT NULL")
    feed = Watcher(urls["notify"].split("///", 1)[1], "SELECT id, feedback_id FROM feed_entries WHERE id > ?")
    published = BrokerWatcher(bootstrap)
    tickets.start()
    feed.start()
    published.start()

    say("end to end: warming up until the consumers have joined their groups")
    client = loadgen.Client("127.0.0.1", ports["intake"])
    warm = [client.post("/api/v1/feedback", body(i)).body["id"] for i in range(3)]
    wait_for(lambda: all(w in tickets.seen and w in feed.seen for w in warm), 90, "warm-up feedback end to end",
             interval=0.2)
    client.close()

    say(f"end to end: {rate}/s for {seconds}s")
    accepted: dict[str, float] = {}
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def on_done(_i: int, outcome: loadgen.Outcome) -> None:
        with lock:
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
            if outcome.status == 202:
                accepted[outcome.body["id"]] = outcome.ended

    outcomes = loadgen.paced("127.0.0.1", ports["intake"], "/api/v1/feedback", body, rate=rate, seconds=seconds,
                             connections=32, on_done=on_done)
    offered = len(outcomes) / seconds
    say(f"end to end: {len(accepted)} accepted; waiting for every ticket and feed entry")
    try:
        wait_for(lambda: all(f in tickets.seen and f in feed.seen for f in accepted), 120,
                 "every accepted feedback to reach triage and notify", interval=0.25)
    except AssertionError as exc:
        say(str(exc))
    tickets.stop.set()
    feed.stop.set()
    published.stop.set()

    to_ticket = [tickets.seen[f] - t for f, t in accepted.items() if f in tickets.seen]
    to_feed = [feed.seen[f] - t for f, t in accepted.items() if f in feed.seen]
    http_lat = [(o.ended - o.started) * 1000 for o in outcomes if o.status == 202]
    section = f"end to end at {rate}/s for {seconds}s (SQLite, every role its own process)"
    lost = len(accepted) - len(to_ticket)
    report.add(section, Figure("offered load", offered, "req/s", note=f"statuses: {statuses}"))
    report.add(section, Figure("intake p99 answer at this load", percentile(http_lat, 99), "ms",
                               note=f"p50 {percentile(http_lat, 50):.1f} ms" if http_lat else ""))
    to_broker = [published.seen[f] - t for f, t in accepted.items() if f in published.seen]
    ms = [v * 1000 for v in to_broker]
    report.add(section, Figure("accepted → on the broker (outbox relay), p50", percentile(ms, 50), "ms"))
    report.add(section, Figure("accepted → on the broker (outbox relay), p99", percentile(ms, 99), "ms",
                               note=f"{len(ms)} of {len(accepted)} seen"))
    for label, values in (("accepted → ticket with owner", to_ticket), ("accepted → feed entry", to_feed)):
        ms = [v * 1000 for v in values]
        p50, p99 = percentile(ms, 50), percentile(ms, 99)
        report.add(section, Figure(f"{label}, p50", p50, "ms"))
        report.add(section, Figure(f"{label}, p99", p99, "ms", "< 500 ms", at_most(p99, 500),
                                   note=f"{len(values)} of {len(accepted)} seen (watcher polls every "
                                        f"{POLL_SECONDS * 1000:.0f} ms)"))
    if lost:
        report.add(section, Figure("accepted feedback without a ticket after 120 s", lost, "", "0", lost == 0))

    section = "memory: peak RSS per process under the end-to-end load"
    for label, svc in started.items():
        assert svc.proc is not None
        peaks = [p for p in (peak_rss_mb(pid) for pid in process_tree(svc.proc.pid)) if p is not None]
        worst = max(peaks) if peaks else None
        note = f"{len(peaks)} processes (gunicorn master + workers)" if len(peaks) > 1 else ""
        report.add(section, Figure(label, worst, "MiB", "< 150 MiB", at_most(worst, 150), note=note))
    procs.stop_services()
