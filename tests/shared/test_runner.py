"""Running roles: a consume process serves its metrics on METRICS_PORT for Prometheus."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support import Broker, ServiceProcess, free_port, wait_for

pytestmark = pytest.mark.integration


def test_consume_role_serves_its_metrics_on_the_metrics_port(broker: Broker, db_url: Any, tmp_path: Path) -> None:
    port = free_port()
    env = {"INTAKE_DATABASE_URL": db_url("intake"), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
           "METRICS_PORT": str(port), "CLOSELOOP_VAR_DIR": str(tmp_path / "var")}
    proc = ServiceProcess("intake", "consume", env, tmp_path).start()
    try:
        def scrape() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                return response.read().decode()

        body = wait_for(lambda: (text := scrape()) and 'closeloop_outbox_pending_events{service="intake"}' in text
                        and text, 30, "the consume role's metrics")
        assert "closeloop_outbox_oldest_pending_age_seconds" in body
    finally:
        assert proc.stop() == 0, proc.log()


def test_a_burst_of_stop_signals_stops_a_role_at_once(broker: Broker, db_url: Any, tmp_path: Path) -> None:
    """`make run` forwards Ctrl-C and then sends SIGTERM, microseconds apart, so the second
    handler can run inside the first. A handler that logged or set an Event then waited forever
    on the lock its outer call held, and the role hung until it was killed. (That interleaving
    is a race this test does not force; it checks that a role stops cleanly under such a burst.)"""
    import os
    import signal
    import subprocess

    env = {"INTAKE_DATABASE_URL": db_url("intake"), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
           "CLOSELOOP_VAR_DIR": str(tmp_path / "var"), "LOG_LEVEL": "INFO"}
    for _ in range(3):
        proc = ServiceProcess("intake", "consume", env, tmp_path).start()
        assert proc.proc is not None
        wait_for(lambda p=proc: "consumer_started" in p.log(), 30, "the consume role started")
        for _ in range(100):
            os.kill(proc.proc.pid, signal.SIGINT)
            os.kill(proc.proc.pid, signal.SIGTERM)
        try:
            assert proc.proc.wait(timeout=10) == 0, proc.log()[-2000:]
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("the role hung after Ctrl-C and SIGTERM:\n" + proc.log()[-2000:])
        assert '"signal": "SIGINT"' in proc.log() and '"event": "stopped"' in proc.log()
        proc.log_path.unlink()


def _parts_with_a_mail_role(ran: list[str]) -> Any:
    import threading

    from flask import Flask

    from shared.runner import ServiceParts

    def loop(name: str) -> Any:
        def run(stop: threading.Event) -> None:
            ran.append(name)
            raise RuntimeError("stop the role")  # a crashed loop ends the run with exit code 1
        run.__qualname__ = name
        return run

    return ServiceParts(name="svc", port=free_port(), app_factory=lambda: Flask("svc"),
                        consume=[loop("consume")], extra_roles={"mail": [loop("mail")]})


def test_a_service_role_of_its_own_runs_alone_and_in_all() -> None:
    from shared.runner import run

    ran: list[str] = []
    assert run(_parts_with_a_mail_role(ran), "mail") == 1
    assert ran == ["mail"]
    ran.clear()
    assert run(_parts_with_a_mail_role(ran), "all") == 1
    assert sorted(ran) == ["consume", "mail"]
    assert run(_parts_with_a_mail_role(ran), "post") == 2  # not a role of this service


def test_roles_listen_on_the_configured_host_loopback_unless_told(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """`make run` must not open the demo (and its demo tokens) to the network: 127.0.0.1 unless *_HOST says."""
    import werkzeug.serving
    from gunicorn.app.base import BaseApplication

    from services.intake.config import load_settings
    from shared import runner

    assert load_settings().host == "127.0.0.1"
    monkeypatch.setenv("INTAKE_HOST", "0.0.0.0")
    assert load_settings().host == "0.0.0.0"

    bound: list[str] = []
    real_make_server = werkzeug.serving.make_server

    def make_server(host: str, port: int, app: Any, **kwargs: Any) -> Any:
        bound.append(host)
        return real_make_server(host, port, app, **kwargs)

    monkeypatch.setattr(werkzeug.serving, "make_server", make_server)
    ran: list[str] = []
    parts = _parts_with_a_mail_role(ran)
    assert parts.host == "127.0.0.1"
    assert runner.run(parts, "all") == 1 and bound == ["127.0.0.1"]

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(BaseApplication, "run", lambda self: bound.append(self.cfg.bind[0]))
    parts.host = "0.0.0.0"
    runner.run(parts, "web")
    assert bound[-1] == f"0.0.0.0:{parts.port}"
