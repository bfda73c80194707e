"""The customer pages speak the customer's language: the feedback's ``locale``, else ``?lang=``, else
``Accept-Language``, else the org file's ``language``. Dates are in the customer's timezone and say
which; the promise comes from the org file's clock; each comment's language is stored."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from services.intake import status
from services.intake.models import Feedback
from shared import events
from tests.services.intake.conftest import csrf_token
from tests.support import ORG

BN = {"Accept-Language": "bn-BD,bn;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en-US,en;q=0.9"}
NOW = datetime(2026, 12, 3, 8, 31, tzinfo=UTC)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)>.*?</\1>", "", html, flags=re.S)))


def html_lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)">', html).group(1)


@pytest.fixture
def org_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Point ORG_CONFIG at a copy of the demo org file with ``changes`` made."""

    def write(**changes: Any) -> None:
        data = yaml.safe_load(ORG.read_text(encoding="utf-8"))
        data.update(changes)
        path = tmp_path / "org.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("ORG_CONFIG", str(path))

    return write


def client_of(make_intake: Any) -> Any:
    app = make_intake().create_app()
    app.config["TESTING"] = True
    return app.test_client()


def stored(intake: Any) -> list[Feedback]:
    with intake.sessions() as session:
        return list(session.scalars(select(Feedback).order_by(Feedback.received_at)))


def send_form(client: Any, path: str = "/", headers: dict[str, str] | None = None, **fields: str) -> Any:
    data = {"score": "2", "comment": "টাকা ফেরত চাই, পণ্যটা একদম কাজ করে না", **fields}
    return client.post(path, data={**data, "csrf_token": csrf_token(client, path)}, headers=headers or {})


def test_the_form_speaks_the_browsers_language(client: Any) -> None:
    bengali = client.get("/", headers=BN).get_data(as_text=True)
    assert html_lang(bengali) == "bn-BD"
    page = text_of(bengali)
    assert "মতামত পাঠান" in page and "এই স্কোর দেওয়ার মূল কারণ কী?" in page and "Send feedback" not in page
    assert "ডেলিভারি" in page  # the topics too
    english = client.get("/", headers=EN).get_data(as_text=True)
    assert html_lang(english) == "en-US" and "Send feedback" in english and "মতামত পাঠান" not in english


def test_lang_in_the_address_comes_before_the_browser_and_the_switch_keeps_it(client: Any) -> None:
    page = client.get("/?lang=bn", headers=EN).get_data(as_text=True)
    assert "মতামত পাঠান" in page
    # the switch offers each language in its own name; the form posts back to the chosen one
    assert re.search(r'<a href="/\?lang=bn"[^>]*aria-current="true">বাংলা</a>', page)
    assert re.search(r'<a href="/\?lang=en"[^>]*>English</a>', page)
    assert 'action="/?lang=bn"' in page
    assert "Send feedback" in client.get("/?lang=en", headers=BN).get_data(as_text=True)
    # a language with no catalog, or junk, leaves the choice to the browser
    assert "মতামত পাঠান" in client.get("/?lang=fr", headers=BN).get_data(as_text=True)
    assert "মতামত পাঠান" in client.get("/?lang=%3Cscript%3E", headers=BN).get_data(as_text=True)


def test_the_org_files_language_speaks_when_the_browser_says_nothing_we_have(
        org_file: Callable[..., None], make_intake: Any) -> None:
    org_file(language="bn")
    client = client_of(make_intake)
    assert "মতামত পাঠান" in client.get("/").get_data(as_text=True)
    assert "মতামত পাঠান" in client.get("/", headers={"Accept-Language": "fr-FR,de;q=0.5"}).get_data(as_text=True)
    assert "Send feedback" in client.get("/", headers=EN).get_data(as_text=True)


def test_the_choice_is_kept_in_the_feedbacks_locale(client: Any, intake: Any) -> None:
    send_form(client, "/?lang=bn", EN, comment="one")  # chose Bengali on an English browser
    send_form(client, "/?lang=bn", BN, comment="two")  # chose Bengali on a Bangladeshi browser: its region is kept
    send_form(client, "/", BN, comment="three")  # no choice: the browser's
    send_form(client, "/?lang=en", BN, comment="four")  # chose English on a Bengali browser
    send_form(client, "/", comment="five")  # nothing said: the page's language
    assert [f.locale for f in stored(intake)] == ["bn", "bn-BD", "bn-BD", "en", "en"]


def test_thanks_and_status_pages_speak_the_feedbacks_locale_before_lang_and_the_browser(
        client: Any, intake: Any) -> None:
    thanks = client.get(send_form(client, "/?lang=bn", EN).headers["Location"], headers=EN)
    html = thanks.get_data(as_text=True)
    assert "ধন্যবাদ: আপনার মতামত আমরা পেয়েছি" in html and html_lang(html) == "bn"
    status_path = re.search(r'href="(/status/[^"]+)"', html).group(1)
    page = client.get(status_path + "?lang=en", headers=EN).get_data(as_text=True)
    assert "আপনার মতামত নিয়ে কী হচ্ছে" in page and "আমরা পেয়েছি" in page
    assert "What is happening" not in page


def test_a_feedback_in_a_language_without_a_catalog_falls_back_to_lang_then_the_browser(
        client: Any) -> None:
    answer = client.post("/api/v1/feedback", json={"comment": "Le colis est arrivé mouillé", "locale": "fr-FR"})
    path = answer.get_json()["links"]["status_page"].replace("http://localhost", "")
    assert "আমরা পেয়েছি" in client.get(path + "?lang=bn", headers=EN).get_data(as_text=True)
    assert "আমরা পেয়েছি" in client.get(path, headers=BN).get_data(as_text=True)
    assert "Received" in client.get(path, headers=EN).get_data(as_text=True)


