"""Answer links ("did this fix it?"): a GET only shows the choice, the POST from that page records it;
a link belongs to one resolution and grows old; a forged link stores nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

from sqlalchemy import select

from services.intake import status
from services.intake.models import Feedback, Outbox
from shared import events
from shared.events import decode_event
from shared.links import follow_up_url

SECRET = "test-secret-key"  # CLOSELOOP_SECRET_KEY in tests; the link secret falls back to it
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
TICKET = "tk-42"


def link(feedback_id: str, answer: str, nonce: str, ticket_id: str = TICKET, secret: str = SECRET) -> str:
    url = follow_up_url("http://intake.example", secret, ticket_id=ticket_id, feedback_id=feedback_id,
                        answer=answer, nonce=nonce)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def ticket_event(feedback_id: str, type: str, at: datetime, **extra: Any) -> events.Event:
    data = {"ticket_id": TICKET, "feedback_id": feedback_id, "status": "open", "sla_state": "on_track",
            "priority": "P2", "team": "logistics", "team_name": "Logistics", "owner": {"id": "u-tom", "name": "Tom"},
            "received_at": NOW, "due_at": NOW + timedelta(hours=24), **extra}
    raw = events.make_event(type=type, source="/triage", subject=TICKET, data=data, now=at)
    return events.decode_event(events.encode_event(raw))


def consume(intake: Any, *evs: events.Event) -> None:
    with intake.sessions() as session, session.begin():
        for event in evs:
            status.on_ticket_event(session, event, NOW)


def resolve(intake: Any, feedback_id: str, at: datetime) -> str:
    """The ticket is resolved (as intake learns it); the resolution's id, the links' nonce."""
    event = ticket_event(feedback_id, events.TICKET_RESOLVED, at, status="resolved", sla_state="met",
                         resolution="internal note", root_cause_label="Delivery and logistics")
    consume(intake, event)
    return event.id


def original(client: Any, intake: Any) -> tuple[str, str]:
    """A customer's feedback whose ticket is resolved: its id and the resolution id."""
    body = {"survey": {"metric": "nps", "score": 2}, "comment": "Late again", "touchpoint": "delivery",
            "customer": {"email": "kim@example.org", "name": "Kim"}, "locale": "en-GB"}
    feedback_id = client.post("/api/v1/feedback", json=body).get_json()["id"]
    consume(intake, ticket_event(feedback_id, events.TICKET_CREATED, NOW))
    return feedback_id, resolve(intake, feedback_id, NOW + timedelta(hours=2))


def follow_ups(intake: Any) -> list[Feedback]:
    with intake.sessions() as session:
        return list(session.scalars(select(Feedback).where(Feedback.source == "follow_up")))


def form_of(page: str) -> dict[str, str]:
    return {"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1),
            "token": re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)}


def test_fetching_both_links_changes_nothing(client: Any, intake: Any) -> None:
    feedback_id, resolution_id = original(client, intake)
    for answer in ("fixed", "not_fixed", "fixed", "not_fixed"):  # a mail scanner, a link preview, a person
        page = client.get(link(feedback_id, answer, resolution_id))
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "Did this fix it?" in html and "Nothing is saved until you press the button" in html
        assert re.search(rf'value="{answer}" checked', html)
        assert client.head(link(feedback_id, answer, resolution_id)).status_code == 200
    assert follow_ups(intake) == []


def test_not_fixed_with_a_reason_is_recorded_from_the_page(client: Any, intake: Any) -> None:
    feedback_id, resolution_id = original(client, intake)
    page = client.get(link(feedback_id, "not_fixed", resolution_id)).get_data(as_text=True)
    reason = "এখনও ভাঙা 😞 <b>still</b> broken"
    done = client.post("/follow-up", data={**form_of(page), "answer": "not_fixed", "comment": reason})
    assert done.status_code == 200 and "sorry it is not fixed" in done.get_data(as_text=True)
    [answer] = follow_ups(intake)
    assert answer.in_reply_to == TICKET and answer.comment.encode() == reason.encode()
    assert answer.extra == {"answer": "not_fixed", "resolution_id": resolution_id, "feedback_id": feedback_id}
    assert (answer.customer_email, answer.touchpoint) == ("kim@example.org", "delivery")
    with intake.sessions() as session:
        event = decode_event(session.scalars(select(Outbox).where(Outbox.key == answer.id)).one().payload)
    assert event.data["source"] == "follow_up" and event.data["metadata"]["answer"] == "not_fixed"
    assert event.data["metadata"]["resolution_id"] == resolution_id
    assert event.data["in_reply_to"] == TICKET and event.data["comment"] == reason
    # a double click stores it once
    client.post("/follow-up", data={**form_of(page), "answer": "not_fixed", "comment": reason})
    assert len(follow_ups(intake)) == 1


