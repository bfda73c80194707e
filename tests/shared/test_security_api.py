"""Cross-site request forgery on the API: a session cookie alone never writes (issue 20 item 4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.services.triage.conftest import settings_for


@pytest.fixture
def triage(db_url: Any) -> Any:
    from services.triage.app import Triage

    service = Triage(settings_for(db_url("triage")))
    service.sync()
    return service


@pytest.mark.parametrize("action", ["acknowledge", "reopen", "wait", "resume"])
def test_a_cookie_alone_cannot_write_through_the_api(triage: Any, action: str) -> None:
    client = triage.create_app().test_client()
    assert client.post("/login", data={"token": "dev-ceo"}).status_code == 302
    ticket = "00000000-0000-0000-0000-000000000000"
    forged = client.post(f"/api/v1/tickets/{ticket}/{action}", json={},
                         headers={"Origin": "https://evil.example"})
    assert forged.status_code == 401 and forged.mimetype == "application/problem+json"
    assert "Bearer" in forged.get_json()["detail"]
    # the same user's token reaches the endpoint (the ticket does not exist)
    bearer = client.post(f"/api/v1/tickets/{ticket}/{action}", json={},
                         headers={"Authorization": "Bearer dev-ceo"})
    assert bearer.status_code not in (401, 403) and bearer.status_code < 500


def test_the_cookie_still_reads_the_api(triage: Any) -> None:
    client = triage.create_app().test_client()
    client.post("/login", data={"token": "dev-ceo"})
    assert client.get("/api/v1/tickets").status_code == 200
