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


def test_login_is_rate_limited_per_address(triage: Any) -> None:
    client = triage.create_app().test_client()
    address = {"REMOTE_ADDR": "203.0.113.77"}
    answers = [client.post("/login", data={"token": "guess-me"}, environ_base=address).status_code
               for _ in range(11)]
    assert answers[:10] == [401] * 10 and answers[10] == 429
    # another address is not held back
    assert client.post("/login", data={"token": "dev-ana"},
                       environ_base={"REMOTE_ADDR": "203.0.113.78"}).status_code == 302


def test_one_services_session_cookie_is_not_accepted_by_another() -> None:
    from sqlalchemy import create_engine

    from shared.auth import current_user
    from shared.org import load_org
    from shared.settings import ROOT
    from shared.web import create_base_app

    org = load_org(str(ROOT / "config" / "org.demo.yaml"))
    apps = {name: create_base_app(import_name=__name__, service=name, org=org, engine=create_engine("sqlite://"),
                                  secret_key="one-key-shared-by-every-service")[0] for name in ("triage", "notify")}
    for app in apps.values():
        app.add_url_rule("/who", "who", lambda: {"user": getattr(current_user(), "id", None)})
    triage = apps["triage"].test_client()
    assert triage.post("/login", data={"token": "dev-ceo"}).status_code == 302
    assert triage.get("/who").get_json() == {"user": "u-ceo"}
    cookie = triage.get_cookie("closeloop_triage")
    assert cookie is not None
    notify = apps["notify"].test_client()
    notify.set_cookie("closeloop_notify", cookie.value)
    assert notify.get("/who").get_json() == {"user": None}


def test_login_and_logout_forged_by_another_site_are_refused(triage: Any) -> None:
    import re

    client = triage.create_app().test_client()
    cross = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert client.post("/login", data={"token": "dev-ana"}, headers=cross).status_code == 400
    form = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    same = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/login", data={"token": "dev-ana", "csrf_token": token.group(1)},
                       headers=same).status_code == 302
    assert client.get("/inbox").status_code == 200
    assert client.post("/logout", headers=cross).status_code == 400
    assert client.get("/inbox").status_code == 200
    page = client.get("/inbox").get_data(as_text=True)
    logout_token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert logout_token is not None
    assert client.post("/logout", data={"csrf_token": logout_token.group(1)}, headers=same).status_code == 302
    assert client.get("/inbox").status_code == 302
