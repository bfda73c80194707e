"""Intake settings, read once from environment variables."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow.validate import Range

from shared.settings import CommonSettings, common, read_env, sealed, sqlite_url


@dataclass(frozen=True)
class IntakeSettings:
    common: CommonSettings
    database_url: str
    port: int
    rate_limit: str
    rate_limit_storage: str
    public_url: str | None
    max_batch: int


def load_settings() -> IntakeSettings:
    """Read intake's settings; raise ``ConfigError`` naming any bad variable."""
    env = read_env()
    base = common(env)
    settings = IntakeSettings(
        common=base,
        database_url=env.str("INTAKE_DATABASE_URL", "") or sqlite_url("intake"),
        port=env.int("INTAKE_PORT", 8001, validate=Range(min=1, max=65535)),
        rate_limit=env.str("INTAKE_RATE_LIMIT", "60/minute"),
        rate_limit_storage=env.str("INTAKE_RATE_LIMIT_STORAGE", "memory://"),
        public_url=(env.str("INTAKE_PUBLIC_URL", "") or None),
        max_batch=env.int("INTAKE_MAX_BATCH", 1000, validate=Range(min=1, max=10000)),
    )
    sealed(env)
    return settings