def test_fixed_is_recorded_and_the_customer_may_change_the_answer_on_the_page(client: Any, intake: Any) -> None:
    feedback_id, resolution_id = original(client, intake)
    page = client.get(link(feedback_id, "fixed", resolution_id)).get_data(as_text=True)
    done = client.post("/follow-up", data={**form_of(page), "answer": "fixed"})
    assert done.status_code == 200 and "glad it is fixed" in done.get_data(as_text=True)
    assert [(f.extra["answer"], f.comment) for f in follow_ups(intake)] == [("fixed", None)]
    nope = client.post("/follow-up", data={**form_of(page), "answer": "maybe"})
    assert nope.status_code == 422 and "Choose one" in nope.get_data(as_text=True)


def test_the_post_needs_the_csrf_token_and_a_genuine_link(client: Any, intake: Any) -> None:
    feedback_id, resolution_id = original(client, intake)
    page = client.get(link(feedback_id, "fixed", resolution_id)).get_data(as_text=True)
    fields = form_of(page)
    no_csrf = client.post("/follow-up", data={"token": fields["token"], "answer": "not_fixed"})
    assert no_csrf.status_code == 400 and "choose again" in no_csrf.get_data(as_text=True)
    forged = client.post("/follow-up", data={"csrf_token": fields["csrf_token"], "token": "forged",
                                             "answer": "not_fixed"})
    assert forged.status_code == 400 and "This link does not work" in forged.get_data(as_text=True)
    assert follow_ups(intake) == []


def test_an_old_link_after_a_second_resolution_is_refused(client: Any, intake: Any) -> None:
    feedback_id, first = original(client, intake)
    old_page = client.get(link(feedback_id, "not_fixed", first)).get_data(as_text=True)
    consume(intake, ticket_event(feedback_id, events.TICKET_REOPENED, NOW + timedelta(hours=3),
                                 reason="still broken", actor="customer"))
    second = resolve(intake, feedback_id, NOW + timedelta(hours=5))
    stale = client.get(link(feedback_id, "not_fixed", first))
    assert stale.status_code == 410 and "This link has expired" in stale.get_data(as_text=True)
    posted = client.post("/follow-up", data={**form_of(old_page), "answer": "not_fixed", "comment": "no"})
    assert posted.status_code == 410
    assert follow_ups(intake) == []
    assert client.get(link(feedback_id, "not_fixed", second)).status_code == 200


def test_a_link_stops_working_once_the_ticket_is_reopened(client: Any, intake: Any) -> None:
    feedback_id, resolution_id = original(client, intake)
    consume(intake, ticket_event(feedback_id, events.TICKET_REOPENED, NOW + timedelta(hours=3), reason="x"))
    response = client.get(link(feedback_id, "fixed", resolution_id))
    assert response.status_code == 410
    with intake.sessions() as session:
        token = session.get(Feedback, feedback_id).status_token
    assert f'href="/status/{token}"' in response.get_data(as_text=True)


def test_an_expired_link_is_refused(make_intake: Any) -> None:
    intake = make_intake(link_max_age=3600)
    app = intake.create_app()
    app.config["TESTING"] = True
    client = app.test_client()
    feedback_id, resolution_id = original(client, intake)
    with mock.patch("itsdangerous.timed.time.time", return_value=datetime.now(UTC).timestamp() - 7200):
        old = link(feedback_id, "not_fixed", resolution_id)
    page = client.get(link(feedback_id, "not_fixed", resolution_id)).get_data(as_text=True)
    response = client.get(old)
    assert response.status_code == 410 and "This link has expired" in response.get_data(as_text=True)
    fields = form_of(page) | {"token": urlsplit(old).query.split("=", 1)[1]}
    assert client.post("/follow-up", data={**fields, "answer": "not_fixed"}).status_code == 410
    assert follow_ups(intake) == []


