"""Intake settings, read once from environment variables."""

from __future__ import annotations

from dataclasses import dataclass

from marshmallow import ValidationError
from marshmallow.validate import Length, Range

from shared.settings import CommonSettings, common, listen_host, read_env, sealed, sqlite_url

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")


@dataclass(frozen=True)
class IntakeSettings:
    common: CommonSettings
    database_url: str
    port: int
    rate_limit: str
    rate_limit_storage: str
    public_url: str | None
    max_batch: int
    mail_port: int | None = None  # the SMTP listener of the ``mail`` role (INTAKE_MAIL_PORT)
    mail_domain: str = "localhost"  # reply+<token>@<INTAKE_MAIL_DOMAIN>
    link_max_age: int = 30 * 24 * 3600  # seconds an answer link works (CLOSELOOP_LINK_MAX_AGE)
    host: str = "127.0.0.1"  # the address the web, metrics and mail servers listen on (INTAKE_HOST)
    # Host header values links may be built from when public_url is unset (INTAKE_TRUSTED_HOSTS, comma separated)
    trusted_hosts: tuple[str, ...] = _LOCAL_HOSTS


def _rate(value: str) -> None:
    from limits import parse_many

    try:
        parse_many(value)
    except ValueError as exc:
        raise ValidationError(f"not a rate limit like '60/minute': {exc}") from exc


def _storage(value: str) -> None:
    from limits.storage import SCHEMES

    scheme = value.split("://", 1)[0]
    if "://" not in value or scheme not in SCHEMES or scheme.startswith("async+"):
        raise ValidationError("not a rate-limit storage URI such as memory:// or redis://host:6379/0")


def load_settings() -> IntakeSettings:
    """Read intake's settings; raise ``ConfigError`` naming any bad variable."""
    env = read_env()
    base = common(env)
    settings = IntakeSettings(
        common=base,
        database_url=env.str("INTAKE_DATABASE_URL", "") or sqlite_url("intake"),
        port=env.int("INTAKE_PORT", 8001, validate=Range(min=1, max=65535)),
        host=listen_host(env, "INTAKE_HOST"),
        rate_limit=env.str("INTAKE_RATE_LIMIT", "60/minute", validate=_rate),
        # memory:// counts per process; production uses redis:// so the limit holds across workers
        rate_limit_storage=env.str("INTAKE_RATE_LIMIT_STORAGE", "memory://", validate=_storage),
        public_url=(env.str("INTAKE_PUBLIC_URL", "") or None),
        max_batch=env.int("INTAKE_MAX_BATCH", 1000, validate=Range(min=1, max=10000)),
        mail_port=env.int("INTAKE_MAIL_PORT", None, validate=Range(min=1, max=65535)),
        mail_domain=env.str("INTAKE_MAIL_DOMAIN", "localhost", validate=Length(min=1, max=253)),
        trusted_hosts=tuple(host.strip().lower() for host in env.list("INTAKE_TRUSTED_HOSTS", list(_LOCAL_HOSTS))
                            if host.strip()) or _LOCAL_HOSTS,
        link_max_age=env.int("CLOSELOOP_LINK_MAX_AGE", 30 * 24 * 3600, validate=Range(min=60)),
    )
    sealed(env)
    return settings
