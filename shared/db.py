"""Database plumbing shared by the services: engines, UTC timestamps, migrations, idempotency.

Each service owns its database and its own SQLAlchemy metadata; this module only provides the
pieces they have in common. The caller (request, consumer loop or job) owns the transaction.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, String, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and always read back as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Closeloop stores aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


READ_ONLY = "closeloop_read_only"
"""Execution option for transactions that only read: on SQLite they skip the writer queue.

Use ``session.connection(execution_options={READ_ONLY: True})`` before the first query, or
:func:`read_only` on a session. A write inside such a transaction fails with "database is
locked"-style errors rather than queueing, so only pass it where nothing is written.
"""


def read_only(session: Session) -> Session:
    """Mark ``session``'s next transaction as read-only (see :data:`READ_ONLY`); return it."""
    session.connection(execution_options={READ_ONLY: True})
    return session


class WriterLockedConnection(sqlite3.Connection):
    """A SQLite connection whose transactions queue on a lock file before ``BEGIN IMMEDIATE``.

    SQLite has one writer at a time, and a connection that finds the file locked sleeps in
    steps of up to 100 ms before trying again (its busy handler). With gunicorn workers, threads
    and consumers all writing, those sleeps were most of intake's time under load (p99 near one
    second). Waiting on ``flock`` instead is woken the moment the holder finishes, across
    threads and processes; SQLite's own busy timeout still guards against other programs.
    """

    lock_fd: int | None = None
    holding: bool = False

    def begin_immediate(self) -> None:
        """Take the writer lock, then open the transaction."""
        if self.lock_fd is not None and not self.holding:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
            self.holding = True
        try:
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Let the next writer in (called once the transaction is over)."""
        if self.holding and self.lock_fd is not None:
            self.holding = False
            fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release()
            if self.lock_fd is not None:
                os.close(self.lock_fd)
                self.lock_fd = None


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout, a fair writer queue and its folder created."""
    engine = _make_engine(url, **kwargs)
    # gunicorn forks its workers after start-up work (e.g. syncing assignees) has opened pooled
    # connections; a child that reused them would share the parent's socket with its siblings,
    # and PostgreSQL then answers with corrupted protocol state. Children start with an empty pool.
    ref = weakref.ref(engine)

    def _forget_parent_connections() -> None:
        alive = ref()
        if alive is not None:
            alive.dispose(close=False)

    os.register_at_fork(after_in_child=_forget_parent_connections)
    return engine


def _make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0]
        on_disk = bool(path) and path != ":memory:"
        if on_disk:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connect_args: dict[str, Any] = {"timeout": 30, "check_same_thread": False}
        if on_disk:
            connect_args["factory"] = WriterLockedConnection
        engine = create_engine(url, connect_args=connect_args, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Python's sqlite3 opens transactions lazily; we issue BEGIN ourselves so that a
            # writer takes its lock at the start (IMMEDIATE) instead of failing at commit.
            dbapi_conn.isolation_level = None
            if isinstance(dbapi_conn, WriterLockedConnection):
                dbapi_conn.lock_fd = os.open(f"{path}.writer-lock", os.O_RDWR | os.O_CREAT, 0o600)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            dbapi_conn = conn.connection.dbapi_connection
            if conn.get_execution_options().get(READ_ONLY):
                # a reader in WAL mode sees a consistent snapshot without taking the writer lock
                conn.exec_driver_sql("BEGIN")
            elif isinstance(dbapi_conn, WriterLockedConnection):
                dbapi_conn.begin_immediate()
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay usable after commit (we read them to build answers)."""
    return sessionmaker(engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


class ProcessedEventMixin:
    """The idempotency table of a consumer: one row per event id already handled."""

    __tablename__ = "processed_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime())
