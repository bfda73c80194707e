"""Intake's production web role: gunicorn with two gthread workers, as Kubernetes runs it.

Metrics from both workers add up on ``/metrics`` (Prometheus multiprocess mode), and with Redis
as the rate-limit storage the public limit holds across workers instead of doubling.
"""

from __future__ import annotations

import random
import shutil
import smtplib
import socket
import subprocess
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer

from shared.events import decode_event
from shared.links import reply_address
from tests.support import Broker, ServiceProcess, free_port, http, migrate, wait_for

pytestmark = pytest.mark.e2e
REDIS = ("127.0.0.1", 6379)


def redis_available() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def metric(text: str, name: str, labels: str = "") -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and labels in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def web(broker: Broker, tmp_path: Path) -> Iterator[Any]:
    started: list[ServiceProcess] = []

    def start(**env: str) -> str:
        url = f"sqlite:///{tmp_path / f'intake-{len(started)}.db'}"
        migrate("intake", url)
        port = free_port()
        proc = ServiceProcess("intake", "web", {
            "INTAKE_DATABASE_URL": url, "INTAKE_PORT": str(port), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            # "" = unset: the web role makes a fresh folder of its own
            "WEB_CONCURRENCY": "2", "WEB_THREADS": "4", "PROMETHEUS_MULTIPROC_DIR": "", **env}, tmp_path).start()
        started.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: http("GET", f"{base}/readyz", timeout=1)[0] == 200, 60, "intake web role")
        return base

    start.started = started  # type: ignore[attr-defined]
    yield start
    for proc in started:
        assert proc.stop() == 0, proc.log()[-3000:]


def test_metrics_of_both_workers_add_up(web: Any) -> None:
    base = web(INTAKE_RATE_LIMIT="1000/minute")
    for i in range(20):
        status, _ = http("POST", f"{base}/api/v1/feedback", {"survey": {"metric": "nps", "score": i % 11}})
        assert status == 202
    for _ in range(3):
        assert http("POST", f"{base}/api/v1/feedback", {"rating": 7})[0] == 422
    http("POST", f"{base}/api/v1/feedback", {"comment": "again", "external_id": "x", "source": "chat"})
    http("POST", f"{base}/api/v1/feedback", {"comment": "again", "external_id": "x", "source": "chat"})
    # every scrape, whichever worker answers it, sees the sum over both workers
    for _ in range(6):
        _, text = http("GET", f"{base}/metrics")
        assert metric(text, "closeloop_intake_feedback_accepted_total", 'source="form"') == 20
        assert metric(text, "closeloop_intake_feedback_accepted_total", 'source="chat"') == 1
        assert metric(text, "closeloop_intake_feedback_rejected_total", 'reason="invalid"') == 3
        assert metric(text, "closeloop_intake_feedback_duplicates_total", 'kind="external_id"') == 1
        assert metric(text, "closeloop_intake_feedback_received_total", 'channel="api"') == 25
    wait_for(lambda: metric(http("GET", f"{base}/metrics")[1], "closeloop_outbox_published_total") >= 21, 30,
             "the outbox published")
    _, text = http("GET", f"{base}/metrics")
    assert "closeloop_outbox_publish_latency_seconds_bucket" in text
    assert "closeloop_outbox_pending_events" in text
    if shutil.which("promtool"):
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.skipif(not redis_available(), reason="needs Redis at 127.0.0.1:6379, which this machine lacks")
def test_with_redis_the_limit_holds_across_workers(web: Any, tmp_path: Path) -> None:
    # a period no other run uses, so parallel runs never share counters
    seconds = random.randint(600, 3600)
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left by a previous run")
    base = web(INTAKE_RATE_LIMIT=f"8 per {seconds} seconds", INTAKE_RATE_LIMIT_STORAGE="redis://127.0.0.1:6379/0",
               PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    assert not (metrics_dir / "counter_999999.db").exists()  # a given folder is emptied at start
    statuses = [http("POST", f"{base}/api/v1/feedback", {"comment": f"n{i}"})[0] for i in range(14)]
    assert statuses.count(202) == 8 and statuses.count(429) == 6, statuses
    assert http("POST", f"{base}/api/v1/feedback", {"comment": "partner"}, token="dev-integration-token")[0] == 202
    _, text = http("GET", f"{base}/metrics")
    assert metric(text, "closeloop_intake_feedback_rejected_total", 'reason="rate_limited"') == 6


def worker_connections(server_pid: int, port: int, state: str = "01") -> dict[int, int]:
    """Sockets on ``port`` in ``state`` (01 established, 0A listening), per gunicorn worker of ``server_pid``."""
    established: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                established.add(fields[9])  # the socket's inode
    workers = [int(p) for task in Path(f"/proc/{server_pid}/task").iterdir()
               for p in (task / "children").read_text().split()]
    counts = {}
    for pid in workers:
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = fd.readlink().as_posix()
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
        counts[pid] = len(inodes & established)
    return counts


def test_a_few_kept_alive_connections_are_spread_over_both_workers(web: Any) -> None:
    # a proxy in front (or a load generator) keeps a few connections open and sends everything on
    # them; if one worker took them all, the other would idle while its sibling queued requests
    import http.client

    base = web()
    port = int(base.rsplit(":", 1)[1])
    server = web.started[-1].proc.pid
    wait_for(lambda: sorted(worker_connections(server, port, "0A").values()) == [1, 1], 30,
             "both workers listening")
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(16)]
    try:
        for conn in connections:  # all open at once, as a proxy's pool or a load generator opens them
            conn.connect()
        for conn in connections:
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            response.read()
            assert response.status == 200 and not response.will_close
        counts = worker_connections(server, port)
        assert len(counts) == 2 and sum(counts.values()) == 16, counts
        assert min(counts.values()) >= 1, f"one worker holds every connection: {counts}"
    finally:
        for conn in connections:
            conn.close()


