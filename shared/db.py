"""Database plumbing shared by the services: engines, UTC timestamps, migrations, idempotency.

Each service owns its database and its own SQLAlchemy metadata; this module only provides the
pieces they have in common. The caller (request, consumer loop or job) owns the transaction.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import DateTime, String, any_, bindparam, create_engine, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from shared import sqlite
from shared.bulk import RowQueue
from shared.sqlite import READ_ONLY, is_sqlite

T = TypeVar("T")


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


def read_only(session: Session) -> Session:
    """Say that ``session``'s next transaction only reads (on SQLite it then skips the writer queue); return it."""
    if is_sqlite(session):
        session.connection(execution_options={READ_ONLY: True})
    return session


def make_engine(url: str, *, durable_commits: bool = False, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout, a fair writer queue and its folder created.

    On SQLite in WAL mode, ``synchronous=NORMAL`` keeps every commit through a crash of the
    process, but a power cut or an OS crash may lose the last commits before a checkpoint.
    ``durable_commits=True`` (``synchronous=FULL``) syncs the log at every commit, so a
    commit that returned survives those too; it costs about 1 ms per commit here, which group
    commit (:class:`shared.sqlite.GroupCommitter`, see :func:`make_writer`) shares among the requests
    of a batch. SQLite's machinery is all in :mod:`shared.sqlite`; PostgreSQL gets a plain engine.
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
        return sqlite.make_engine(url, synchronous=synchronous, **kwargs)
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


class Writes:
    """A Core transaction's connection, and the rows queued for it (a :class:`~shared.bulk.RowQueue`).

    The queued rows go in with one ``executemany`` per table at :meth:`flush`, which the
    transaction calls before it commits; call it also before a query that must see them. (An ORM
    session per batch, with its unit of work, was about a twentieth of an accepted submission's
    CPU time.)
    """

    __slots__ = ("connection", "rows")

    def __init__(self, connection: Connection):
        self.connection = connection
        self.rows = RowQueue()

    def insert(self, table: Any, row: dict[str, Any]) -> None:
        """Queue ``row`` for ``table`` (every row of a table names the same columns)."""
        self.rows.add(table, row)

    def flush(self) -> None:
        """Insert the queued rows (none are kept queued, whether this succeeds or not)."""
        self.rows.write(self.connection)


def core_transactions(engine: Engine) -> Callable[[], AbstractContextManager[Writes]]:
    """Transactions on a plain connection from ``engine``, begun at once; queued rows go in before commit."""

    @contextlib.contextmanager
    def transaction() -> Iterator[Writes]:
        with engine.begin() as connection:
            writes = Writes(connection)
            yield writes
            writes.flush()

    return transaction


class Writer(Protocol):
    """Runs a unit of work in a transaction and returns its result once committed."""

    def run(self, work: Callable[[Any], T], *, alone: Callable[[Any], T] | None = None) -> T:
        """Run ``work(transaction)``; ``alone`` is the form to use in a transaction of its own."""
        ...


class Transactions:
    """A :class:`Writer` that gives each unit of work a transaction of its own (PostgreSQL's many writers)."""

    def __init__(self, transactions: Callable[[], AbstractContextManager[Any]]):
        self.transaction = transactions

    def run(self, work: Callable[[Any], T], *, alone: Callable[[Any], T] | None = None) -> T:
        """Run ``alone`` (default ``work``) in its own transaction and return its result once committed."""
        with self.transaction() as transaction:
            return (alone or work)(transaction)


def make_writer(engine: Engine) -> Writer:
    """The :class:`Writer` of Core transactions (:class:`Writes`) on ``engine``: on SQLite, concurrent
    units share one transaction and its commit (:class:`shared.sqlite.GroupCommitter`)."""
    if is_sqlite(engine):
        return sqlite.GroupCommitter(core_transactions(engine))
    return Transactions(core_transactions(engine))
