"""Intake under concurrent submissions: on SQLite, requests that arrive together are committed
together (group commit; PostgreSQL has many writers and gives each its own transaction), and
every one of them is still stored exactly once, deduplicated exactly, and answered for itself."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event, select, text

from services.intake import handlers
from services.intake.models import Feedback, Outbox
from shared.events import decode_event

COMPLAINT = {"source": "survey", "survey": {"metric": "nps", "score": 2}, "comment": "The parcel arrived broken",
             "touchpoint": "delivery"}


@contextlib.contextmanager
def writes_held(intake: Any, seconds: float) -> Iterator[None]:
    """Keep intake's database from accepting writes for ``seconds`` (another writer holds it)."""
    with intake.sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("LOCK TABLE feedback IN SHARE ROW EXCLUSIVE MODE"))
        else:
            session.connection()  # BEGIN IMMEDIATE: SQLite's one writer is us
        yield
        time.sleep(seconds)


def post_together(intake: Any, bodies: list[tuple[dict[str, Any], dict[str, str]]]) -> list[Any]:
    """POST every (body, headers) at once from its own thread while the database is busy, so that
    the requests queue up and commit together; return the responses in order."""
    app = intake.create_app()
    app.config["TESTING"] = True
    responses: list[Any] = [None] * len(bodies)

    def post(i: int) -> None:
        body, headers = bodies[i]
        responses[i] = app.test_client().post("/api/v1/feedback", json=body, headers=headers)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    with writes_held(intake, 0.3):
        for thread in threads:
            thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return responses


def rows(intake: Any, model: Any) -> list[Any]:
    with intake.sessions() as session:
        return list(session.scalars(select(model).order_by(model.id if model is Outbox else model.received_at)))


def counted_commits(intake: Any) -> list[int]:
    commits: list[int] = []
    event.listen(intake.engine, "commit", lambda _conn: commits.append(1))
    return commits


def test_concurrent_submissions_are_all_stored_with_their_events(intake: Any) -> None:
    commits = counted_commits(intake)
    bodies = [(COMPLAINT | {"comment": f"complaint {i}"}, {}) for i in range(16)]
    responses = post_together(intake, bodies)
    assert [r.status_code for r in responses] == [202] * 16
    ids = [r.get_json()["id"] for r in responses]
    assert len(set(ids)) == 16
    stored = {f.id: f for f in rows(intake, Feedback)}
    assert set(stored) == set(ids)
    assert {stored[i].comment for i in ids} == {f"complaint {i}" for i in range(16)}
    events = [decode_event(o.payload) for o in rows(intake, Outbox)]
    assert sorted(e.subject for e in events) == sorted(ids)
    assert {e.id for e in events} == {f.event_id for f in stored.values()}
    if intake.engine.dialect.name == "sqlite":
        assert len(commits) < 16  # they shared transactions
    else:  # each its own (and the one that held the table)
        assert len(commits) == 17


def test_the_same_idempotency_key_sent_at_once_is_stored_once(intake: Any) -> None:
    responses = post_together(intake, [(COMPLAINT, {"Idempotency-Key": "same-key"})] * 12)
    assert [r.status_code for r in responses] == [202] * 12
    assert len({r.get_json()["id"] for r in responses}) == 1
    assert sorted(r.get_json()["status"] for r in responses) == ["duplicate"] * 11 + ["received"]
    assert len(rows(intake, Feedback)) == len(rows(intake, Outbox)) == 1


def test_the_same_key_with_different_bodies_at_once_conflicts(intake: Any) -> None:
    bodies = [(COMPLAINT | {"comment": f"version {i % 2}"}, {"Idempotency-Key": "k"}) for i in range(8)]
    responses = post_together(intake, bodies)
    stored = rows(intake, Feedback)
    assert len(stored) == len(rows(intake, Outbox)) == 1
    for (body, _), response in zip(bodies, responses, strict=True):
        if body["comment"] == stored[0].comment:
            assert response.status_code == 202 and response.get_json()["id"] == stored[0].id
        else:
            assert response.status_code == 409
            assert response.mimetype == "application/problem+json"


def test_the_same_external_id_sent_at_once_is_stored_once(intake: Any) -> None:
    review = {"source": "review", "rating": 2, "comment": "Slow", "external_id": "rev-77"}
    responses = post_together(intake, [(review, {})] * 10)
    assert [r.status_code for r in responses] == [202] * 10
    assert len({r.get_json()["id"] for r in responses}) == 1
    assert len(rows(intake, Feedback)) == len(rows(intake, Outbox)) == 1


def test_a_submission_whose_write_fails_does_not_fail_the_others(intake: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    taken = "token-already-in-use"
    first = intake.create_app().test_client()
    real_token: Callable[[int], str] = handlers.secrets.token_urlsafe
    monkeypatch.setattr(handlers.secrets, "token_urlsafe", lambda n: taken)
    assert first.post("/api/v1/feedback", json=COMPLAINT).status_code == 202
    # from now on only the request whose comment says so collides with that status token
    chosen: dict[int, bool] = {}
    original = handlers.prepare_feedback

    def prepare(data: dict[str, Any], **kwargs: Any) -> Any:
        chosen[threading.get_ident()] = data.get("comment") == "collides"
        return original(data, **kwargs)

    monkeypatch.setattr(handlers, "prepare_feedback", prepare)
    monkeypatch.setattr(handlers.secrets, "token_urlsafe",
                        lambda n: taken if chosen.get(threading.get_ident()) else real_token(n))
    bodies = [(COMPLAINT | {"comment": f"fine {i}"}, {}) for i in range(7)]
    bodies.insert(3, (COMPLAINT | {"comment": "collides"}, {}))
    responses = post_together(intake, bodies)
    assert responses[3].status_code >= 500
    others = responses[:3] + responses[4:]
    assert [r.status_code for r in others] == [202] * 7
    stored = {f.comment for f in rows(intake, Feedback)}
    assert stored == {COMPLAINT["comment"]} | {f"fine {i}" for i in range(7)}
    assert len(rows(intake, Outbox)) == 8
