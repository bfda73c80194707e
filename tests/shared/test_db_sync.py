"""Synced commits on SQLite: a durable engine syncs every commit, except transactions marked
``UNSYNCED`` (the outbox relay's marks), and the connection is synced again right after them."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from shared.db import make_engine, make_session_factory
from shared.sqlite import UNSYNCED

FULL, NORMAL = 2, 1


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    # one pooled connection, so that every transaction below runs on the same one
    engine = make_engine(f"sqlite:///{tmp_path / 'sync.db'}", durable_commits=True, pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE marks (id INTEGER PRIMARY KEY)"))
    yield engine
    engine.dispose()


def synchronous_now(session: object) -> int:
    return session.execute(text("PRAGMA synchronous")).scalar_one()  # type: ignore[attr-defined]


@pytest.mark.parametrize("ending", ["commit", "rollback"])
def test_an_unsynced_transaction_is_not_synced_and_the_next_one_is(engine: Engine, ending: str) -> None:
    sessions = make_session_factory(engine)
    with sessions() as session:
        session.connection(execution_options={UNSYNCED: True})
        session.execute(text("INSERT INTO marks DEFAULT VALUES"))
        assert synchronous_now(session) == NORMAL
        getattr(session, ending)()
    with sessions() as session, session.begin():
        session.execute(text("INSERT INTO marks DEFAULT VALUES"))
        assert synchronous_now(session) == FULL
    with sessions() as session:
        assert session.execute(text("SELECT count(*) FROM marks")).scalar_one() == (2 if ending == "commit" else 1)


def test_a_commit_that_fails_still_leaves_the_connection_synced(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE parents (id INTEGER PRIMARY KEY)"))
        conn.execute(text("CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id INTEGER "
                          "REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"))
    sessions = make_session_factory(engine)
    with sessions() as session:
        session.connection(execution_options={UNSYNCED: True})
        session.execute(text("INSERT INTO children (parent_id) VALUES (42)"))  # checked only at COMMIT
        with pytest.raises(IntegrityError):
            session.commit()
    with sessions() as session, session.begin():
        assert synchronous_now(session) == FULL


def test_a_connection_closed_inside_an_unsynced_transaction_lets_the_next_writer_in(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    session = sessions()
    session.connection(execution_options={UNSYNCED: True})
    session.execute(text("INSERT INTO marks DEFAULT VALUES"))
    session.connection().invalidate()  # as the pool does after a disconnect error
    session.close()
    written = threading.Event()

    def write() -> None:
        with sessions() as other, other.begin():
            other.execute(text("INSERT INTO marks DEFAULT VALUES"))
        written.set()

    threading.Thread(target=write, daemon=True).start()
    assert written.wait(5), "the writer lock was never released"
