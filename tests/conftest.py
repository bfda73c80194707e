"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ORG, Broker, migrate


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own var/ folder, the demo org, and a fixed secret key."""
    monkeypatch.setenv("CLOSELOOP_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("ORG_CONFIG", str(ORG))
    monkeypatch.setenv("CLOSELOOP_SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("LOG_LEVEL", os.environ.get("TEST_LOG_LEVEL", "WARNING"))
    for name in ("INTAKE_DATABASE_URL", "TRIAGE_DATABASE_URL", "NOTIFY_DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """A fresh real broker with Closeloop's topics, stopped after the test."""
    b = Broker(tmp_path).start()
    yield b
    b.stop()


@pytest.fixture
def db_url(tmp_path: Path) -> DbFactory:
    """Make migrated SQLite databases for services."""
    return DbFactory(tmp_path)


class DbFactory:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path

    def __call__(self, service: str) -> str:
        url = f"sqlite:///{self.tmp_path / f'{service}.db'}"
        migrate(service, url)
        return url
