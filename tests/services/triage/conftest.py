from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.triage.app import Triage
from services.triage.config import load_settings
from tests.support import migrate


@pytest.fixture
def triage(db_url: Any, monkeypatch: pytest.MonkeyPatch) -> Triage:
    """Triage wired to a fresh migrated SQLite database, assignees synced from the demo org."""
    monkeypatch.setenv("TRIAGE_DATABASE_URL", db_url("triage"))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    service = Triage(load_settings())
    service.sync()
    return service


@pytest.fixture
def make_triage(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Triage]:
    """Build a Triage on a given database URL with extra environment settings."""

    def build(url: str, **env: str) -> Triage:
        monkeypatch.setenv("TRIAGE_DATABASE_URL", url)
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        service = Triage(load_settings())
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
