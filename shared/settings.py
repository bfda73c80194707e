"""Reading environment variables: the parts every service's ``config.py`` has in common.

Values are parsed by environs; a bad or missing value raises :class:`ConfigError` naming the
variable, and the service's entry point turns that into a one-line message and exit code 2.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from environs import Env, EnvValidationError
from marshmallow.validate import Length, OneOf, Range

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CLOSELOOP_VAR_DIR", ROOT / "var"))


class ConfigError(Exception):
    """An environment variable has a bad value."""


@dataclass(frozen=True)
class CommonSettings:
    kafka_bootstrap: str
    org_config: str
    log_level: str
    secret_key: str
    link_secret: str
    web_workers: int
    web_threads: int
    metrics_port: int | None


def read_env() -> Env:
    """A fresh environs reader (reads the process environment)."""
    env = Env(eager=False)
    return env


def sealed(env: Env) -> None:
    """Raise :class:`ConfigError` naming every invalid variable read so far."""
    try:
        env.seal()
    except EnvValidationError as exc:
        names = ", ".join(sorted(exc.error_messages)) if isinstance(exc.error_messages, dict) else ""
        raise ConfigError(f"invalid environment variable(s) {names}: {exc.error_messages}") from exc


def common(env: Env) -> CommonSettings:
    """Read the variables every service uses."""
    return CommonSettings(
        kafka_bootstrap=env.str("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
        org_config=env.str("ORG_CONFIG", str(ROOT / "config" / "org.demo.yaml")),
        log_level=env.str("LOG_LEVEL", "INFO", validate=OneOf(["DEBUG", "INFO", "WARNING", "ERROR"])),
        secret_key=env.str("CLOSELOOP_SECRET_KEY", "") or _dev_secret(),
        # intake and notify must share this one (follow-up links); sessions need not be shared
        link_secret=env.str("CLOSELOOP_LINK_SECRET", "") or env.str("CLOSELOOP_SECRET_KEY", "") or _dev_secret(),
        web_workers=env.int("WEB_CONCURRENCY", 2, validate=Range(min=1, max=64)),
        web_threads=env.int("WEB_THREADS", 8, validate=Range(min=1, max=256)),
        # consume and schedule roles have no web server; this port serves their /metrics
        metrics_port=env.int("METRICS_PORT", None, validate=Range(min=1, max=65535)),
    )


def listen_host(env: Env, variable: str) -> str:
    """The address a service listens on, from ``variable`` (e.g. ``INTAKE_HOST``): ``127.0.0.1`` by default,
    so that a local run (with its demo tokens) is not reachable from the network; containers set ``0.0.0.0``."""
    return str(env.str(variable, "127.0.0.1", validate=Length(min=1, max=255)))


def sqlite_url(service: str) -> str:
    """The default database of ``service``: a SQLite file under ``var/``."""
    return f"sqlite:///{VAR_DIR / f'{service}.db'}"


def _dev_secret() -> str:
    # Local runs need no setup: keep one random key under var/ so that sessions survive restarts
    # and all worker processes agree. Production sets CLOSELOOP_SECRET_KEY.
    path = VAR_DIR / "secret.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(key)
        os.replace(tmp, path)
        return path.read_text().strip()
