"""Triage's SLA metrics on /metrics: read from the database, accepted by promtool."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from services.triage.reports.metrics import SlaCollector
from services.triage.tickets.models import Ticket, TimelineEntry
from tests.deploy.promtool import check_metrics
from tests.services.triage.test_reports import NOW, build_history


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_sla_metrics_come_from_the_database_and_pass_promtool(triage: Any) -> None:
    with triage.sessions() as session, session.begin():
        build_history(session)
        session.flush()
        breached = session.scalars(select(Ticket).where(Ticket.sla_state.in_(("breached", "missed")))).all()
        for ticket in breached:
            session.add(TimelineEntry(ticket_id=ticket.id, at=NOW, type="ticket.sla_breached"))
            session.add(TimelineEntry(ticket_id=ticket.id, at=NOW, type="ticket.escalated"))
        session.add(TimelineEntry(ticket_id=breached[0].id, at=NOW, type="ticket.escalated"))
    text = triage.create_app().test_client().get("/metrics").get_data(as_text=True)
    check_metrics(text)
    got = samples(text)
    assert got[("closeloop_triage_open_tickets", (("sla_state", "breached"),))] == 1
    assert got[("closeloop_triage_open_tickets", (("sla_state", "at_risk"),))] == 1
    assert got[("closeloop_triage_open_tickets", (("sla_state", "on_track"),))] == 1
    assert got[("closeloop_triage_sla_breaches_total", ())] == 2
    assert got[("closeloop_triage_escalations_total", ())] == 3
    # five resolved tickets: 3 h, 6 h, 12 h, 20 h (T5) and 30 h
    hist = {float(dict(labels)["le"]): v for (name, labels), v in got.items()
            if name == "closeloop_triage_time_to_resolve_seconds_bucket"}
    assert (hist[3600], hist[4 * 3600], hist[8 * 3600], hist[24 * 3600], hist[float("inf")]) == (0, 1, 2, 4, 5)
    assert got[("closeloop_triage_time_to_resolve_seconds_sum", ())] == 71 * 3600
    assert got[("closeloop_triage_time_to_resolve_seconds_count", ())] == 5


def test_collector_caches_between_scrapes(triage: Any) -> None:
    collector = SlaCollector(triage.sessions, ttl_seconds=3600)
    first = collector.figures()
    with triage.sessions() as session, session.begin():
        build_history(session)
    assert collector.figures() == first  # within the ttl: no new queries
    assert SlaCollector(triage.sessions, ttl_seconds=0).figures()["open"]["breached"] == 1
