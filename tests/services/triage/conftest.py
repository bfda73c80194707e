from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.triage.app import Triage
from services.triage.config import TriageSettings, load_settings
from tests.support import migrate


def settings_for(url: str, **overrides: Any) -> TriageSettings:
    """Triage's settings for a test: the defaults, the database at ``url``, no broker, and ``overrides``."""
    base = load_settings()
    return replace(base, common=replace(base.common, kafka_bootstrap="127.0.0.1:1"), database_url=url, **overrides)


@pytest.fixture
def triage(db_url: Any) -> Triage:
    """Triage wired to a fresh migrated SQLite database, assignees synced from the demo org."""
    service = Triage(settings_for(db_url("triage")))
    service.sync()
    return service


@pytest.fixture
def make_triage() -> Callable[..., Triage]:
    """Build a Triage on a given database URL with other settings (``TriageSettings`` field names)."""

    def build(url: str, **overrides: Any) -> Triage:
        service = Triage(settings_for(url, **overrides))
        service.sync()
        return service

    return build


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test (dropped after); skips without PostgreSQL."""
    base = os.environ.get("CLOSELOOP_TEST_PG_URL")
    if not base:
        pytest.skip("needs PostgreSQL: set CLOSELOOP_TEST_PG_URL (e.g. postgresql+psycopg://postgres@127.0.0.1/test)")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"triage_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"needs a reachable PostgreSQL at CLOSELOOP_TEST_PG_URL: {exc.__class__.__name__}")
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        migrate("triage", url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
