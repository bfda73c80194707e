from __future__ import annotations

from typing import Any

import pytest

from services.triage.app import Triage
from services.triage.config import load_settings


@pytest.fixture
def triage(db_url: Any, monkeypatch: pytest.MonkeyPatch) -> Triage:
    """Triage wired to a fresh migrated SQLite database, assignees synced from the demo org."""
    monkeypatch.setenv("TRIAGE_DATABASE_URL", db_url("triage"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    service = Triage(load_settings())
    service.sync()
    return service
