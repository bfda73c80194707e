"""SQLite's machinery, in one place: switched on by :func:`shared.db.make_engine` for ``sqlite://`` URLs only.

SQLite has one writer per file and every synced commit costs a sync to disk. Local runs and the
test suite use it, so intake and triage keep up under load with:

- :class:`WriterLockedConnection`: writers queue on a lock file before ``BEGIN IMMEDIATE``
  instead of sleeping in SQLite's busy handler;
- the execution options :data:`READ_ONLY` (a reader skips the writer queue) and
  :data:`UNSYNCED` (a commit whose loss in a power cut is harmless is not synced);
- :class:`GroupCommitter`: concurrent writers of a process share one transaction and its commit;
- :class:`RelayTurns`: the outbox relays of one file take turns, so that two never send the same rows.

PostgreSQL runs none of it: there the execution options mean nothing, writes run in their own
transaction (:class:`shared.db.Transactions`), and the relay locks its rows instead.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")

READ_ONLY = "closeloop_read_only"
"""Execution option for transactions that only read: on SQLite they skip the writer queue.

Use :func:`shared.db.read_only` on a session before its first query. A write inside such a
transaction fails with "database is locked"-style errors rather than queueing, so only use it
where nothing is written.
"""

UNSYNCED = "closeloop_unsynced"
"""Execution option for SQLite write transactions whose loss in a power cut is harmless.

