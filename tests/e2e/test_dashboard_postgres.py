"""The whole system on PostgreSQL: the three services on fresh databases, feedback to the summary."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy import text as text_sql

from tests.conftest import PostgresServer, postgres_or_skip
from tests.deploy.promtool import check_metrics
from tests.e2e.conftest import start_stack
from tests.support import http, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


@pytest.fixture
def pg() -> Iterator[PostgresServer]:
    server = postgres_or_skip()
    yield server


def test_stack_runs_on_postgresql_and_the_summary_counts_the_ticket(pg: PostgresServer, tmp_path: Path) -> None:
    urls = {service: pg.create(service) for service in ("intake", "triage", "notify")}
    stack = start_stack(tmp_path, {f"{s.upper()}_DATABASE_URL": url for s, url in urls.items()})
    try:
        status, answer = http("POST", f"{stack.intake}/api/v1/feedback",
                              {"survey": {"metric": "nps", "score": 2}, "comment": "Parcel lost",
                               "touchpoint": "delivery"})
        assert status == 202, answer
        wait_for(lambda: http("GET", f"{stack.triage}/api/v1/tickets?feedback_id={answer['id']}",
                              token="dev-ceo")[1]["total"] == 1, 60, "the ticket on PostgreSQL")
        status, summary = http("GET", f"{stack.triage}/api/v1/sla/summary", token="dev-ceo")
        assert status == 200, summary
        assert summary["open"] == 1 and summary["breakdowns"]["team"][0]["key"] == "logistics"
        assert summary["scores"]["nps"]["detractors"] == 1
        for base in (stack.intake, stack.triage, stack.notify):
            status, text = http("GET", f"{base}/metrics")
            assert status == 200
            check_metrics(text)
        engine = create_engine(urls["triage"], poolclass=pool.NullPool)
        with engine.connect() as conn:  # the ticket really is in PostgreSQL
            assert conn.execute(text_sql("SELECT count(*) FROM tickets")).scalar() == 1
        engine.dispose()
    finally:
        stack.stop()
        for url in urls.values():
            pg.drop(url)
