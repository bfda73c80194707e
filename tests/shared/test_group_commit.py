"""Group commit (``shared.sqlite.GroupCommitter``): concurrent writers share a transaction, each
is answered only once its own write is committed, and one failing write fails only its caller."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, event, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.db import Writes, core_transactions, make_engine, make_session_factory
from shared.sqlite import GroupCommitter

metadata = MetaData()
items = Table("items", metadata, Column("id", Integer, primary_key=True), Column("name", String, unique=True))


@pytest.fixture
def db(tmp_path: Path) -> Any:
    path = tmp_path / "group.db"
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    commits: list[int] = []
    event.listen(engine, "commit", lambda _conn: commits.append(1))
    yield path, make_session_factory(engine), commits
    engine.dispose()


def names_on_disk(path: Path) -> set[str]:
    """What another process would read: committed rows only."""
    with sqlite3.connect(path) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM items")}


def concurrently(calls: list[Callable[[], Any]], *,
                 while_held: Callable[[Callable[[], None]], None] | None = None) -> list[Any]:
    """Run ``calls`` in threads at once and return each call's result or the exception it raised,
    in order. With ``while_held`` (a :func:`hold_writer`), the threads start only once the
    database's writer lock is held, and it is kept until every thread is on its way to its call:
    started first, a thread could finish its write before the lock was taken."""
    results: list[Any] = [None] * len(calls)
    entered = threading.Semaphore(0)

    def call(i: int) -> None:
        entered.release()
        try:
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]

    def start() -> None:
        for thread in threads:
            thread.start()
        for _ in threads:
            assert entered.acquire(timeout=30), "a thread did not start"

    if while_held is None:
        start()
    else:
        while_held(start)
    for thread in threads:
        thread.join(timeout=30)
    return results


def hold_writer(sessions: Any, seconds: float) -> Callable[[Callable[[], None]], None]:
    """Take the file's writer lock, call ``ready()`` while holding it, then keep it ``seconds`` more,
    so that writers started by ``ready`` queue up meanwhile."""
    def hold(ready: Callable[[], None]) -> None:
        with sessions() as session, session.begin():
            session.connection()  # BEGIN IMMEDIATE: the writer lock is ours
            ready()
            time.sleep(seconds)
    return hold


def insert_name(name: str) -> Callable[[Session], str]:
    def work(session: Session) -> str:
        session.execute(insert(items).values(name=name))
        return name
    return work


def test_concurrent_writes_are_all_committed_together_and_each_caller_gets_its_own_result(db: Any) -> None:
    path, sessions, commits = db
    writer = GroupCommitter(sessions)
    names = [f"n{i}" for i in range(20)]
    hold = hold_writer(sessions, 0.3)
    results = concurrently([lambda n=n: writer.run(insert_name(n)) for n in names], while_held=hold)
    assert results == names
    assert names_on_disk(path) == set(names)
    assert len(commits) < 1 + len(names)  # the holder's commit, then fewer commits than writes


def test_a_caller_is_answered_only_after_its_write_is_on_disk(db: Any) -> None:
    path, sessions, _ = db
    writer = GroupCommitter(sessions)
    seen: list[bool] = []

    def write_and_look(name: str) -> None:
        writer.run(insert_name(name))
        seen.append(name in names_on_disk(path))

    concurrently([lambda n=f"d{i}": write_and_look(n) for i in range(8)], while_held=hold_writer(sessions, 0.2))
    assert seen == [True] * 8


def test_one_failing_write_fails_only_its_own_caller(db: Any) -> None:
    path, sessions, _ = db
    with sessions() as session, session.begin():
        session.execute(insert(items).values(name="taken"))
    writer = GroupCommitter(sessions)

    def broken(session: Session) -> str:
        raise ValueError("this write is refused")

    calls: list[Callable[[], Any]] = [lambda n=f"ok{i}": writer.run(insert_name(n)) for i in range(6)]
    calls.insert(2, lambda: writer.run(insert_name("taken")))  # fails at insert (unique)
    calls.insert(5, lambda: writer.run(broken))                # fails in the caller's code
    results = concurrently(calls, while_held=hold_writer(sessions, 0.3))
    assert isinstance(results[2], IntegrityError)
    assert isinstance(results[5], ValueError)
    assert [r for i, r in enumerate(results) if i not in (2, 5)] == [f"ok{i}" for i in range(6)]
    assert names_on_disk(path) == {"taken"} | {f"ok{i}" for i in range(6)}


def test_a_write_that_fails_only_at_commit_fails_only_its_own_caller(db: Any) -> None:
    path, sessions, _ = db
    writer = GroupCommitter(core_transactions(sessions.kw["bind"]))

    def queued(name: str) -> Callable[[Writes], str]:
        def work(writes: Writes) -> str:
            writes.insert(items, {"name": name})  # inserted just before commit, with the others
            return name
        return work

    calls: list[Callable[[], Any]] = [lambda n=f"c{i}": writer.run(queued(n)) for i in range(5)]
    calls.append(lambda: writer.run(queued("c1")))  # the same name again: the batch's insert fails
    results = concurrently(calls, while_held=hold_writer(sessions, 0.3))
    assert results[:5] == [f"c{i}" for i in range(5)]
    assert isinstance(results[5], IntegrityError)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(items)) == 5
    assert names_on_disk(path) == {f"c{i}" for i in range(5)}


def test_queued_rows_are_flushed_before_a_query_that_must_see_them_and_dropped_with_a_savepoint(db: Any) -> None:
    path, sessions, _ = db
    transactions = core_transactions(sessions.kw["bind"])
    with transactions() as writes:
        writes.insert(items, {"name": "a"})
        writes.insert(items, {"name": "b"})
        writes.flush()
        assert writes.connection.execute(select(func.count()).select_from(items)).scalar() == 2
        with pytest.raises(IntegrityError), writes.connection.begin_nested():
            writes.insert(items, {"name": "a"})
            writes.flush()
        writes.flush()  # nothing left queued: the failed row is not tried again
    assert names_on_disk(path) == {"a", "b"}


def test_a_lone_writer_does_not_wait_for_company(db: Any) -> None:
    _, sessions, commits = db
    writer = GroupCommitter(sessions)
    started = time.monotonic()
    for i in range(20):
        assert writer.run(insert_name(f"s{i}")) == f"s{i}"
    assert time.monotonic() - started < 5
    assert len(commits) == 20


def test_callers_who_arrive_while_the_leader_waits_for_the_writer_lock_share_its_commit(db: Any) -> None:
    path, sessions, commits = db
    writer = GroupCommitter(sessions)
    held = threading.Event()
    release = threading.Event()

    def other_process_batch() -> None:  # another worker's transaction, holding the file's writer lock
        with sessions() as session, session.begin():
            session.connection()
            held.set()
            release.wait(10)

    holder = threading.Thread(target=other_process_batch)
    holder.start()
    assert held.wait(5)
    results: dict[str, Any] = {}
    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, writer.run(insert_name(n))))
               for n in ("first", "second", "third", "fourth")]
    threads[0].start()  # becomes the leader and waits for the lock
    time.sleep(0.2)
    for thread in threads[1:]:
        thread.start()  # they queue behind the waiting leader
    time.sleep(0.2)
    before = len(commits)
    release.set()
    for thread in threads + [holder]:
        thread.join(10)
    assert results == {n: n for n in ("first", "second", "third", "fourth")}
    assert names_on_disk(path) == set(results)
    assert len(commits) - before == 2  # the holder's commit, then one for all four
