"""Group commit: concurrent writers of one process share a transaction and its synced commit.

SQLite has one writer per file and every synced commit costs a sync to disk, so intake's web
workers hand their writes to a :class:`GroupCommitter` instead of each opening a transaction.
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from shared.bulk import RowQueue

T = TypeVar("T")
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
    ``BEGIN IMMEDIATE``, a flush and ``COMMIT``. Under load, callers of :meth:`run` queue up;
    the first in the queue becomes the leader, runs every queued unit of work in one
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
        session factory (units get a session), or e.g. :func:`core_transactions` (a :class:`Writes`)."""
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


class Writes:
    """A Core transaction's connection, and the rows queued for it until :meth:`flush`.

    The rows of a batch go in through a :class:`~shared.bulk.RowQueue`, one ``executemany`` per table; call
    :meth:`flush` before a query that must see them. (An ORM session per batch, with its unit
    of work, was about a twentieth of an accepted submission's CPU time.)
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
