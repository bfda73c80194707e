"""Drafts: the plain rows a consumer batch builds in place of ORM instances."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from services.triage.models import Feedback, Ticket
from services.triage.tickets import PendingRows, draft, instance

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_draft_has_every_column_like_a_transient_instance() -> None:
    ticket = draft(Ticket, id="t-1", status="open")
    assert ticket.id == "t-1" and ticket.owner_id is None and ticket.due_at is None
    ticket.due_at = NOW
    pending = PendingRows()
    pending.add_ticket(ticket)
    pending.add_ticket(Ticket(id="t-2", status="open", due_at=NOW))
    assert pending.tickets[0].keys() == pending.tickets[1].keys()  # one multi-row INSERT takes both
    assert pending.tickets[0]["due_at"] == NOW and pending.tickets[0]["owner_id"] is None


def test_a_misspelt_column_is_refused() -> None:
    with pytest.raises(TypeError, match="owner"):
        draft(Ticket, id="t-1", owner="u-ana")


def test_instance_turns_a_draft_into_an_orm_object_with_its_columns() -> None:
    feedback = draft(Feedback, id="f-1", source="follow_up", comment="still broken", received_at=NOW)
    real = instance(feedback)
    assert isinstance(real, Feedback) and inspect(real).transient
    assert (real.id, real.source, real.comment, real.received_at) == ("f-1", "follow_up", "still broken", NOW)
    assert instance(real) is real
