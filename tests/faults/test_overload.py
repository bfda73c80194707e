"""Load safety: intake sheds with 503 + Retry-After instead of timing out; consumers take bounded bites."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask

from bench.backlog import produce_backlog
from bench.stack import peak_rss_mb
from shared.overload import InFlightLimit, install
from tests.faults.test_broker_and_database import hold_exclusive_lock
from tests.support import ORG, Broker, ServiceProcess, free_port, http, migrate, wait_for


def test_requests_beyond_the_limit_are_answered_503_with_retry_after_and_probes_never_shed() -> None:
    app = Flask(__name__)
    gate = threading.Event()

    @app.post("/slow")
    def slow() -> str:
        gate.wait(10)
        return "done"

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    install(app, max_in_flight=2)
    client_app = app.test_client()
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(client_app.post, "/slow") for _ in range(2)]
        wait_for(lambda: isinstance(app.wsgi_app, InFlightLimit) and app.wsgi_app.in_flight == 2, 5, "2 in flight")
        shed = client_app.post("/slow")
        assert shed.status_code == 503
        assert shed.headers["Retry-After"] == "1"
        assert shed.mimetype == "application/problem+json" and shed.json["status"] == 503
        assert client_app.get("/healthz").status_code == 200
        gate.set()
        assert [f.result().status_code for f in held] == [200, 200]
    assert client_app.post("/slow").status_code == 200  # the count went back down


@pytest.fixture
def intake_web(tmp_path: Path) -> Iterator[tuple[str, str]]:
    broker = Broker(tmp_path).start()
    db = tmp_path / "intake.db"
    migrate("intake", f"sqlite:///{db}")
    port = free_port()
    web = ServiceProcess("intake", "web", {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "ORG_CONFIG": str(ORG), "CLOSELOOP_VAR_DIR": str(tmp_path),
        "INTAKE_DATABASE_URL": f"sqlite:///{db}", "INTAKE_PORT": str(port), "INTAKE_RATE_LIMIT": "100000/second",
        "CLOSELOOP_SECRET_KEY": "faults"}, tmp_path).start()
    try:
        wait_for(lambda: http("GET", f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200, 60, "intake web")
        yield f"http://127.0.0.1:{port}", str(db)
    finally:
        web.stop()
        broker.stop()


@pytest.mark.e2e
def test_intake_with_its_database_stuck_sheds_at_once_instead_of_timing_out(intake_web: tuple[str, str]) -> None:
    url, db = intake_web
    held = threading.Event()
    holder = hold_exclusive_lock(db, 6, held)
    assert held.wait(10)

    def post(i: int) -> tuple[int, float, str | None, object]:
        started = time.monotonic()
        status, body = http("POST", f"{url}/api/v1/feedback", {"source": "form", "comment": f"burst {i}"},
                            timeout=20)
        return status, time.monotonic() - started, None, body

    with ThreadPoolExecutor(60) as pool:
        results = list(pool.map(post, range(60)))
        probe = http("GET", f"{url}/healthz", timeout=2)[0]
    holder.join()
    statuses = sorted({r[0] for r in results})
    assert set(statuses) <= {202, 503}, statuses
    shed = [r for r in results if r[0] == 503]
    accepted = [r for r in results if r[0] == 202]
    assert shed, "nothing was shed although every request was stuck on the database"
    assert all(r[1] < 3 for r in shed), sorted(r[1] for r in shed)[-3:]  # answered at once, not after the lock
    assert all(isinstance(r[3], dict) and r[3]["status"] == 503 for r in shed)
    assert accepted, "the admitted requests should complete once the lock is gone"
    assert probe == 200
    import sqlite3

    stored = sqlite3.connect(db).execute("SELECT count(*) FROM feedback").fetchone()[0]
    assert stored == len(accepted)  # shed requests stored nothing; accepted ones all are stored


@pytest.mark.e2e
def test_a_shed_answer_carries_retry_after(intake_web: tuple[str, str]) -> None:
    import urllib.error
    import urllib.request

    url, db = intake_web
    held = threading.Event()
    holder = hold_exclusive_lock(db, 4, held)
    assert held.wait(10)
    seen: list[str | None] = []

    def post(i: int) -> None:
        request = urllib.request.Request(f"{url}/api/v1/feedback", data=b'{"source": "form", "comment": "x"}',
                                         headers={"Content-Type": "application/json"}, method="POST")
        try:
            urllib.request.urlopen(request, timeout=20).read()
        except urllib.error.HTTPError as exc:
            if exc.code == 503:
                seen.append(exc.headers.get("Retry-After"))

    with ThreadPoolExecutor(40) as pool:
        list(pool.map(post, range(40)))
    holder.join()
    assert seen and all(value is not None and int(value) >= 1 for value in seen)


@pytest.mark.e2e
def test_a_consumer_behind_a_stuck_database_holds_a_bounded_batch_not_the_backlog(tmp_path: Path) -> None:
    broker = Broker(tmp_path).start()
    db = tmp_path / "triage.db"
    migrate("triage", f"sqlite:///{db}")
    consumer = ServiceProcess("triage", "consume", {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "ORG_CONFIG": str(ORG), "CLOSELOOP_VAR_DIR": str(tmp_path),
        "TRIAGE_DATABASE_URL": f"sqlite:///{db}", "CLOSELOOP_SECRET_KEY": "faults"}, tmp_path)
    try:
        consumer.start()
        assert consumer.proc is not None
        time.sleep(3)  # imports done, group joined
        baseline = peak_rss_mb(consumer.proc.pid) or 0
        held, release = threading.Event(), threading.Event()
        holder = hold_exclusive_lock(str(db), 40, held, release)  # released below, well before
        assert held.wait(10)
        produce_backlog(broker.bootstrap, 60_000)  # ~40 MB of events waiting
        time.sleep(6)
        peak = peak_rss_mb(consumer.proc.pid) or 0
        assert consumer.proc.poll() is None
        import sqlite3

        assert sqlite3.connect(db).execute("SELECT count(*) FROM tickets").fetchone()[0] == 0
        # a bounded poll (500 records, 1 MiB per partition), not the 60,000 waiting
        assert peak - baseline < 60, (baseline, peak)
        release.set()
        holder.join()
        wait_for(lambda: sqlite3.connect(db).execute("SELECT count(*) FROM tickets").fetchone()[0] >= 500, 60,
                 "progress once the database is free", interval=0.5)
    finally:
        consumer.stop()
        broker.stop()