def test_the_mail_role_alone_stores_and_publishes_a_customers_answer(broker: Broker, tmp_path: Path) -> None:
    # as its Kubernetes Deployment runs it: `python -m services.intake mail`, metrics on METRICS_PORT
    url = f"sqlite:///{tmp_path / 'intake-mail.db'}"
    migrate("intake", url)
    smtp_port, metrics_port = free_port(), free_port()
    proc = ServiceProcess("intake", "mail", {
        "INTAKE_DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "INTAKE_MAIL_PORT": str(smtp_port),
        "INTAKE_MAIL_DOMAIN": "replies.example", "CLOSELOOP_LINK_SECRET": "mail-secret",
        "METRICS_PORT": str(metrics_port), "PROMETHEUS_MULTIPROC_DIR": ""}, tmp_path).start()
    try:
        wait_for(lambda: socket.create_connection(("127.0.0.1", smtp_port), timeout=1).close() or True, 60,
                 "the mail role listening")
        ticket_id = str(uuid.uuid4())
        message = EmailMessage()
        message["From"] = "Kim <kim@example.org>"
        message["To"] = reply_address("mail-secret", ticket_id=ticket_id, domain="replies.example")
        message["Subject"] = "Re: About your feedback"
        message.set_content("It works now, thank you!\n\nOn Tue, Tom wrote:\n> We sent a new one.\n")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
            client.ehlo()
            client.mail("kim@example.org")
            forged = reply_address("another-secret", ticket_id=ticket_id, domain="replies.example")
            assert client.rcpt(forged)[0] == 550
            client.rset()
            assert client.send_message(message) == {}

        def published() -> list[Any]:
            consumer = KafkaConsumer("feedback.received", bootstrap_servers=broker.bootstrap,
                                     auto_offset_reset="earliest", consumer_timeout_ms=2000)
            found = [decode_event(record.value) for record in consumer]
            consumer.close()
            return found

        [event] = wait_for(published, 60, "the answer published on feedback.received")
        assert (event.data["source"], event.data["in_reply_to"]) == ("email", ticket_id)
        assert event.data["comment"] == "It works now, thank you!"
        assert event.data["customer"] == {"email": "kim@example.org"}
        _, text = http("GET", f"http://127.0.0.1:{metrics_port}/metrics")
        assert metric(text, "closeloop_intake_feedback_accepted_total", 'source="email"') == 1
        assert metric(text, "closeloop_intake_feedback_rejected_total", 'reason="bad_reply_address"') == 1
    finally:
        assert proc.stop() == 0, proc.log()[-3000:]
