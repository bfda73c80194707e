"""The SLA clock, driven with an injected clock: no sleeping, every transition at its moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.triage.sla import service as sla
from services.triage.sla.calendar import CalendarError, business_hours

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
DUE = T0 + timedelta(hours=24)
WARN = T0 + timedelta(hours=18)
ESC = 3600


def plan_at(now: datetime, state: str = sla.ON_TRACK, level: int = 0, chain: int = 2) -> sla.Plan:
    return sla.plan(now, sla_state=state, warn=WARN, due=DUE, escalation_level=level, chain_length=chain,
                    escalation_seconds=ESC)


def test_due_and_warning_times_follow_the_sla_and_the_ratio() -> None:
    assert sla.due_at(T0, 86400) == DUE
    assert sla.warn_at(T0, 86400, 0.75) == WARN
    assert sla.sla_seconds("P1", default_seconds=86400, by_priority={"P1": 14400}) == 14400
    assert sla.sla_seconds("P2", default_seconds=86400, by_priority={"P1": 14400}) == 86400


def test_on_track_until_the_warning_moment_then_at_risk_then_breached() -> None:
    before = plan_at(WARN - timedelta(seconds=1))
    assert before.steps == () and before.sla_state == sla.ON_TRACK and before.next_check == WARN
    warned = plan_at(WARN)
    assert warned.steps == (sla.Step(sla.WARNING),) and warned.sla_state == sla.AT_RISK
    assert warned.next_check == DUE
    assert plan_at(DUE - timedelta(microseconds=1), sla.AT_RISK).steps == ()
    breached = plan_at(DUE, sla.AT_RISK)
    assert breached.steps == (sla.Step(sla.BREACH), sla.Step(sla.ESCALATION, 1))
    assert breached.sla_state == sla.BREACHED and breached.escalation_level == 1
    assert breached.next_check == DUE + timedelta(seconds=ESC)


def test_escalation_climbs_one_level_per_interval_and_stops_at_the_top() -> None:
    assert plan_at(DUE + timedelta(seconds=ESC - 1), sla.BREACHED, level=1).steps == ()
    second = plan_at(DUE + timedelta(seconds=ESC), sla.BREACHED, level=1)
    assert second.steps == (sla.Step(sla.ESCALATION, 2),) and second.next_check is None
    assert plan_at(DUE + timedelta(days=3), sla.BREACHED, level=2).steps == ()


def test_a_late_sweep_catches_up_in_order_and_applied_steps_are_never_planned_again() -> None:
    late = plan_at(DUE + timedelta(seconds=ESC * 5))
    assert [s.kind for s in late.steps] == [sla.WARNING, sla.BREACH, sla.ESCALATION, sla.ESCALATION]
    again = plan_at(DUE + timedelta(seconds=ESC * 5), late.sla_state, late.escalation_level)
    assert again.steps == ()


def test_no_chain_means_breach_without_escalation() -> None:
    result = plan_at(DUE, sla.AT_RISK, chain=0)
    assert result.steps == (sla.Step(sla.BREACH),) and result.next_check is None


def test_outcome_is_met_up_to_the_due_time_and_missed_after() -> None:
    assert sla.outcome(DUE, DUE) == sla.MET
    assert sla.outcome(DUE + timedelta(seconds=1), DUE) == sla.MISSED


def test_business_hours_skip_nights_weekends_and_holidays() -> None:
    hours = business_hours({"days": "mon-fri", "start": "09:00", "end": "17:00", "timezone": "UTC"})
    friday_4pm = datetime(2026, 11, 6, 16, 0, tzinfo=UTC)
    # 8 working hours from Friday 16:00: one hour on Friday, seven on Monday
    assert sla.due_at(friday_4pm, 8 * 3600, hours) == datetime(2026, 11, 9, 16, 0, tzinfo=UTC)
    assert hours.between(friday_4pm, datetime(2026, 11, 9, 16, 0, tzinfo=UTC)) == 8 * 3600
    german = business_hours({"days": "mon-fri", "start": "09:00", "end": "17:00", "timezone": "Europe/Berlin",
                             "country": "DE"})
    before_christmas = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)  # Thursday 16:00 in Berlin
    # the 25th (Friday) is a public holiday, then the weekend: the remaining 7 h run on Monday the 28th
    assert sla.due_at(before_christmas, 8 * 3600, german) == datetime(2026, 12, 28, 15, 0, tzinfo=UTC)


def test_a_bad_business_hours_spec_is_refused_with_the_field_named() -> None:
    with pytest.raises(CalendarError, match="timezone"):
        business_hours({"timezone": "Mars/Olympus"})
    with pytest.raises(CalendarError, match="days"):
        business_hours({"days": "funday"})
    with pytest.raises(CalendarError, match="end must be after start"):
        business_hours({"start": "17:00", "end": "09:00"})
