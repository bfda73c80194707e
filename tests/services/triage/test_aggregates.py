"""The summary's aggregate tables agree with the tickets themselves, through every kind of change.

Triggers keep the tables; ``reports.summary(exact=True)`` recomputes every figure from the
tickets and feedback. A seeded random history (times at odd seconds, several days, every team)
goes through acknowledgements, resolutions, reopenings, reassignments, SLA state changes and
customer answers, and after each step both ways must give the same summary for windows that
start and end mid-hour, on hour boundaries, inside one day or one hour, and for one team.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from alembic import command
from sqlalchemy import Table, func, insert, select, text

from services.triage.reports import aggregates
from services.triage.reports import service as reports
from services.triage.reports.models import FeedbackHourly, OpenTicketCount, ResolvedHourly, TimeHourly
from services.triage.tickets.models import Feedback, Ticket
from shared.db import make_engine, make_session_factory
from shared.migrations_cli import alembic_config

DAY0 = datetime(2024, 3, 1, tzinfo=UTC)
NOW = DAY0 + timedelta(days=12)
TEAMS = {"care": ["u-ana", "u-ben"], "logistics": ["u-tom", "u-lena"], "billing": ["u-raj"]}
WINDOWS = [
    (DAY0, DAY0 + timedelta(days=12)),  # whole days only
    (DAY0 + timedelta(hours=5, seconds=17), DAY0 + timedelta(days=8, hours=7, minutes=13)),  # both edges partial
    (DAY0 + timedelta(days=2), DAY0 + timedelta(days=6, hours=23)),  # end partial
    (DAY0 + timedelta(days=3, hours=2), DAY0 + timedelta(days=3, hours=20)),  # inside one day
    (DAY0 + timedelta(days=4, hours=3, minutes=5), DAY0 + timedelta(days=4, hours=3, minutes=50)),  # inside one hour
    (DAY0 - timedelta(days=1), DAY0 + timedelta(days=30)),  # wider than the history
]
MEANS = ("mean", "mean_time_to_resolve_seconds")


def history(session: Any, rng: random.Random, count: int = 80, *, with_team: bool = True) -> list[Ticket]:
    """Feedback (some praise, some follow-up answers) and open tickets received over ten days; the
    feedback's team is its ticket's (praise: a team or none), unless the schema has no such column yet."""
    tickets = []
    for i in range(count):
        received = DAY0 + timedelta(seconds=rng.randrange(10 * 86400))
        metric = rng.choice(["nps", "nps", "csat", "ces", None])
        score = {"nps": rng.randrange(11), "csat": rng.randrange(1, 6), "ces": rng.randrange(1, 8), None: None}[metric]
        kind = rng.choice(["complaint", "complaint", "praise", "neutral"])
        fb = Feedback(id=str(uuid.uuid4()), received_at=received, source="survey", metric=metric, score=score,
                      rating=rng.choice([None, None, rng.randrange(1, 6)]),
                      touchpoint=rng.choice(["support", "delivery", None]),
                      sentiment="negative", kind=kind, in_reply_to=str(uuid.uuid4()) if i % 17 == 0 else None)
        # praise: a team (routing's) or, like feedback from before teams were kept, none
        team = rng.choice(sorted(TEAMS)) if kind != "praise" else [*sorted(TEAMS), None][i % (len(TEAMS) + 1)]
        if with_team:
            fb.team = team
        # only the columns set (a Core INSERT): the upgrade test writes these before later columns exist
        table = cast(Table, Feedback.__table__)
        session.execute(insert(table).values(**{c.key: getattr(fb, c.key) for c in table.columns
                                                if c.key in fb.__dict__}))
        if kind == "praise":
            continue
        ticket = Ticket(id=str(uuid.uuid4()), feedback_id=fb.id, status="open", priority=rng.choice(["P1", "P2", "P3"]),
                        team=team, owner_id=rng.choice(TEAMS[team]), sla_state="on_track", received_at=received,
                        created_at=received, due_at=received + timedelta(hours=24),
                        warn_at=received + timedelta(hours=18), escalation_level=0, touchpoint=fb.touchpoint,
                        kind=kind, reopened_count=0, updated_at=received)
        session.add(ticket)
        tickets.append(ticket)
    session.flush()
    return tickets


def change(tickets: list[Ticket], rng: random.Random) -> None:
    """One round of what people and the sweeper do to tickets."""
    for ticket in tickets:
        roll = rng.random()
        if ticket.status in ("open", "acknowledged"):
            if ticket.acknowledged_at is None and roll < 0.5:
                ticket.acknowledged_at = ticket.received_at + timedelta(seconds=rng.randrange(1, 9 * 3600))
                ticket.status = "acknowledged"
            elif roll < 0.8:
                # some land exactly on a bucket edge, the due time or a whole minute
                took = rng.choice([rng.randrange(60, 80 * 3600)] * 4 + [3600, 4 * 3600, 24 * 3600, 90 * 60])
                ticket.resolved_at = ticket.received_at + timedelta(seconds=took)
                ticket.status = "resolved"
                ticket.root_cause = rng.choice(["slow_response", "product_defect", "policy"])
                ticket.sla_state = "met" if ticket.resolved_at <= ticket.due_at else "missed"
            elif roll < 0.9:
                ticket.sla_state = rng.choice(["at_risk", "breached"])
            else:
                ticket.team = rng.choice(sorted(TEAMS))
                ticket.owner_id = rng.choice(TEAMS[ticket.team])
        elif ticket.status == "resolved":
            if roll < 0.4:
                ticket.customer_answer = rng.choice(["fixed", "not_fixed"])
            elif roll < 0.55:  # "not fixed": reopened with a fresh clock
                ticket.status, ticket.resolved_at, ticket.acknowledged_at = "open", None, None
                ticket.sla_state, ticket.reopened_count = "on_track", ticket.reopened_count + 1


def normalised(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary with means as ``approx`` (sums of float seconds, added in a different order)."""
    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items() if k != "generated_at"}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if key in MEANS and value is not None:
            return pytest.approx(value, abs=0.1)
        return value
    return walk(summary)