def test_times_are_in_the_customers_timezone_and_say_which(client: Any, intake: Any) -> None:
    response = send_form(client, "/", EN, timezone="Asia/Dhaka")
    feedback = stored(intake)[0]
    assert feedback.extra == {"timezone": "Asia/Dhaka"}
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    path = re.search(r'href="(/status/[^"]+)"', thanks).group(1)
    with intake.sessions() as session, session.begin():
        session.get(Feedback, feedback.id).received_at = NOW
    event = events.make_event(type=events.TICKET_CREATED, source="/triage", subject="tk-1", now=NOW, data={
        "ticket_id": "tk-1", "feedback_id": feedback.id, "status": "open", "sla_state": "on_track",
        "priority": "P2", "team": "logistics", "team_name": "Logistics", "owner": {"id": "u-tom", "name": "Tom"},
        "received_at": NOW, "due_at": NOW + timedelta(hours=4)})
    with intake.sessions() as session, session.begin():
        status.on_ticket_event(session, events.decode_event(events.encode_event(event)), NOW)
    page = text_of(client.get(path, headers=EN).get_data(as_text=True))
    assert "Dec 3, 2026, 2:31 PM (Asia/Dhaka)" in page.replace("\u202f", " ")  # received, in Dhaka
    assert "has until Dec 3, 2026, 6:31 PM (Asia/Dhaka) to sort it out" in page.replace("\u202f", " ")


def test_a_timezone_the_browser_did_not_really_send_is_not_stored(client: Any, intake: Any) -> None:
    send_form(client, "/", EN, timezone="Mars/Olympus_Mons")
    send_form(client, "/", EN, comment="another", timezone="'><script>")
    assert [f.extra for f in stored(intake)] == [None, None]


def test_the_promise_comes_from_the_org_files_clock(org_file: Callable[..., None], make_intake: Any) -> None:
    org_file(sla={"default_seconds": 4 * 3600, "by_priority": {"P1": 3600}})
    client = client_of(make_intake)
    form = text_of(client.get("/", headers=EN).get_data(as_text=True))
    assert "sorts it out within 4 hours" in form and "24 hours" not in form
    assert "৪ ঘণ্টা সময়ের মধ্যে" in text_of(client.get("/", headers=BN).get_data(as_text=True))
    thanks = text_of(client.get(send_form(client, "/", EN).headers["Location"]).get_data(as_text=True))
    assert "sort it out within 4 hours" in thanks


def test_without_a_default_clock_the_promise_is_triages_default_of_a_day(
        org_file: Callable[..., None], make_intake: Any) -> None:
    org_file(sla={"by_priority": {"P1": 3600}})
    assert "within 24 hours" in text_of(client_of(make_intake).get("/", headers=EN).get_data(as_text=True))


def test_errors_are_in_the_pages_language(client: Any) -> None:
    bad = send_form(client, "/?lang=bn", EN, score="11", comment="")
    assert bad.status_code == 422 and "০ থেকে ১০-এর মধ্যে একটি স্কোর বেছে নিন।" in bad.get_data(as_text=True)
    bad_email = send_form(client, "/", BN, email="kim-at-example")
    assert "এটি সঠিক ইমেইল ঠিকানা বলে মনে হচ্ছে না।" in bad_email.get_data(as_text=True)


def test_the_rate_limit_page_speaks_the_browsers_language(make_intake: Any) -> None:
    app = make_intake(rate_limit="1/minute").create_app()
    client = app.test_client()
    assert send_form(client, "/", BN).status_code == 303
    refused = send_form(client, "/", BN, comment="again")
    assert refused.status_code == 429
    assert "একটু অপেক্ষা করুন" in refused.get_data(as_text=True)


def test_each_comments_language_is_stored(client: Any, intake: Any) -> None:
    for body in ({"comment": "টাকা ফেরত চাই, পণ্যটা একদম কাজ করে না", "locale": "en-US"},
                 {"comment": "The parcel arrived soaked", "locale": "bn-BD"},
                 {"survey": {"metric": "nps", "score": 9}}):
        assert client.post("/api/v1/feedback", json=body).status_code == 202
    assert [f.language for f in stored(intake)] == ["bn", "en", None]


def test_a_bengali_status_page_names_the_cause_in_bengali(client: Any, intake: Any) -> None:
    answer = client.post("/api/v1/feedback", json={"comment": "পার্সেল ভেজা ছিল", "locale": "bn-BD"}).get_json()
    path = answer["links"]["status_page"].replace("http://localhost", "")
    data = {"ticket_id": "tk-9", "feedback_id": answer["id"], "status": "open", "sla_state": "on_track",
            "priority": "P2", "team": "logistics", "team_name": "Logistics", "owner": {"id": "u-tom", "name": "Tom"},
            "received_at": NOW, "due_at": NOW + timedelta(hours=24)}
    created = events.make_event(type=events.TICKET_CREATED, source="/triage", subject="tk-9", data=data, now=NOW)
    resolved = events.make_event(type=events.TICKET_RESOLVED, source="/triage", subject="tk-9", now=NOW, data={
        **data, "status": "resolved", "sla_state": "met", "resolution": "internal",
        "root_cause": "delivery_logistics", "root_cause_label": "Delivery and logistics"})
    with intake.sessions() as session, session.begin():
        for event in (created, resolved):
            status.on_ticket_event(session, events.decode_event(events.encode_event(event)), NOW)
    page = text_of(client.get(path).get_data(as_text=True))
    assert "আমরা সমস্যাটির সমাধান করেছি। কারণ: ডেলিভারি ও পরিবহন।" in page
    assert "দায়িত্বে: Logistics" in page and "Tom বিষয়টি দেখছেন।" in page
