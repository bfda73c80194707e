from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from services.intake.app import Intake
from services.intake.config import IntakeSettings, load_settings


def intake_settings(database_url: str, *, kafka_bootstrap: str = "127.0.0.1:1", **changes: Any) -> IntakeSettings:
    """Settings of an intake on ``database_url``, with no broker there and a loose rate limit;
    ``changes`` set other fields (``rate_limit="3/minute"``, ``public_url=...``)."""
    base = load_settings()
    return replace(base, common=replace(base.common, kafka_bootstrap=kafka_bootstrap), database_url=database_url,
                   **{"rate_limit": "1000/minute", **changes})


@pytest.fixture
def make_intake(db_url: Any) -> Callable[..., Intake]:
    """Intake wired to a fresh migrated database (no broker: the relay is not started), built from
    :func:`intake_settings` (keyword arguments change its fields: ``rate_limit="3/minute"``)."""
    url = db_url("intake")

    def make(**changes: Any) -> Intake:
        return Intake(intake_settings(url, **changes))

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
