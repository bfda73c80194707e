"""Triage's settings: a bad value stops the service at start, naming the variable."""

from __future__ import annotations

import pytest

from services.triage.config import load_settings
from shared.settings import ConfigError


@pytest.mark.parametrize(("name", "value"), [
    ("TRIAGE_BUSINESS_HOURS", "{not json"),
    ("TRIAGE_BUSINESS_HOURS", '{"care": {"timezone": "Mars/Olympus"}}'),
    ("TRIAGE_SPIKE_THRESHOLD", "1"),
    ("TRIAGE_SLA_SECONDS", "0"),
    ("TRIAGE_WAITING_PAUSES_CLOCK", "perhaps"),
])
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_defaults_leave_the_sla_to_the_org_file_and_the_optional_clocks_off() -> None:
    settings = load_settings()
    assert settings.sla_seconds is None and settings.waiting_pauses_clock is False
    assert settings.business_hours == {} and settings.sweep_seconds == 5.0
