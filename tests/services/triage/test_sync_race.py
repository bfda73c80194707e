"""Replicas start together: the one that loses the race to create assignee rows keeps starting."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.triage import app as triage_app
from services.triage.routing.models import Assignee
from shared.org import Org


def test_a_replica_that_loses_the_assignee_race_carries_on(pg_url: str, make_triage: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    other = make_triage(pg_url)  # a replica that has already synced
    with other.sessions() as session, session.begin():
        session.query(Assignee).delete()
    mine = triage_app.Triage(other.settings)
    real = triage_app.routing.sync_assignees
    raced: list[bool] = []

    def racing(session: Session, org: Org) -> None:
        real(session, org)  # found no rows and queued inserts for every member
        if not raced:
            raced.append(True)
            other.sync()  # the other replica commits the same rows first
    monkeypatch.setattr(triage_app.routing, "sync_assignees", racing)
    mine.sync()
    assert raced
    with mine.sessions() as session:
        rows = session.execute(select(Assignee.user_id, func.count()).group_by(Assignee.user_id)).all()
    assert rows and all(count == 1 for _, count in rows)
