"""The ``python -m services.<name> <role>`` entry point, the same for every service."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.logs import configure_logging
from shared.org import OrgConfigError
from shared.runner import ROLES, ServiceParts, prepare_web_metrics, run
from shared.settings import ConfigError


def main(name: str, load_settings: Callable[[], Any], build: str | Callable[[Any], ServiceParts],
         argv: list[str] | None = None) -> int:
    """Parse the role, read settings (failing fast and naming the variable), and run.

    ``build`` makes the service's parts from its settings: a function, or ``"module:Service"``
    naming a class whose instances (built from the settings) have ``parts()``. Given as a name,
    the service's modules are imported only once the role is known, so that the ``web`` role's
    metrics are set up for several workers before ``prometheus_client`` is first imported.
    """
    parser = argparse.ArgumentParser(prog=f"python -m services.{name}", description=f"Run Closeloop {name}.")
    parser.add_argument("role", help=f"{', '.join(ROLES[:-1])}, a role of this service's own, or all of "
                                     "them in one process")
    args = parser.parse_args(argv)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # prometheus_client switches to multiprocess files when the variable exists at all: set but
        # empty, it would write them into the working directory
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        return 2
    database_url = getattr(settings, "database_url", None)
    if database_url and args.role != "all":
        # production roles never change the schema (a migration job does, before a release starts);
        # on a database behind the code they would die later in SQL, so say what to run instead
        problem = schema_problem(name, database_url)
        if problem:
            print(problem, file=sys.stderr)
            return 2
    configure_logging(settings.common.log_level, service=name)
    if database_url and args.role == "all":
        migrate(name, database_url)  # local use: one command brings the database up to date
    if args.role == "web":
        prepare_web_metrics()
    try:
        parts = _built(build, settings)
    except OrgConfigError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 2
    return run(parts, args.role, metrics_port=settings.common.metrics_port)


def _built(build: str | Callable[[Any], ServiceParts], settings: Any) -> ServiceParts:
    if callable(build):
        return build(settings)
    module, _, service = build.partition(":")
    parts: ServiceParts = getattr(importlib.import_module(module), service)(settings).parts()
    return parts



def schema_problem(service: str, url: str) -> str | None:
    """One line naming the migration command when ``url`` lags ``service``'s migrations, else None.

    A database at the head revision, or at a revision these migrations do not know (a newer
    release migrated it while this one still runs, as in a rolling deploy), is fine. A database
    that cannot be reached is a problem of its own, also told in one line.
    """
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from shared.migrations_cli import alembic_config

    try:
        script = ScriptDirectory.from_config(alembic_config(service, url))
    except LookupError:
        return None  # a service without migrations
    heads = set(script.get_heads())
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        current = _current_revisions(url)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return f"{service}: cannot read the database {shown}: {reason[0] if reason else type(exc).__name__}"
    if current == heads:
        return None
    known = {revision.revision for revision in script.walk_revisions()}
    if current and not current <= known:
        return None  # migrated by a newer release
    state = ("is not migrated" if not current else
             f"is at revision {', '.join(sorted(current))}, behind {', '.join(sorted(heads))}")
    return f"{service}: the database {shown} {state}; run: python -m shared.migrations_cli {service} upgrade"


def migrate(service: str, url: str) -> None:
    """Bring ``url`` up to ``service``'s head revision (the ``all`` role does at start), in one log line."""
    import logging

    import structlog

    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)  # not a line per plugin and per revision on `make run`'s console
    try:
        from alembic import command

        from shared.migrations_cli import alembic_config

        try:
            config = alembic_config(service, url)
        except LookupError:
            return  # a service without migrations
        before = _current_revisions(url)
        command.upgrade(config, "head")
        after = _current_revisions(url)
    finally:
        alembic_log.setLevel(level)
    if after != before:
        structlog.get_logger(__name__).info("database_migrated", from_revision=",".join(sorted(before)) or None,
                                            to_revision=",".join(sorted(after)))


def _current_revisions(url: str) -> set[str]:
    """The Alembic revisions ``url`` is at (none for a SQLite file that does not exist: none is made)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:" \
            and not parsed.database.startswith("file:") and not Path(parsed.database).exists():
        return set()
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
