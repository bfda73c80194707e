"""Intake on PostgreSQL: concurrent repeats store one feedback, and a batch never half-stores an item."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.intake.app import Intake
from services.intake.models import Feedback, Outbox
from tests.services.intake.conftest import count, intake_settings
from tests.support import migrate

pytestmark = pytest.mark.postgres
PG_URL = os.environ.get("CLOSELOOP_TEST_PG_URL")


@pytest.fixture
def pg_intake() -> Iterator[Intake]:
    if not PG_URL:
        pytest.skip("needs PostgreSQL (set CLOSELOOP_TEST_PG_URL), which this machine lacks")
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"intake_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the server is not there: say so rather than fail
        admin.dispose()
        pytest.skip(f"needs PostgreSQL at {make_url(PG_URL).host}, which is not reachable: {exc.__class__.__name__}")
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    migrate("intake", url)
    intake = Intake(intake_settings(url))
    yield intake
    intake.engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_concurrent_repeats_of_one_review_store_it_once(pg_intake: Intake) -> None:
    app = pg_intake.create_app()
    review = {"source": "review", "rating": 1, "external_id": "same-review", "comment": "Broken on arrival"}

    def send(_: int) -> Any:
        response = app.test_client().post("/api/v1/feedback", json=review)
        return response.status_code, response.get_json()["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, range(16)))
    assert {status for status, _ in answers} == {202}
    assert len({feedback_id for _, feedback_id in answers}) == 1
    assert count(pg_intake, Feedback) == 1 and count(pg_intake, Outbox) == 1


def test_a_mixed_batch_keeps_exactly_the_good_items(pg_intake: Intake) -> None:
    client = pg_intake.create_app().test_client()
    items = [{"comment": "ok 1"}, {"rating": 0}, {"comment": "ok 2", "external_id": "e", "source": "chat"},
             {"comment": "dup", "external_id": "e", "source": "chat"}, {"comment": "বাংলা 😊"}]
    body = client.post("/api/v1/feedback/batch", json=items,
                       headers={"Authorization": "Bearer dev-integration-token"}).get_json()
    assert [i["status"] for i in body["items"]] == ["received", "rejected", "received", "duplicate", "received"]
    assert count(pg_intake, Feedback) == 3 and count(pg_intake, Outbox) == 3
