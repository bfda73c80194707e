"""Triage's ticket API: tokens, roles and team visibility."""

from __future__ import annotations

from typing import Any

from tests.services.triage.test_handlers import feedback_event, handle


def test_ticket_list_and_detail_respect_team_visibility(triage: Any) -> None:
    care = handle(triage, feedback_event(survey={"metric": "nps", "score": 3}, comment="rude agent"))
    logistics = handle(triage, feedback_event(survey={"metric": "nps", "score": 3}, touchpoint="delivery"))
    client = triage.create_app().test_client()
    assert client.get("/api/v1/tickets").status_code == 401
    ceo = client.get("/api/v1/tickets", headers={"Authorization": "Bearer dev-ceo"}).get_json()
    assert {t["id"] for t in ceo["items"]} == {care.id, logistics.id} and ceo["total"] == 2
    tom = client.get("/api/v1/tickets", headers={"Authorization": "Bearer dev-tom"}).get_json()
    assert [t["id"] for t in tom["items"]] == [logistics.id]
    assert client.get(f"/api/v1/tickets/{care.id}", headers={"Authorization": "Bearer dev-tom"}).status_code == 404
    detail = client.get(f"/api/v1/tickets/{care.id}", headers={"Authorization": "Bearer dev-ana"}).get_json()
    assert detail["feedback"]["comment"] == "rude agent"
    assert detail["timeline"][0]["type"] == "ticket.created"
    by_feedback = client.get(f"/api/v1/tickets?feedback_id={care.feedback_id}",
                             headers={"Authorization": "Bearer dev-ceo"}).get_json()
    assert [t["id"] for t in by_feedback["items"]] == [care.id]
    bad = client.get("/api/v1/tickets?sla_state=late", headers={"Authorization": "Bearer dev-ceo"})
    assert bad.status_code == 422 and "sla_state" in bad.get_json()["errors"]
