from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from services.intake.app import Intake
from services.intake.config import load_settings


@pytest.fixture
def make_intake(db_url: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Intake]:
    """Intake wired to a fresh migrated SQLite database (no broker: the relay is not started);
    keyword arguments set environment variables first (``INTAKE_RATE_LIMIT="3/minute"``)."""
    url = db_url("intake")

    def make(**env: str) -> Intake:
        monkeypatch.setenv("INTAKE_DATABASE_URL", url)
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
        monkeypatch.setenv("INTAKE_RATE_LIMIT", "1000/minute")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return Intake(load_settings())

    return make


@pytest.fixture
def intake(make_intake: Callable[..., Intake]) -> Intake:
    return make_intake()


@pytest.fixture
def client(intake: Intake) -> Any:
    app = intake.create_app()
    app.config["TESTING"] = True
    return app.test_client()


def count(intake: Intake, model: Any) -> int:
    """Rows of ``model`` in intake's database."""
    with intake.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def csrf_token(client: Any, path: str = "/") -> str:
    """The CSRF token of the form on ``path`` (its session cookie stays in ``client``)."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, html[:2000]
    return match.group(1)
