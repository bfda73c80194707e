"""A leader logs in with a browser, reads the dashboard's charts, downloads a CSV table and filters by team
(every figure changes); a lead opens their team's dashboard from the inbox's menu."""

from __future__ import annotations

import csv
import io
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from services.triage.tickets.models import Feedback, Ticket
from shared.db import make_engine, make_session_factory
from tests.e2e.conftest import Stack, start_stack
from tests.support import http, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("CLOSELOOP_SCREENSHOTS", "/tmp"))
CAUSES = ["delivery_logistics"] * 6 + ["product_defect"] * 4 + ["billing_payment"] * 3 + ["website_app", "policy"]
PLACES = [("delivery", "logistics", "u-tom"), ("checkout", "digital", "u-sam"), ("billing", "billing", "u-raj"),
          ("support", "care", "u-ana"), ("installation", "care", "u-ben")]


def seed_history(url: str, now: datetime) -> dict[str, int]:
    """Resolved tickets and praise from the last three weeks, written straight into triage's database.

    Returns how many resolved tickets each team got (all resolved well inside the last 30 days).
    """
    rng = random.Random(7)
    resolved: dict[str, int] = {}
    sessions = make_session_factory(make_engine(url))
    with sessions() as session, session.begin():
        for i in range(60):
            received = now - timedelta(days=20) + timedelta(hours=i * 5.3)
            touchpoint, team, owner = PLACES[i % len(PLACES)]
            score = rng.choice([0, 2, 3, 4, 5, 6, 7, 9, 10]) if i % 3 else rng.choice([9, 10])
            kind = "praise" if score >= 9 else ("neutral" if score >= 7 else "complaint")
            fb = Feedback(id=str(uuid.uuid4()), received_at=received, source="survey", metric="nps", score=score,
                          touchpoint=touchpoint, sentiment="x", kind=kind, team=team)
            session.add(fb)
            if kind == "praise":
                continue
            resolved[team] = resolved.get(team, 0) + 1
            hours = rng.choice([0.5, 2, 3, 5, 7, 11, 15, 20, 22, 30, 40, 60])
            session.add(Ticket(
                id=str(uuid.uuid4()), feedback_id=fb.id, status="resolved", priority="P2", team=team, owner_id=owner,
                sla_state="met" if hours <= 24 else "missed", received_at=received, created_at=received,
                due_at=received + timedelta(hours=24), warn_at=received + timedelta(hours=18), escalation_level=0,
                acknowledged_at=received + timedelta(hours=min(hours, 1)),
                resolved_at=received + timedelta(hours=hours), touchpoint=touchpoint, kind=kind,
                root_cause=CAUSES[i % len(CAUSES)], reopened_count=0, updated_at=received,
                customer_answer="fixed" if i % 4 == 0 else None))
        for hours_ago, state, (touchpoint, team, owner) in ((30, "breached", PLACES[0]), (27, "breached", PLACES[3]),
                                                            (20, "at_risk", PLACES[2])):
            received = now - timedelta(hours=hours_ago)
            fb = Feedback(id=str(uuid.uuid4()), received_at=received, source="survey", metric="nps", score=1,
                          touchpoint=touchpoint, sentiment="negative", kind="complaint", team=team)
            session.add(fb)
            session.add(Ticket(
                id=f"seeded-{state}-{hours_ago}", feedback_id=fb.id, status="open", priority="P1", team=team,
                owner_id=owner, sla_state=state, received_at=received, created_at=received,
                due_at=received + timedelta(hours=24), warn_at=received + timedelta(hours=18), escalation_level=1,
                touchpoint=touchpoint, kind="complaint", reopened_count=0, updated_at=received))
    return resolved


@pytest.fixture(scope="module")
def dashboard_stack(tmp_path_factory: pytest.TempPathFactory) -> Any:
    stack = start_stack(tmp_path_factory.mktemp("dash"), {"TRIAGE_SLA_SECONDS": "86400"})
    yield stack
    stack.stop()


