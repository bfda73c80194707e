"""Absurd numbers and dates in query strings are a 4xx naming the field, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

CEO = {"Authorization": "Bearer dev-ceo"}


@pytest.fixture
def client(triage: Any) -> Any:
    return triage.create_app().test_client()


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775807", "1000001"])
def test_a_page_beyond_any_list_is_422_naming_page(client: Any, page: str) -> None:
    answer = client.get(f"/api/v1/tickets?page={page}", headers=CEO)
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert "page" in answer.get_json()["errors"]


def test_the_last_allowed_page_is_just_empty(client: Any) -> None:
    answer = client.get("/api/v1/tickets?page=1000000&per_page=500", headers=CEO)
    assert answer.status_code == 200 and answer.get_json()["items"] == []


@pytest.mark.parametrize(("query", "field"), [
    ("from=0001-01-01&to=9999-12-31", "from"), ("from=2024-01-01&to=9999-12-31", "to"),
    ("from=0001-01-01T00:00:00Z", "from"), ("to=9999-12-31T23:59:59%2B00:00", "to"),
    ("from=1969-12-31", "from"), ("to=0001-01-01", "to"),
])
def test_dates_outside_the_calendar_we_keep_are_422_naming_the_field(client: Any, query: str, field: str) -> None:
    answer = client.get(f"/api/v1/sla/summary?{query}", headers=CEO)
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert field in answer.get_json()["errors"]
    client.post("/login", data={"token": "dev-ceo"})
    page = client.get(f"/dashboard?{query}")
    assert page.status_code == 422 and field in page.get_data(as_text=True)
    assert client.get(f"/dashboard/export.csv?table=team&{query}").status_code == 422
