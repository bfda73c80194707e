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
    answer = client.get("/api/v1/sla/summary", headers={"Authorization": "Bearer dev-ana"})
    assert answer.status_code == 403 and answer.mimetype == "application/problem+json"


def test_a_lead_sees_their_own_teams_summary_and_no_other(client: Any) -> None:
    lena = {"Authorization": "Bearer dev-lena"}
    own = client.get(f"/api/v1/sla/summary?{WINDOW}", headers=lena)
    assert own.status_code == 200 and own.get_json()["team"] == "logistics"  # forced to her team
    body = own.get_json()
    assert (body["resolved"], body["resolved_within_sla_percent"]) == (2, 100.0)
    assert [t["key"] for t in body["breakdowns"]["team"]] == ["logistics"]
    other = client.get(f"/api/v1/sla/summary?{WINDOW}&team=care", headers=lena)
    assert other.status_code == 403 and "logistics" in other.get_json()["detail"]
    lee = {"Authorization": "Bearer dev-lead"}  # leads Care, and Billing by the org file
    assert client.get(f"/api/v1/sla/summary?{WINDOW}", headers=lee).get_json()["team"] == "care"
    assert client.get(f"/api/v1/sla/summary?{WINDOW}&team=billing", headers=lee).status_code == 200
    client.post("/login", data={"token": "dev-lena"})
    page = client.get(f"/dashboard?{WINDOW}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html" and "Team dashboard" in html
    assert "All teams" not in html and ">Customer Care<" not in html
    refused = client.get(f"/dashboard?{WINDOW}&team=care")
    assert refused.status_code == 403 and refused.mimetype == "text/html"
    rows = list(csv.DictReader(io.StringIO(client.get(f"/dashboard/export.csv?table=owner&{WINDOW}")
                                           .get_data(as_text=True))))
    assert {r["key"] for r in rows} == {"u-tom", "u-lena"}


def test_one_headline_says_whether_the_promise_holds_and_each_owner_and_team_has_a_promise_percent(
        client: Any) -> None:
    body = client.get(f"/api/v1/sla/summary?{WINDOW}", headers=CEO).get_json()
    # 3 resolved within SLA; broken: 1 resolved late and 1 breached still open
    assert body["promise_kept_percent"] == 60.0
    assert body["headline"] == {"state": "broken", "text": "The promise is not holding: 60% of tickets kept it "
                                                           "(3 of 5), 1 breached ticket still open."}
    teams = {r["key"]: r["promise_kept_percent"] for r in body["breakdowns"]["team"]}
    assert teams == {"care": 33.3, "logistics": 100.0, "billing": None}
    owners = {r["key"]: r["promise_kept_percent"] for r in body["breakdowns"]["owner"]}
    assert owners["u-ana"] == 50.0 and owners["u-ben"] == 0.0 and owners["u-tom"] == 100.0
    logistics = client.get(f"/api/v1/sla/summary?{WINDOW}&team=logistics", headers=CEO).get_json()
    assert logistics["headline"]["state"] == "holding" and logistics["headline"]["text"].startswith(
        "The promise is holding: 100% of tickets kept it (2 of 2), none breached")
    client.post("/login", data={"token": "dev-ceo"})
    rows = list(csv.DictReader(io.StringIO(client.get(f"/dashboard/export.csv?table=owner&{WINDOW}")
                                           .get_data(as_text=True))))
    assert {r["key"]: r["promise_kept_percent"] for r in rows}["u-ana"] == "50.0"
    html = client.get(f"/dashboard?{WINDOW}").get_data(as_text=True)
    assert 'data-headline="broken"' in html and "60% of tickets kept it (3 of 5)" in html
    assert 'data-promise="u-ana">50.0%' in html


def test_nps_over_time_is_a_server_drawn_trend(client: Any) -> None:
    body = client.get(f"/api/v1/sla/summary?{WINDOW}", headers=CEO).get_json()
    assert [(d["day"], d["responses"], d["nps"]) for d in body["nps_by_day"]] == [
        ("2024-06-01", 1, -100.0), ("2024-06-02", 2, 0.0), ("2024-06-03", 2, 0.0), ("2024-06-04", 1, -100.0),
        ("2024-06-06", 1, 0.0)]
    client.post("/login", data={"token": "dev-ceo"})
    html = client.get(f"/dashboard?{WINDOW}").get_data(as_text=True)
    trend = html.split('id="nps-trend"')[1].split("</section>")[0]
    assert "<polyline" in trend and trend.count("<circle") == 5 and "2024-06-02: NPS +0 (2 answers)" in trend


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
    assert html.count("<svg") == 6 and "cdn" not in html.lower() and "<script" not in html
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