def test_a_resolution_intake_has_not_heard_of_yet_is_not_recorded(client: Any, intake: Any) -> None:
    feedback_id, _ = original(client, intake)
    page = client.get(link(feedback_id, "fixed", "a-resolution-still-on-its-way"))
    assert page.status_code == 200
    later = client.post("/follow-up", data={**form_of(page.get_data(as_text=True)), "answer": "fixed"})
    assert later.status_code == 409 and "try again in a minute" in later.get_data(as_text=True)
    assert follow_ups(intake) == []


def test_a_forged_or_damaged_link_gets_a_clear_400_page_and_stores_nothing(client: Any, intake: Any) -> None:
    feedback_id, resolution_id = original(client, intake)
    good = link(feedback_id, "fixed", resolution_id)
    for url in (link(feedback_id, "fixed", resolution_id, secret="someone-elses-secret"), good[:-3] + "abc",
                link(feedback_id, "fixed", resolution_id, ticket_id="tk-other"), link("nope", "fixed", resolution_id),
                "/follow-up", "/follow-up?token=", "/follow-up?token=" + "a" * 5000):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "This link does not work" in response.get_data(as_text=True)
    assert follow_ups(intake) == []


def test_the_page_links_to_the_status_of_the_original_feedback(client: Any, intake: Any) -> None:
    feedback_id, resolution_id = original(client, intake)
    page = client.get(link(feedback_id, "fixed", resolution_id)).get_data(as_text=True)
    with intake.sessions() as session:
        token = session.get(Feedback, feedback_id).status_token
    assert f'href="/status/{token}"' in page


def test_the_answer_shows_on_the_status_page(client: Any, intake: Any) -> None:
    feedback_id, resolution_id = original(client, intake)
    page = client.get(link(feedback_id, "not_fixed", resolution_id)).get_data(as_text=True)
    client.post("/follow-up", data={**form_of(page), "answer": "not_fixed", "comment": "The box is still wet"})
    with intake.sessions() as session:
        token = session.get(Feedback, feedback_id).status_token
    status_page = client.get(f"/status/{token}").get_data(as_text=True)
    assert "You told us it is not fixed" in status_page and "The box is still wet" in status_page


def test_the_answer_pages_speak_the_feedbacks_language_whatever_the_browser_says(client: Any, intake: Any) -> None:
    body = {"survey": {"metric": "nps", "score": 2}, "comment": "পার্সেল ভেজা ছিল", "touchpoint": "delivery",
            "customer": {"email": "rina@example.org"}, "locale": "bn-BD"}
    feedback_id = client.post("/api/v1/feedback", json=body).get_json()["id"]
    consume(intake, ticket_event(feedback_id, events.TICKET_CREATED, NOW))
    resolution_id = resolve(intake, feedback_id, NOW + timedelta(hours=2))
    english = {"Accept-Language": "en-GB,en;q=0.9"}
    page = client.get(link(feedback_id, "not_fixed", resolution_id), headers=english).get_data(as_text=True)
    assert '<html lang="bn-BD">' in page and "সমস্যাটির সমাধান হয়েছে কি?" in page and "Did this fix it?" not in page
    assert "না, সমাধান হয়নি" in page and "আমার উত্তর পাঠান" in page
    wrong = client.post("/follow-up", data={**form_of(page), "answer": "maybe"}, headers=english)
    assert wrong.status_code == 422 and "দুটি উত্তরের একটি বেছে নিন।" in wrong.get_data(as_text=True)
    done = client.post("/follow-up", data={**form_of(page), "answer": "not_fixed"}, headers=english)
    assert "জানানোর জন্য ধন্যবাদ: এখনও সমাধান না হওয়ায় আমরা দুঃখিত" in done.get_data(as_text=True)
    # a forged link belongs to nobody: the browser's language
    bad = client.get("/follow-up?token=forged", headers={"Accept-Language": "bn"})
    assert bad.status_code == 400 and "এই লিংকটি কাজ করছে না" in bad.get_data(as_text=True)
