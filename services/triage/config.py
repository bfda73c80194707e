"""Triage settings, read once from environment variables."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from marshmallow.validate import Range

from shared.settings import CommonSettings, ConfigError, common, listen_host, read_env, sealed, sqlite_url

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class TriageSettings:
    common: CommonSettings
    database_url: str
    port: int
    sla_seconds: int | None
    sla_warning_ratio: float
    escalation_seconds: int
    sweep_seconds: float
    spike_threshold: int = 5
    spike_window_seconds: int = 4 * 3600
    waiting_pauses_clock: bool = False
    business_hours: dict[str, dict[str, Any]] = field(default_factory=dict)
    host: str = "127.0.0.1"  # the address the web and metrics servers listen on (TRIAGE_HOST)


def load_settings() -> TriageSettings:
    """Read triage's settings; raise ``ConfigError`` naming any bad variable."""
    env = read_env()
    base = common(env)
    settings = TriageSettings(
        common=base,
        database_url=env.str("TRIAGE_DATABASE_URL", "") or sqlite_url("triage"),
        port=env.int("TRIAGE_PORT", 8002, validate=Range(min=1, max=65535)),
        host=listen_host(env, "TRIAGE_HOST"),
        # unset: the org file's sla.default_seconds, else 24 h
        sla_seconds=env.int("TRIAGE_SLA_SECONDS", None, validate=Range(min=1)),
        sla_warning_ratio=env.float("TRIAGE_SLA_WARNING_RATIO", 0.75, validate=Range(min=0.0, max=1.0,
                                                                                      min_inclusive=False,
                                                                                      max_inclusive=False)),
        escalation_seconds=env.int("TRIAGE_ESCALATION_SECONDS", 14400, validate=Range(min=1)),
        sweep_seconds=env.float("TRIAGE_SWEEP_SECONDS", 5.0, validate=Range(min=0.1, max=3600)),
        spike_threshold=env.int("TRIAGE_SPIKE_THRESHOLD", 5, validate=Range(min=2)),
        spike_window_seconds=env.int("TRIAGE_SPIKE_WINDOW_SECONDS", 4 * 3600, validate=Range(min=60)),
        waiting_pauses_clock=env.bool("TRIAGE_WAITING_PAUSES_CLOCK", False),
        business_hours=_business_hours(env.str("TRIAGE_BUSINESS_HOURS", "")),
    )
    sealed(env)
    return settings


def _business_hours(raw: str) -> dict[str, dict[str, Any]]:
    """``{"<team>": {"days": "mon-fri", "start": "09:00", "end": "17:00", "timezone": ..., "country": ...}}``."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid environment variable(s) TRIAGE_BUSINESS_HOURS: not JSON ({exc})") from exc
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ConfigError("invalid environment variable(s) TRIAGE_BUSINESS_HOURS: "
                          "expected a JSON object of team id -> calendar object")
    from services.triage.sla.calendar import CalendarError, business_hours

    for team, spec in value.items():
        try:
            business_hours(spec)
        except CalendarError as exc:
            raise ConfigError(f"invalid environment variable(s) TRIAGE_BUSINESS_HOURS: team {team!r}: {exc}") from exc
    return value
