"""The SLA sweeper against real databases: each warning, breach and escalation happens exactly once,
also with two sweepers running at the same moment."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.triage.app import Triage
from services.triage.database import Outbox
from services.triage.jobs import Sweeper
from services.triage.tickets.models import Ticket, TimelineEntry
from shared.events import decode_event
from tests.services.triage.test_handlers import NOW, feedback_event, handle

RECEIVED = NOW - timedelta(seconds=30)
WARN = RECEIVED + timedelta(hours=18)
DUE = RECEIVED + timedelta(hours=24)
ESC = 14400  # TRIAGE_ESCALATION_SECONDS default


def published(service: Triage) -> list[Any]:
    with service.sessions() as session:
        return [decode_event(row.payload) for row in session.scalars(select(Outbox).order_by(Outbox.id))]


def sweep_at(service: Triage, when: Any, batch: int = 500) -> int:
    return Sweeper(session_factory=service.sessions, ctx=service.ctx, interval=1, batch=batch,
                   clock=lambda: when).sweep_once()


def open_tickets(service: Triage, n: int) -> list[Ticket]:
    return [handle(service, feedback_event(survey={"metric": "nps", "score": 5}, comment=f"Support never replied {i}"))
            for i in range(n)]


@pytest.fixture(params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, make_triage: Callable[..., Triage], db_url: Any) -> Triage:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else db_url("triage")
    return make_triage(url)


def test_warning_breach_and_escalation_up_the_chain_each_once(service: Triage) -> None:
    tickets = open_tickets(service, 3)
    org = service.org
    assert sweep_at(service, WARN - timedelta(seconds=1)) == 0
    assert sweep_at(service, WARN) == 3
    assert sweep_at(service, WARN + timedelta(minutes=1)) == 0
    assert sweep_at(service, DUE) == 6  # a breach and the first escalation for each
    assert sweep_at(service, DUE + timedelta(seconds=ESC - 1)) == 0
    second_level = sum(1 for t in tickets if len(org.chain(t.owner_id)) > 1)
    assert sweep_at(service, DUE + timedelta(seconds=ESC)) == second_level
    assert sweep_at(service, DUE + timedelta(days=30)) == 0

    events = [e for e in published(service) if e.type != "ticket.created"]
    for ticket in tickets:
        mine = [e for e in events if e.subject == ticket.id]
        chain = org.chain(ticket.owner_id)
        expected = ["ticket.sla_warning", "ticket.sla_breached"] + ["ticket.escalated"] * len(chain)
        assert [e.type for e in mine] == expected
        assert [e.data["escalated_to"]["id"] for e in mine[2:]] == [u.id for u in chain]
        assert mine[1].data["sla_state"] == "breached" and mine[0].data["sla_state"] == "at_risk"
    with service.sessions() as session:
        timeline = Counter(session.scalars(select(TimelineEntry.type)))
        stored = session.get(Ticket, tickets[0].id)
        assert stored is not None and stored.sla_state == "breached" and stored.next_check_at is None
    assert timeline["ticket.sla_breached"] == 3 and timeline["ticket.sla_warning"] == 3


def test_resolved_tickets_never_breach(service: Triage) -> None:
    from services.triage.tickets import service as actions
    from services.triage.unit_of_work import UnitOfWork

    ticket = open_tickets(service, 1)[0]
    with service.sessions() as session, session.begin():
        stored = session.get(Ticket, ticket.id)
        assert stored is not None
        actions.resolve(UnitOfWork(session), stored, NOW + timedelta(hours=1), ctx=service.ctx,
                        actor=service.org.users["u-ceo"], root_cause="slow_response",
                        resolution="Answered the customer")
    assert sweep_at(service, DUE + timedelta(days=2)) == 0
    assert [e.type for e in published(service)] == ["ticket.created", "ticket.resolved"]
    assert published(service)[-1].data["sla_state"] == "met"


def run_two_sweepers(make: Callable[[], Triage], when: Any) -> list[int]:
    results: list[int] = [0, 0]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)
    services = [make(), make()]  # two replicas: separate engines and connections

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = sweep_at(services[i], when, batch=15)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


@pytest.mark.postgres
def test_two_sweepers_at_once_on_postgresql_escalate_each_breach_exactly_once(
        make_triage: Callable[..., Triage], pg_url: str) -> None:
    check_two_sweepers(lambda: make_triage(pg_url))


def test_two_sweepers_at_once_on_sqlite_escalate_each_breach_exactly_once(
        make_triage: Callable[..., Triage], db_url: Any) -> None:
    url = db_url("triage")
    check_two_sweepers(lambda: make_triage(url))


def check_two_sweepers(make: Callable[[], Triage]) -> None:
    first = make()
    tickets = open_tickets(first, 120)
    when = DUE + timedelta(seconds=ESC)  # warning, breach, manager, and the next level all due at once
    results = run_two_sweepers(make, when)
    events = [e for e in published(first) if e.type != "ticket.created"]
    steps = Counter((e.subject, e.type, e.data.get("escalation_level")) for e in events)
    assert max(steps.values()) == 1, [k for k, v in steps.items() if v > 1][:5]
    for ticket in tickets:
        chain = first.org.chain(ticket.owner_id)
        assert steps[(ticket.id, "ticket.sla_breached", None)] == 1
        for level in range(1, len(chain) + 1):
            assert steps[(ticket.id, "ticket.escalated", level)] == 1
    assert sum(results) == len(events)
    assert sweep_at(first, when) == 0
