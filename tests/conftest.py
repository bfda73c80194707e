"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ORG, Broker, check_produced_events, migrate

PG_URL_VAR = "CLOSELOOP_TEST_PG_URL"
# every event the code under test produces (in this process and in the services it starts) is
# loaded back through its schema; production skips that second pass
check_produced_events()


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


class PostgresServer:
    """The PostgreSQL server named by ``CLOSELOOP_TEST_PG_URL``: makes and drops throwaway databases."""

    def __init__(self, admin_url: str):
        from sqlalchemy import create_engine, make_url, pool

        self.admin_url = make_url(admin_url)
        self.engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)

    def create(self, prefix: str) -> str:
        """A new empty database; returns its URL."""
        from sqlalchemy import text

        name = f"cl_{prefix}_{uuid.uuid4().hex[:12]}"
        with self.engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop a database made by :meth:`create`, closing whatever still holds it."""
        from sqlalchemy import make_url, text

        name = make_url(url).database
        with self.engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def postgres_or_skip() -> PostgresServer:
    """The test PostgreSQL server, or a skip saying why there is none."""
    url = os.environ.get(PG_URL_VAR)
    if not url:
        pytest.skip(f"needs PostgreSQL: set {PG_URL_VAR} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    server = PostgresServer(url)
    try:
        from sqlalchemy import text

        with server.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any connection failure means: this machine cannot run the test
        pytest.skip(f"needs PostgreSQL at {PG_URL_VAR}, which is unreachable: {exc.__class__.__name__}")
    return server


@pytest.fixture(scope="session")
def _pg_server() -> PostgresServer:
    return postgres_or_skip()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DbFactory]:
    """Make migrated databases for services: SQLite, and PostgreSQL when ``CLOSELOOP_TEST_PG_URL`` is set."""
    server = request.getfixturevalue("_pg_server") if request.param == "postgresql" else None
    factory = DbFactory(tmp_path, server)
    yield factory
    factory.drop_all()


class DbFactory:
    """Hands out a fresh migrated database per service, on SQLite or on a PostgreSQL server."""

    def __init__(self, tmp_path: Path, server: PostgresServer | None = None):
        self.tmp_path = tmp_path
        self.server = server
        self.dialect = "postgresql" if server is not None else "sqlite"
        self.made: list[str] = []

    def __call__(self, service: str, *, migrated: bool = True) -> str:
        if self.server is None:
            url = f"sqlite:///{self.tmp_path / f'{service}.db'}"
        else:
            url = self.server.create(service)
            self.made.append(url)
        if migrated:
            migrate(service, url)
        return url

    def drop_all(self) -> None:
        """Drop the PostgreSQL databases this factory made."""
        if self.server is not None:
            for url in self.made:
                self.server.drop(url)
