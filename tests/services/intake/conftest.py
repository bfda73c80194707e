from __future__ import annotations

from typing import Any

import pytest

from services.intake.app import Intake
from services.intake.config import load_settings


@pytest.fixture
def intake(db_url: Any, monkeypatch: pytest.MonkeyPatch) -> Intake:
    """Intake wired to a fresh migrated SQLite database (no broker: the relay is not started)."""
    monkeypatch.setenv("INTAKE_DATABASE_URL", db_url("intake"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    return Intake(load_settings())


@pytest.fixture
def client(intake: Intake) -> Any:
    app = intake.create_app()
    app.config["TESTING"] = True
    return app.test_client()