Their commit is not synced to disk (``synchronous=NORMAL`` for that transaction only); the next
synced commit on the file (any connection's) syncs it too, since the write-ahead log is one file
written in order. The outbox relay's "published" marks use it: a lost mark means the event is
published again, which the consumers' idempotency absorbs, and each mark no longer holds the
writer lock through a sync of its own.
"""


def is_sqlite(bind: Any) -> bool:
    """Whether ``bind`` (an engine, a connection or a session) talks to SQLite."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    return bool(bind.dialect.name == "sqlite")


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


def database_path(url: str) -> str | None:
    """The file of a ``sqlite://`` URL, or ``None`` for an in-memory database."""
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return path if path and path != ":memory:" else None


def make_engine(url: str, *, synchronous: str, **kwargs: Any) -> Engine:
    """A SQLite engine: WAL, a busy timeout, foreign keys, the writer queue, and its folder created."""
    path = database_path(url)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = {"timeout": 30, "check_same_thread": False}
    if path is not None:
        connect_args["factory"] = WriterLockedConnection
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
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
    def _begin(conn: Any) -> None:
        dbapi_conn = conn.connection.dbapi_connection
        if conn.get_execution_options().get(READ_ONLY):
            # a reader in WAL mode sees a consistent snapshot without taking the writer lock
            conn.exec_driver_sql("BEGIN")
        elif isinstance(dbapi_conn, WriterLockedConnection):
            dbapi_conn.begin_immediate(synced=not conn.get_execution_options().get(UNSYNCED))
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class RelayTurns:
    """The outbox relays of one SQLite file (each gunicorn worker and the ``consume`` role run one)
    take turns on a lock file of their own, so that two of them never send the same rows; without
    it, three quarters of the events were published twice under load (measured)."""

    def __init__(self) -> None:
        self._fd: int | None = None

    @contextlib.contextmanager
    def turn(self, session: Session) -> Iterator[None]:
        """Hold the relay lock of ``session``'s SQLite file (no-op for in-memory databases)."""
        if self._fd is None:
            path = session.get_bind().engine.url.database
            if not path or path == ":memory:":
                yield
                return
            self._fd = os.open(f"{path}.relay-lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


_UNANSWERED = object()


class _Write:
    """One caller's unit of work in the group-commit queue, and what became of it."""

    __slots__ = ("work", "alone", "done", "result", "error", "ready")

    def __init__(self, work: Callable[[Any], Any], alone: Callable[[Any], Any]):
        self.work = work
        self.alone = alone
        self.done = False
        self.result: Any = _UNANSWERED
        self.error: BaseException | None = None
        self.ready = threading.Condition()


class GroupCommitter:
    """Commits the writes of concurrent callers together, in one transaction.

    SQLite has one writer per file, and each transaction pays for taking the writer lock,
    ``BEGIN IMMEDIATE``, a flush and a synced ``COMMIT``. Under load, callers of :meth:`run`
    queue up; the first in the queue becomes the leader, runs every queued unit of work in one
    transaction, commits, and then answers each caller (the next caller in the queue
    leads the next batch). With no concurrency a batch is just the caller's own write, with no
    added wait. Every caller returns only after its own writes are committed. If anything in
    a batch fails (a unit of work raises, or the commit), the batch is rolled back and each
    unit is run again on its own, in its own transaction, so that one bad write fails only its
    own caller. Leaders are the callers' own threads (there is no background thread), so a
    server's graceful shutdown, which waits for requests in flight, also waits for their batch.
    """

    def __init__(self, transactions: sessionmaker[Session] | Callable[[], AbstractContextManager[Any]], *,
                 max_batch: int = 64):
        """``transactions`` opens one transaction and yields what units of work are given: a
        session factory (units get a session), or e.g. :func:`shared.db.core_transactions` (a
        :class:`shared.db.Writes`)."""
        if isinstance(transactions, sessionmaker):
            transactions = session_transactions(transactions)
        self.transaction = transactions
        self.max_batch = max_batch
        self._queue: collections.deque[_Write] = collections.deque()
        self._lock = threading.Lock()

    def run(self, work: Callable[[Any], T], *, alone: Callable[[Any], T] | None = None) -> T:
        """Run ``work(transaction)`` in a shared transaction and return its result once committed.

        ``alone`` (default: ``work``) is what runs if the shared attempt fails; it gets a
        transaction of its own. Units of work must not commit, and must not depend on the
        calling thread (another caller's thread may run them).
        """
        write = _Write(work, alone or work)
        with write.ready:
            with self._lock:
                self._queue.append(write)
                leader = self._queue[0] is write
            while not leader and not write.done:
                write.ready.wait()
                with self._lock:
                    leader = not write.done and self._queue[0] is write
        if not write.done:
            self._lead()
        if write.error is not None:
            raise write.error
        return write.result  # type: ignore[no-any-return]

    def _lead(self) -> None:
        batch: list[_Write] = []  # filled by _commit once it holds the writer lock
        try:
            self._commit(batch)
        except BaseException as exc:  # e.g. the worker is being aborted: nobody may be told "stored"
            if not batch:  # interrupted before choosing a batch: only this leader's own write fails
                with self._lock:
                    batch.append(self._queue[0])
            for write in batch:
                if write.result is _UNANSWERED and write.error is None:
                    write.error = exc
            raise
        finally:
            with self._lock:
                for _ in batch:
                    self._queue.popleft()
                following = self._queue[0] if self._queue else None
            for write in batch:
                with write.ready:
                    write.done = True
                    write.ready.notify()
            if following is not None:
                with following.ready:
                    following.ready.notify()

    def _waiting(self) -> list[_Write]:
        """The next batch: the queue's head (this leader's own write) and those behind it."""
        with self._lock:
            return [self._queue[i] for i in range(min(len(self._queue), self.max_batch))]

    def _commit(self, batch: list[_Write]) -> None:
        try:
            # The transaction begins first: on SQLite that waits for the file's writer lock (held
            # by another process's batch, or the outbox relay's mark), and every caller who
            # queues meanwhile joins this batch. Choosing the batch before that wait left them
            # all for the next batch, and its own synced commit.
            with self.transaction() as transaction:
                batch.extend(self._waiting())
                results = [write.work(transaction) for write in batch]
        except Exception:
            if not batch:
                batch.extend(self._waiting())
        else:
            for write, result in zip(batch, results, strict=True):
                write.result = result
            return
        # run each on its own, so that only the failing one fails
        for write in batch:
            try:
                with self.transaction() as transaction:
                    write.result = write.alone(transaction)
            except BaseException as exc:
                write.error = exc


def session_transactions(factory: sessionmaker[Session]) -> Callable[[], AbstractContextManager[Session]]:
    """Transactions of a session from ``factory``, begun at once (on SQLite: the writer lock taken)."""

    @contextlib.contextmanager
    def transaction() -> Iterator[Session]:
        with factory() as session, session.begin():
            session.connection()
            yield session

    return transaction
