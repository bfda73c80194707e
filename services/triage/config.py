"""Triage settings, read once from environment variables."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow.validate import Range

from shared.settings import CommonSettings, common, read_env, sealed, sqlite_url


@dataclass(frozen=True)
class TriageSettings:
    common: CommonSettings
    database_url: str
    port: int
    sla_seconds: int
    sla_warning_ratio: float
    escalation_seconds: int
    sweep_seconds: float


def load_settings() -> TriageSettings:
    """Read triage's settings; raise ``ConfigError`` naming any bad variable."""
    env = read_env()
    base = common(env)
    settings = TriageSettings(
        common=base,
        database_url=env.str("TRIAGE_DATABASE_URL", "") or sqlite_url("triage"),
        port=env.int("TRIAGE_PORT", 8002, validate=Range(min=1, max=65535)),
        sla_seconds=env.int("TRIAGE_SLA_SECONDS", 86400, validate=Range(min=1)),
        sla_warning_ratio=env.float("TRIAGE_SLA_WARNING_RATIO", 0.75, validate=Range(min=0.0, max=1.0,
                                                                                      min_inclusive=False,
                                                                                      max_inclusive=False)),
        escalation_seconds=env.int("TRIAGE_ESCALATION_SECONDS", 14400, validate=Range(min=1)),
        sweep_seconds=env.float("TRIAGE_SWEEP_SECONDS", 5.0, validate=Range(min=0.1, max=3600)),
    )
    sealed(env)
    return settings