def assert_aggregates_agree(session: Any) -> None:
    for start, end in WINDOWS:
        for team in (None, "care", "logistics"):
            fast = reports.summary(session, now=NOW, start=start, end=end, team=team)
            exact = reports.summary(session, now=NOW, start=start, end=end, team=team, exact=True)
            assert normalised(fast) == normalised(exact), (start, end, team)
        # a team's scores are its own share: the teams' feedback together is at most everyone's
        # (praise with no team counts only in the whole), never each team counting it all
        whole = reports.summary(session, now=NOW, start=start, end=end)["feedback"]["total"]
        shares = [reports.summary(session, now=NOW, start=start, end=end, team=team)["feedback"]["total"]
                  for team in sorted(TEAMS)]
        assert sum(shares) <= whole, (start, end, shares, whole)


def test_aggregates_agree_with_the_tickets_through_every_change(triage: Any) -> None:
    rng = random.Random(7)
    with triage.sessions() as session, session.begin():
        tickets = history(session, rng)
    with triage.sessions() as session:
        before = reports.summary(session, now=NOW, start=WINDOWS[0][0], end=WINDOWS[0][1])
        assert before["open"] > 40 and before["resolved"] == 0
        assert_aggregates_agree(session)
    for _ in range(4):
        with triage.sessions() as session, session.begin():
            tickets = [session.merge(t, load=True) for t in tickets]
            change(tickets, rng)
        with triage.sessions() as session:
            assert_aggregates_agree(session)
    with triage.sessions() as session:
        after = reports.summary(session, now=NOW, start=WINDOWS[0][0], end=WINDOWS[0][1])
    # the history really moved: resolutions, answers, reopenings and acknowledgements all happened
    assert after["resolved"] > 20 and after["detractor_recovery"]["answered"] > 0
    assert after["time_to_acknowledge_seconds"]["count"] > 5 and after["at_risk"] + after["breached_open"] > 0
    assert sum(t.reopened_count for t in tickets) > 0


def test_compaction_folds_the_deltas_and_changes_no_figure(triage: Any) -> None:
    rng = random.Random(11)
    with triage.sessions() as session, session.begin():
        tickets = history(session, rng)
    for _ in range(3):
        with triage.sessions() as session, session.begin():
            change([session.merge(t, load=True) for t in tickets], rng)
    with triage.sessions() as session:
        before = {start: reports.summary(session, now=NOW, start=start, end=end) for start, end in WINDOWS}
        rows_before = _rows(session)
    folded = triage.sweeper.compact_once()  # what the schedule role runs every minute
    with triage.sessions() as session:
        rows_after = _rows(session)
        assert folded == rows_before - rows_after and rows_after < rows_before / 2
        for start, end in WINDOWS:
            assert normalised(reports.summary(session, now=NOW, start=start, end=end)) == normalised(before[start])
        assert_aggregates_agree(session)
    with triage.sessions() as session, session.begin():
        assert aggregates.compact(session)[0] == 0  # already one row per key


