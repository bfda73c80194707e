"""Notify settings, read once from environment variables."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from marshmallow import ValidationError
from marshmallow.validate import Range, Regexp

from shared.settings import CommonSettings, common, listen_host, read_env, sealed, sqlite_url


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
    delivery_lease_seconds: float = 30.0
    mail_domain: str = "localhost"
    mail_from: str | None = None
    host: str = "127.0.0.1"  # the address the web and metrics servers listen on (NOTIFY_HOST)


def _mail_address(value: str) -> None:
    if value and "@" not in parseaddr(value)[1]:
        raise ValidationError("must be an email address, e.g. Closeloop <care@example.com>")


def load_settings() -> NotifySettings:
    """Read notify's settings; raise ``ConfigError`` naming any bad variable."""
    env = read_env()
    base = common(env)
    port = env.int("NOTIFY_PORT", 8003, validate=Range(min=1, max=65535))
    settings = NotifySettings(
        common=base,
        database_url=env.str("NOTIFY_DATABASE_URL", "") or sqlite_url("notify"),
        port=port,
        host=listen_host(env, "NOTIFY_HOST"),
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
        # a worker renews its claim on what it is sending every third of this; a killed one's
        # deliveries are taken over once it has run out
        delivery_lease_seconds=env.float("NOTIFY_DELIVERY_LEASE_SECONDS", 30.0, validate=Range(min=0.5, max=3600)),
        # where customers' answers go (reply+<token>@<domain>, intake's mail role) and whose mail ids we make
        mail_domain=env.str("INTAKE_MAIL_DOMAIN", "localhost",
                            validate=Regexp(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$",
                                            error="must be a domain name, e.g. mail.example.com")),
        mail_from=env.str("NOTIFY_MAIL_FROM", "", validate=_mail_address) or None,
    )
    sealed(env)
    return settings
