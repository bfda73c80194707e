"""New rows of a consumer batch: plain values with every column, queued in the batch's unit of work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table

from services.triage.tickets.models import Feedback, NewFeedback, NewTicket, Ticket
from services.triage.unit_of_work import Batch

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_new_row_names_every_column_of_its_table() -> None:
    ticket = NewTicket(id="t-1", feedback_id="f-1", status="open", priority="P2", team="care", owner_id="u-ana",
                       received_at=NOW, created_at=NOW, updated_at=NOW, kind="complaint")
    assert ticket.row().keys() == {c.key for c in cast(Table, Ticket.__table__).columns}
    assert ticket.row()["due_at"] is None and ticket.row()["escalation_level"] == 0
    feedback = NewFeedback(id="f-1", received_at=NOW, source="survey", sentiment="negative", kind="complaint")
    assert feedback.row().keys() == {c.key for c in cast(Table, Feedback.__table__).columns}


def test_a_misspelt_column_is_refused() -> None:
    values: dict[str, Any] = {"owner": "u-ana"}
    with pytest.raises(TypeError, match="owner"):
        NewTicket(id="t-1", **values)


def test_a_batch_queues_rows_until_it_writes(triage: Any) -> None:
    with triage.sessions() as session, session.begin():
        batch = Batch(session)
        batch.add(Feedback, NewFeedback(id="f-1", received_at=NOW, source="survey", sentiment="negative",
                                        kind="complaint").row())
        assert session.get(Feedback, "f-1") is None  # queued, not written
        batch.write()
        stored = session.get(Feedback, "f-1")
        assert stored is not None and stored.source == "survey"
        assert not batch.rows
