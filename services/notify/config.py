"""Notify settings, read once from environment variables."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow.validate import Range, Regexp

from shared.settings import CommonSettings, common, read_env, sealed, sqlite_url


@dataclass(frozen=True)
class NotifySettings:
    common: CommonSettings
    database_url: str
    port: int
    smtp_url: str
    intake_public_url: str
    triage_public_url: str
    notify_public_url: str
    delivery_max_attempts: int
    delivery_backoff_seconds: float
    delivery_max_backoff_seconds: float
    delivery_timeout_seconds: float
    delivery_poll_seconds: float


def load_settings() -> NotifySettings:
    """Read notify's settings; raise ``ConfigError`` naming any bad variable."""
    env = read_env()
    base = common(env)
    port = env.int("NOTIFY_PORT", 8003, validate=Range(min=1, max=65535))
    settings = NotifySettings(
        common=base,
        database_url=env.str("NOTIFY_DATABASE_URL", "") or sqlite_url("notify"),
        port=port,
        smtp_url=env.str("NOTIFY_SMTP_URL", "smtp://127.0.0.1:8025",
                         validate=Regexp(r"^smtps?://", error="must start with smtp:// or smtps://")),
        intake_public_url=env.str("INTAKE_PUBLIC_URL", "") or f"http://127.0.0.1:{env.int('INTAKE_PORT', 8001)}",
        triage_public_url=env.str("TRIAGE_PUBLIC_URL", "") or f"http://127.0.0.1:{env.int('TRIAGE_PORT', 8002)}",
        notify_public_url=env.str("NOTIFY_PUBLIC_URL", "") or f"http://127.0.0.1:{port}",
        delivery_max_attempts=env.int("NOTIFY_DELIVERY_MAX_ATTEMPTS", 8, validate=Range(min=1, max=100)),
        delivery_backoff_seconds=env.float("NOTIFY_DELIVERY_BACKOFF_SECONDS", 5.0, validate=Range(min=0.01)),
        delivery_max_backoff_seconds=env.float("NOTIFY_DELIVERY_MAX_BACKOFF_SECONDS", 1800.0,
                                               validate=Range(min=0.01)),
        delivery_timeout_seconds=env.float("NOTIFY_DELIVERY_TIMEOUT_SECONDS", 10.0, validate=Range(min=0.1)),
        delivery_poll_seconds=env.float("NOTIFY_DELIVERY_POLL_SECONDS", 0.5, validate=Range(min=0.01, max=60)),
    )
    sealed(env)
    return settings
