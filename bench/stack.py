"""What the benchmark starts and cleans up: brokers, service processes, databases, org files."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.support import ORG, ROOT, Broker, ServiceProcess, free_port, http, migrate, wait_for

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


class Processes:
    """Every process the benchmark started, stopped (by pid, never by name) on exit."""

    def __init__(self, work: Path):
        self.work = work
        self.brokers: list[Broker] = []
        self.services: list[ServiceProcess] = []
        self.others: list[subprocess.Popen[bytes]] = []

    def broker(self) -> Broker:
        b = Broker(self.work).start()
        self.brokers.append(b)
        return b

    def service(self, name: str, role: str, env: dict[str, str]) -> ServiceProcess:
        proc = ServiceProcess(name, role, env, self.work)
        proc.log_path = self.work / f"{name}-{role}-{len(self.services)}.log"
        proc.start()
        self.services.append(proc)
        return proc

    def popen(self, args: list[str], log_name: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.work / log_name, "ab")
        proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT)
        self.others.append(proc)
        return proc

    def stop_services(self) -> None:
        for svc in self.services:
            svc.stop(timeout=15)
        self.services.clear()
        for proc in self.others:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.others.clear()

    def stop_all(self) -> None:
        self.stop_services()
        for b in self.brokers:
            b.stop()
        self.brokers.clear()


def wait_healthy(port: int, what: str, timeout: float = 60) -> None:
    """Wait for ``/healthz`` on ``port``."""
    wait_for(lambda: http("GET", f"http://127.0.0.1:{port}/healthz", timeout=1)[0] == 200, timeout, what,
             interval=0.1)


def sqlite_url(work: Path, name: str) -> str:
    """A fresh migrated SQLite database for ``name`` (a service) under ``work``."""
    url = f"sqlite:///{work / f'{name}-{uuid.uuid4().hex[:6]}.db'}"
    return url


def migrated(service: str, url: str) -> str:
    """Apply ``service``'s migrations to ``url``; return the url."""
    migrate(service, url)
    return url


def pg_available() -> str | None:
    """``None`` if PostgreSQL answers at the bench URL, else why not."""
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_ADMIN_URL.split('@')[-1]}: {exc.__class__.__name__}"


@contextlib.contextmanager
def pg_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of our own for the block, dropped afterwards; yields its SQLAlchemy URL."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_org(work: Path, *, sla_seconds: int | None = None) -> Path:
    """The demo org, with channels to nowhere removed and optionally a short SLA for every priority."""
    doc: dict[str, Any] = yaml.safe_load(ORG.read_text())
    doc["channels"] = [c for c in doc.get("channels", []) if c.get("type") == "feed"]
    if sla_seconds is not None:
        doc["sla"] = {"default_seconds": sla_seconds, "by_priority": {}}
    path = work / f"org-{sla_seconds or 'default'}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def base_env(work: Path, bootstrap: str, org: Path) -> dict[str, str]:
    """Environment shared by every service process the benchmark starts."""
    return {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "ORG_CONFIG": str(org),
        "CLOSELOOP_VAR_DIR": str(work / "var"),
        "CLOSELOOP_SECRET_KEY": "bench-secret",
        "LOG_LEVEL": "WARNING",
        # the public limit would cap the load generator's single address; integrations are exempt anyway
        "INTAKE_RATE_LIMIT": "1000000/second",
        "WEB_CONCURRENCY": "2",
        "PYTHONUNBUFFERED": "1",
    }


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (gunicorn master and workers)."""
    out = [pid]
    for child in _children(pid):
        out += process_tree(child)
    return out


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def peak_rss_mb(pid: int) -> float | None:
    """The peak resident set size of ``pid`` so far (VmHWM), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def python() -> str:
    return sys.executable


__all__ = ["ROOT", "free_port", "http", "wait_for"]
