"""The SLA summary against a small history whose every number was worked out by hand.

Window 2024-06-01 .. 2024-06-08 (exclusive). Tickets (received → acknowledged → resolved):

  T1 care/u-ana  support  P2  06-02 00:00 → +1 h → +6 h   due +24 h  met     nps 3, answered fixed
  T2 care/u-ben  checkout P2  06-03 00:00 → +2 h → +30 h  due +24 h  missed  nps 5, answered not_fixed
  T3 logi/u-tom  delivery P1  06-04 00:00 → +30m → +3 h   due +4 h   met     nps 0
  T4 logi/u-lena delivery P2  06-05 00:00 → +4 h → +12 h  due +24 h  met     csat 2
  T5 care/u-ana  support  P2  05-20, resolved 05-21: before the window        nps 2
  T6 care/u-ana  support  P2  06-01, open, breached                           nps 6
  T7 logi/u-tom  delivery P3  06-09, acknowledged, at risk: after the window  nps 7
  T8 bill/u-raj  billing  P2  06-07 12:00 → +3 h, acknowledged, on track      ces 3
Feedback without tickets: nps 10 support, nps 9 checkout, csat 5, ces 6, 5 stars (praise),
nps 8 delivery (neutral, routed to logistics), and a follow-up answer (left out of scores).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.triage.reports import service as reports
from services.triage.tickets.models import Feedback, Ticket

H = 3600
NOW = datetime(2024, 6, 10, 12, tzinfo=UTC)
START, END = datetime(2024, 6, 1, tzinfo=UTC), datetime(2024, 6, 8, tzinfo=UTC)


def at(month: int, day: int, hour: float = 0) -> datetime:
    return datetime(2024, month, day, tzinfo=UTC) + timedelta(hours=hour)


def feedback(session: Any, received: datetime, *, metric: str | None = None, score: int | None = None,
             rating: int | None = None, touchpoint: str | None = None, kind: str = "complaint",
             in_reply_to: str | None = None, team: str | None = None) -> Feedback:
    row = Feedback(id=str(uuid.uuid4()), received_at=received, source="survey", metric=metric, score=score,
                   rating=rating, touchpoint=touchpoint, sentiment="negative", kind=kind, in_reply_to=in_reply_to,
                   team=team)
    session.add(row)
    return row


def ticket(session: Any, fb: Feedback, *, team: str, owner: str, priority: str, due_hours: float,
           status: str = "resolved", sla_state: str = "met", ack: float | None = None,
           resolved: float | None = None, root_cause: str | None = None, answer: str | None = None) -> None:
    r = fb.received_at
    fb.team = team  # a complaint's scores count for its ticket's team
    session.add(Ticket(
        id=str(uuid.uuid4()), feedback_id=fb.id, status=status, priority=priority, team=team, owner_id=owner,
        sla_state=sla_state, received_at=r, created_at=r, due_at=r + timedelta(hours=due_hours),
        warn_at=r + timedelta(hours=due_hours * 0.75), escalation_level=0,
        acknowledged_at=None if ack is None else r + timedelta(hours=ack),
        resolved_at=None if resolved is None else r + timedelta(hours=resolved),
        touchpoint=fb.touchpoint, kind=fb.kind, root_cause=root_cause, reopened_count=0, customer_answer=answer,
        updated_at=r,
    ))


def build_history(session: Any) -> None:
    nps = "nps"
    ticket(session, feedback(session, at(6, 2), metric=nps, score=3, touchpoint="support"), team="care",
           owner="u-ana", priority="P2", due_hours=24, ack=1, resolved=6, root_cause="slow_response", answer="fixed")
    ticket(session, feedback(session, at(6, 3), metric=nps, score=5, touchpoint="checkout"), team="care",
           owner="u-ben", priority="P2", due_hours=24, sla_state="missed", ack=2, resolved=30,
           root_cause="product_defect", answer="not_fixed")
    ticket(session, feedback(session, at(6, 4), metric=nps, score=0, touchpoint="delivery"), team="logistics",
           owner="u-tom", priority="P1", due_hours=4, ack=0.5, resolved=3, root_cause="delivery_logistics")
    ticket(session, feedback(session, at(6, 5), metric="csat", score=2, touchpoint="delivery"), team="logistics",
           owner="u-lena", priority="P2", due_hours=24, ack=4, resolved=12, root_cause="delivery_logistics")
    ticket(session, feedback(session, at(5, 20), metric=nps, score=2, touchpoint="support"), team="care",
           owner="u-ana", priority="P2", due_hours=24, ack=1, resolved=20, root_cause="policy")
    ticket(session, feedback(session, at(6, 1, 10), metric=nps, score=6, touchpoint="support"), team="care",
           owner="u-ana", priority="P2", due_hours=24, status="open", sla_state="breached")
    ticket(session, feedback(session, at(6, 9), metric=nps, score=7, touchpoint="delivery"), team="logistics",
           owner="u-tom", priority="P3", due_hours=24, status="acknowledged", sla_state="at_risk", ack=1)
    ticket(session, feedback(session, at(6, 7, 12), metric="ces", score=3, touchpoint="billing"), team="billing",
           owner="u-raj", priority="P2", due_hours=24, status="acknowledged", sla_state="on_track", ack=3)
    feedback(session, at(6, 2), metric=nps, score=10, touchpoint="support", kind="praise")
    feedback(session, at(6, 3), metric=nps, score=9, touchpoint="checkout", kind="praise")
    feedback(session, at(6, 4), metric="csat", score=5, kind="praise")
    feedback(session, at(6, 5), metric="ces", score=6, kind="praise")
    feedback(session, at(6, 6), rating=5, kind="praise")
    feedback(session, at(6, 6), kind="praise", in_reply_to="some-ticket")
    feedback(session, at(6, 6), metric=nps, score=8, touchpoint="delivery", kind="neutral", team="logistics")


def summarise(triage: Any, **kwargs: Any) -> dict[str, Any]:
    with triage.sessions() as session, session.begin():
        build_history(session)
    with triage.sessions() as session:
        return reports.summary(session, now=NOW, start=START, end=END, org=triage.org, **kwargs)


def by_key(rows: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {r["key"]: r for r in rows}


def test_summary_matches_the_hand_computed_numbers(triage: Any) -> None:
    s = summarise(triage)
    assert (s["open"], s["at_risk"], s["breached_open"]) == (3, 1, 1)
    assert (s["resolved"], s["resolved_within_sla"], s["resolved_within_sla_percent"]) == (4, 3, 75.0)
    assert s["time_to_resolve_seconds"] == {"count": 4, "mean": 45900.0, "p90": 30 * H}
    assert s["time_to_acknowledge_seconds"] == {"count": 5, "mean": 7560.0, "p90": 4 * H}
    teams = s["breakdowns"]["team"]
    assert [t["key"] for t in teams] == ["care", "logistics", "billing"]
    assert teams[0] == {"key": "care", "label": "Customer Care", "open": 1, "at_risk": 0, "breached_open": 1,
                        "resolved": 2, "resolved_within_sla": 1, "resolved_within_sla_percent": 50.0,
                        "promise_kept_percent": 33.3, "mean_time_to_resolve_seconds": 18.0 * H}
    assert teams[1]["resolved_within_sla_percent"] == 100.0 and teams[1]["at_risk"] == 1
    assert teams[2]["resolved"] == 0 and teams[2]["resolved_within_sla_percent"] is None
    owners = by_key(s["breakdowns"]["owner"])
    assert owners["u-ana"]["label"] == "Ana Silva"
    assert (owners["u-ana"]["open"], owners["u-ana"]["resolved"]) == (1, 1)
    assert owners["u-ben"]["resolved_within_sla_percent"] == 0.0
    assert set(owners) == {"u-ana", "u-ben", "u-tom", "u-lena", "u-raj"}
    causes = by_key(s["breakdowns"]["root_cause"])
    assert causes[None]["open"] == 3 and causes[None]["label"] == "not yet known"
    assert causes["delivery_logistics"]["resolved"] == 2
    assert causes["delivery_logistics"]["mean_time_to_resolve_seconds"] == 7.5 * H
    assert "policy" not in causes  # T5 was resolved before the window
    priorities = by_key(s["breakdowns"]["priority"])
    assert {k: (v["open"], v["resolved"]) for k, v in priorities.items()} == {"P1": (0, 1), "P2": (2, 3),
                                                                              "P3": (1, 0)}
    touchpoints = by_key(s["breakdowns"]["touchpoint"])
    assert (touchpoints["delivery"]["open"], touchpoints["delivery"]["resolved"]) == (1, 2)
    assert s["compliance_by_day"] == [
        {"day": "2024-06-02", "resolved": 1, "resolved_within_sla": 1, "resolved_within_sla_percent": 100.0},
        {"day": "2024-06-04", "resolved": 2, "resolved_within_sla": 1, "resolved_within_sla_percent": 50.0},
        {"day": "2024-06-05", "resolved": 1, "resolved_within_sla": 1, "resolved_within_sla_percent": 100.0},
    ]
    assert [b["count"] for b in s["time_to_resolve_distribution"]] == [0, 1, 1, 1, 0, 1, 0, 0]
    assert s["detractor_recovery"] == {"resolved_detractors": 3, "answered": 2, "fixed": 1,
                                       "recovered_percent": 33.3}


def test_scores_and_praise_versus_complaints_are_hand_computed(triage: Any) -> None:
    s = summarise(triage)
    assert s["scores"]["nps"] == {"responses": 7, "promoters": 2, "passives": 1, "detractors": 4, "nps": -28.6}
    assert s["scores"]["csat"] == {"responses": 2, "satisfied": 1, "csat": 50.0, "mean": 3.5}
    assert s["scores"]["ces"] == {"responses": 2, "ces": 4.5, "easy_percent": 50.0}
    assert s["scores"]["stars"] == {"responses": 1, "mean": 5.0}
    assert [(r["touchpoint"], r["responses"], r["nps"]) for r in s["nps_by_touchpoint"]] == [
        ("delivery", 2, -50.0), ("support", 3, -33.3), ("checkout", 2, 0.0)]
    assert s["feedback"] == {"praise": 5, "complaint": 6, "neutral": 1, "total": 12}


def test_team_filter_narrows_the_ticket_figures(triage: Any) -> None:
    s = summarise(triage, team="logistics")
    assert (s["open"], s["at_risk"], s["breached_open"], s["resolved"]) == (1, 1, 0, 2)
    assert s["resolved_within_sla_percent"] == 100.0
    assert s["time_to_resolve_seconds"] == {"count": 2, "mean": 7.5 * H, "p90": 12.0 * H}
    assert s["time_to_acknowledge_seconds"] == {"count": 2, "mean": 2.25 * H, "p90": 4.0 * H}
    assert [t["key"] for t in s["breakdowns"]["team"]] == ["logistics"]
    assert s["detractor_recovery"]["resolved_detractors"] == 1
    # every figure follows the team: the scores and praise/complaints of Logistics' feedback only
    assert s["scores"]["nps"] == {"responses": 2, "promoters": 0, "passives": 1, "detractors": 1, "nps": -50.0}
    assert s["scores"]["csat"]["responses"] == 1 and s["scores"]["csat"]["csat"] == 0.0
    assert s["scores"]["ces"]["responses"] == 0
    assert s["feedback"] == {"praise": 0, "complaint": 2, "neutral": 1, "total": 3}
    assert [r["touchpoint"] for r in s["nps_by_touchpoint"]] == ["delivery"]


def test_a_ticket_waiting_on_the_customer_is_still_open(triage: Any) -> None:
    with triage.sessions() as session, session.begin():
        ticket(session, feedback(session, at(6, 3), metric="nps", score=4, touchpoint="support"), team="care",
               owner="u-ana", priority="P2", due_hours=24, status="waiting", sla_state="at_risk", ack=1)
    with triage.sessions() as session:
        s = reports.summary(session, now=NOW, start=START, end=END, org=triage.org)
        fast = (s["open"], s["at_risk"], by_key(s["breakdowns"]["owner"])["u-ana"]["open"])
        exact = reports.summary(session, now=NOW, start=START, end=END, exact=True)
        attention = reports.attention_tickets(session)
    assert fast == (1, 1, 1) and (exact["open"], exact["at_risk"]) == (1, 1)
    assert [t["status"] for t in attention] == ["waiting"]


def test_an_empty_window_gives_zeros_and_no_made_up_percentages(triage: Any) -> None:
    with triage.sessions() as session:
        s = reports.summary(session, now=NOW, start=START, end=END)
    assert (s["open"], s["resolved"], s["resolved_within_sla_percent"]) == (0, 0, None)
    assert s["time_to_resolve_seconds"] == {"count": 0, "mean": None, "p90": None}
    assert s["scores"]["nps"]["nps"] is None and s["feedback"]["total"] == 0
