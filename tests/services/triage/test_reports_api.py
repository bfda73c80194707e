"""The SLA summary API, the dashboard page and its CSV exports, through the triage app."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.services.triage.test_reports import build_history

CEO = {"Authorization": "Bearer dev-ceo"}
WINDOW = "from=2024-06-01&to=2024-06-07"


@pytest.fixture
def client(triage: Any) -> Any:
    with triage.sessions() as session, session.begin():
        build_history(session)
    return triage.create_app().test_client()


def test_summary_api_answers_leadership_with_the_hand_computed_figures(client: Any) -> None:
    body = client.get(f"/api/v1/sla/summary?{WINDOW}", headers=CEO).get_json()
    assert body["window"] == {"from": "2024-06-01T00:00:00+00:00", "to": "2024-06-08T00:00:00+00:00"}
    assert (body["open"], body["at_risk"], body["breached_open"], body["resolved"]) == (3, 1, 1, 4)
    assert body["resolved_within_sla_percent"] == 75.0 and body["scores"]["nps"]["nps"] == -28.6
    admin = client.get(f"/api/v1/sla/summary?{WINDOW}&team=logistics", headers={"Authorization": "Bearer dev-admin"})
    assert admin.status_code == 200 and admin.get_json()["resolved"] == 2
    assert "spikes" in body


def test_summary_api_refuses_employees_and_strangers(client: Any) -> None:
    assert client.get("/api/v1/sla/summary").status_code == 401
    for token in ("dev-ana", "dev-lead"):
        answer = client.get("/api/v1/sla/summary", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403 and answer.mimetype == "application/problem+json"


@pytest.mark.parametrize(("query", "field"), [
    ("from=yesterday", "from"), ("to=2024-13-01", "to"), ("from=2024-06-08&to=2024-06-01", "from"),
    ("team=<script>", "team"),
])
def test_bad_filters_are_422_naming_the_field(client: Any, query: str, field: str) -> None:
    answer = client.get(f"/api/v1/sla/summary?{query}", headers=CEO)
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert field in answer.get_json()["errors"]
    assert "<script>" not in answer.get_data(as_text=True).replace("\\u003c", "<").split('"errors"')[1]


def test_dashboard_page_needs_a_leader_and_shows_the_charts(client: Any) -> None:
    assert client.get("/dashboard").status_code == 302
    client.post("/login", data={"token": "dev-ana"})
    assert client.get("/dashboard").status_code == 403
    client.post("/login", data={"token": "dev-ceo"})
    page = client.get(f"/dashboard?{WINDOW}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("<svg") == 5 and "cdn" not in html.lower() and "<script" not in html
    assert 'data-kpi="within_sla">75.0%' in html and 'data-kpi="breached_open">1<' in html
    assert 'href="/tickets/' in html and "/api/v1/tickets/" not in html  # to their ticket pages, not JSON
    bad = client.get("/dashboard?from=soon&period=12")
    assert bad.status_code == 422 and "period" in bad.get_data(as_text=True)


def test_csv_export_of_a_table_view(client: Any) -> None:
    client.post("/login", data={"token": "dev-ceo"})
    answer = client.get(f"/dashboard/export.csv?table=team&{WINDOW}")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [(r["key"], r["resolved"], r["resolved_within_sla_percent"]) for r in rows] == [
        ("care", "2", "50.0"), ("logistics", "2", "100.0"), ("billing", "0", "")]
    attention = list(csv.DictReader(io.StringIO(client.get(f"/dashboard/export.csv?table=attention&{WINDOW}")
                                                .get_data(as_text=True))))
    assert [(r["sla_state"], r["team"]) for r in attention] == [("breached", "care"), ("at_risk", "logistics")]
    assert client.get("/dashboard/export.csv?table=secrets").status_code == 422


@pytest.mark.parametrize("table", ["attention", "team", "owner", "touchpoint", "priority", "root_cause", "days",
                                   "nps_by_touchpoint"])
def test_an_empty_csv_export_still_has_its_header_row(triage: Any, table: str) -> None:
    client = triage.create_app().test_client()
    client.post("/login", data={"token": "dev-ceo"})
    answer = client.get(f"/dashboard/export.csv?table={table}&{WINDOW}")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "empty" not in text
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].split(",")[0] in ("id", "key", "day", "touchpoint")
    with triage.sessions() as session, session.begin():
        build_history(session)
    full = client.get(f"/dashboard/export.csv?table={table}&{WINDOW}").get_data(as_text=True).splitlines()
    assert full[0] == lines[0] and len(full) > 1  # the same columns once there are rows
