"""``insert_rows`` stores exactly what SQLAlchemy's own multi-row insert stores, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, cast

import pytest
from sqlalchemy import Table, event, insert, select, text

from services.triage.database import Outbox
from services.triage.tickets.models import Feedback, Ticket, TimelineEntry
from shared.bulk import RowQueue, insert_rows
from shared.db import make_engine

NOW = datetime(2026, 11, 2, 9, 0, 0, 123456, tzinfo=UTC)
INDIA = timezone(timedelta(hours=5, minutes=30))
TABLES = [cast(Table, model.__table__) for model in (Feedback, Ticket, TimelineEntry, Outbox)]


def rows_of(tag: str) -> dict[str, list[dict[str, Any]]]:
    """Rows of every kind of column: text, numbers, JSON, bytes, NULLs, the same instant in two zones."""
    feedback, tickets, timeline, outbox = [], [], [], []
    for i in range(60):
        received = NOW - timedelta(minutes=i % 7)
        if i % 3 == 0:
            received = received.astimezone(INDIA)  # equal to the UTC value of another row
        fid, tid = f"{tag}-f{i}", f"{tag}-t{i}"
        feedback.append({"id": fid, "received_at": received, "source": "survey", "metric": "nps" if i % 2 else None,
                         "score": i % 11 if i % 2 else None, "rating": None if i % 2 else i % 5 + 1,
                         "comment": f"Ünïcode comment {i} ✓" if i % 4 else None, "touchpoint": "delivery",
                         "product": None, "locale": "en", "customer_name": "Ann", "customer_email": None,
                         "in_reply_to": None, "sentiment": "negative", "kind": "complaint",
                         "comment_score": -0.3125 * (i % 3) if i % 5 else None})
        tickets.append({column.key: None for column in cast(Table, Ticket.__table__).columns} | {
            "id": tid, "feedback_id": fid, "status": "open", "priority": "P2", "team": "support", "owner_id": "u1",
            "sla_state": "on_track", "received_at": received, "created_at": NOW,
            "due_at": received + timedelta(hours=4), "warn_at": received + timedelta(hours=3),
            "next_check_at": received + timedelta(hours=3),
            "escalation_level": 0, "touchpoint": "delivery", "kind": "complaint", "suggested_root_cause": "x",
            "suggested_confidence": 0.655, "reopened_count": 0, "updated_at": NOW})
        timeline.append({"ticket_id": tid, "at": NOW, "type": "ticket.created", "actor": None,
                         "detail": {"owner": "u1", "confidence": 0.5, "nested": [1, None, "é"]} if i % 2 else None})
        outbox.append({"event_id": f"{tag}-e{i}", "topic": "ticket.events", "key": tid,
                       "payload": f'{{"n":{i},"s":"ü"}}'.encode(), "created_at": NOW, "published_at": None})
    return {"feedback": feedback, "tickets": tickets, "ticket_timeline": timeline, "outbox": outbox}


def stored(connection: Any, tag: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's rows of ``tag`` as read back, tags and generated ids left out."""
    found = {}
    for table in TABLES:
        rows = connection.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
        ours = [row for row in rows if tag in str(row.get("ticket_id") or row.get("key") or row["id"])]
        found[table.name] = sorted(
            tuple(str(v).replace(tag, "") if isinstance(v, str) else v
                  for key, v in row.items() if key != "id" or table.name in ("feedback", "tickets"))
            for row in ours)
    return found


def test_rows_read_back_as_sqlalchemys_insert_stores_them(db_url: Any) -> None:
    engine = make_engine(db_url("triage"))
    with engine.begin() as connection:
        for table in TABLES:
            insert_rows(connection, table, rows_of("ours")[table.name])
            connection.execute(insert(table), rows_of("theirs")[table.name])
        insert_rows(connection, TABLES[0], [])
    with engine.connect() as connection:
        ours, theirs = stored(connection, "ours"), stored(connection, "theirs")
        # reading back turns JSON null and SQL NULL alike into None: count SQL NULLs in the database
        sql_nulls = {tag: connection.execute(text(
            "SELECT count(*) FROM ticket_timeline WHERE detail IS NULL AND ticket_id LIKE :tag"),
            {"tag": f"{tag}-%"}).scalar_one() for tag in ("ours", "theirs")}
    engine.dispose()
    assert ours == theirs
    assert sql_nulls["ours"] == sql_nulls["theirs"]
    assert [len(rows) for rows in ours.values()] == [60, 60, 60, 60]


def test_columns_with_python_defaults_must_be_given(db_url: Any) -> None:
    engine = make_engine(db_url("triage"))
    ticket = {k: v for k, v in rows_of("x")["tickets"][0].items() if k != "reopened_count"}
    with engine.begin() as connection, pytest.raises(ValueError, match="reopened_count"):
        insert_rows(connection, cast(Table, Ticket.__table__), [ticket])
    engine.dispose()


def test_a_row_queue_writes_parents_first_whatever_the_order_rows_were_queued(db_url: Any) -> None:
    engine = make_engine(db_url("triage"))
    rows, by_name = rows_of("q"), {table.name: table for table in TABLES}
    queue = RowQueue()
    assert not queue
    # a batch's first event may touch an existing ticket (a timeline row, an event) before a new one
    for name in ("outbox", "ticket_timeline", "tickets", "feedback"):
        for row in rows[name]:
            queue.add(by_name[name], row)
    assert queue and len(queue) == 4 * 60 and queue.rows(by_name["tickets"])[0]["id"] == "q-t0"
    statements: list[str] = []
    with engine.begin() as connection:
        event.listen(connection, "before_cursor_execute", lambda *args: statements.append(args[2]))
        queue.write(connection)
        assert not queue
    with engine.connect() as connection:
        assert [len(found) for found in stored(connection, "q").values()] == [60, 60, 60, 60]
    engine.dispose()
    written = [next(table.name for table in TABLES if f"INSERT INTO {table.name} " in sql) for sql in statements]
    # parents first; a table nobody references keeps its place in the queue
    assert written == ["outbox", "feedback", "tickets", "ticket_timeline"]
