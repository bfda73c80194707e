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
