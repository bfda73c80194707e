"""Every service's /metrics is accepted by ``promtool check metrics`` (units in names, ``_total``)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from tests.deploy.promtool import check_metrics, promtool


@pytest.mark.parametrize("service", ["intake", "triage", "notify"])
def test_metrics_pass_promtool(service: str, db_url: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    promtool()
    monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", db_url(service))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    app = importlib.import_module(f"services.{service}.app").create_app()
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    client.get("/api/v1/nothing-here")
    if service == "intake":
        assert client.post("/api/v1/feedback", json={"survey": {"metric": "nps", "score": 3}}).status_code == 202
    answer = client.get("/metrics")
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "closeloop_http_requests_total" in text
    if service == "triage":
        assert "closeloop_triage_open_tickets" in text
    check_metrics(text)
