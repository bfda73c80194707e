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

from sqlalchemy import DateTime, String, any_, bindparam, create_engine, event, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator


def among(session: Session, column: Any, values: Any) -> ColumnElement[bool]:
    """``column IN values`` for a batch of keys, planned as an index lookup on PostgreSQL whatever its statistics.

    ``IN (...)`` sends one parameter per value. Once psycopg prepares the statement (its fifth
    run), PostgreSQL may keep a generic plan; on a table that was never analysed (a fresh
    database filling fast, or autovacuum off) that plan was a sequential scan comparing every
    row with every parameter: about a second per 500 ids at 30,000 rows (measured in the triage
    consumer, which then fell from 2,300 to 700 tickets/s). ``= ANY(:array)`` is one parameter
    and its generic plan uses the index. SQLite has no arrays, and plans ``IN`` by its index.
    """
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


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


UNSYNCED = "closeloop_unsynced"
"""Execution option for SQLite write transactions whose loss in a power cut is harmless.

Their commit is not synced to disk (``synchronous=NORMAL`` for that transaction only); the next
synced commit on the file (any connection's) syncs it too, since the write-ahead log is one file
written in order. The outbox relay's "published" marks use it: a lost mark means the event is
published again, which the consumers' idempotency absorbs, and each mark no longer holds the
writer lock through a sync of its own.
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
    synchronous: str = "FULL"  # the connection's own setting, restored after an unsynced transaction
    unsynced: bool = False

    def begin_immediate(self, *, synced: bool = True) -> None:
        """Take the writer lock, then open the transaction (not synced at commit if ``synced`` is false)."""
        if self.lock_fd is not None and not self.holding:
            fcntl.flock(self.lock_fd, fcntl.LOCK_EX)
            self.holding = True
        try:
            if not synced and self.synchronous != "NORMAL":
                self.unsynced = True  # first: whatever happens next, release() restores the setting
                self.execute("PRAGMA synchronous=NORMAL")
            self.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Let the next writer in (called once the transaction is over)."""
        try:
            # SQLite refuses the pragma inside a transaction; then the rollback that follows restores it
            if self.unsynced and not self.in_transaction:
                self.execute(f"PRAGMA synchronous={self.synchronous}")
                self.unsynced = False
        finally:
            if self.holding and self.lock_fd is not None:
                self.holding = False
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        except BaseException:
            if self.in_transaction:  # a failed COMMIT (a deferred constraint) leaves it open: end it here
                super().rollback()
            raise
        finally:
            self.release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release()

    def close(self) -> None:
        self.unsynced = False  # the setting goes with the connection
        try:
            super().close()
        finally:
            self.release()
            if self.lock_fd is not None:
                os.close(self.lock_fd)
                self.lock_fd = None


def make_engine(url: str, *, durable_commits: bool = False, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout, a fair writer queue and its folder created.

    On SQLite in WAL mode, ``synchronous=NORMAL`` keeps every commit through a crash of the
    process, but a power cut or an OS crash may lose the last commits before a checkpoint.
    ``durable_commits=True`` (``synchronous=FULL``) syncs the log at every commit, so a
    commit that returned survives those too; it costs about 1 ms per commit here, which group
    commit (:class:`shared.group_commit.GroupCommitter`) shares among the requests of a batch.
    """
    engine = _make_engine(url, synchronous="FULL" if durable_commits else "NORMAL", **kwargs)
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


def _make_engine(url: str, *, synchronous: str, **kwargs: Any) -> Engine:
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
                dbapi_conn.synchronous = synchronous
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
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
                dbapi_conn.begin_immediate(synced=not conn.get_execution_options().get(UNSYNCED))
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