def test_a_later_compaction_folds_only_the_keys_that_changed(triage: Any) -> None:
    rng = random.Random(13)
    with triage.sessions() as session, session.begin():
        tickets = history(session, rng)
        change(tickets, rng)
    with triage.sessions() as session, session.begin():
        _, marks = aggregates.compact(session)
    with triage.sessions() as session:
        ids_before = _ids(session)
    with triage.sessions() as session, session.begin():  # three tickets change
        moved = [session.merge(t, load=True) for t in tickets[:3]]
        for ticket in moved:
            ticket.sla_state = "breached" if ticket.status != "resolved" else ticket.sla_state
            ticket.customer_answer = "fixed" if ticket.status == "resolved" else None
        moved[0].team, moved[0].owner_id = "billing", "u-raj"
    with triage.sessions() as session, session.begin():
        folded, _ = aggregates.compact(session, marks)
    with triage.sessions() as session:
        ids_after = _ids(session)
        assert folded > 0
        assert len(ids_before - ids_after) <= 12 < len(ids_before & ids_after)  # the rest kept their rows
        for table in aggregates.TABLES:  # and every key is one row again
            keys = [c for c in table.__table__.columns if c.name not in ("id", *aggregates.MEASURES)]
            assert session.execute(select(*keys).group_by(*keys).having(func.count() > 1)).all() == []
        assert_aggregates_agree(session)


def test_the_schedule_role_folds_rows_of_a_transaction_open_during_its_last_run(pg_url: str,
                                                                                 make_triage: Any) -> None:
    """PostgreSQL: a writer's rows get ids before a run's mark but commit after it; the next run folds them."""
    service = make_triage(pg_url)
    rng = random.Random(17)
    with service.sessions() as session, session.begin():
        history(session, rng, count=30)
    service.sweeper.compact_once()  # everything
    writer = service.sessions()
    writer.begin()
    history(writer, rng, count=10)  # ids taken now, rows invisible until the commit below
    with service.sessions() as session, session.begin():
        history(session, rng, count=3)  # committed meanwhile: the next run folds these, with newer ids
    service.sweeper.compact_once()  # its mark is above the writer's ids
    writer.commit()
    writer.close()
    service.sweeper.compact_once()  # starts from the mark of the run before last
    with service.sessions() as session:
        for table in aggregates.TABLES:
            keys = [c for c in table.__table__.columns if c.name not in ("id", *aggregates.MEASURES)]
            assert session.execute(select(*keys).group_by(*keys).having(func.count() > 1)).all() == []
        assert_aggregates_agree(session)


def _ids(session: Any) -> set[tuple[str, int]]:
    return {(t.__tablename__, i) for t in aggregates.TABLES for i in session.scalars(select(t.id))}


def _rows(session: Any) -> int:
    return sum(session.scalar(select(func.count()).select_from(t)) for t in
               (OpenTicketCount, ResolvedHourly, TimeHourly, FeedbackHourly))


def test_upgrading_folds_in_the_tickets_already_there(db_url: Any) -> None:
    url = db_url("triage", migrated=False)
    command.upgrade(alembic_config("triage", url), "0004")
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    rng = random.Random(3)
    with sessions() as session, session.begin():
        tickets = history(session, rng, with_team=False)
        change(tickets, rng)
        change(tickets, rng)
    command.upgrade(alembic_config("triage", url), "head")  # feedback takes its ticket's team
    with sessions() as session:
        assert reports.summary(session, now=NOW, start=WINDOWS[0][0], end=WINDOWS[0][1])["resolved"] > 10
        assert_aggregates_agree(session)
    command.downgrade(alembic_config("triage", url), "0004")
    with engine.connect() as conn:  # the triggers went with the tables: writes still work
        conn.execute(text("UPDATE tickets SET sla_state = 'breached' WHERE status = 'open'"))
        conn.commit()
    engine.dispose()


def test_compaction_never_loses_a_delta_committed_meanwhile(pg_url: str, make_triage: Any) -> None:
    """PostgreSQL: a transaction still open while compaction runs keeps its rows, and they count."""
    service = make_triage(pg_url)
    rng = random.Random(5)
    with service.sessions() as session, session.begin():
        history(session, rng, count=30)
    writer = service.sessions()
    writer.begin()
    late = history(writer, rng, count=10)  # uncommitted: its delta rows are invisible to compaction
    with service.sessions() as session, session.begin():
        assert aggregates.compact(session)[0] > 0
    writer.commit()
    writer.close()
    with service.sessions() as session:
        assert_aggregates_agree(session)
        assert reports.summary(session, now=NOW, start=WINDOWS[0][0], end=WINDOWS[0][1])["open"] >= len(late)
