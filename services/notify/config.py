"""Notify settings, read once from environment variables."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow.validate import Range

from shared.settings import CommonSettings, common, read_env, sealed, sqlite_url


@dataclass(frozen=True)
class NotifySettings:
    common: CommonSettings
    database_url: str
    port: int
    smtp_url: str
    intake_public_url: str


def load_settings() -> NotifySettings:
    """Read notify's settings; raise ``ConfigError`` naming any bad variable."""
    env = read_env()
    base = common(env)
    settings = NotifySettings(
        common=base,
        database_url=env.str("NOTIFY_DATABASE_URL", "") or sqlite_url("notify"),
        port=env.int("NOTIFY_PORT", 8003, validate=Range(min=1, max=65535)),
        smtp_url=env.str("NOTIFY_SMTP_URL", "smtp://127.0.0.1:8025"),
        intake_public_url=env.str("INTAKE_PUBLIC_URL", "") or f"http://127.0.0.1:{env.int('INTAKE_PORT', 8001)}",
    )
    sealed(env)
    return settings
