"""Missing and forbidden pages answer as pages for browsers, problem+json for API clients (issue 19 item 9)."""

from __future__ import annotations

from typing import Any

from tests.shared.test_security_api import triage  # noqa: F401  (the fixture)

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_missing_page_is_an_html_page_for_a_browser(triage: Any) -> None:  # noqa: F811
    client = triage.create_app().test_client()
    page = client.get("/no-such-page", headers=BROWSER)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "Not Found" in page.get_data(as_text=True)
    api = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.mimetype == "application/problem+json"


def test_a_forbidden_page_is_an_html_page_and_the_api_stays_json(triage: Any) -> None:  # noqa: F811
    client = triage.create_app().test_client()
    client.post("/login", data={"token": "dev-ana"})
    page = client.get("/api/v1/sla/summary", headers=BROWSER)
    assert page.mimetype == "application/problem+json"
    forbidden = [r for r in triage.create_app().url_map.iter_rules() if r.rule == "/dashboard"]
    if forbidden:
        dashboard = client.get("/dashboard", headers=BROWSER)
        assert dashboard.mimetype == "text/html"
