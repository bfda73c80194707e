"""``among``: a batch of keys looked up by index on both databases, even on a table never analysed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import postgresql

from services.triage.tickets.models import Feedback
from shared.db import among, make_engine, make_session_factory
from tests.conftest import DbFactory

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def fill(url: str, count: int) -> tuple[Any, list[str]]:
    engine = make_engine(url)
    ids = [str(uuid.uuid4()) for _ in range(count)]
    with engine.begin() as conn:
        conn.execute(insert(Feedback.__table__), [
            {"id": i, "received_at": NOW, "source": "form", "sentiment": "negative", "kind": "complaint"}
            for i in ids])
    return engine, ids


def test_among_finds_exactly_the_keys_present(db_url: Any) -> None:
    engine, ids = fill(db_url("triage"), 2000)
    wanted = ids[::4] + [str(uuid.uuid4()) for _ in range(10)]
    with make_session_factory(engine)() as session:
        found = set(session.scalars(select(Feedback.id).where(among(session, Feedback.id, wanted))))
        assert found == set(ids[::4])
        assert not list(session.scalars(select(Feedback.id).where(among(session, Feedback.id, []))))
    engine.dispose()


@pytest.mark.postgres
def test_postgres_keeps_the_index_in_a_generic_plan_on_an_unanalysed_table(_pg_server: Any, tmp_path: Any) -> None:
    factory = DbFactory(tmp_path, _pg_server)
    engine, ids = fill(factory("triage"), 20000)
    with make_session_factory(engine)() as session:
        statement = select(Feedback.id).where(among(session, Feedback.id, ids[:500]))
        sql = str(statement.compile(dialect=postgresql.dialect()))
        assert sql.count("%(") == 1  # one array parameter, not one per key
        prepared = sql.replace("%(param_1)s", "$1")
        session.execute(text("SET plan_cache_mode = force_generic_plan"))
        session.connection().exec_driver_sql(f"PREPARE batch_lookup AS {prepared}")
        keys = ",".join(f"'{i}'" for i in ids[:500])
        plan = "\n".join(session.connection().exec_driver_sql(
            f"EXPLAIN EXECUTE batch_lookup(ARRAY[{keys}])").scalars())
    engine.dispose()
    factory.drop_all()
    assert "feedback_pkey" in plan and "Seq Scan" not in plan, plan