def test_leader_sees_the_charts_and_downloads_the_csv(dashboard_stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    stack = dashboard_stack
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM}, which this machine lacks")
    for body in ({"survey": {"metric": "nps", "score": 2}, "comment": "Parcel never came", "touchpoint": "delivery"},
                 {"survey": {"metric": "nps", "score": 10}, "comment": "Lovely", "touchpoint": "support"}):
        assert http("POST", f"{stack.intake}/api/v1/feedback", body)[0] == 202
    wait_for(lambda: http("GET", f"{stack.triage}/api/v1/tickets", token="dev-ceo")[1]["total"] >= 1, 60,
             "the live ticket")
    resolved = seed_history(f"sqlite:///{stack.var / 'triage.db'}", datetime.now(UTC))

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page.goto(f"{stack.triage}/dashboard")
        assert "/login" in page.url
        page.fill("input[name=token]", "dev-ceo")
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard**")
        assert page.locator("h1").inner_text() == "Leadership dashboard"
        charts = page.locator("svg.chart")
        assert charts.count() == 6
        assert page.locator("#nps-trend svg circle").count() > 5  # NPS over time
        headline = page.locator("[data-headline]").inner_text()
        assert "promise" in headline and "kept it" in headline
        for section in ("compliance", "distribution", "pareto", "nps", "kinds"):
            assert page.locator(f"#{section} svg rect").count() > 0, f"{section} chart has no bars"
        assert int(page.locator('[data-kpi="resolved"]').inner_text()) == sum(resolved.values())
        assert int(page.locator('[data-kpi="open"]').inner_text()) >= 1
        rows = page.locator("#attention tbody tr")
        assert rows.count() == 3 and "breached" in rows.first.inner_text()
        page.screenshot(path=str(SHOTS / "closeloop-dashboard.png"), full_page=True)
        link = rows.first.locator("a").get_attribute("href")
        assert link == "/tickets/seeded-breached-30"  # the ticket's page, not its JSON
        ticket_page = page.request.get(f"{stack.triage}{link}")
        assert ticket_page.ok and "breached" in ticket_page.text()

        with page.expect_download() as download:
            page.locator("#by-team a[download]").click()
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        assert {r["key"] for r in rows} >= {"logistics", "digital", "billing", "care"}
        assert {r["key"]: int(r["resolved"]) for r in rows if int(r["resolved"])} == resolved

        def figures() -> dict[str, str]:
            shown = {k: page.locator(f'[data-kpi="{k}"]').inner_text()
                     for k in ("open", "breached_open", "resolved", "within_sla", "nps")}
            shown["headline"] = page.locator("[data-headline]").inner_text()
            shown["kinds"] = page.locator("#kinds svg").inner_html()
            shown["trend"] = page.locator("#nps-trend svg").inner_html()
            shown["touchpoints"] = page.locator("#nps svg").inner_html()
            return shown

        everyone = figures()
        page.select_option("#team", "logistics")
        page.click("form.filters button[type=submit]")
        page.wait_for_url("**team=logistics**")
        assert int(page.locator('[data-kpi="resolved"]').inner_text()) == resolved["logistics"]
        logistics = figures()
        assert [k for k in everyone if everyone[k] == logistics[k]] == []  # every figure follows the team
        page.screenshot(path=str(SHOTS / "closeloop-dashboard-logistics.png"), full_page=True)
        browser.close()


def test_a_lead_opens_their_teams_dashboard_from_the_menu(dashboard_stack: Stack) -> None:
    from playwright.sync_api import sync_playwright

    stack = dashboard_stack
    if not Path(CHROMIUM).exists():
        pytest.skip(f"needs Chromium at {CHROMIUM}, which this machine lacks")
    wait_for(lambda: http("GET", f"{stack.triage}/api/v1/tickets", token="dev-ceo")[1]["total"] >= 1, 60,
             "a ticket")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{stack.triage}/inbox")
        page.fill("input[name=token]", "dev-lena")
        page.click("button[type=submit]")
        page.wait_for_url("**/inbox**")
        page.click("header nav >> text=Dashboard")
        page.wait_for_url("**/dashboard**")
        assert page.locator("h1").inner_text() == "Team dashboard"  # a page, not a JSON 403
        team = page.locator("#team")
        assert team.locator("option").all_inner_texts() == ["Logistics"]
        for row in page.locator("#by-team tbody tr").all_inner_texts():
            assert row.startswith("Logistics")
        owners = {row.split("\t")[0] for row in page.locator("#by-owner tbody tr").all_inner_texts()}
        assert owners and owners <= {"Tom Nguyen", "Lena Fischer"}
        assert page.locator("[data-headline]").inner_text().startswith("The promise")
        page.screenshot(path=str(SHOTS / "closeloop-dashboard-lead.png"), full_page=True)
        other = page.goto(f"{stack.triage}/dashboard?team=care")
        assert other is not None and other.status == 403 and "own team" in page.content()
        browser.close()
