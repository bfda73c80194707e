"""The public form: CSRF, honeypot, validation messages, thank-you page and the status link."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from services.intake.models import Feedback, Outbox
from tests.services.intake.conftest import count, csrf_token

GOOD = {"score": "3", "comment": "The courier left the parcel in the rain", "touchpoint": "delivery",
        "email": "kim@example.org", "website": ""}


def test_the_form_has_eleven_score_buttons_a_comment_an_email_and_touchpoints(client: Any) -> None:
    html = client.get("/").get_data(as_text=True)
    assert sorted(int(v) for v in re.findall(r'name="score" value="(\d+)"', html)) == list(range(11))
    assert 'name="comment"' in html and 'type="email"' in html and 'name="touchpoint"' in html
    assert 'name="viewport"' in html
    assert "http://" not in html and "https://" not in html  # nothing loaded from elsewhere


def test_submitting_stores_it_and_the_thank_you_page_links_to_the_status(client: Any, intake: Any) -> None:
    response = client.post("/", data={**GOOD, "csrf_token": csrf_token(client)},
                           headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"])
    html = thanks.get_data(as_text=True)
    assert "Thank you" in html
    status_path = re.search(r'href="(/status/[^"]+)"', html).group(1)
    status = client.get(status_path).get_data(as_text=True)
    assert "Received" in status and "The courier left the parcel in the rain" in status
    with intake.sessions() as session:
        feedback = session.scalars(select(Feedback)).one()
    assert (feedback.source, feedback.metric, feedback.score, feedback.touchpoint, feedback.customer_email,
            feedback.locale) == ("form", "nps", 3, "delivery", "kim@example.org", "de-DE")
    assert status_path == f"/status/{feedback.status_token}" and len(feedback.status_token) >= 32
    assert count(intake, Outbox) == 1


def test_a_bengali_comment_with_emoji_is_kept_byte_for_byte(client: Any, intake: Any) -> None:
    comment = "প্যাকেট ছেঁড়া ছিল, কিন্তু ড্রাইভার খুব ভদ্র ছিলেন 🙏📦\nধন্যবাদ!"
    response = client.post("/", data={"comment": comment, "csrf_token": csrf_token(client)})
    assert response.status_code == 303
    with intake.sessions() as session:
        stored = session.scalars(select(Feedback.comment)).one()
    assert stored.encode("utf-8") == comment.encode("utf-8")
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    page = client.get(re.search(r'href="(/status/[^"]+)"', thanks).group(1))
    assert comment in page.get_data(as_text=True)


def test_without_the_csrf_token_nothing_is_stored(client: Any, intake: Any) -> None:
    response = client.post("/", data=GOOD)
    assert response.status_code == 400
    assert "send it again" in response.get_data(as_text=True)
    forged = client.post("/", data={**GOOD, "csrf_token": "forged-token"})
    assert forged.status_code == 400
    assert count(intake, Feedback) == 0


def test_a_filled_honeypot_looks_like_success_but_stores_nothing(client: Any, intake: Any) -> None:
    response = client.post("/", data={**GOOD, "website": "http://spam.example", "csrf_token": csrf_token(client)})
    assert response.status_code == 200 and "Thank you" in response.get_data(as_text=True)
    assert "/status/" not in response.get_data(as_text=True)
    assert count(intake, Feedback) == 0 and count(intake, Outbox) == 0


def test_bad_input_is_shown_next_to_the_field_and_nothing_is_stored(client: Any, intake: Any) -> None:
    token = csrf_token(client)
    bad_email = client.post("/", data={**GOOD, "email": "kim-at-example", "csrf_token": token})
    assert bad_email.status_code == 422
    html = bad_email.get_data(as_text=True)
    assert "does not look like an email" in html and "The courier left the parcel in the rain" in html
    empty = client.post("/", data={"score": "", "comment": "  ", "csrf_token": token})
    assert empty.status_code == 422 and "Pick a score or write" in empty.get_data(as_text=True)
    bad_score = client.post("/", data={"score": "11", "csrf_token": token})
    assert bad_score.status_code == 422 and "0 to 10" in bad_score.get_data(as_text=True)
    bad_topic = client.post("/", data={"score": "5", "touchpoint": "made-up", "csrf_token": token})
    assert bad_topic.status_code == 422 and "listed topics" in bad_topic.get_data(as_text=True)
    assert count(intake, Feedback) == 0


def test_a_double_click_stores_one_feedback(client: Any, intake: Any) -> None:
    data = {**GOOD, "csrf_token": csrf_token(client)}
    first, second = client.post("/", data=data), client.post("/", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert count(intake, Feedback) == 1


def test_the_comment_is_escaped_on_every_page(client: Any) -> None:
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    response = client.post("/", data={"comment": evil, "csrf_token": csrf_token(client)})
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    status = client.get(re.search(r'href="(/status/[^"]+)"', thanks).group(1)).get_data(as_text=True)
    assert "<script>alert(2)" not in status and "<img src=x" not in status and "&lt;script&gt;" in status


def test_form_posts_are_rate_limited_with_a_friendly_page(make_intake: Any) -> None:
    app = make_intake(rate_limit="3/minute").create_app()
    client = app.test_client()
    token = csrf_token(client)  # reading the form is not counted
    answers = [client.post("/", data={**GOOD, "comment": f"try {i}", "csrf_token": token}) for i in range(4)]
    assert [a.status_code for a in answers] == [303, 303, 303, 429]
    assert int(answers[-1].headers["Retry-After"]) > 0
    assert "Please wait a moment" in answers[-1].get_data(as_text=True)
