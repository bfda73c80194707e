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
    environment: str = "development"
    secure_cookies: bool = False

    @property
    def production(self) -> bool:
        return self.environment == "production"


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
    """Read the variables every service uses; in production refuse placeholder or demo secrets."""
    environment = env.str("CLOSELOOP_ENV", "development", validate=OneOf(["development", "production"]))
    production = environment == "production"
    settings = CommonSettings(
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
        environment=environment,
        secure_cookies=env.bool("CLOSELOOP_SECURE_COOKIES", production),
    )
    if production:
        problems = production_problems(
            secret_key=os.environ.get("CLOSELOOP_SECRET_KEY", ""),
            link_secret=os.environ.get("CLOSELOOP_LINK_SECRET", ""),
            org_config=os.environ.get("ORG_CONFIG", ""),
        )
        if problems:
            raise ConfigError("CLOSELOOP_ENV=production refuses to start: " + "; ".join(problems))
    return settings


PLACEHOLDER_MARKS = ("replace-with", "changeme", "change-me", "dev-webhook-secret")
MIN_SECRET_LENGTH = 32
MIN_TOKEN_LENGTH = 16
DEMO_ORG = ROOT / "config" / "org.demo.yaml"


def _placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(mark in lowered for mark in PLACEHOLDER_MARKS)


def production_problems(*, secret_key: str, link_secret: str, org_config: str) -> list[str]:
    """Every reason a production start must be refused, each naming the variable or token."""
    problems: list[str] = []
    if not secret_key:
        problems.append("CLOSELOOP_SECRET_KEY is unset")
    elif _placeholder(secret_key) or len(secret_key) < MIN_SECRET_LENGTH:
        problems.append(f"CLOSELOOP_SECRET_KEY is a placeholder or shorter than {MIN_SECRET_LENGTH} characters "
                        f"({secret_key[:12]!r}...)")
    if not link_secret:
        problems.append("CLOSELOOP_LINK_SECRET is unset (links need a secret of their own)")
    elif link_secret == secret_key:
        problems.append("CLOSELOOP_LINK_SECRET equals CLOSELOOP_SECRET_KEY (links need a secret of their own)")
    elif _placeholder(link_secret) or len(link_secret) < MIN_SECRET_LENGTH:
        problems.append(f"CLOSELOOP_LINK_SECRET is a placeholder or shorter than {MIN_SECRET_LENGTH} characters")
    if not org_config:
        problems.append("ORG_CONFIG is unset (that loads the demo org and its demo tokens)")
        return problems
    path = Path(org_config)
    if path.resolve() == DEMO_ORG.resolve():
        problems.append(f"ORG_CONFIG is the demo org file {org_config}")
        return problems
    problems += _org_file_problems(path)
    return problems


def _org_file_problems(path: Path) -> list[str]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        demo = yaml.safe_load(DEMO_ORG.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []  # the org loader names an unreadable file itself
    demo_secrets = {str(e.get("token") or e.get("secret")) for key in ("users", "integrations", "channels")
                    for e in demo.get(key) or [] if isinstance(e, dict) and (e.get("token") or e.get("secret"))}
    problems = []
    for key, field in (("users", "token"), ("integrations", "token"), ("channels", "secret")):
        for entry in data.get(key) or []:
            if not isinstance(entry, dict) or not entry.get(field):
                continue
            value, name = str(entry[field]), f"{key} {entry.get('id', '?')} {field}"
            if value in demo_secrets:
                problems.append(f"{name} is a demo value ({value})")
            elif _placeholder(value):
                problems.append(f"{name} is a placeholder ({value})")
            elif field == "token" and len(value) < MIN_TOKEN_LENGTH:
                problems.append(f"{name} is shorter than {MIN_TOKEN_LENGTH} characters")
    return problems


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
