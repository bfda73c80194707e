"""One-click follow-up links: a valid link stores one answer, however often clicked; a forged one nothing."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from services.intake.models import Feedback, Outbox
from shared.events import decode_event
from shared.links import follow_up_url

SECRET = "test-secret-key"  # CLOSELOOP_SECRET_KEY in tests; the link secret falls back to it


def link(feedback_id: str, answer: str, ticket_id: str = "tk-42", nonce: str = "ev-1", secret: str = SECRET) -> str:
    url = follow_up_url("http://intake.example", secret, ticket_id=ticket_id, feedback_id=feedback_id,
                        answer=answer, nonce=nonce)
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def original(client: Any) -> str:
    body = {"survey": {"metric": "nps", "score": 2}, "comment": "Late again", "touchpoint": "delivery",
            "customer": {"email": "kim@example.org", "name": "Kim"}, "locale": "en-GB"}
    return client.post("/api/v1/feedback", json=body).get_json()["id"]


def follow_ups(intake: Any) -> list[Feedback]:
    with intake.sessions() as session:
        return list(session.scalars(select(Feedback).where(Feedback.source == "follow_up")))


def test_a_click_stores_one_follow_up_answer_however_often_it_is_clicked(client: Any, intake: Any) -> None:
    feedback_id = original(client)
    url = link(feedback_id, "not_fixed")
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200
    assert "sorry it is not fixed" in first.get_data(as_text=True)
    [answer] = follow_ups(intake)
    assert answer.in_reply_to == "tk-42"
    assert answer.extra == {"answer": "not_fixed", "feedback_id": feedback_id}
    assert (answer.customer_email, answer.touchpoint) == ("kim@example.org", "delivery")
    with intake.sessions() as session:
        event = decode_event(session.scalars(select(Outbox).where(Outbox.key == answer.id)).one().payload)
    assert event.data["source"] == "follow_up" and event.data["metadata"]["answer"] == "not_fixed"
    assert event.data["in_reply_to"] == "tk-42"


def test_fixed_and_a_second_resolution_are_separate_answers(client: Any, intake: Any) -> None:
    feedback_id = original(client)
    page = client.get(link(feedback_id, "fixed")).get_data(as_text=True)
    assert "glad it is fixed" in page
    client.get(link(feedback_id, "not_fixed", nonce="ev-2"))
    assert sorted(f.extra["answer"] for f in follow_ups(intake)) == ["fixed", "not_fixed"]


def test_a_forged_or_damaged_link_gets_a_clear_400_page_and_stores_nothing(client: Any, intake: Any) -> None:
    feedback_id = original(client)
    good = link(feedback_id, "fixed")
    for url in (link(feedback_id, "fixed", secret="someone-elses-secret"), good[:-3] + "abc", "/follow-up",
                "/follow-up?token=", "/follow-up?token=" + "a" * 5000):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "This link does not work" in response.get_data(as_text=True)
    assert follow_ups(intake) == []


def test_the_optional_comment_is_stored_once_with_the_answer(client: Any, intake: Any) -> None:
    feedback_id = original(client)
    page = client.get(link(feedback_id, "not_fixed")).get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page).group(1)
    comment = "এখনও ভাঙা 😞 <b>still</b> broken"
    done = client.post("/follow-up", data={"csrf_token": csrf, "token": token, "comment": comment})
    assert done.status_code == 200 and "your comment is with the team" in done.get_data(as_text=True)
    again = client.post("/follow-up", data={"csrf_token": csrf, "token": token, "comment": comment})
    assert again.status_code == 200
    with_comment = [f for f in follow_ups(intake) if f.comment]
    assert len(follow_ups(intake)) == 2 and len(with_comment) == 1
    assert with_comment[0].comment.encode() == comment.encode()
    assert with_comment[0].extra["answer"] == "not_fixed" and with_comment[0].in_reply_to == "tk-42"


def test_the_comment_form_needs_csrf_and_a_valid_token(client: Any, intake: Any) -> None:
    feedback_id = original(client)
    token = urlsplit(link(feedback_id, "fixed")).query.split("=", 1)[1]
    client.get(link(feedback_id, "fixed"))
    no_csrf = client.post("/follow-up", data={"token": token, "comment": "hello"})
    assert no_csrf.status_code == 422 and "send your comment again" in no_csrf.get_data(as_text=True)
    forged = client.post("/follow-up", data={"token": "forged", "comment": "hello"})
    assert forged.status_code == 400
    assert [f.comment for f in follow_ups(intake)] == [None]


def test_the_page_links_to_the_status_of_the_original_feedback(client: Any, intake: Any) -> None:
    feedback_id = original(client)
    page = client.get(link(feedback_id, "fixed")).get_data(as_text=True)
    with intake.sessions() as session:
        token = session.get(Feedback, feedback_id).status_token
    assert f'href="/status/{token}"' in page
